package providers

import "context"

// Stats exposes how much a lookup read, for the tests of ring widening.
type Stats struct{ Res, Rings, Cells, Scanned, Trips int }

func SearchStats(s *Store, ctx context.Context, q Query) ([]Candidate, Stats) {
	cs, st, err := s.candidates(ctx, q)
	if err != nil {
		panic(err)
	}
	return cs, Stats{Res: st.res, Rings: st.rings, Cells: st.cells, Scanned: st.scanned, Trips: st.trips}
}

// The benchmark's city, for the Go benchmarks beside RunBench.
var (
	BenchPoint = benchPoint
	BenchSkill = benchSkill
)

func Place(ctx context.Context, s *Store, n int, seed int64) (int, error) {
	p, err := place(ctx, s, n, seed)
	return len(p.available), err
}
