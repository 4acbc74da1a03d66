package dispatch_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/providers"
	"github.com/redis/go-redis/v9"
)

// expiry is how far to move the clock for an offer to be closed by Tick.
func (e *env) expiry() time.Duration { return e.cfg.OfferTTL + e.cfg.ExpiryGrace + time.Second }

// TestOfferExpiry: an unanswered offer expires, the provider is free again,
// and the request goes to the next provider, never back to the same one.
func TestOfferExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b, c := e.provider("甲", away(500)), e.provider("乙", away(1000)), e.provider("丙", away(1500))
	r := e.request("meal_delivery", carehex.UrgencySoon)
	e.tick()
	if got := e.offersOf(r); !slices.Equal(got, []string{st(a, carehex.OfferOpen)}) {
		t.Fatalf("offers = %v, want one to the nearest", got)
	}

	e.advance(e.cfg.OfferTTL) // expired, but within the grace an accept in flight gets
	e.tick()
	if got := e.offersOf(r); !slices.Equal(got, []string{st(a, carehex.OfferOpen)}) {
		t.Fatalf("offers within the grace = %v", got)
	}
	if _, err := e.eng.Accept(context.Background(), a.ID, mustOpen(t, e, a).ID); carehex.ErrorCode(err) != carehex.ECONFLICT {
		t.Errorf("accepting after expiry: %v, want conflict", err)
	}

	e.advance(e.cfg.ExpiryGrace + time.Second)
	e.tick()
	if got := e.offersOf(r); !slices.Equal(sorted(got), sorted([]string{st(a, carehex.OfferExpired), st(b, carehex.OfferOpen)})) {
		t.Fatalf("after expiry offers = %v, want a's expired and b's open", got)
	}
	if s := e.liveStatus(a.ID); s != providers.StatusAvailable {
		t.Errorf("provider a is %s after the expiry, want available", s)
	}
	if s := e.status(r.ID); s != carehex.StatusOffered {
		t.Errorf("request is %s, want offered (to b)", s)
	}

	e.advance(e.expiry())
	e.tick()
	e.advance(e.expiry())
	e.tick()
	want := sorted([]string{st(a, carehex.OfferExpired), st(b, carehex.OfferExpired), st(c, carehex.OfferExpired)})
	if got := e.offersOf(r); !slices.Equal(sorted(got), want) {
		t.Fatalf("offers = %v, want %v: each asked once", got, want)
	}
	if s := e.status(r.ID); s != carehex.StatusPending {
		t.Errorf("request is %s with nobody left, want pending", s)
	}
	if alerts := e.openAlerts(r); !slices.Contains(alerts, carehex.AlertNoCandidates) {
		t.Errorf("alerts = %v, want no_candidates", alerts)
	}
	for _, p := range []*carehex.Provider{a, b, c} {
		if s := e.liveStatus(p.ID); s != providers.StatusAvailable {
			t.Errorf("%s is %s, want available", p.Name, s)
		}
	}
	evs, _ := e.db.RequestEvents(context.Background(), r.ID)
	var history []string
	for _, ev := range evs {
		history = append(history, ev.Type+"→"+string(ev.ToStatus))
	}
	if got := strings.Join(history, " "); got != "created→pending offered→offered offer_expired→pending offered→offered "+
		"offer_expired→pending offered→offered offer_expired→pending" {
		t.Errorf("history: %s", got)
	}
}

