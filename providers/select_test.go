package providers

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

func TestNearest(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for i := 0; i < 2000; i++ {
		hits := make([]hit, rng.Intn(60))
		for j := range hits {
			// Few distinct distances, so ties are common.
			hits[j] = hit{d: float64(rng.Intn(20)), m: fmt.Sprint(rng.Intn(1000))}
		}
		want := slices.Clone(hits)
		slices.SortFunc(want, func(a, b hit) int {
			if closer(a, b) {
				return -1
			}
			if closer(b, a) {
				return 1
			}
			return 0
		})
		n := 1 + rng.Intn(15)
		got := nearest(hits, n)
		want = want[:min(n, len(want))]
		if !slices.Equal(got, want) {
			t.Fatalf("nearest(%d):\n got %v\nwant %v", n, got, want)
		}
	}
}
