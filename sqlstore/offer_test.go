package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// offerTTL is how long the test offers stay open.
const offerTTL = 45 * time.Second

// newOffer is what a dispatcher records after claiming provider p for r.
func newOffer(e *env, r *carehex.ServiceRequest, p *carehex.Provider, fence int64) *carehex.Offer {
	return &carehex.Offer{RequestID: r.ID, ProviderID: p.ID, Fence: fence, DistanceM: 1200,
		ExpireTime: e.clock.Now().Add(offerTTL)}
}

func mustOffer(t *testing.T, e *env, offers ...*carehex.Offer) {
	t.Helper()
	if err := e.CreateOffers(context.Background(), offers, "system:dispatch"); err != nil {
		t.Fatalf("CreateOffers: %v", err)
	}
}

func mustClose(t *testing.T, e *env, o *carehex.Offer, st carehex.OfferStatus, reason string) *carehex.Offer {
	t.Helper()
	out, err := e.CloseOffer(context.Background(), o.ID, st, reason, "provider:"+o.ProviderID)
	if err != nil {
		t.Fatalf("CloseOffer(%s, %s): %v", o.ID, st, err)
	}
	return out
}

func requestStatus(t *testing.T, e *env, id string) carehex.Status {
	t.Helper()
	r, err := e.ServiceRequest(context.Background(), id)
	if err != nil {
		t.Fatalf("ServiceRequest: %v", err)
	}
	return r.Status
}

func lastEvent(t *testing.T, e *env, requestID string) *carehex.Event {
	t.Helper()
	evs, err := e.RequestEvents(context.Background(), requestID)
	if err != nil || len(evs) == 0 {
		t.Fatalf("RequestEvents = %v, %v", evs, err)
	}
	return evs[len(evs)-1]
}

func mustCreateUrgent(t *testing.T, e *env, residentID string) *carehex.ServiceRequest {
	t.Helper()
	r, _, err := e.CreateServiceRequest(opCtx(), &carehex.ServiceRequest{ResidentID: residentID,
		ServiceCode: "fall_help", Urgency: carehex.UrgencyEmergency}, "")
	if err != nil {
		t.Fatalf("CreateServiceRequest: %v", err)
	}
	return r
}

