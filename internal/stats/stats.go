// Package stats owns the few number helpers the reports share (the
// simulator, the matching comparison, the load bench and the providers
// bench), so that a p95 means the same thing in each of them.
package stats

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile of xs by nearest rank: the smallest
// value with at least p percent of xs at or below it. p is in percent, on
// the scale of the names it fills (P50, P95, P99; 100 is the maximum, 0 the
// minimum); values outside 0..100 are clamped. xs need not be sorted and is
// not changed. Percentile of no values is the zero value.
func Percentile[T cmp.Ordered](xs []T, p float64) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	if !slices.IsSorted(xs) {
		xs = slices.Clone(xs)
		slices.Sort(xs)
	}
	k := int(math.Ceil(p/100*float64(len(xs)))) - 1
	return xs[min(max(k, 0), len(xs)-1)]
}

// Round rounds v to digits decimal places (half away from zero).
func Round(v float64, digits int) float64 {
	f := math.Pow10(digits)
	return math.Round(v*f) / f
}

// Ms is d in milliseconds, unrounded.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
