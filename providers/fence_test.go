package providers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/providers"
)

// TestFence: a token for work booked ahead continues the claim counter
// above SQL's floor, leaves the status alone, and is refused while an offer
// is live, whose accept it would otherwise make stale.
func TestFence(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		ctx := context.Background()
		beat(t, s, "p1", zibo, true, "meal")
		c, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p1", RequestID: "r1", TTL: ttl, MaxAge: maxAge})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Fence(ctx, "p1", 0); !errors.Is(err, providers.ErrClaimed) {
			t.Fatalf("Fence during a live offer: %v, want ErrClaimed", err)
		}
		if ok, err := s.Release(ctx, "p1", c.Token); !ok || err != nil {
			t.Fatalf("Release: %v, %v", ok, err)
		}
		tok, err := s.Fence(ctx, "p1", 0)
		if err != nil || tok != c.Token+1 {
			t.Fatalf("Fence = %d, %v; want %d", tok, err, c.Token+1)
		}
		if l, err := s.Live(ctx, "p1"); err != nil || l.Status != carehex.LiveAvailable {
			t.Fatalf("after Fence the provider is %+v, %v; want still available", l, err)
		}
		// SQL is ahead (a Redis that lost its counter): the token follows SQL.
		if tok, err = s.Fence(ctx, "p1", 500); err != nil || tok != 501 {
			t.Fatalf("Fence above floor 500 = %d, %v", tok, err)
		}
		c2, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p1", RequestID: "r2", TTL: ttl, MaxAge: maxAge})
		if err != nil || c2.Token != 502 {
			t.Fatalf("next claim = %+v, %v; want token 502", c2, err)
		}
		// A carer never seen by Redis gets a token all the same.
		if tok, err := s.Fence(ctx, "p-new", 7); err != nil || tok != 8 {
			t.Fatalf("Fence of an unknown provider = %d, %v", tok, err)
		}
		if _, err := s.Live(ctx, "p-new"); !errors.Is(err, carehex.ErrNoLiveState) {
			t.Fatalf("an unknown provider's fence made live state: %v", err)
		}
	})
}
