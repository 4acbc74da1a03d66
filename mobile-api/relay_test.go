package mobileapi_test

import (
	"context"
	"errors"
	"github.com/carehex/carehex"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	mobileapi "github.com/carehex/carehex/mobile-api"
)

type recorder struct {
	mu   sync.Mutex
	sent map[string]int // dedupe key → deliveries
}

func (r *recorder) Send(_ context.Context, n *carehex.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[n.DedupeKey]++
	return nil
}

type dying struct{}

func (dying) Send(context.Context, *carehex.Notification) error { return errors.New("relay killed") }

// TestRelayLosesNothing: the visit's notifications are committed with its
// events; a relay that dies after claiming them delivers nothing, and the
// next relay delivers each of them once the lease runs out.
func TestRelayLosesNothing(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	_, tok := e.provider("王芳")
	_, visitID := e.assigned(tok)
	t0 := e.clock.Now()
	e.clock.Advance(time.Hour)
	for _, x := range []ev{{"d", "depart", 500, t0.Add(time.Minute)}, {"a", "arrive", 10, t0.Add(10 * time.Minute)},
		{"c", "complete", 10, t0.Add(45 * time.Minute)}} {
		e.postEvent(tok, visitID, x).want(t, http.StatusCreated)
	}

	dead := &mobileapi.Relay{Outbox: e.db, Sender: dying{}, Clock: e.clock.Now, Lease: time.Minute}
	if n, err := dead.Once(ctx); n != 0 || err != nil {
		t.Fatalf("dying relay: %d sent, %v", n, err)
	}
	rec := &recorder{sent: map[string]int{}}
	next := &mobileapi.Relay{Outbox: e.db, Sender: rec, Clock: e.clock.Now, Lease: time.Minute}
	if n, _ := next.Once(ctx); n != 0 {
		t.Fatalf("delivered %d still under the dead relay's lease", n)
	}
	e.clock.Advance(2 * time.Minute)
	if n, err := next.Once(ctx); n != 3 || err != nil {
		t.Fatalf("after the lease: %d sent, %v", n, err)
	}
	if n, _ := next.Once(ctx); n != 0 {
		t.Fatalf("delivered %d again", n)
	}
	for _, k := range []string{visitID + ":arriving", visitID + ":arrived", visitID + ":completed"} {
		if rec.sent[k] != 1 {
			t.Errorf("%s delivered %d times", k, rec.sent[k])
		}
	}
}

func TestWebhookSender(t *testing.T) {
	var got http.Header
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer hook.Close()
	n := &carehex.Notification{ID: "ntf_1", DedupeKey: "vis_1:completed", Kind: "completed", Payload: `{"kind":"completed"}`}
	if err := (mobileapi.WebhookSender{URL: hook.URL + "/ok"}).Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if got.Get("Idempotency-Key") != n.DedupeKey {
		t.Fatalf("headers %v", got)
	}
	if err := (mobileapi.WebhookSender{URL: hook.URL + "/fail"}).Send(context.Background(), n); err == nil {
		t.Fatal("a 502 counted as delivered")
	}
}