func TestCreateOffers(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p1, p2, p3 := mustCreateProvider(t, e, "王芳"), mustCreateProvider(t, e, "李娜"), mustCreateProvider(t, e, "赵强")
		r := mustCreateUrgent(t, e, res.ID)
		e.clock.Advance(time.Second)
		now := precise(e.clock.Now())

		o1, o2 := newOffer(e, r, p1, 3), newOffer(e, r, p2, 9)
		mustOffer(t, e, o1, o2)
		if !strings.HasPrefix(o1.ID, "ofr_") || o1.ID == o2.ID || o1.Status != carehex.OfferOpen || o1.ServiceCode != "fall_help" ||
			!o1.CreateTime.Equal(now) || !o1.ExpireTime.Equal(now.Add(offerTTL)) || !o1.CloseTime.IsZero() {
			t.Errorf("offer after CreateOffers: %+v", o1)
		}
		if got, err := e.Offer(ctx, o2.ID); err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", o2) {
			t.Errorf("Offer() = %+v, %v\nwant %+v", got, err, o2)
		}
		if st := requestStatus(t, e, r.ID); st != carehex.StatusOffered {
			t.Errorf("request is %s after CreateOffers, want offered", st)
		}
		ev := lastEvent(t, e, r.ID)
		if ev.Seq != 2 || ev.Type != "offered" || ev.FromStatus != carehex.StatusPending || ev.ToStatus != carehex.StatusOffered ||
			ev.Actor != "system:dispatch" || !strings.Contains(ev.Reason, p1.ID) || !strings.Contains(ev.Reason, p2.ID) {
			t.Errorf("offered event: %+v", ev)
		}
		if recs := auditOf(t, e, r.ID); len(recs) < 2 || recs[0].Action != "offer.create" || !strings.Contains(recs[0].Detail, p2.ID+"@9") {
			t.Errorf("audit of request = %+v", recs)
		}
		if os, err := e.RequestOffers(ctx, r.ID); err != nil || len(os) != 2 {
			t.Errorf("RequestOffers = %+v, %v", os, err)
		}
		if os, err := e.OpenOffers(ctx, p1.ID, e.clock.Now()); err != nil || len(os) != 1 || os[0].ID != o1.ID {
			t.Errorf("OpenOffers(p1) = %+v, %v", os, err)
		}
		if os, err := e.OpenOffers(ctx, p3.ID, e.clock.Now()); err != nil || len(os) != 0 {
			t.Errorf("OpenOffers(p3) = %+v, %v", os, err)
		}

		// An emergency tops up its fan-out while offered.
		o3 := newOffer(e, r, p3, 4)
		mustOffer(t, e, o3)
		if ev := lastEvent(t, e, r.ID); ev.Type != "offered" || ev.FromStatus != carehex.StatusOffered || ev.ToStatus != carehex.StatusOffered {
			t.Errorf("top-up event: %+v", ev)
		}

		routine := mustCreateRequest(t, e, res.ID)
		mustOffer(t, e, newOffer(e, routine, p1, 5))
		cancelled := mustCreateRequest(t, e, res.ID)
		if _, err := e.TransitionRequest(ctx, cancelled.ID, carehex.StatusCancelled, "", "duplicate"); err != nil {
			t.Fatal(err)
		}
		fresh := mustCreateRequest(t, e, res.ID)
		// one is a single offer of fresh, edited.
		one := func(edit func(o *carehex.Offer)) func() []*carehex.Offer {
			return func() []*carehex.Offer {
				o := newOffer(e, fresh, p1, 1)
				edit(o)
				return []*carehex.Offer{o}
			}
		}
		tests := []struct {
			name        string
			offers      func() []*carehex.Offer
			code, field string
		}{
			{"none", func() []*carehex.Offer { return nil }, carehex.EINVALID, "offers"},
			{"nil offer", func() []*carehex.Offer { return []*carehex.Offer{nil} }, carehex.EINVALID, "offers"},
			{"no request", one(func(o *carehex.Offer) { o.RequestID = "" }), carehex.EINVALID, "request_id"},
			{"two requests", func() []*carehex.Offer {
				return []*carehex.Offer{newOffer(e, fresh, p1, 1), newOffer(e, routine, p2, 1)}
			}, carehex.EINVALID, "request_id"},
			{"no provider", one(func(o *carehex.Offer) { o.ProviderID = "" }), carehex.EINVALID, "provider_id"},
			{"provider twice", func() []*carehex.Offer {
				return []*carehex.Offer{newOffer(e, fresh, p1, 1), newOffer(e, fresh, p1, 2)}
			}, carehex.EINVALID, "provider_id"},
			{"no fence", one(func(o *carehex.Offer) { o.Fence = 0 }), carehex.EINVALID, "fence"},
			{"bad distance", one(func(o *carehex.Offer) { o.DistanceM = -1 }), carehex.EINVALID, "distance_m"},
			{"no expiry", one(func(o *carehex.Offer) { o.ExpireTime = time.Time{} }), carehex.EINVALID, "expire_time"},
			{"expired", one(func(o *carehex.Offer) { o.ExpireTime = e.clock.Now().Add(-time.Second) }), carehex.EINVALID, "expire_time"},
			{"unknown request", one(func(o *carehex.Offer) { o.RequestID = "req_nope" }), carehex.ENOTFOUND, "request_id"},
			{"unknown provider", one(func(o *carehex.Offer) { o.ProviderID = "prv_nope" }), carehex.ENOTFOUND, "provider_id"},
			{"offered before", func() []*carehex.Offer { return []*carehex.Offer{newOffer(e, r, p3, 1)} }, carehex.ECONFLICT, "provider_id"},
			{"routine already offered", func() []*carehex.Offer { return []*carehex.Offer{newOffer(e, routine, p2, 1)} }, carehex.ECONFLICT, "request_id"},
			{"cancelled", func() []*carehex.Offer { return []*carehex.Offer{newOffer(e, cancelled, p1, 1)} }, carehex.ECONFLICT, "request_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := fmt.Sprint(rows(t, e, "offers"), rows(t, e, "request_events"), rows(t, e, "audit_records"))
				err := e.CreateOffers(ctx, tt.offers(), "system:dispatch")
				wantErr(t, err, tt.code, tt.field)
				if after := fmt.Sprint(rows(t, e, "offers"), rows(t, e, "request_events"), rows(t, e, "audit_records")); after != before {
					t.Errorf("a refused CreateOffers wrote: %s → %s", before, after)
				}
			})
		}
		if st := requestStatus(t, e, fresh.ID); st != carehex.StatusPending {
			t.Errorf("refusals moved the request to %s", st)
		}
		_, err := e.Offer(ctx, "ofr_nope")
		wantErr(t, err, carehex.ENOTFOUND, "offer_id")
	})
}

