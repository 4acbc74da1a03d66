package dispatch_test

import (
	"context"
	"errors"
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
