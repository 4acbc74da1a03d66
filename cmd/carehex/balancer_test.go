package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestBalancerSpreadsPhoneCalls: the fault tests' phones call the mobile
// API through the balancer; each call lands on a replica in turn, with the
// phone's token and path intact, whatever host the client's URL names.
func TestBalancerSpreadsPhoneCalls(t *testing.T) {
	var hits [2]atomic.Int64
	var replicas []*server
	for i := range hits {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/m/v1/heartbeat" || r.Header.Get("Authorization") != "Bearer tok" {
				t.Errorf("replica %d got %s %s with %q", i, r.Method, r.URL.Path, r.Header.Get("Authorization"))
			}
			hits[i].Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"available"}`)
		}))
		t.Cleanup(srv.Close)
		replicas = append(replicas, &server{url: srv.URL})
	}
	lb := newBalancer(replicas)
	ph := &faultPhone{token: "tok", lat: 36.8, lng: 118.05}
	for range 4 {
		if err := ph.heartbeat(context.Background(), lb); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := hits[0].Load(), hits[1].Load(); a != 2 || b != 2 {
		t.Fatalf("replicas got %d and %d calls, want 2 each", a, b)
	}
}
