package dispatch_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/internal/testenv"
)

// orgDialects: the two-tier tests run on SQLite and on PostgreSQL.
var orgDialects = []struct {
	name string
	dsn  func(t testing.TB) string
}{
	{"sqlite", func(t testing.TB) string { return testenv.SQLitePath(t) }},
	{"postgres", func(t testing.TB) string { return testenv.PostgresURL(t) }},
}

// viaBathing routes the skill "bathing" via organisations.
func viaBathing(c *dispatch.Config) { c.Via.Services = []string{"bathing"} }

// newOrgEnvBare is newEnv on the given database, with the routes wired in
// and the resident in 马尚街道 of 张店区. newOrgEnv adds four
// organisations: org_a serves
// that street, org_b the whole district (both hold a bathing contract),
// org_c another district, org_d has a contract for meals only.
func newOrgEnvBare(t *testing.T, dsn string, edit ...func(*dispatch.Config)) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), zone: uniqueZone(), cfg: dispatch.DefaultConfig(), placed: map[string]placed{}}
	viaBathing(&e.cfg)
	for _, f := range edit {
		f(&e.cfg)
	}
	e.db = openDB(t, dsn, e.clock)
	e.live = openLive(t, e.zone, e.clock)
	e.eng = newOrgEngine(t, e)
	if err := e.eng.Tick(context.Background()); err != nil {
		t.Fatalf("first Tick: %v", err)
	}
	ctx := opCtx()
	e.res = &carehex.Resident{Name: "张桂兰", Phone: "13905330001", Address: "张店区马尚街道56号", District: "张店区", Street: "马尚街道", Location: zibo}
	if err := e.db.CreateResident(ctx, e.res); err != nil {
		t.Fatal(err)
	}
	return e
}