func TestCloseOffer(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p1, p2 := mustCreateProvider(t, e, "王芳"), mustCreateProvider(t, e, "李娜")

		t.Run("last open offer returns the request to pending", func(t *testing.T) {
			r := mustCreateUrgent(t, e, res.ID)
			o1, o2 := newOffer(e, r, p1, 1), newOffer(e, r, p2, 1)
			mustOffer(t, e, o1, o2)
			e.clock.Advance(10 * time.Second)

			got := mustClose(t, e, o1, carehex.OfferDeclined, "too far")
			if got.Status != carehex.OfferDeclined || got.Reason != "too far" || !got.CloseTime.Equal(precise(e.clock.Now())) {
				t.Errorf("declined offer: %+v", got)
			}
			if again, _ := e.Offer(ctx, o1.ID); fmt.Sprintf("%+v", again) != fmt.Sprintf("%+v", got) {
				t.Errorf("Offer() = %+v, want %+v", again, got)
			}
			ev := lastEvent(t, e, r.ID)
			if st := requestStatus(t, e, r.ID); st != carehex.StatusOffered || ev.Type != "offer_declined" ||
				ev.FromStatus != carehex.StatusOffered || ev.ToStatus != carehex.StatusOffered ||
				ev.Actor != "provider:"+p1.ID || ev.Reason != p1.ID+" declined: too far" {
				t.Errorf("one offer still open: request %s, event %+v", st, ev)
			}
			mustClose(t, e, o2, carehex.OfferExpired, "no answer in 45s")
			ev = lastEvent(t, e, r.ID)
			if st := requestStatus(t, e, r.ID); st != carehex.StatusPending || ev.Type != "offer_expired" ||
				ev.FromStatus != carehex.StatusOffered || ev.ToStatus != carehex.StatusPending || !strings.Contains(ev.Reason, "no answer") {
				t.Errorf("no offer left: request %s, event %+v", st, ev)
			}
			if recs := auditOf(t, e, o2.ID); len(recs) != 1 || recs[0].Action != "offer.close" {
				t.Errorf("audit of the offer = %+v", recs)
			}
			if os, _ := e.OpenOffers(ctx, p2.ID, e.clock.Now()); len(os) != 0 {
				t.Errorf("closed offer still open: %+v", os)
			}

			before := rows(t, e, "request_events")
			_, err := e.CloseOffer(ctx, o2.ID, carehex.OfferDeclined, "", "")
			wantConflict(t, err, "expired")
			_, err = e.CloseOffer(ctx, "ofr_nope", carehex.OfferDeclined, "", "")
			wantErr(t, err, carehex.ENOTFOUND, "offer_id")
			_, err = e.CloseOffer(ctx, o2.ID, carehex.OfferOpen, "", "")
			wantErr(t, err, carehex.EINVALID, "status")
			_, err = e.CloseOffer(ctx, o2.ID, carehex.OfferDeclined, "\xff", "")
			wantErr(t, err, carehex.EINVALID, "reason")
			if after := rows(t, e, "request_events"); after != before {
				t.Errorf("refused closes wrote %d events", after-before)
			}
		})

		t.Run("accepted offer leaves the request assigned", func(t *testing.T) {
			r := mustCreateUrgent(t, e, res.ID)
			o1, o2 := newOffer(e, r, p1, 10), newOffer(e, r, p2, 10)
			mustOffer(t, e, o1, o2)
			mustAssign(t, e, claim(r, p1, o1.Fence, at(10, 0), at(11, 0)))
			mustClose(t, e, o1, carehex.OfferAccepted, "")
			mustClose(t, e, o2, carehex.OfferWithdrawn, "another provider accepted first")
			if st := requestStatus(t, e, r.ID); st != carehex.StatusAssigned {
				t.Errorf("request is %s, want assigned", st)
			}
			evs, _ := e.RequestEvents(ctx, r.ID)
			var types []string
			for _, ev := range evs {
				types = append(types, ev.Type)
			}
			if got := strings.Join(types, ","); got != "created,offered,status_changed,offer_accepted,offer_withdrawn" {
				t.Errorf("history = %s", got)
			}
		})

		t.Run("closing races", func(t *testing.T) {
			// Many replicas expiring the same offers, and providers
			// declining at once: each offer closes once, the history stays
			// a single sequence, and the request returns to pending once.
			r := mustCreateUrgent(t, e, res.ID)
			ps := []*carehex.Provider{p1, p2, mustCreateProvider(t, e, "赵强")}
			var offers []*carehex.Offer
			for i, p := range ps {
				offers = append(offers, newOffer(e, r, p, int64(20+i)))
			}
			mustOffer(t, e, offers...)
			var (
				wg              sync.WaitGroup
				mu              sync.Mutex
				closed, refused int
			)
			for range 4 {
				for _, o := range offers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := e.CloseOffer(ctx, o.ID, carehex.OfferExpired, "no answer", "system:dispatch")
						mu.Lock()
						defer mu.Unlock()
						switch carehex.ErrorCode(err) {
						case "":
							closed++
						case carehex.ECONFLICT:
							refused++
						default:
							t.Errorf("CloseOffer: %v", err)
						}
					}()
				}
			}
			wg.Wait()
			if closed != len(offers) || refused != 3*len(offers) {
				t.Errorf("closed %d, refused %d; want %d and %d", closed, refused, len(offers), 3*len(offers))
			}
			evs, _ := e.RequestEvents(ctx, r.ID)
			back := 0
			for i, ev := range evs {
				if ev.Seq != i+1 {
					t.Errorf("event %d has seq %d", i, ev.Seq)
				}
				if ev.ToStatus == carehex.StatusPending && ev.FromStatus == carehex.StatusOffered {
					back++
				}
			}
			if st := requestStatus(t, e, r.ID); st != carehex.StatusPending || back != 1 || len(evs) != 2+len(offers) {
				t.Errorf("request %s, %d returns to pending, %d events", st, back, len(evs))
			}
		})
	})
}

