package providers_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	"github.com/carehex/carehex/providers"
)

// truth is what the test knows it put in Redis for one provider.
type truth struct {
	id        string
	pos       carehex.LatLng // as stored: 5 decimals
	skills    []string
	available bool // and not offered or busy
	seen      time.Time
}

// TestLookupsAgree is the property test of the candidate search: on random
// providers (positions, skills, statuses, heartbeat ages) and random queries,
// the H3 lookup returns exactly what a brute-force scan of the known state
// returns, and GEOSEARCH the same up to rounding at the edges. Each query runs
// twice, so the second run follows the hint the first left and may read the
// other index resolution.
func TestLookupsAgree(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		ctx := context.Background()
		rng := rand.New(rand.NewSource(11))
		skills := []string{"meal", "clean", "bath"}
		var all []truth
		for round := 0; round < 3; round++ {
			for i := 0; i < 150; i++ {
				p := truth{
					id:        fmt.Sprintf("prv_%d_%03d", round, i),
					pos:       at(zibo, (rng.Float64()*2-1)*3500, (rng.Float64()*2-1)*3500),
					available: rng.Float64() < 0.8,
					seen:      e.clock.Now(),
				}
				if i%30 == 0 { // a dense knot, for the fine resolution
					p.pos = at(zibo, rng.NormFloat64()*80, rng.NormFloat64()*80)
				}
				for _, sk := range skills {
					if rng.Float64() < 0.5 {
						p.skills = append(p.skills, sk)
					}
				}
				if len(p.skills) == 0 {
					p.skills = []string{"meal"}
				}
				p.pos.Lat, _ = strconv.ParseFloat(strconv.FormatFloat(p.pos.Lat, 'f', 5, 64), 64)
				p.pos.Lng, _ = strconv.ParseFloat(strconv.FormatFloat(p.pos.Lng, 'f', 5, 64), 64)
				beat(t, s, p.id, p.pos, p.available, p.skills...)
				if p.available && rng.Float64() < 0.1 { // offered, or busy: not available
					c, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: p.id, RequestID: "r" + p.id, TTL: time.Hour, MaxAge: time.Hour})
					if err != nil {
						t.Fatal(err)
					}
					if rng.Float64() < 0.5 {
						s.Commit(ctx, p.id, c.Token)
					}
					p.available = false
				}
				all = append(all, p)
			}
			e.clock.Advance(40 * time.Second) // earlier rounds age
		}

		byRes := map[int]int{}
		for i := 0; i < 80; i++ {
			q := providers.Query{
				Origin:     at(zibo, (rng.Float64()*2-1)*3000, (rng.Float64()*2-1)*3000),
				Skill:      skills[rng.Intn(len(skills))],
				MaxRadiusM: 100 + rng.Float64()*3000,
				Want:       1 + rng.Intn(15),
				MaxAge:     time.Duration(30+rng.Intn(60)) * time.Second,
				Now:        e.clock.Now(),
			}
			if i%4 == 0 {
				q.Origin = at(zibo, rng.NormFloat64()*60, rng.NormFloat64()*60)
				q.MaxRadiusM = 200
			}
			for j := 0; j < 3; j++ {
				q.Exclude = append(q.Exclude, all[rng.Intn(len(all))].id)
			}
			want := bruteForce(all, q)
			for pass := 0; pass < 2; pass++ {
				got, st := providers.SearchStats(s, ctx, q)
				byRes[st.Res]++
				if !agree(got, want, q.MaxRadiusM, 0.01, 0) {
					t.Fatalf("query %d pass %d %+v:\nH3    %s\nbrute %s", i, pass, q, show(got), show(want))
				}
			}
			viaGeo, err := s.CandidatesGeo(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if !agree(viaGeo, want, q.MaxRadiusM, 2, 0.0005) {
				t.Fatalf("query %d %+v:\nGEO   %s\nbrute %s", i, q, show(viaGeo), show(want))
			}
		}
		if byRes[s.IndexRes()] == 0 || byRes[s.IndexRes()+1] == 0 {
			t.Errorf("lookups by index resolution: %v; want both exercised", byRes)
		}
	})
}

func bruteForce(all []truth, q providers.Query) []providers.Candidate {
	skip := map[string]bool{}
	for _, id := range q.Exclude {
		skip[id] = true
	}
	oldest := q.Now.Add(-q.MaxAge).Truncate(time.Second) // the index keeps seconds
	var out []providers.Candidate
	for _, p := range all {
		if !p.available || skip[p.id] || !slices.Contains(p.skills, q.Skill) || p.seen.Before(oldest) {
			continue
		}
		if d := geo.DistanceM(q.Origin, p.pos); d <= q.MaxRadiusM {
			out = append(out, providers.Candidate{ProviderID: p.id, Position: p.pos, DistanceM: d})
		}
	}
	slices.SortFunc(out, func(a, b providers.Candidate) int {
		return cmp.Or(cmp.Compare(a.DistanceM, b.DistanceM), strings.Compare(a.ProviderID, b.ProviderID))
	})
	return out[:min(len(out), q.Want)]
}

// agree reports whether two answers name the same providers in the same
// order, allowing providers within tol metres of each other to swap and one
// within tol (plus slack, a fraction of the radius) of the radius to be in one
// answer only: distances to rounded positions, or with GEOSEARCH's other
// earth radius (0.03% longer), differ that much.
func agree(a, b []providers.Candidate, radius, tol, slack float64) bool {
	for i := range min(len(a), len(b)) {
		if a[i].ProviderID != b[i].ProviderID && math.Abs(a[i].DistanceM-b[i].DistanceM) > tol {
			return false
		}
		if math.Abs(a[i].DistanceM-b[i].DistanceM) > tol {
			return false
		}
	}
	longer := a
	if len(b) > len(a) {
		longer = b
	}
	for _, c := range longer[min(len(a), len(b)):] {
		if c.DistanceM < radius*(1-slack)-tol {
			return false
		}
	}
	return true
}

func show(cs []providers.Candidate) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%s@%.2f ", c.ProviderID, c.DistanceM)
	}
	return b.String()
}