// newOrgEnv is newOrgEnvBare with the four organisations.
func newOrgEnv(t *testing.T, dsn string, edit ...func(*dispatch.Config)) *env {
	t.Helper()
	e := newOrgEnvBare(t, dsn, edit...)
	ctx := opCtx()
	from := e.clock.Now().Add(-24 * time.Hour)
	for _, o := range []struct {
		id, name string
		area     []string
		services []string
	}{
		{"org_a", "马尚护理站", []string{"马尚街道"}, []string{"bathing"}},
		{"org_b", "张店居家服务社", nil, []string{"bathing", "meal_delivery"}},
		{"org_c", "淄川服务中心", []string{"淄川区"}, []string{"bathing"}},
		{"org_d", "助餐志愿站", nil, []string{"meal_delivery"}},
	} {
		if err := e.db.CreateOrganisation(ctx, &carehex.Organisation{ID: o.id, Name: o.name, Kind: carehex.OrgContractor, Area: o.area}); err != nil {
			t.Fatal(err)
		}
		if err := e.db.CreateContract(ctx, &carehex.Contract{OrgID: o.id, Services: o.services, Unit: carehex.UnitVisit, PriceFen: 4000, ValidFrom: from}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func newOrgEngine(t testing.TB, e *env) *dispatch.Engine {
	t.Helper()
	eng, err := dispatch.New(e.cfg, dispatch.Deps{Store: e.db, Live: e.live, Clock: e.clock.Now, Routes: e.db})
	if err != nil {
		t.Fatalf("dispatch.New: %v", err)
	}
	return eng
}

func inOrg(id string) func(*carehex.Provider) { return func(p *carehex.Provider) { p.OrgID = id } }

func (e *env) openRoute(r *carehex.ServiceRequest) *carehex.Route {
	e.t.Helper()
	rt, err := e.db.OpenRoute(context.Background(), r.ID)
	if err != nil {
		e.t.Fatalf("OpenRoute(%s): %v", r.ID, err)
	}
	return rt
}

func factor(c carehex.OrgCandidate, name string) float64 {
	for _, f := range c.Factors {
		if f.Name == name {
			return f.Value
		}
	}
	return -99
}

// TestOrgRouting walks two-tier dispatch: routing by area, contract,
// capacity and rotation, with the reasons recorded; no offers while the
// organisation's dispatcher decides; its dispatcher assigning its own carer
// and refused another organisation's carer or request; the deadline raising
// the alert and the operator re-routing; auto-dispatch offering to the
// organisation's carers only; and emergencies and other services going
// direct.
func TestOrgRouting(t *testing.T) {
	for _, d := range orgDialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			e := newOrgEnv(t, d.dsn(t))
			ctx := context.Background()
			a1 := e.provider("甲一", away(300), inOrg("org_a"))
			b1 := e.provider("乙一", away(600), inOrg("org_b"))
			b2 := e.provider("乙二", away(900), inOrg("org_b"))

			// r1: org_a and org_b both qualify with spare capacity and were
			// never routed: the tie goes by ID.
			r1 := e.request("bathing", carehex.UrgencySoon)
			if offers := e.dispatch(r1); len(offers) != 0 {
				t.Fatalf("a request routed to an organisation was offered to %v", offers)
			}
			rt1 := e.openRoute(r1)
			if rt1.OrgID != "org_a" || rt1.Attempt != 1 || !rt1.DueTime.Equal(e.clock.Now().Add(e.cfg.Via.Soon)) {
				t.Fatalf("r1 route = %+v, want org_a due in %s", rt1, e.cfg.Via.Soon)
			}
			why := map[string]string{}
			for _, c := range rt1.Ranking {
				why[c.OrgID] = c.Why
			}
			if why["org_c"] != carehex.FactorArea || why["org_d"] != carehex.FactorContract || why["org_a"] != "" || why["org_b"] != "" {
				t.Errorf("r1 ranking reasons = %v", why)
			}
			// r2: rotation, org_a was routed to last.
			r2 := e.request("bathing", carehex.UrgencySoon)
			e.dispatch(r2)
			if rt := e.openRoute(r2); rt.OrgID != "org_b" {
				t.Fatalf("r2 routed to %s, want org_b by rotation", rt.OrgID)
			}
			// r3: capacity. org_a has one free carer and one open order,
			// org_b two and one: org_b, although it was routed to last.
			r3 := e.request("bathing", carehex.UrgencySoon)
			e.dispatch(r3)
			rt3 := e.openRoute(r3)
			if rt3.OrgID != "org_b" {
				t.Fatalf("r3 routed to %s, want org_b by capacity; ranking %+v", rt3.OrgID, rt3.Ranking)
			}
			if c := rt3.Ranking[0]; factor(c, carehex.FactorFreeCarers) != 2 || factor(c, carehex.FactorOpenOrders) != 1 || factor(c, carehex.FactorCapacity) != 1 {
				t.Errorf("r3's org_b factors = %+v", c.Factors)
			}
			if c := rt3.Ranking[1]; c.OrgID != "org_a" || !c.Eligible || factor(c, carehex.FactorCapacity) != 0 {
				t.Errorf("r3's second = %+v, want org_a eligible with no spare capacity", c)
			}
			// The history says where it went; a tick changes nothing.
			evs, err := e.db.RequestEvents(ctx, r3.ID)
			if err != nil || evs[len(evs)-1].Type != carehex.EventRouted || evs[len(evs)-1].Reason != "张店居家服务社" {
				t.Errorf("r3 events = %+v, %v", evs, err)
			}
			e.tick()
			for _, r := range []*carehex.ServiceRequest{r1, r2, r3} {
				if got := e.offersOf(r); len(got) != 0 || e.status(r.ID) != carehex.StatusPending {
					t.Errorf("%s after a tick: offers %v, status %s", r.ID, got, e.status(r.ID))
				}
			}

			// The organisation's dispatcher: another organisation's request
			// or carer is not found; its own carer on its own request is.
			_, _, err = e.eng.AssignForOrg(ctx, "org_a", r2.ID, a1.ID, "user:disp_a", "")
			wantCode(t, err, carehex.ENOTFOUND)
			_, _, err = e.eng.AssignForOrg(ctx, "org_b", r2.ID, a1.ID, "user:disp_b", "")
			wantCode(t, err, carehex.ENOTFOUND)
			if e.status(r2.ID) != carehex.StatusPending {
				t.Fatalf("a refused assignment moved r2 to %s", e.status(r2.ID))
			}
			req, v, err := e.eng.AssignForOrg(ctx, "org_a", r1.ID, a1.ID, "user:disp_a", "")
			if err != nil || req.Status != carehex.StatusAssigned || v.ProviderID != a1.ID {
				t.Fatalf("AssignForOrg(own) = %+v, %+v, %v", req, v, err)
			}
			if _, err := e.db.OpenRoute(ctx, r1.ID); carehex.ErrorCode(err) != carehex.ENOTFOUND {
				t.Errorf("r1's route is still open after the assignment: %v", err)
			}

			// The deadline passes: the operator is alerted once per route.
			e.advance(e.cfg.Via.Soon + time.Second)
			e.tick()
			e.tick()
			for _, r := range []*carehex.ServiceRequest{r2, r3} {
				if got := e.openAlerts(r); !slices.Contains(got, carehex.AlertOrgSlow) {
					t.Errorf("alerts of %s past the deadline = %v, want org_slow", r.ID, got)
				}
			}
			as, _ := e.db.Alerts(ctx, true, 0)
			for _, a := range as {
				if a.RequestID == r2.ID && a.Kind == carehex.AlertOrgSlow && (a.Code != carehex.MsgOrgSlow || a.Params["org"] != "张店居家服务社") {
					t.Errorf("org_slow alert words = %s %v", a.Code, a.Params)
				}
			}
			// The operator re-routes r2 to the next organisation: org_a.
			rt, err := e.eng.Reroute(ctx, r2.ID, "user:op", "slow")
			if err != nil || rt.OrgID != "org_a" || rt.Attempt != 2 {
				t.Fatalf("Reroute = %+v, %v", rt, err)
			}
			_, err = e.eng.Reroute(ctx, r2.ID, "user:op", "slow")
			wantCode(t, err, carehex.ECONFLICT)
			if got := e.openRoute(r2); got.ID != rt.ID {
				t.Errorf("a refused re-route changed the route to %+v", got)
			}

			// Auto-dispatch at org_b: r3 is offered to its carers only,
			// although a carer of no organisation is nearer.
			d1 := e.provider("丙", away(100))
			if err := e.db.SetOrgAutoDispatch(ctx, "org_b", true, "user:disp_b"); err != nil {
				t.Fatal(err)
			}
			offers := e.dispatch(r3)
			if len(offers) != 1 || (offers[0].ProviderID != b1.ID && offers[0].ProviderID != b2.ID) {
				t.Fatalf("auto-dispatch offers = %+v, want one to org_b's carers", offers)
			}
			e.accept(offers[0])
			if _, err := e.db.OpenRoute(ctx, r3.ID); carehex.ErrorCode(err) != carehex.ENOTFOUND {
				t.Errorf("r3's route is still open after the acceptance: %v", err)
			}
			if got := e.openAlerts(r3); slices.Contains(got, carehex.AlertOrgSlow) {
				t.Errorf("org_slow still open after the assignment: %v", got)
			}

			// Direct: an emergency bath, and a meal (not routed).
			em := e.request("bathing", carehex.UrgencyEmergency)
			if offers := e.dispatch(em); len(offers) == 0 || offers[0].ProviderID != d1.ID {
				t.Errorf("emergency offers = %+v, want direct, nearest (%s) first", offers, d1.ID)
			}
			if _, err := e.db.OpenRoute(ctx, em.ID); carehex.ErrorCode(err) != carehex.ENOTFOUND {
				t.Errorf("an emergency was routed: %v", err)
			}
			if rs, _ := e.db.RequestRoutes(ctx, em.ID); len(rs) != 0 {
				t.Errorf("emergency routes = %+v", rs)
			}
		})
	}
}