func TestDueOffers(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p1, p2 := mustCreateProvider(t, e, "王芳"), mustCreateProvider(t, e, "李娜")
		r1 := mustCreateRequest(t, e, res.ID)
		o1 := newOffer(e, r1, p1, 1)
		mustOffer(t, e, o1)
		e.clock.Advance(10 * time.Second)
		r2 := mustCreateRequest(t, e, res.ID)
		o2 := newOffer(e, r2, p2, 1)
		mustOffer(t, e, o2)

		if due, err := e.DueOffers(ctx, e.clock.Now(), 0); err != nil || len(due) != 0 {
			t.Errorf("DueOffers before expiry = %+v, %v", due, err)
		}
		e.clock.Advance(offerTTL) // o1 is 10 s overdue, o2 due right now
		if due, err := e.DueOffers(ctx, e.clock.Now(), 0); err != nil || len(due) != 1 || due[0].ID != o1.ID {
			t.Errorf("DueOffers = %+v, %v; want o1 only (o2 expires at now, not before)", due, err)
		}
		if os, err := e.OpenOffers(ctx, p1.ID, e.clock.Now()); err != nil || len(os) != 0 {
			t.Errorf("OpenOffers lists an expired offer: %+v, %v", os, err)
		}
		e.clock.Advance(time.Second)
		due, err := e.DueOffers(ctx, e.clock.Now(), 10)
		if err != nil || len(due) != 2 || due[0].ID != o1.ID || due[1].ID != o2.ID {
			t.Fatalf("DueOffers = %+v, %v; want o1, o2", due, err)
		}
		if due, _ := e.DueOffers(ctx, e.clock.Now(), 1); len(due) != 1 {
			t.Errorf("DueOffers(limit 1) = %d offers", len(due))
		}
		mustClose(t, e, o1, carehex.OfferExpired, "")
		if due, _ := e.DueOffers(ctx, e.clock.Now(), 10); len(due) != 1 || due[0].ID != o2.ID {
			t.Errorf("a closed offer is still due: %+v", due)
		}
	})
}

