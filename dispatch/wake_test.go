package dispatch_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/notify"
)

// Run dispatches a new request when its notice arrives, not at the next
// tick: with the tick an hour away, the second request is still offered at
// once. (The first is dispatched by Run's opening tick; waiting for its offer
// is how the test knows that tick is over.)
func TestRunWakesOnDispatchNotice(t *testing.T) {
	e := newEnv(t)
	hub := notify.NewHub()
	e.db.SetPublisher(hub, nil)
	eng, err := dispatch.New(e.cfg, dispatch.Deps{Store: e.db, Live: e.live, Clock: e.clock.Now, Notices: hub})
	if err != nil {
		t.Fatal(err)
	}
	p1 := e.provider("王芳", away(300))
	p2 := e.provider("李强", away(600))
	offered := func(p *carehex.Provider) <-chan struct{} {
		wake, cancel := hub.Subscribe(carehex.Notice{Topic: carehex.TopicProvider, ID: p.ID})
		t.Cleanup(cancel)
		return wake
	}
	waitOffer := func(p *carehex.Provider, wake <-chan struct{}, r *carehex.ServiceRequest) time.Duration {
		t.Helper()
		start := time.Now()
		select {
		case <-wake:
		case <-time.After(5 * time.Second):
			t.Fatalf("no offer to %s within 5 s (the tick is an hour away)", p.Name)
		}
		if got := e.offersOf(r); len(got) != 1 || got[0] != st(p, carehex.OfferOpen) {
			t.Fatalf("offers of %s = %v, want one open to %s", r.ID, got, p.Name)
		}
		return time.Since(start)
	}

	first := e.request("meal_delivery", carehex.UrgencySoon)
	w1 := offered(p1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx, time.Hour) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	waitOffer(p1, w1, first)

	w2 := offered(p2)
	second := e.request("meal_delivery", carehex.UrgencySoon)
	took := waitOffer(p2, w2, second)
	t.Logf("second request offered %v after its creation", took.Round(time.Millisecond))
}

// Run expires an offer when it falls due, not at the reconcile: with the
// reconcile an hour away and no tick in between, the first provider's
// unanswered offer expires and the request goes on to the second. The
// timer is set from the offer's own expiry (due.go), so only that can have
// woken the pass that expired it.
func TestRunExpiresOfferWhenDue(t *testing.T) {
	e := newEnv(t, func(c *dispatch.Config) { c.OfferTTL, c.ExpiryGrace = time.Second, 0 })
	hub := notify.NewHub()
	e.db.SetPublisher(hub, nil)
	eng, err := dispatch.New(e.cfg, dispatch.Deps{Store: e.db, Live: e.live, Clock: e.clock.Now, Notices: hub})
	if err != nil {
		t.Fatal(err)
	}
	p1 := e.provider("王芳", away(300))
	p2 := e.provider("李强", away(600))
	r := e.request("meal_delivery", carehex.UrgencySoon)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx, time.Hour) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor := func(what string, want []string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := e.offersOf(r)
			if slices.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: offers of %s = %v, want %v (the reconcile is an hour away)", what, r.ID, got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("first offer", []string{st(p1, carehex.OfferOpen)})
	start := time.Now()
	e.clock.Advance(1500 * time.Millisecond) // past the offer's expiry on the engine's clock
	waitFor("after the expiry", []string{st(p1, carehex.OfferExpired), st(p2, carehex.OfferOpen)})
	t.Logf("expired and re-offered %v after the clock passed the expiry", time.Since(start).Round(time.Millisecond))
}
