package dispatch_test

import (
	"context"
	"slices"
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/providers"
	"github.com/carehex/carehex/sqlstore"
)

// TestDispatchNew: a request handed over by its create is offered from what
// the create read, as Dispatch would offer it; handed over late (someone
// dispatched it meanwhile) it makes no second offer and keeps nobody.
func TestDispatchNew(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	near, far := e.provider("近", away(300)), e.provider("远", away(900))
	create := func(code string, u carehex.Urgency) *carehex.NewRequest {
		t.Helper()
		n, _, err := e.db.CreateServiceRequestWith(opCtx(), &carehex.ServiceRequest{ResidentID: e.res.ID, ServiceCode: code, Urgency: u}, "")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	n := create("meal_delivery", carehex.UrgencySoon)
	offers, err := e.eng.DispatchNew(ctx, n)
	if err != nil || len(offers) != 1 || offers[0].ProviderID != near.ID {
		t.Fatalf("DispatchNew = %+v, %v; want one offer to the nearest", offers, err)
	}
	if got := e.offersOf(n.Request); !slices.Equal(got, []string{near.ID + ":open"}) {
		t.Errorf("offers in SQL = %v", got)
	}
	// The same hand-over again, stale (it still says pending, no offers):
	// SQL refuses a second offer of a routine request and the claim on the
	// other provider is let go.
	if again, err := e.eng.DispatchNew(ctx, n); err != nil || len(again) != 0 {
		t.Errorf("stale DispatchNew = %+v, %v; want nothing", again, err)
	}
	if got := e.offersOf(n.Request); len(got) != 1 {
		t.Errorf("after a stale hand-over offers = %v", got)
	}
	if st := e.liveStatus(far.ID); st != providers.StatusAvailable {
		t.Errorf("%s is %s after the stale hand-over, want available", far.ID, st)
	}
	if _, err := e.eng.WithdrawOffers(ctx, n.Request.ID, "test"); err != nil {
		t.Fatal(err)
	}

	// An emergency is offered to several at once and may be topped up
	// while offered: a stale hand-over must not offer it a second time over.
	e.provider("三", away(1200))
	e.provider("四", away(1500))
	em := create("fall_help", carehex.UrgencyEmergency)
	first := e.dispatch(em.Request)
	if len(first) != 3 {
		t.Fatalf("emergency offered to %v", e.offersOf(em.Request))
	}
	if again, err := e.eng.DispatchNew(ctx, em); err != nil || len(again) != 0 {
		t.Errorf("stale DispatchNew of an emergency = %+v, %v; want nothing", again, err)
	}
	if got := e.offersOf(em.Request); len(got) != 3 {
		t.Errorf("emergency offers after a stale hand-over = %v, want the same three", got)
	}

	for _, bad := range []*carehex.NewRequest{nil, {Request: n.Request}, {Request: n.Request, Resident: e.res}} {
		if _, err := e.eng.DispatchNew(ctx, bad); carehex.ErrorCode(err) != carehex.EINVALID {
			t.Errorf("DispatchNew(%+v) = %v, want invalid", bad, err)
		}
	}
}

// cancellingStore ends the caller's context as the offer is about to be
// recorded: the operator's client hanging up on a create under load.
type cancellingStore struct {
	*sqlstore.DB
	cancel context.CancelFunc
}

func (c cancellingStore) CreateOffers(ctx context.Context, offers []*carehex.Offer, actor string) error {
	c.cancel()
	return c.DB.CreateOffers(ctx, offers, actor)
}

// TestClaimReleasedWhenCallerLeaves: a dispatch whose caller went away
// between the claim and the offer's record lets the provider go at once,
// not at the sweep after the offer's lifetime.
func TestClaimReleasedWhenCallerLeaves(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.provider("近", away(300))
	n, _, err := e.db.CreateServiceRequestWith(opCtx(), &carehex.ServiceRequest{ResidentID: e.res.ID, ServiceCode: "meal_delivery",
		Urgency: carehex.UrgencySoon}, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng, err := dispatch.New(e.cfg, dispatch.Deps{Store: cancellingStore{e.db, cancel}, Live: e.live, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if offers, err := eng.DispatchNew(ctx, n); err == nil || len(offers) != 0 {
		t.Fatalf("DispatchNew with the caller gone = %+v, %v; want an error and no offer", offers, err)
	}
	if got := e.offersOf(n.Request); len(got) != 0 {
		t.Errorf("offers recorded = %v", got)
	}
	if st := e.liveStatus(p.ID); st != providers.StatusAvailable {
		t.Errorf("%s is %s after the caller left, want available", p.ID, st)
	}
}