// TestOfferRace: dispatcher replicas that all saw a routine request pending
// offer it to different providers at once. One wins; the others are told so
// and write nothing.
func TestOfferRace(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		const n = 8
		ps := make([]*carehex.Provider, n)
		for i := range ps {
			ps[i] = mustCreateProvider(t, e, fmt.Sprintf("护理员%d", i))
		}
		for round := range 3 {
			r := mustCreateRequest(t, e, res.ID)
			var (
				wg   sync.WaitGroup
				errs [n]error
				go_  = make(chan struct{})
			)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-go_
					errs[i] = e.CreateOffers(ctx, []*carehex.Offer{newOffer(e, r, ps[i], int64(round+1))}, "system:dispatch")
				}()
			}
			close(go_)
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch carehex.ErrorCode(err) {
				case "":
					won++
				case carehex.ECONFLICT:
				default:
					t.Errorf("round %d: %v", round, err)
				}
			}
			os, _ := e.RequestOffers(ctx, r.ID)
			evs, _ := e.RequestEvents(ctx, r.ID)
			if won != 1 || len(os) != 1 || len(evs) != 2 {
				t.Errorf("round %d: %d won, %d offers, %d events; want 1, 1, 2", round, won, len(os), len(evs))
			}
		}
	})
}

func TestWaitingRequests(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p := mustCreateProvider(t, e, "王芳")
		scheduled := func(start time.Time) *carehex.ServiceRequest {
			t.Helper()
			r, _, err := e.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "bathing",
				Urgency: carehex.UrgencyScheduled, WindowStart: start, WindowEnd: start.Add(2 * time.Hour)}, "")
			if err != nil {
				t.Fatalf("CreateServiceRequest: %v", err)
			}
			return r
		}
		now := e.clock.Now()
		soon := mustCreateRequest(t, e, res.ID)
		e.clock.Advance(time.Second)
		later := scheduled(now.Add(3 * time.Hour)) // outside a 2 h lead
		near := scheduled(now.Add(time.Hour))      // inside it
		urgent := mustCreateUrgent(t, e, res.ID)
		mustOffer(t, e, newOffer(e, urgent, p, 1))
		e.clock.Advance(time.Second)
		taken := mustCreateRequest(t, e, res.ID)
		mustAssign(t, e, claim(taken, p, 5, at(20, 0), at(21, 0)))
		gone := mustCreateRequest(t, e, res.ID)
		if _, err := e.TransitionRequest(ctx, gone.ID, carehex.StatusCancelled, "", "duplicate"); err != nil {
			t.Fatal(err)
		}

		got, err := e.WaitingRequests(ctx, now.Add(2*time.Hour), 0)
		if err != nil {
			t.Fatalf("WaitingRequests: %v", err)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		// Pending ones first (routine by creation, then the scheduled one at
		// its window), then the offered ones.
		want := []string{soon.ID, near.ID, urgent.ID}
		if strings.Join(ids, " ") != strings.Join(want, " ") {
			t.Errorf("WaitingRequests = %v, want %v (later %s is not due)", ids, want, later.ID)
		}
		// The limit is per status: an offered request does not take a
		// pending one's place in the batch.
		if got, _ := e.WaitingRequests(ctx, now.Add(2*time.Hour), 1); len(got) != 2 || got[0].ID != soon.ID || got[1].ID != urgent.ID {
			t.Errorf("WaitingRequests(limit 1) = %+v, want %s then %s", got, soon.ID, urgent.ID)
		}
	})
}