// TestOrgAutoReroute: with AutoReroute, a missed deadline sends the
// request on by itself, alerting the operator, and the next organisation
// gets its own deadline; with no organisation left, the alert stays and
// the route does not change.
func TestOrgAutoReroute(t *testing.T) {
	e := newOrgEnv(t, testenv.SQLitePath(t), func(c *dispatch.Config) { c.Via.AutoReroute = true })
	e.provider("甲一", away(300), inOrg("org_a"))
	r := e.request("bathing", carehex.UrgencySoon)
	e.dispatch(r)
	first := e.openRoute(r)
	e.advance(e.cfg.Via.Soon + time.Second)
	e.tick()
	second := e.openRoute(r)
	if second.OrgID == first.OrgID || second.Attempt != 2 || !second.DueTime.Equal(e.clock.Now().Add(e.cfg.Via.Soon)) {
		t.Fatalf("after the deadline: %+v, first %+v", second, first)
	}
	if got := e.openAlerts(r); !slices.Contains(got, carehex.AlertOrgSlow) {
		t.Errorf("alerts = %v, want org_slow", got)
	}
	e.advance(e.cfg.Via.Soon + time.Second)
	e.tick()
	if got := e.openRoute(r); got.ID != second.ID || got.LateTime.IsZero() {
		t.Errorf("with nobody left: %+v, want the second route, marked late", got)
	}
}