func mustOpen(t *testing.T, e *env, p *carehex.Provider) *carehex.Offer {
	t.Helper()
	os, err := e.db.OpenOffers(context.Background(), p.ID, time.Time{})
	if err != nil || len(os) != 1 {
		t.Fatalf("open offers of %s: %v, %v", p.Name, os, err)
	}
	return os[0]
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// TestDecline: a refusal goes straight to the next candidate, and nobody is
// asked twice.
func TestDecline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.provider("甲", away(500)), e.provider("乙", away(1000))
	r := e.request("meal_delivery", carehex.UrgencySoon)
	offers := e.dispatch(r)
	if len(offers) != 1 || offers[0].ProviderID != a.ID {
		t.Fatalf("offers = %v", e.offersOf(r))
	}
	oa := offers[0]
	if got, _ := e.eng.Offers(ctx, a.ID); len(got) != 1 || got[0].ID != oa.ID || got[0].ExpireTime.IsZero() {
		t.Errorf("Offers(a) = %+v", got)
	}
	if err := e.eng.Decline(ctx, b.ID, oa.ID, "not mine"); carehex.ErrorCode(err) != carehex.ENOTFOUND {
		t.Errorf("declining someone else's offer: %v, want not found", err)
	}
	if _, err := e.eng.Accept(ctx, b.ID, oa.ID); carehex.ErrorCode(err) != carehex.ENOTFOUND {
		t.Errorf("accepting someone else's offer: %v, want not found", err)
	}
	if err := e.eng.Decline(ctx, a.ID, oa.ID, "too far"); err != nil {
		t.Fatalf("Decline: %v", err)
	}
	if s := e.liveStatus(a.ID); s != providers.StatusAvailable {
		t.Errorf("a is %s after declining", s)
	}
	if got := e.offersOf(r); !slices.Equal(sorted(got), sorted([]string{st(a, carehex.OfferDeclined), st(b, carehex.OfferOpen)})) {
		t.Fatalf("after a declined offers = %v, want b's open at once", got)
	}
	if err := e.eng.Decline(ctx, a.ID, oa.ID, "again"); carehex.ErrorCode(err) != carehex.ECONFLICT {
		t.Errorf("declining twice: %v, want conflict", err)
	}
	if _, err := e.eng.Accept(ctx, a.ID, oa.ID); carehex.ErrorCode(err) != carehex.ECONFLICT {
		t.Errorf("accepting a declined offer: %v, want conflict", err)
	}
	if err := e.eng.Decline(ctx, b.ID, mustOpen(t, e, b).ID, ""); err != nil {
		t.Fatal(err)
	}
	// Both are free and near; neither is asked again.
	for range 3 {
		e.advance(time.Minute)
		e.tick()
	}
	if got := e.offersOf(r); len(got) != 2 {
		t.Errorf("offers = %v, want no repeat", got)
	}
	if s := e.status(r.ID); s != carehex.StatusPending {
		t.Errorf("request %s, want pending", s)
	}
	if _, err := e.eng.Accept(ctx, a.ID, "ofr_nope"); carehex.ErrorCode(err) != carehex.ENOTFOUND {
		t.Errorf("accepting a missing offer: %v", err)
	}
}

// TestEmergencyFanOut: an emergency goes to the top three at once; the first
// to accept wins, the others are withdrawn at once and free again.
func TestEmergencyFanOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ps := []*carehex.Provider{e.provider("一", away(500)), e.provider("二", away(800)), e.provider("三", away(1100)),
		e.provider("四", away(1400))}
	r := e.request("fall_help", carehex.UrgencySoon) // an emergency by its service type
	offers := e.dispatch(r)
	var got []string
	for _, o := range offers {
		got = append(got, o.ProviderID)
	}
	if !slices.Equal(sorted(got), sorted(names(ps[:3]...))) {
		t.Fatalf("offered to %v, want the nearest three", got)
	}

	// All three accept at the same moment.
	var (
		wg     sync.WaitGroup
		visits = make([]*carehex.Visit, len(offers))
		errs   = make([]error, len(offers))
	)
	for i, o := range offers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			visits[i], errs[i] = e.eng.Accept(ctx, o.ProviderID, o.ID)
		}()
	}
	wg.Wait()
	var winner *carehex.Offer
	var visit *carehex.Visit
	for i, err := range errs {
		switch carehex.ErrorCode(err) {
		case "":
			if winner != nil {
				t.Fatalf("two accepts won: %s and %s", winner.ProviderID, offers[i].ProviderID)
			}
			winner, visit = offers[i], visits[i]
		case carehex.ECONFLICT:
		default:
			t.Fatalf("Accept: %v", err)
		}
	}
	if winner == nil {
		t.Fatal("nobody won")
	}
	req, _ := e.db.ServiceRequest(ctx, r.ID)
	if req.Status != carehex.StatusAssigned || req.ProviderID != winner.ProviderID || req.VisitID != visit.ID {
		t.Errorf("request after the race: %+v", req)
	}
	for _, o := range offers {
		got, _ := e.db.Offer(ctx, o.ID)
		wantSt, wantLive := carehex.OfferWithdrawn, providers.StatusAvailable
		if o.ID == winner.ID {
			wantSt, wantLive = carehex.OfferAccepted, providers.StatusBusy
		}
		if got.Status != wantSt || e.liveStatus(o.ProviderID) != wantLive {
			t.Errorf("%s: offer %s, live %s; want %s, %s", o.ProviderID, got.Status, e.liveStatus(o.ProviderID), wantSt, wantLive)
		}
		if o.ID != winner.ID {
			if _, err := e.eng.Accept(ctx, o.ProviderID, o.ID); carehex.ErrorCode(err) != carehex.ECONFLICT {
				t.Errorf("a second accept by %s: %v, want conflict", o.ProviderID, err)
			}
		}
	}
	// The phone retries the winning accept (lost reply): same visit.
	if v, err := e.eng.Accept(ctx, winner.ProviderID, winner.ID); err != nil || v.ID != visit.ID {
		t.Errorf("retried accept = %+v, %v; want visit %s", v, err, visit.ID)
	}

	// A second emergency: one of three declines, the fan-out is topped up.
	e.provider("五", away(1700))
	r2 := e.request("fall_help", carehex.UrgencyEmergency)
	offers = e.dispatch(r2)
	if len(offers) != 3 {
		t.Fatalf("second emergency offered to %v", e.offersOf(r2))
	}
	if err := e.eng.Decline(ctx, offers[0].ProviderID, offers[0].ID, "in the shower"); err != nil {
		t.Fatal(err)
	}
	open := 0
	for _, s := range e.offersOf(r2) {
		if strings.HasSuffix(s, ":open") {
			open++
		}
	}
	if open != 3 || len(e.offersOf(r2)) != 4 {
		t.Errorf("after a decline offers = %v, want three open again", e.offersOf(r2))
	}
}

