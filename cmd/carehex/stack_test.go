package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
)

// testStack builds and starts a stack on its own SQLite file; redisURL
// empty means the embedded Redis.
func testStack(t *testing.T, redisURL, zone string) *stack {
	t.Helper()
	cfg := defaultConfig(func(string) string { return "" })
	cfg.DataDir, cfg.RedisURL, cfg.Zone = t.TempDir(), redisURL, zone
	ctx := context.Background()
	st, err := newStack(ctx, &cfg, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	stop := st.Start(ctx)
	t.Cleanup(func() { stop(); st.Close() })
	select {
	case <-st.Bridge.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the stack's notice bridge did not subscribe")
	}
	return st
}

// logRequest writes a request through st's store, as the intake call does,
// for res (a new resident when nil), and returns the resident.
func logRequest(t *testing.T, st *stack, res *carehex.Resident) *carehex.Resident {
	t.Helper()
	ctx := carehex.WithPrincipal(context.Background(), carehex.Principal{Kind: carehex.KindUser, Subject: "usr_t", Role: carehex.RoleOperator})
	if res == nil {
		res = &carehex.Resident{Name: "张桂兰", Phone: "13905330001", Address: "张店区华光路56号", Location: carehex.LatLng{Lat: 36.8, Lng: 118.05}}
		if err := st.Store.CreateResident(ctx, res); err != nil {
			t.Fatal(err)
		}
	}
	types, err := st.Store.ServiceTypes(ctx)
	if err != nil || len(types) == 0 {
		t.Fatalf("catalogue: %v", err)
	}
	if _, _, err := st.Store.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: res.ID,
		ServiceCode: types[0].Code, Urgency: carehex.UrgencySoon}, ""); err != nil {
		t.Fatal(err)
	}
	return res
}

func awaitWake(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not woken", what)
	}
}

// TestStackPublishes: a write to the store wakes the stack's own waiters
// (embedded Redis, one process), and those of another replica on the same
// Redis and zone.
func TestStackPublishes(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		st := testStack(t, "", "z"+randomHex(4))
		board, cancel := st.Hub.Subscribe(carehex.ConsoleNotice)
		defer cancel()
		logRequest(t, st, nil)
		awaitWake(t, board, "the console after a request was logged")
	})
	t.Run("two replicas on redis-server", func(t *testing.T) {
		url, zone := testenv.RedisURL(t), "z"+randomHex(4)
		a, b := testStack(t, url, zone), testStack(t, url, zone)
		board, cancel := b.Hub.Subscribe(carehex.ConsoleNotice)
		defer cancel()
		res := logRequest(t, a, nil)
		awaitWake(t, board, "replica B's console after replica A logged a request")
		family, cancel2 := b.Hub.Subscribe(carehex.Notice{Topic: carehex.TopicResident, ID: res.ID})
		defer cancel2()
		logRequest(t, a, res)
		awaitWake(t, family, "replica B's family waiter after replica A logged a second request")
	})
}