// TestOrgNoOrganisation: a request no organisation can take raises the
// no_organisation alert and is offered to nobody, although a carer is free;
// a re-route with no organisation left is refused and changes nothing.
func TestOrgNoOrganisation(t *testing.T) {
	e := newOrgEnvBare(t, testenv.SQLitePath(t))
	e.provider("丙", away(100))
	r := e.request("bathing", carehex.UrgencySoon)
	if offers := e.dispatch(r); len(offers) != 0 {
		t.Fatalf("offers = %+v, want none", offers)
	}
	if got := e.openAlerts(r); !slices.Contains(got, carehex.AlertNoOrganisation) {
		t.Errorf("alerts = %v, want no_organisation", got)
	}
	ctx := opCtx()
	if err := e.db.CreateOrganisation(ctx, &carehex.Organisation{ID: "org_b", Name: "张店居家服务社", Kind: carehex.OrgContractor}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.CreateContract(ctx, &carehex.Contract{OrgID: "org_b", Services: []string{"bathing"}, Unit: carehex.UnitVisit,
		PriceFen: 4000, ValidFrom: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute) // past the backoff
	e.tick()
	if rt := e.openRoute(r); rt.OrgID != "org_b" {
		t.Fatalf("routed to %s, want org_b", rt.OrgID)
	}
	if _, err := e.eng.Reroute(context.Background(), r.ID, "user:op", ""); carehex.ErrorCode(err) != carehex.ECONFLICT {
		t.Fatalf("Reroute with nobody left = %v, want ECONFLICT", err)
	}
	if rs, _ := e.db.RequestRoutes(context.Background(), r.ID); len(rs) != 1 {
		t.Errorf("routes after a refused re-route = %d, want 1", len(rs))
	}
}

// TestOrgTwoReplicasRouteOnce: two engines dispatching the same requests at
// once route each exactly once (one route, one "routed" event); past the
// deadline, both ticking at once, each request is re-routed once and
// alerted on once.
func TestOrgTwoReplicasRouteOnce(t *testing.T) {
	dsn := testenv.PostgresURL(t)
	e := newOrgEnv(t, dsn, func(c *dispatch.Config) { c.Via.AutoReroute = true })
	e.provider("乙一", away(600), inOrg("org_b"))
	other := newOrgEngine(t, &env{cfg: e.cfg, db: openDB(t, dsn, e.clock), live: openLive(t, e.zone, e.clock), clock: e.clock})
	ctx := context.Background()
	var reqs []*carehex.ServiceRequest
	for range 8 {
		reqs = append(reqs, e.request("bathing", carehex.UrgencySoon))
	}
	var wg sync.WaitGroup
	for _, eng := range []*dispatch.Engine{e.eng, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range reqs {
				if _, err := eng.Dispatch(ctx, r.ID); err != nil {
					t.Errorf("Dispatch: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	for _, r := range reqs {
		rs, err := e.db.RequestRoutes(ctx, r.ID)
		if err != nil || len(rs) != 1 {
			t.Errorf("%s routes = %d, %v; want exactly one", r.ID, len(rs), err)
		}
		evs, _ := e.db.RequestEvents(ctx, r.ID)
		n := 0
		for _, ev := range evs {
			if ev.Type == carehex.EventRouted {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s has %d routed events, want 1", r.ID, n)
		}
	}

	e.advance(e.cfg.Via.Soon + time.Second)
	for _, eng := range []*dispatch.Engine{e.eng, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := eng.Tick(ctx); err != nil {
				t.Errorf("Tick: %v", err)
			}
		}()
	}
	wg.Wait()
	as, err := e.db.Alerts(ctx, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	slow := map[string]int{}
	for _, a := range as {
		if a.Kind == carehex.AlertOrgSlow {
			slow[a.RequestID]++
		}
	}
	for _, r := range reqs {
		rs, err := e.db.RequestRoutes(ctx, r.ID)
		if err != nil || len(rs) != 2 || rs[0].OrgID == rs[1].OrgID || rs[0].EndReason != carehex.RouteRerouted {
			t.Errorf("%s routes after the deadline = %+v, %v; want one re-route", r.ID, rs, err)
		}
		if slow[r.ID] != 1 {
			t.Errorf("%s has %d org_slow alerts, want 1", r.ID, slow[r.ID])
		}
	}
}

// TestOrgRoutingSettings: bad settings are refused with the setting named.
func TestOrgRoutingSettings(t *testing.T) {
	c := dispatch.DefaultConfig()
	c.Via.Services = []string{"bathing"}
	c.Via.Soon = 0
	if err := c.Validate(); carehex.ErrorField(err) != "via.soon" {
		t.Errorf("Validate(soon 0) = %v, want via.soon", err)
	}
	cat := testenv.Catalog()
	for _, tc := range []struct {
		in   string
		want bool
	}{{"bathing", true}, {"daily_life", true}, {"meal_delivery,meals", true}, {"emergency", false}, {"fall_help", false}, {"nope", false}, {"bathing, nope", false}} {
		v := dispatch.OrgRouting{Services: dispatch.ParseViaOrg(tc.in)}
		if err := v.Check(cat); (err == nil) != tc.want {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.in, err, tc.want)
		}
	}
	if _, err := dispatch.New(c, dispatch.Deps{}); carehex.ErrorCode(err) != carehex.EINVALID {
		t.Errorf("New(bad) = %v", err)
	}
}