// TestManualAssign: an operator's choice goes through the same claim.
func TestManualAssign(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.provider("甲", away(500)), e.provider("乙", away(900))
	noFirstAid := e.provider("丙", away(950), func(p *carehex.Provider) { p.Skills = []string{"bathing"} })
	blocked := e.provider("丁", away(990))
	e.setPrefs(carehex.Preferences{BlockedProviderIDs: []string{blocked.ID}})
	r := e.request("meal_delivery", carehex.UrgencySoon)
	if o := e.dispatch(r); len(o) != 1 || o[0].ProviderID != a.ID {
		t.Fatalf("offers = %v", e.offersOf(r))
	}

	req, v, err := e.eng.Assign(ctx, r.ID, b.ID, operator.Actor(), "family asked for 乙")
	if err != nil {
		t.Fatalf("Assign: %v", err)
	}
	if req.Status != carehex.StatusAssigned || req.ProviderID != b.ID || v.ProviderID != b.ID || req.VisitID != v.ID {
		t.Errorf("after Assign: request %+v, visit %+v", req, v)
	}
	if got := e.offersOf(r); !slices.Equal(got, []string{st(a, carehex.OfferWithdrawn)}) {
		t.Errorf("offers = %v, want a's withdrawn", got)
	}
	if e.liveStatus(a.ID) != providers.StatusAvailable || e.liveStatus(b.ID) != providers.StatusBusy {
		t.Errorf("live: a %s, b %s; want available, busy", e.liveStatus(a.ID), e.liveStatus(b.ID))
	}
	evs, _ := e.db.RequestEvents(ctx, r.ID)
	found := false
	for _, ev := range evs {
		if ev.ToStatus == carehex.StatusAssigned && ev.Actor == operator.Actor() && ev.Reason == "family asked for 乙" {
			found = true
		}
	}
	if !found {
		t.Errorf("no assignment event by the operator: %+v", evs)
	}
	if _, _, err := e.eng.Assign(ctx, r.ID, a.ID, operator.Actor(), ""); carehex.ErrorCode(err) != carehex.ECONFLICT {
		t.Errorf("assigning an assigned request: %v", err)
	}

	r2 := e.request("meal_delivery", carehex.UrgencySoon)
	for _, tt := range []struct {
		name, provider, code string
	}{
		{"busy", b.ID, carehex.ECONFLICT},
		{"unknown", "prv_nope", carehex.ENOTFOUND},
		{"without the skill", noFirstAid.ID, carehex.ECONFLICT},
		{"blocked by the resident", blocked.ID, carehex.ECONFLICT},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := e.eng.Assign(ctx, r2.ID, tt.provider, operator.Actor(), "")
			wantCode(t, err, tt.code)
			if s := e.status(r2.ID); s != carehex.StatusPending {
				t.Errorf("refused Assign moved the request to %s", s)
			}
		})
	}

	// The provider holding the request's offer is assigned through that
	// offer's own claim, which is recorded as accepted.
	if o := e.dispatch(r2); len(o) != 1 || o[0].ProviderID != a.ID {
		t.Fatalf("offers = %v", e.offersOf(r2))
	}
	if _, v, err := e.eng.Assign(ctx, r2.ID, a.ID, operator.Actor(), ""); err != nil || v.ProviderID != a.ID {
		t.Fatalf("Assign to the offered provider: %v", err)
	}
	if got := e.offersOf(r2); !slices.Equal(got, []string{st(a, carehex.OfferAccepted)}) {
		t.Errorf("offers = %v, want a's accepted", got)
	}
	if s := e.liveStatus(a.ID); s != providers.StatusBusy {
		t.Errorf("a is %s, want busy", s)
	}
}

