package mobileapi_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	mobileapi "github.com/carehex/carehex/mobile-api"
)

// TestReconcileFindsLostOffer: the offer's notice is lost (the store
// publishes nothing), yet the phone's long poll answers with the offer
// within its wait, because the process-wide reconcile wakes every provider
// holding an open offer. The reconcile is 300 ms here and the wait 10 s; the
// long poll has no timer of its own while RunReconcile runs.
func TestReconcileFindsLostOffer(t *testing.T) {
	e := newEnv(t, "", func(c *mobileapi.Config) { c.Reconcile = 300 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.api.RunReconcile(ctx, e.hub) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("RunReconcile: %v", err)
		}
	})
	_, tok := e.provider("王芳")
	e.heartbeat(tok, at(zibo, 300))
	e.db.SetPublisher(nil, nil) // every notice from now on is lost

	req := e.request("meal_delivery")
	looked := e.watch.offerLooks()
	polled := make(chan response, 1)
	go func() { polled <- e.do("GET", "/m/v1/offers?wait=10", tok, nil) }()
	if n := <-looked; n != 0 {
		t.Fatalf("the poll's first look found %d offers before any dispatch", n)
	}
	if _, err := e.eng.Dispatch(context.Background(), req.ID); err != nil {
		t.Fatal(err)
	}
	r := (<-polled).want(t, http.StatusOK)
	offers := get(r.body, "offers").([]any)
	if len(offers) != 1 || get(r.body, "offers", 0, "request_id") != req.ID {
		t.Fatalf("with the notice lost, the long poll answered %s; want the offer of %s (by the reconcile)", r.raw, req.ID)
	}
}
