package mobileapi

import (
	"testing"
	"time"
)

// TestSpread: a long wait is shortened by at most a quarter, and the
// shortenings differ, so phones that polled together poll again apart; a
// short wait is kept as asked.
func TestSpread(t *testing.T) {
	for _, d := range []time.Duration{0, time.Second, 3999 * time.Millisecond} {
		if got := spread(d); got != d {
			t.Errorf("spread(%v) = %v, want it unchanged", d, got)
		}
	}
	for _, d := range []time.Duration{4 * time.Second, 10 * time.Second, 55 * time.Second, 30 * time.Minute} {
		seen := map[time.Duration]bool{}
		for range 200 {
			got := spread(d)
			if got > d || got <= d-d/4 {
				t.Fatalf("spread(%v) = %v, want in (%v, %v]", d, got, d-d/4, d)
			}
			seen[got] = true
		}
		if len(seen) < 100 {
			t.Errorf("spread(%v) gave %d distinct waits in 200 calls: the polls would stay together", d, len(seen))
		}
	}
}