// TestScheduled: a booked visit is dispatched a lead time before its window,
// planned at the window's start, and does not take the provider off the map
// until then.
func TestScheduled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.provider("甲", away(500))
	start := e.clock.Now().Add(3 * time.Hour)
	r, _, err := e.db.CreateServiceRequest(opCtx(), &carehex.ServiceRequest{ResidentID: e.res.ID, ServiceCode: "bathing",
		Urgency: carehex.UrgencyScheduled, WindowStart: start, WindowEnd: start.Add(2 * time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	e.tick()
	if got := e.offersOf(r); len(got) != 0 {
		t.Fatalf("offered 3 h ahead: %v", got)
	}
	e.advance(65 * time.Minute)
	e.tick()
	o := mustOpen(t, e, a)
	v := e.accept(o)
	if !v.PlannedStart.Equal(start) || !v.PlannedEnd.Equal(start.Add(time.Hour)) {
		t.Errorf("visit planned [%s, %s), want the window start for an hour", v.PlannedStart, v.PlannedEnd)
	}
	if s := e.liveStatus(a.ID); s != providers.StatusAvailable {
		t.Errorf("a is %s after accepting a visit in two hours, want available", s)
	}
	// A job now that would run into the booked bath is refused by SQL.
	long := e.request("meal_delivery", carehex.UrgencySoon)
	e.clock.Advance(time.Hour + 40*time.Minute) // 10 min before the bath; a meal takes 30
	e.beatAll()
	if o := e.dispatch(long); len(o) != 1 {
		t.Fatalf("offers = %v", e.offersOf(long))
	}
	if _, err := e.eng.Accept(ctx, a.ID, mustOpen(t, e, a).ID); carehex.ErrorCode(err) != carehex.ECONFLICT {
		t.Errorf("accepting a job overlapping the booked bath: %v, want conflict", err)
	}
	if s := e.status(long.ID); s != carehex.StatusPending {
		t.Errorf("the meal is %s, want pending for someone else", s)
	}
}

// TestUnacceptedAlert: a request nobody accepts within its class's deadline
// becomes one operator alert, not one per tick.
func TestUnacceptedAlert(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.provider("甲", away(500))
	r := e.request("fall_help", carehex.UrgencyEmergency)
	e.tick()
	if a := unaccepted(e.openAlerts(r)); len(a) != 0 {
		t.Fatalf("alerts at once: %v", a)
	}
	e.advance(e.cfg.Emergency.Deadline - time.Second)
	e.tick()
	if a := unaccepted(e.openAlerts(r)); len(a) != 0 {
		t.Fatalf("alerts before the deadline: %v", a)
	}
	e.advance(time.Second)
	e.tick()
	e.tick()
	if a := unaccepted(e.openAlerts(r)); !slices.Equal(a, []string{carehex.AlertUnaccepted}) {
		t.Fatalf("alerts after the deadline: %v, want one unaccepted", a)
	}
	as, _ := e.db.Alerts(ctx, true, 0)
	if _, err := e.db.AcknowledgeAlert(ctx, as[0].ID, operator.Actor()); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute)
	e.tick()
	if a := unaccepted(e.openAlerts(r)); len(a) != 0 {
		t.Errorf("an acknowledged alert came straight back: %v", a)
	}
	e.advance(e.cfg.RealertAfter)
	e.tick()
	if a := unaccepted(e.openAlerts(r)); !slices.Contains(a, carehex.AlertUnaccepted) {
		t.Errorf("still unaccepted %s after the acknowledgement, no new alert: %v", e.cfg.RealertAfter, a)
	}
}

// unaccepted keeps the unaccepted alerts of a list of kinds.
func unaccepted(kinds []string) []string {
	return slices.DeleteFunc(kinds, func(k string) bool { return k != carehex.AlertUnaccepted })
}

// TestRedisLoss: Redis forgets the zone. The engine rebuilds it from SQL:
// the busy provider stays busy, offers open at the loss are closed and their
// requests offered again, and new tokens stay ahead of SQL.
func TestRedisLoss(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.provider("甲", away(500)), e.provider("乙", away(900))
	r1 := e.request("meal_delivery", carehex.UrgencySoon)
	v := e.accept(e.dispatch(r1)[0]) // a
	r2 := e.request("meal_delivery", carehex.UrgencySoon)
	ob := e.dispatch(r2)[0] // b

	rdb, _ := testenv.Redis(t) // the server e.live is on
	wipe(t, rdb, e.zone)

	e.tick()
	la, err := e.live.Live(ctx, a.ID)
	if err != nil || la.Status != providers.StatusBusy || la.Token < uint64(v.Fence) || la.RequestID != r1.ID {
		t.Fatalf("a after rebuild: %+v, %v; want busy with r1, token ≥ %d", la, err, v.Fence)
	}
	lb, err := e.live.Live(ctx, b.ID)
	if err != nil || lb.Status != providers.StatusOffline || lb.Token < uint64(ob.Fence) {
		t.Fatalf("b after rebuild: %+v, %v; want offline until its phone reports, token ≥ %d", lb, err, ob.Fence)
	}
	if got := e.offersOf(r2); !slices.Equal(got, []string{st(b, carehex.OfferExpired)}) {
		t.Errorf("offers of r2 = %v, want b's closed", got)
	}
	if _, err := e.eng.Accept(ctx, b.ID, ob.ID); carehex.ErrorCode(err) != carehex.ECONFLICT {
		t.Errorf("accepting an offer from before the loss: %v", err)
	}

	// Phones report again; dispatch resumes by itself with a newcomer, by
	// the time r2's rest after finding nobody in the rebuild pass is over
	// (providers coming online are not "freed" events: backoff.go).
	c := e.provider("丙", away(1200))
	e.advance(4 * time.Second)
	e.tick()
	oc := mustOpen(t, e, c)
	if oc.RequestID != r2.ID {
		t.Fatalf("c offered %s, want r2", oc.RequestID)
	}
	if _, err := e.eng.Accept(ctx, c.ID, oc.ID); err != nil {
		t.Fatalf("accept after rebuild: %v", err)
	}
	// b's next claim carries a token above the one SQL saw in its old offer.
	r3 := e.request("meal_delivery", carehex.UrgencySoon)
	o3 := e.dispatch(r3)
	if len(o3) != 1 || o3[0].ProviderID != b.ID || o3[0].Fence <= ob.Fence {
		t.Fatalf("r3 offers %+v, want b's with a fence above %d", o3, ob.Fence)
	}
	e.accept(o3[0])
	e.complete(v)
	pairs, err := e.db.OverlappingVisits(ctx)
	if err != nil || len(pairs) != 0 {
		t.Errorf("OverlappingVisits = %v, %v", pairs, err)
	}
}

// TestRedisDown: with Redis unreachable, dispatch fails fast with
// EUNAVAILABLE; an accept still commits, because SQL decides.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.provider("甲", away(500))
	r := e.request("meal_delivery", carehex.UrgencySoon)
	o := e.dispatch(r)[0]

	redis.SetLogger(quiet{})
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1})
	defer rdb.Close()
	dead, err := providers.New(rdb, providers.Options{Zone: e.zone, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	down := newEngine(t, e.cfg, e.db, dead, e.clock)
	r2 := e.request("meal_delivery", carehex.UrgencySoon)
	_, err = down.Dispatch(ctx, r2.ID)
	wantCode(t, err, carehex.EUNAVAILABLE)
	if err := down.Tick(ctx); carehex.ErrorCode(err) != carehex.EUNAVAILABLE {
		t.Errorf("Tick with Redis down: %v, want unavailable", err)
	}
	_, _, err = down.Assign(ctx, r2.ID, a.ID, operator.Actor(), "")
	wantCode(t, err, carehex.EUNAVAILABLE)

	v, err := down.Accept(ctx, a.ID, o.ID)
	if err != nil || v.ProviderID != a.ID {
		t.Fatalf("Accept with Redis down: %v", err)
	}
	if s := e.status(r.ID); s != carehex.StatusAssigned {
		t.Errorf("request %s, want assigned", s)
	}
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// TestRun: the loop carehex serve runs ticks until it is stopped.
func TestRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.provider("甲", away(500))
	r := e.request("meal_delivery", carehex.UrgencySoon)
	if err := e.eng.Run(context.Background(), 0); carehex.ErrorCode(err) != carehex.EINVALID {
		t.Errorf("Run with no interval: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.eng.Run(ctx, 5*time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for e.status(r.ID) != carehex.StatusOffered && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	if got := e.offersOf(r); !slices.Equal(got, []string{st(a, carehex.OfferOpen)}) {
		t.Errorf("offers after running = %v", got)
	}
}

// TestFreeIfDone: a provider stays busy in Redis while a visit holds them and
// is free once it is over, however many times the free is asked for; the
// heartbeat path relies on it to repair a free lost to an outage.
func TestFreeIfDone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.provider("甲", away(300))
	r := e.request("meal_delivery", carehex.UrgencySoon)
	v := e.accept(e.dispatch(r)[0])
	ctx := context.Background()
	if freed, err := e.eng.FreeIfDone(ctx, a.ID); err != nil || freed {
		t.Fatalf("FreeIfDone during the visit = %v, %v; want nothing done", freed, err)
	}
	if s := e.liveStatus(a.ID); s != providers.StatusBusy {
		t.Fatalf("provider is %s during the visit, want busy", s)
	}
	for _, st := range []carehex.Status{carehex.StatusEnRoute, carehex.StatusInProgress, carehex.StatusCompleted} {
		if _, err := e.db.TransitionVisit(ctx, v.ID, st, "provider:"+a.ID, "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	// The visit ended but nobody freed the provider (the replica died, or
	// Redis was away): still busy until FreeIfDone.
	if s := e.liveStatus(a.ID); s != providers.StatusBusy {
		t.Fatalf("provider is %s before the repair, want busy", s)
	}
	if freed, err := e.eng.FreeIfDone(ctx, a.ID); err != nil || !freed {
		t.Fatalf("FreeIfDone after the visit = %v, %v; want freed", freed, err)
	}
	if s := e.liveStatus(a.ID); s != providers.StatusAvailable {
		t.Fatalf("provider is %s after the repair, want available", s)
	}
	if freed, err := e.eng.FreeIfDone(ctx, a.ID); err != nil || freed {
		t.Fatalf("second FreeIfDone = %v, %v; want nothing to do", freed, err)
	}
	r2 := e.request("meal_delivery", carehex.UrgencySoon)
	if got := e.dispatch(r2); len(got) != 1 || got[0].ProviderID != a.ID {
		t.Fatalf("the freed provider is not offered the next request: %v", got)
	}
}

// TestBackoff: a request that found nobody free rests from the dispatcher's
// pass (1 s, doubling), unless a provider is freed in this engine meanwhile;
// then the next pass tries it at once.
func TestBackoff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.provider("甲", away(400))
	r1 := e.request("meal_delivery", carehex.UrgencySoon)
	o1 := e.dispatch(r1)[0] // a holds r1's offer
	r2 := e.request("meal_delivery", carehex.UrgencySoon)
	if got := e.dispatch(r2); len(got) != 0 {
		t.Fatalf("r2 offered %v with nobody free", got)
	}

	// A newcomer's heartbeat is not a "freed" event: r2 rests until its
	// backoff is over.
	b := e.provider("乙", away(800))
	e.tick()
	if got := e.offersOf(r2); len(got) != 0 {
		t.Fatalf("r2 offered %v while resting", got)
	}
	e.advance(time.Second)
	e.tick()
	if got := e.offersOf(r2); !slices.Equal(got, []string{st(b, carehex.OfferOpen)}) {
		t.Fatalf("r2 offers after its rest = %v, want b's", got)
	}

	// r3 finds nobody (a and b hold offers); a declines r1, which frees a
	// in this engine, and the very next pass offers r3 to a.
	r3 := e.request("meal_delivery", carehex.UrgencySoon)
	if got := e.dispatch(r3); len(got) != 0 {
		t.Fatalf("r3 offered %v with nobody free", got)
	}
	if err := e.eng.Decline(ctx, a.ID, o1.ID, "busy"); err != nil {
		t.Fatal(err)
	}
	e.tick()
	if got := e.offersOf(r3); !slices.Contains(got, st(a, carehex.OfferOpen)) {
		t.Fatalf("r3 offers after a was freed = %v, want a's", got)
	}
}
