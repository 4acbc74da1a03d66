package sqlstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// recorder is a Publisher that keeps what it was told and, at the moment it
// is told, reads the request's status back through another connection: a
// notice published before the commit would see the old status.
type recorder struct {
	e   *env
	err error // what Publish returns

	mu    sync.Mutex
	calls [][]carehex.Notice
	seen  map[string]carehex.Status // request ID → status read when notified
}

func (r *recorder) Publish(ctx context.Context, notices ...carehex.Notice) error {
	seen := map[string]carehex.Status{}
	for _, n := range notices {
		if n.Topic == carehex.TopicRequest {
			req, err := r.e.ServiceRequest(ctx, n.ID)
			if err != nil {
				return err
			}
			seen[n.ID] = req.Status
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, slices.Clone(notices))
	for k, v := range seen {
		r.seen[k] = v
	}
	return r.err
}

// take returns the notices published since the last take, sorted, as
// "topic:id" strings.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		for _, n := range c {
			out = append(out, n.String())
		}
	}
	r.calls = nil
	slices.Sort(out)
	return slices.Compact(out)
}

func notices(ns ...carehex.Notice) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.String()
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestPublishAfterCommit(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		rec := &recorder{e: e, seen: map[string]carehex.Status{}}
		e.SetPublisher(rec, nil)
		req := func(id string) carehex.Notice { return carehex.Notice{Topic: carehex.TopicRequest, ID: id} }
		res := func(id string) carehex.Notice { return carehex.Notice{Topic: carehex.TopicResident, ID: id} }
		prv := func(id string) carehex.Notice { return carehex.Notice{Topic: carehex.TopicProvider, ID: id} }
		console := carehex.ConsoleNotice
		want := func(step string, r *carehex.ServiceRequest, ns ...carehex.Notice) {
			t.Helper()
			if got, w := rec.take(), notices(ns...); !slices.Equal(got, w) {
				t.Fatalf("%s published %v, want %v", step, got, w)
			}
			if r == nil {
				return
			}
			rec.mu.Lock()
			seen := rec.seen[r.ID]
			rec.mu.Unlock()
			if now := requestStatus(t, e, r.ID); seen != now {
				t.Fatalf("%s: the publisher read the request as %s, it is %s: published before the commit", step, seen, now)
			}
		}

		resident := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		rec.take() // a resident is nobody's news yet
		r := mustCreateRequest(t, e, resident.ID)
		want("CreateServiceRequest", r, req(r.ID), res(resident.ID), console, carehex.DispatchNotice)

		p1, p2 := mustCreateProvider(t, e, "李师傅"), mustCreateProvider(t, e, "王阿姨")
		rec.take()
		o1 := newOffer(e, r, p1, 1)
		mustOffer(t, e, o1)
		want("CreateOffers", r, req(r.ID), console, prv(p1.ID))
		if err := e.CreateOffers(ctx, []*carehex.Offer{newOffer(e, r, p2, 2)}, ""); carehex.ErrorCode(err) != carehex.ECONFLICT {
			t.Fatalf("second offer of a routine request: %v, want ECONFLICT", err)
		}
		want("a refused CreateOffers", nil)

		mustClose(t, e, o1, carehex.OfferDeclined, "busy")
		want("CloseOffer (back to pending)", r, req(r.ID), res(resident.ID), console, prv(p1.ID), carehex.DispatchNotice)

		o2 := newOffer(e, r, p2, 2)
		mustOffer(t, e, o2)
		rec.take()
		now := e.clock.Now()
		v := mustAssign(t, e, claim(r, p2, 2, now.Add(time.Hour), now.Add(2*time.Hour)))
		want("AssignRequest", r, req(r.ID), res(resident.ID), console, prv(p2.ID))
		mustClose(t, e, o2, carehex.OfferAccepted, "")
		want("CloseOffer (accepted)", r, req(r.ID), console, prv(p2.ID))

		mustMove(t, e, v, carehex.StatusEnRoute, time.Time{})
		want("TransitionVisit", r, req(r.ID), res(resident.ID), console, prv(p2.ID))

		ev := &carehex.VisitEvent{EventID: "evt-1", VisitID: v.ID, ProviderID: p2.ID, Type: carehex.VisitArrive,
			Position: resident.Location, DeviceTime: e.clock.Now()}
		if _, _, _, err := e.RecordVisitEvent(ctx, ev, carehex.VisitEventRules{}); err != nil {
			t.Fatal(err)
		}
		// An arrival writes the family's notification: the relays wake too.
		want("RecordVisitEvent", r, req(r.ID), res(resident.ID), console, prv(p2.ID), carehex.OutboxNotice)
		if _, _, replayed, err := e.RecordVisitEvent(ctx, ev, carehex.VisitEventRules{}); err != nil || !replayed {
			t.Fatalf("replayed RecordVisitEvent = %v, %v", replayed, err)
		}
		want("a replayed RecordVisitEvent", nil)

		// An exception of the visit: it holds whatever the request's status
		// (an unaccepted alert would not be raised for a request in progress).
		a := &carehex.Alert{RequestID: r.ID, Kind: carehex.ExceptionShortVisit, Message: "m"}
		if _, err := e.RaiseAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
		want("RaiseAlert", nil, console)
		if created, err := e.RaiseAlert(ctx, &carehex.Alert{RequestID: r.ID, Kind: carehex.ExceptionShortVisit, Message: "m"}); err != nil || created {
			t.Fatalf("second RaiseAlert = %v, %v", created, err)
		}
		want("RaiseAlert of one already open", nil)
		if _, err := e.AcknowledgeAlert(ctx, a.ID, ""); err != nil {
			t.Fatal(err)
		}
		want("AcknowledgeAlert", nil, console)
		if _, err := e.AcknowledgeAlert(ctx, a.ID, ""); err != nil {
			t.Fatal(err)
		}
		want("a second AcknowledgeAlert", nil)

		// A publisher that fails does not fail the write: it has committed.
		rec.err = errors.New("redis away")
		out, err := e.TransitionRequest(ctx, r.ID, carehex.StatusCancelled, "", "family called off")
		if err != nil || out.Status != carehex.StatusCancelled {
			t.Fatalf("TransitionRequest with a failing publisher = %+v, %v", out, err)
		}
		want("TransitionRequest (cancel with its visit)", r, req(r.ID), res(resident.ID), console, prv(p2.ID))
		if _, err := e.TransitionRequest(ctx, r.ID, carehex.StatusCancelled, "", "again"); !strings.Contains(carehex.ErrorCode(err), carehex.ECONFLICT) {
			t.Fatalf("cancelling twice: %v, want ECONFLICT", err)
		}
		want("a refused TransitionRequest", nil)

		e.SetPublisher(nil, nil)
		mustCreateRequest(t, e, resident.ID)
		want("with the publisher removed", nil)
	})
}