func TestAlerts(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		r := mustCreateRequest(t, e, res.ID)

		a := &carehex.Alert{RequestID: r.ID, Kind: carehex.AlertUnaccepted, Message: "nobody accepted within 15m"}
		created, err := e.RaiseAlert(ctx, a)
		if err != nil || !created || !strings.HasPrefix(a.ID, "alr_") || !a.CreateTime.Equal(precise(e.clock.Now())) || !a.AckTime.IsZero() {
			t.Fatalf("RaiseAlert = %v, %v: %+v", created, err, a)
		}
		e.clock.Advance(time.Second)
		dup := &carehex.Alert{RequestID: r.ID, Kind: carehex.AlertUnaccepted, Message: "still nobody"}
		if created, err := e.RaiseAlert(ctx, dup); err != nil || created || fmt.Sprintf("%+v", dup) != fmt.Sprintf("%+v", a) {
			t.Errorf("second RaiseAlert = %v, %v: %+v, want the first %+v", created, err, dup, a)
		}
		other := &carehex.Alert{RequestID: r.ID, Kind: carehex.AlertNoCandidates, Message: "nobody within 5 km"}
		if created, err := e.RaiseAlert(ctx, other); err != nil || !created {
			t.Fatalf("RaiseAlert(other kind) = %v, %v", created, err)
		}
		if got, err := e.Alerts(ctx, true, 0); err != nil || len(got) != 2 || got[0].ID != other.ID || got[1].ID != a.ID {
			t.Errorf("Alerts(open) = %+v, %v; want newest first", got, err)
		}
		if recs := auditOf(t, e, a.ID); len(recs) != 1 || recs[0].Action != "alert.raise" {
			t.Errorf("audit of alert = %+v", recs)
		}

		e.clock.Advance(time.Second)
		acked, err := e.AcknowledgeAlert(ctx, a.ID, "")
		if err != nil || !acked.AckTime.Equal(precise(e.clock.Now())) || acked.AckBy != operator.Actor() || acked.Message != a.Message {
			t.Fatalf("AcknowledgeAlert = %+v, %v", acked, err)
		}
		e.clock.Advance(time.Second)
		if again, err := e.AcknowledgeAlert(ctx, a.ID, "user:usr_other"); err != nil || fmt.Sprintf("%+v", again) != fmt.Sprintf("%+v", acked) {
			t.Errorf("second AcknowledgeAlert = %+v, %v; want the first acknowledgement %+v", again, err, acked)
		}
		if recs := auditOf(t, e, a.ID); len(recs) != 2 || recs[0].Action != "alert.ack" {
			t.Errorf("audit of alert = %+v", recs)
		}
		if got, _ := e.Alerts(ctx, true, 0); len(got) != 1 || got[0].ID != other.ID {
			t.Errorf("Alerts(open) after ack = %+v", got)
		}
		if got, _ := e.Alerts(ctx, false, 0); len(got) != 2 {
			t.Errorf("Alerts(all) = %+v", got)
		}
		// Once acknowledged, the same trouble may be raised anew.
		again := &carehex.Alert{RequestID: r.ID, Kind: carehex.AlertUnaccepted, Message: "still nobody"}
		if created, err := e.RaiseAlert(ctx, again); err != nil || !created || again.ID == a.ID {
			t.Errorf("RaiseAlert after ack = %v, %v: %+v", created, err, again)
		}
		if got, _ := e.Alerts(ctx, false, 1); len(got) != 1 {
			t.Errorf("Alerts(limit 1) = %d alerts", len(got))
		}

		for _, tt := range []struct {
			name        string
			a           *carehex.Alert
			code, field string
		}{
			{"nil", nil, carehex.EINVALID, "alert"},
			{"no request", &carehex.Alert{Kind: "late", Message: "m"}, carehex.EINVALID, "request_id"},
			{"no kind", &carehex.Alert{RequestID: r.ID, Message: "m"}, carehex.EINVALID, "kind"},
			{"kind with spaces", &carehex.Alert{RequestID: r.ID, Kind: "a b", Message: "m"}, carehex.EINVALID, "kind"},
			{"no message", &carehex.Alert{RequestID: r.ID, Kind: "late"}, carehex.EINVALID, "message"},
			{"bad message", &carehex.Alert{RequestID: r.ID, Kind: "late", Message: "\xff"}, carehex.EINVALID, "message"},
			{"unknown request", &carehex.Alert{RequestID: "req_nope", Kind: "late", Message: "m"}, carehex.ENOTFOUND, "request_id"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := rows(t, e, "alerts")
				_, err := e.RaiseAlert(ctx, tt.a)
				wantErr(t, err, tt.code, tt.field)
				if rows(t, e, "alerts") != before {
					t.Error("a refused alert was written")
				}
			})
		}
		_, err = e.AcknowledgeAlert(ctx, "alr_nope", "")
		wantErr(t, err, carehex.ENOTFOUND, "id")

		// Replicas raising the same alert at once queue one.
		r2 := mustCreateRequest(t, e, res.ID)
		var (
			wg sync.WaitGroup
			mu sync.Mutex
			n  int
		)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				created, err := e.RaiseAlert(context.Background(), &carehex.Alert{RequestID: r2.ID, Kind: carehex.AlertUnaccepted, Message: "m"})
				if err != nil {
					t.Errorf("RaiseAlert: %v", err)
				}
				if created {
					mu.Lock()
					n++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if n != 1 {
			t.Errorf("%d concurrent raises created an alert, want 1", n)
		}
	})
}
