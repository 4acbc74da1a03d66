package providers

import "context"

// Stats is how much a lookup read, for the tests of ring widening.
type Stats = LookupStats

func SearchStats(s *Store, ctx context.Context, q Query) ([]Candidate, Stats) {
	cs, stats, err := s.CandidatesMeasured(ctx, q)
	if err != nil {
		panic(err)
	}
	return cs, stats
}
