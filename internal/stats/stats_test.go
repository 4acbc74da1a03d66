package stats

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ten := []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5} // 1..10, unsorted
	tests := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{"none", nil, 50, 0},
		{"one value is every percentile", []float64{7}, 99, 7},
		{"median of ten is the 5th", ten, 50, 5},
		{"p95 of ten is the 10th", ten, 95, 10},
		{"p90 of ten is the 9th", ten, 90, 9},
		{"p91 of ten rounds the rank up", ten, 91, 10},
		{"p10 of ten is the 1st", ten, 10, 1},
		{"p0 is the minimum", ten, 0, 1},
		{"p100 is the maximum", ten, 100, 10},
		{"above 100 clamps to the maximum", ten, 150, 10},
		{"below 0 clamps to the minimum", ten, -5, 1},
		{"p99 of 200", seq(200), 99, 198},
		{"p50 of 3", []float64{3, 1, 2}, 50, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.xs)
			if got := Percentile(tc.xs, tc.p); got != tc.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
			}
			if !slices.Equal(before, tc.xs) {
				t.Errorf("Percentile changed its input: %v, was %v", tc.xs, before)
			}
		})
	}
}

// seq returns 1..n.
func seq(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	return xs
}

func TestPercentileDurations(t *testing.T) {
	d := []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 40 * time.Millisecond}
	if got := Percentile(d, 50); got != 2*time.Millisecond {
		t.Errorf("p50 = %v, want 2ms", got)
	}
	if got := Percentile(d, 99); got != 40*time.Millisecond {
		t.Errorf("p99 = %v, want 40ms", got)
	}
	if got := Ms(Percentile(d, 75)); got != 3 {
		t.Errorf("Ms(p75) = %v, want 3", got)
	}
}

// TestPercentileIsARank: every answer is one of the values, at least p% of
// the values are at or below it, and fewer than p% are below it.
func TestPercentileIsARank(t *testing.T) {
	xs := []float64{5, 5, 1, 9, 3, 3, 3, 8, 2, 7, 6, 4}
	for p := 0.0; p <= 100; p += 0.5 {
		got := Percentile(xs, p)
		atOrBelow, below := 0, 0
		for _, x := range xs {
			if x <= got {
				atOrBelow++
			}
			if x < got {
				below++
			}
		}
		n := float64(len(xs))
		if !slices.Contains(xs, got) || float64(atOrBelow) < p/100*n || (p > 0 && float64(below) >= p/100*n) {
			t.Errorf("p%v = %v: %d of %d at or below, %d below", p, got, atOrBelow, len(xs), below)
		}
	}
}

func TestRound(t *testing.T) {
	tests := []struct {
		v      float64
		digits int
		want   float64
	}{
		{1.25, 1, 1.3}, {-1.25, 1, -1.3}, {0.12345, 3, 0.123}, {0.1235, 3, 0.124},
		{2.5, 0, 3}, {1234.5678, -2, 1200}, {0.1234567891, 6, 0.123457},
	}
	for _, tc := range tests {
		if got := Round(tc.v, tc.digits); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Round(%v, %d) = %v, want %v", tc.v, tc.digits, got, tc.want)
		}
	}
}

func TestMs(t *testing.T) {
	if got := Ms(1500 * time.Microsecond); got != 1.5 {
		t.Errorf("Ms(1.5ms) = %v", got)
	}
}
