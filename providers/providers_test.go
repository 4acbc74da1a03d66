package providers_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	"github.com/carehex/carehex/providers"
	"github.com/redis/go-redis/v9"
)

const (
	maxAge = 60 * time.Second
	ttl    = 45 * time.Second
)

func beat(t *testing.T, s *providers.Store, id string, p carehex.LatLng, available bool, skills ...string) providers.Status {
	t.Helper()
	hb := providers.Heartbeat{ProviderID: id, Position: p, AccuracyM: 12, Available: available}
	if len(skills) > 0 {
		hb.Skills = skills
	}
	st, err := s.Heartbeat(context.Background(), hb)
	if err != nil {
		t.Fatalf("heartbeat %s: %v", id, err)
	}
	return st
}

func ids(cs []providers.Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ProviderID
	}
	return out
}

func find(t *testing.T, s *providers.Store, q providers.Query) []string {
	t.Helper()
	if q.Skill == "" {
		q.Skill = "meal"
	}
	if q.MaxRadiusM == 0 {
		q.MaxRadiusM = 3000
	}
	if q.Want == 0 {
		q.Want = 10
	}
	if q.MaxAge == 0 {
		q.MaxAge = maxAge
	}
	cs, err := s.Candidates(context.Background(), q)
	if err != nil {
		t.Fatalf("Candidates: %v", err)
	}
	return ids(cs)
}

func live(t *testing.T, s *providers.Store, id string) *providers.Live {
	t.Helper()
	l, err := s.Live(context.Background(), id)
	if err != nil {
		t.Fatalf("Live(%s): %v", id, err)
	}
	return l
}

func TestHeartbeatMovesBetweenCells(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		a := zibo
		b := at(zibo, 0, 4000) // 4 km east: another cell at both index resolutions
		cellA, _ := geo.CellOf(a, s.IndexRes()+1)
		coarseB, _ := geo.CellOf(b, s.IndexRes())
		cellB, _ := geo.CellOf(b, s.IndexRes()+1)
		if coarseA, _ := geo.CellOf(a, s.IndexRes()); coarseA == coarseB {
			t.Fatal("test points share a cell")
		}
		near := func(p carehex.LatLng) []string {
			return find(t, s, providers.Query{Origin: p, MaxRadiusM: 500})
		}

		if st := beat(t, s, "p1", a, true, "meal", "clean"); st != providers.StatusAvailable {
			t.Fatalf("status %s, want available", st)
		}
		if got := near(a); !slices.Equal(got, []string{"p1"}) {
			t.Fatalf("at A: %v", got)
		}
		if l := live(t, s, "p1"); l.Cell != cellA || !slices.Equal(l.Skills, []string{"meal", "clean"}) {
			t.Fatalf("live state %+v", l)
		}

		steps := []struct {
			name      string
			p         carehex.LatLng
			available bool
			skills    []string
			atA, atB  []string // found near A and near B with skill meal afterwards
			cleanAtB  []string // found near B with skill clean
		}{
			{"moves to B", b, true, nil, nil, []string{"p1"}, []string{"p1"}},
			{"moves within B", at(b, 30, 30), true, nil, nil, []string{"p1"}, []string{"p1"}},
			{"goes offline", b, false, nil, nil, nil, nil},
			{"back online at A", a, true, nil, []string{"p1"}, nil, nil},
			{"drops a skill at B", b, true, []string{"clean"}, nil, nil, []string{"p1"}},
		}
		for _, st := range steps {
			hb := providers.Heartbeat{ProviderID: "p1", Position: st.p, Available: st.available, Skills: st.skills}
			if _, err := s.Heartbeat(context.Background(), hb); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got := near(a); !slices.Equal(got, st.atA) {
				t.Errorf("%s: near A %v, want %v", st.name, got, st.atA)
			}
			if got := near(b); !slices.Equal(got, st.atB) {
				t.Errorf("%s: near B %v, want %v", st.name, got, st.atB)
			}
			clean := find(t, s, providers.Query{Origin: b, MaxRadiusM: 500, Skill: "clean"})
			if !slices.Equal(clean, st.cleanAtB) {
				t.Errorf("%s: clean near B %v, want %v", st.name, clean, st.cleanAtB)
			}
		}
		// The old cells' sets no longer list the provider: only B's hold it.
		e.assertIndexed(t, "p1", map[string][]carehex.Cell{"clean": {coarseB, cellB}})
	})
}

// assertIndexed checks the raw index: provider id is a member of exactly the
// listed (skill, cell) sets among every index set of the zone.
func (e *env) assertIndexed(t *testing.T, id string, want map[string][]carehex.Cell) {
	t.Helper()
	ctx := context.Background()
	got := map[string]bool{}
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, "ch:{"+e.zone+"}:a:*", 1000).Iterator()
		for iter.Next(ctx) {
			ms, err := c.ZRange(ctx, iter.Val(), 0, -1).Result()
			if err != nil {
				return err
			}
			for _, m := range ms {
				if len(m) > len(id) && m[:len(id)+1] == id+"|" {
					got[iter.Val()] = true
				}
			}
		}
		return iter.Err()
	}
	var err error
	switch c := e.rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	}
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := map[string]bool{}
	for sk, cells := range want {
		for _, c := range cells {
			wantKeys[fmt.Sprintf("ch:{%s}:a:%s:%s", e.zone, sk, geo.String(c))] = true
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(wantKeys) {
		t.Fatalf("%s is indexed in %v, want %v", id, got, wantKeys)
	}
}

func TestCandidatesFilters(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		ctx := context.Background()
		// Along a line east of the origin, 100 m apart, so the order is known.
		beat(t, s, "stale", at(zibo, 0, 50), true, "meal")
		e.clock.Advance(2 * maxAge)
		beat(t, s, "p100", at(zibo, 0, 100), true, "meal")
		beat(t, s, "p200", at(zibo, 0, 200), true, "clean", "meal")
		beat(t, s, "p300", at(zibo, 0, 300), true, "clean")
		beat(t, s, "p400", at(zibo, 0, 400), false, "meal")
		beat(t, s, "p500", at(zibo, 0, 500), true, "meal")
		beat(t, s, "p600", at(zibo, 0, 600), true, "meal")
		beat(t, s, "p700", at(zibo, 0, 700), true, "meal")
		if _, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p600", RequestID: "r1", TTL: ttl, MaxAge: maxAge}); err != nil {
			t.Fatal(err)
		}
		c7, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p700", RequestID: "r2", TTL: ttl, MaxAge: maxAge})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Commit(ctx, "p700", c7.Token); !ok || err != nil {
			t.Fatalf("commit: %v %v", ok, err)
		}

		tests := []struct {
			name string
			q    providers.Query
			want []string
		}{
			{"skill, fresh, available, nearest first", providers.Query{}, []string{"p100", "p200", "p500"}},
			{"other skill", providers.Query{Skill: "clean"}, []string{"p200", "p300"}},
			{"unknown skill", providers.Query{Skill: "bath"}, []string{}},
			{"excluded", providers.Query{Exclude: []string{"p200", "nobody"}}, []string{"p100", "p500"}},
			{"want", providers.Query{Want: 2}, []string{"p100", "p200"}},
			{"radius", providers.Query{MaxRadiusM: 250}, []string{"p100", "p200"}},
			{"longer max age lets the stale one in", providers.Query{MaxAge: 3 * maxAge}, []string{"stale", "p100", "p200", "p500"}},
			{"from elsewhere", providers.Query{Origin: at(zibo, 0, 520)}, []string{"p500", "p200", "p100"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := tt.q
				if q.Origin == (carehex.LatLng{}) {
					q.Origin = zibo
				}
				if got := find(t, s, q); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
					t.Errorf("H3: %v, want %v", got, tt.want)
				}
				q.Skill, q.MaxRadiusM, q.Want, q.MaxAge = or(q.Skill, "meal"), orf(q.MaxRadiusM, 3000), ori(q.Want, 10), ord(q.MaxAge, maxAge)
				cs, err := s.CandidatesGeo(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(cs); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
					t.Errorf("GEOSEARCH: %v, want %v", got, tt.want)
				}
			})
		}

		cs, err := s.Candidates(ctx, providers.Query{Origin: zibo, Skill: "meal", MaxRadiusM: 3000, Want: 1, MaxAge: maxAge})
		if err != nil || len(cs) != 1 {
			t.Fatalf("%v %v", cs, err)
		}
		c := cs[0]
		coarse, _ := geo.CellOf(at(zibo, 0, 100), s.IndexRes())
		fine, _ := geo.CellOf(at(zibo, 0, 100), s.IndexRes()+1)
		if math.Abs(c.DistanceM-100) > 1.5 || c.Cell != coarse && c.Cell != fine || !c.LastSeen.Equal(e.clock.Now().Truncate(time.Second)) ||
			geo.DistanceM(c.Position, at(zibo, 0, 100)) > 1.5 {
			t.Errorf("candidate %+v", c)
		}
	})
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
func orf(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}
func ori(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}
func ord(v, d time.Duration) time.Duration {
	if v == 0 {
		return d
	}
	return v
}

func TestRingWidening(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		beat(t, s, "near", at(zibo, 300, 0), true, "meal")
		beat(t, s, "far", at(zibo, -2600, 1000), true, "meal") // 2.79 km away
		tests := []struct {
			radius float64
			want   []string
		}{
			{500, []string{"near"}},
			{2700, []string{"near"}},
			{2900, []string{"near", "far"}},
			{10000, []string{"near", "far"}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.radius), func(t *testing.T) {
				if got := find(t, s, providers.Query{Origin: zibo, MaxRadiusM: tt.radius}); !slices.Equal(got, tt.want) {
					t.Errorf("radius %.0f: %v, want %v", tt.radius, got, tt.want)
				}
			})
		}
		// Wanting one stops at the near provider without reading to the
		// radius; wanting two reads out to the far one.
		_, one := providers.SearchStats(s, context.Background(), providers.Query{Origin: zibo, Skill: "meal", MaxRadiusM: 10000, Want: 1, MaxAge: maxAge})
		_, two := providers.SearchStats(s, context.Background(), providers.Query{Origin: zibo, Skill: "meal", MaxRadiusM: 10000, Want: 2, MaxAge: maxAge})
		if one.Rings >= two.Rings || one.Rings > 3 {
			t.Errorf("rings read: want 1 → %d, want 2 → %d", one.Rings, two.Rings)
		}
	})
}

func TestClaimOnce(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		ctx := context.Background()
		beat(t, s, "p1", zibo, true, "meal")

		var last uint64
		for round := 0; round < 3; round++ {
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				winners []providers.Claim
				others  = map[string]int{}
			)
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p1", RequestID: fmt.Sprintf("r%d-%d", round, i), TTL: ttl, MaxAge: maxAge})
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						others[fmt.Sprint(err)]++
						return
					}
					winners = append(winners, c)
				}()
			}
			wg.Wait()
			if len(winners) != 1 || others[fmt.Sprint(providers.ErrClaimed)] != 49 {
				t.Fatalf("round %d: %d winners, others %v", round, len(winners), others)
			}
			w := winners[0]
			if w.Token <= last {
				t.Fatalf("round %d: token %d after %d", round, w.Token, last)
			}
			last = w.Token
			if got := find(t, s, providers.Query{Origin: zibo}); len(got) != 0 {
				t.Fatalf("an offered provider is still a candidate: %v", got)
			}
			if ok, err := s.Release(ctx, "p1", w.Token); !ok || err != nil {
				t.Fatalf("release: %v %v", ok, err)
			}
		}
	})
}

func TestClaimCodes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		ctx := context.Background()
		claim := func(id, req string) (providers.Claim, error) {
			return s.Claim(ctx, providers.ClaimRequest{ProviderID: id, RequestID: req, TTL: ttl, MaxAge: maxAge})
		}
		beat(t, s, "stale", zibo, true, "meal")
		e.clock.Advance(maxAge + time.Second)
		beat(t, s, "free", zibo, true, "meal")
		beat(t, s, "off", zibo, false, "meal")
		beat(t, s, "held", zibo, true, "meal")
		beat(t, s, "busy", zibo, true, "meal")
		first, err := claim("held", "r1")
		if err != nil {
			t.Fatal(err)
		}
		b, err := claim("busy", "r9")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Commit(ctx, "busy", b.Token); !ok || err != nil {
			t.Fatal(ok, err)
		}

		tests := []struct {
			id, req string
			want    error
		}{
			{"nobody", "r2", providers.ErrUnknownProvider},
			{"off", "r2", providers.ErrNotAvailable},
			{"busy", "r2", providers.ErrNotAvailable},
			{"stale", "r2", providers.ErrStale},
			{"held", "r2", providers.ErrClaimed},
			{"held", "r1", nil}, // the same request again: the live claim
			{"free", "r2", nil},
		}
		for _, tt := range tests {
			t.Run(tt.id+"/"+tt.req, func(t *testing.T) {
				c, err := claim(tt.id, tt.req)
				if !errors.Is(err, tt.want) {
					t.Fatalf("claim %s for %s: %v, want %v", tt.id, tt.req, err, tt.want)
				}
				if tt.want != nil {
					if carehex.ErrorCode(err) == carehex.EINTERNAL {
						t.Errorf("claim error %v has no domain code", err)
					}
					return
				}
				if tt.id == "held" && (c.Token != first.Token || !c.Deadline.Equal(first.Deadline)) {
					t.Errorf("repeated claim %+v, first %+v", c, first)
				}
				if l := live(t, s, tt.id); l.Status != providers.StatusOffered || l.RequestID != tt.req || l.Token != c.Token ||
					!l.OfferDeadline.Equal(e.clock.Now().Add(ttl).Truncate(time.Millisecond)) && tt.id == "free" {
					t.Errorf("live %+v after claim %+v", l, c)
				}
			})
		}
	})
}

func TestReleaseCommitFinish(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		ctx := context.Background()
		beat(t, s, "p1", zibo, true, "meal")
		claim := func(req string) providers.Claim {
			t.Helper()
			c, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p1", RequestID: req, TTL: ttl, MaxAge: maxAge})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		status := func() providers.Status { t.Helper(); return live(t, s, "p1").Status }
		type op func(context.Context, string, uint64) (bool, error)
		do := func(name string, f op, token uint64, wantOK bool, wantStatus providers.Status) {
			t.Helper()
			ok, err := f(ctx, "p1", token)
			if err != nil || ok != wantOK {
				t.Fatalf("%s(token %d) = %v, %v; want %v", name, token, ok, err, wantOK)
			}
			if st := status(); st != wantStatus {
				t.Fatalf("after %s(token %d): %s, want %s", name, token, st, wantStatus)
			}
		}

		c1 := claim("r1")
		do("release", s.Release, c1.Token+1, false, providers.StatusOffered) // wrong token does nothing
		do("release", s.Release, c1.Token-1, false, providers.StatusOffered)
		do("commit", s.Commit, c1.Token+1, false, providers.StatusOffered)
		do("finish", s.Finish, c1.Token, false, providers.StatusOffered) // not busy yet
		do("release", s.Release, c1.Token, true, providers.StatusAvailable)
		do("release", s.Release, c1.Token, false, providers.StatusAvailable) // already released
		if got := find(t, s, providers.Query{Origin: zibo}); !slices.Equal(got, []string{"p1"}) {
			t.Fatalf("released provider not a candidate: %v", got)
		}

		c2 := claim("r2")
		do("commit", s.Commit, c1.Token, false, providers.StatusOffered) // the old claim cannot commit
		do("commit", s.Commit, c2.Token, true, providers.StatusBusy)
		do("commit", s.Commit, c2.Token, true, providers.StatusBusy) // a retried commit
		do("release", s.Release, c2.Token, false, providers.StatusBusy)
		if _, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p1", RequestID: "r3", TTL: ttl, MaxAge: maxAge}); !errors.Is(err, providers.ErrNotAvailable) {
			t.Fatalf("claim of a busy provider: %v", err)
		}
		// A heartbeat while busy keeps it busy and out of the index.
		if st := beat(t, s, "p1", at(zibo, 50, 50), true); st != providers.StatusBusy {
			t.Fatalf("heartbeat while busy: %s", st)
		}
		if got := find(t, s, providers.Query{Origin: zibo}); len(got) != 0 {
			t.Fatalf("busy provider is a candidate: %v", got)
		}
		do("finish", s.Finish, c1.Token, false, providers.StatusBusy)
		do("finish", s.Finish, c2.Token, true, providers.StatusAvailable)
		if got := find(t, s, providers.Query{Origin: zibo}); !slices.Equal(got, []string{"p1"}) {
			t.Fatalf("finished provider not a candidate: %v", got)
		}

		// A provider who signed off during a visit goes offline at its end.
		c3 := claim("r3")
		do("commit", s.Commit, c3.Token, true, providers.StatusBusy)
		beat(t, s, "p1", zibo, false)
		do("finish", s.Finish, c3.Token, true, providers.StatusOffline)
		if got := find(t, s, providers.Query{Origin: zibo}); len(got) != 0 {
			t.Fatalf("offline provider is a candidate: %v", got)
		}
		if _, err := s.Release(ctx, "nobody", 1); !errors.Is(err, providers.ErrUnknownProvider) {
			t.Fatalf("release of unknown provider: %v", err)
		}
	})
}

func TestSweepExpiredOffers(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		ctx := context.Background()
		for _, id := range []string{"p1", "p2", "p3"} {
			beat(t, s, id, zibo, true, "meal")
		}
		c1, _ := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p1", RequestID: "r1", TTL: 10 * time.Second, MaxAge: maxAge})
		c2, _ := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p2", RequestID: "r2", TTL: 10 * time.Second, MaxAge: maxAge})
		if _, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p3", RequestID: "r3", TTL: time.Minute, MaxAge: maxAge}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.Commit(ctx, "p2", c2.Token); !ok {
			t.Fatal("commit p2")
		}
		sweep := func() []providers.Expired {
			t.Helper()
			out, err := s.Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}

		e.clock.Advance(12 * time.Second) // past the deadline, within the grace
		if out := sweep(); len(out) != 0 {
			t.Fatalf("swept within the grace: %v", out)
		}
		e.clock.Advance(4 * time.Second) // 16 s: 6 s past the deadline
		out := sweep()
		want := []providers.Expired{{ProviderID: "p1", RequestID: "r1", Token: c1.Token}}
		if !slices.Equal(out, want) {
			t.Fatalf("swept %v, want %v", out, want)
		}
		if l := live(t, s, "p1"); l.Status != providers.StatusAvailable || l.RequestID != "" {
			t.Fatalf("p1 after sweep: %+v", l)
		}
		if st := live(t, s, "p2").Status; st != providers.StatusBusy {
			t.Fatalf("the committed offer was swept: %s", st)
		}
		if ok, _ := s.Release(ctx, "p1", c1.Token); ok {
			t.Fatal("the dead claimer released after the sweep")
		}
		if out := sweep(); len(out) != 0 {
			t.Fatalf("second sweep: %v", out)
		}
		beat(t, s, "p1", zibo, true) // fresh again
		if got := find(t, s, providers.Query{Origin: zibo}); !slices.Equal(got, []string{"p1"}) {
			t.Fatalf("swept provider not a candidate: %v", got)
		}
	})
}

func TestExpiredOfferTakenOver(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		ctx := context.Background()
		beat(t, s, "p1", zibo, true, "meal")
		c1, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p1", RequestID: "r1", TTL: 10 * time.Second, MaxAge: maxAge})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(10*time.Second + providers.DefaultSweepGrace - time.Millisecond)
		beat(t, s, "p1", zibo, true)
		if _, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p1", RequestID: "r2", TTL: ttl, MaxAge: maxAge}); !errors.Is(err, providers.ErrClaimed) {
			t.Fatalf("claim within the grace: %v", err)
		}
		e.clock.Advance(time.Millisecond)
		c2, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p1", RequestID: "r2", TTL: ttl, MaxAge: maxAge})
		if err != nil || c2.Token <= c1.Token {
			t.Fatalf("take over a dead offer: %+v %v", c2, err)
		}
		if ok, _ := s.Commit(ctx, "p1", c1.Token); ok {
			t.Fatal("the dead claim committed after the take-over")
		}
		// Its deadline entry now belongs to the new offer: a sweep leaves it.
		if out, _ := s.Sweep(ctx); len(out) != 0 {
			t.Fatalf("swept the live offer: %v", out)
		}
	})
}

func TestRebuildAfterLoss(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		ctx := context.Background()
		if lost, err := s.Lost(ctx); err != nil || !lost {
			t.Fatalf("a new zone: lost = %v, %v", lost, err)
		}
		if _, err := s.Rebuild(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if lost, _ := s.Lost(ctx); lost {
			t.Fatal("lost after rebuild")
		}
		beat(t, s, "p1", at(zibo, 100, 0), true, "meal")
		beat(t, s, "p2", at(zibo, 200, 0), true, "meal", "clean")
		beat(t, s, "p3", at(zibo, 300, 0), false, "meal")
		c2, _ := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p2", RequestID: "r2", TTL: ttl, MaxAge: maxAge})
		s.Commit(ctx, "p2", c2.Token)
		c1, _ := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p1", RequestID: "r1", TTL: ttl, MaxAge: maxAge})
		s.Release(ctx, "p1", c1.Token)
		before := find(t, s, providers.Query{Origin: zibo})

		e.lose(t)
		if lost, _ := s.Lost(ctx); !lost {
			t.Fatal("loss not noticed")
		}
		if _, err := s.Heartbeat(ctx, providers.Heartbeat{ProviderID: "p1", Position: zibo, Available: true}); !errors.Is(err, providers.ErrUnknownProvider) {
			t.Fatalf("heartbeat after loss: %v", err)
		}
		if got := find(t, s, providers.Query{Origin: zibo}); len(got) != 0 {
			t.Fatalf("candidates after loss: %v", got)
		}

		// What SQL knows: the roster, last positions, the open visit and the
		// tokens it accepted.
		now := e.clock.Now()
		snaps := []providers.Snapshot{
			{ProviderID: "p1", Skills: []string{"meal"}, Position: at(zibo, 100, 0), LastSeen: now, Status: providers.StatusAvailable, WantsOffers: true, Token: c1.Token},
			{ProviderID: "p2", Skills: []string{"meal", "clean"}, Position: at(zibo, 200, 0), LastSeen: now, Status: providers.StatusBusy, WantsOffers: true, Token: c2.Token, RequestID: "r2"},
			{ProviderID: "p3", Skills: []string{"meal"}, Position: at(zibo, 300, 0), LastSeen: now, Status: providers.StatusOffline, Token: 0},
			{ProviderID: "p4", Skills: []string{"meal"}, Status: providers.StatusOffline}, // never reported a position
		}
		n, err := s.Rebuild(ctx, snaps)
		if err != nil || n != 4 {
			t.Fatalf("rebuild: %d, %v", n, err)
		}
		if lost, _ := s.Lost(ctx); lost {
			t.Fatal("lost after rebuild")
		}
		if got := find(t, s, providers.Query{Origin: zibo}); !slices.Equal(got, before) {
			t.Fatalf("after rebuild %v, before loss %v", got, before)
		}
		if ok, err := s.Finish(ctx, "p2", c2.Token); !ok || err != nil {
			t.Fatalf("the visit open in SQL cannot finish after rebuild: %v %v", ok, err)
		}
		c, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p1", RequestID: "r5", TTL: ttl, MaxAge: maxAge})
		if err != nil || c.Token <= c1.Token {
			t.Fatalf("claim after rebuild: %+v %v (token must exceed %d)", c, err, c1.Token)
		}
		// Rebuilding again (a second replica) creates nothing and keeps live state.
		if n, err := s.Rebuild(ctx, snaps); err != nil || n != 0 {
			t.Fatalf("second rebuild: %d, %v", n, err)
		}
		if l := live(t, s, "p1"); l.Status != providers.StatusOffered || l.Token != c.Token {
			t.Fatalf("second rebuild changed live state: %+v", l)
		}
		// A provider the loss forgot registers itself from the roster.
		e.clock.Advance(time.Second)
		if _, err := s.Heartbeat(ctx, providers.Heartbeat{ProviderID: "p5", Position: zibo, Available: true, Skills: []string{"meal"}}); err != nil {
			t.Fatal(err)
		}
		// A rebuild that finds a provider available that SQL says is in a
		// visit makes it busy again, with the visit's token.
		if _, err := s.Register(ctx, providers.Snapshot{ProviderID: "p5", Skills: []string{"meal"}, Status: providers.StatusBusy, Token: 40, RequestID: "r40"}); err != nil {
			t.Fatal(err)
		}
		if l := live(t, s, "p5"); l.Status != providers.StatusBusy || l.Token != 40 || l.RequestID != "r40" {
			t.Fatalf("after registering an open visit: %+v", l)
		}
		e.assertIndexed(t, "p5", nil)
		if ok, err := s.Finish(ctx, "p5", 40); !ok || err != nil {
			t.Fatalf("finish the visit: %v %v", ok, err)
		}
		coarse, _ := geo.CellOf(zibo, s.IndexRes())
		fine, _ := geo.CellOf(zibo, s.IndexRes()+1)
		e.assertIndexed(t, "p5", map[string][]carehex.Cell{"meal": {coarse, fine}})

	})
}

func TestRemove(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		ctx := context.Background()
		beat(t, s, "p1", zibo, true, "meal")
		if ok, err := s.Remove(ctx, "p1"); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if ok, err := s.Remove(ctx, "p1"); ok || err != nil {
			t.Fatal(ok, err)
		}
		if got := find(t, s, providers.Query{Origin: zibo}); len(got) != 0 {
			t.Fatal(got)
		}
		if cs, err := s.CandidatesGeo(ctx, providers.Query{Origin: zibo, Skill: "meal", MaxRadiusM: 1000, Want: 5, MaxAge: maxAge}); err != nil || len(cs) != 0 {
			t.Fatal(cs, err)
		}
		e.assertIndexed(t, "p1", nil)
	})
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, backends[0])
	s := e.store
	ctx := context.Background()
	q := providers.Query{Origin: zibo, Skill: "meal", MaxRadiusM: 1000, Want: 5, MaxAge: maxAge}
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"heartbeat without id", func() error { _, err := s.Heartbeat(ctx, providers.Heartbeat{Position: zibo}); return err }, "provider_id"},
		{"heartbeat id with separator", func() error {
			_, err := s.Heartbeat(ctx, providers.Heartbeat{ProviderID: "a|b", Position: zibo})
			return err
		}, "provider_id"},
		{"heartbeat at 0,0", func() error { _, err := s.Heartbeat(ctx, providers.Heartbeat{ProviderID: "p"}); return err }, "location"},
		{"heartbeat lat 91", func() error {
			_, err := s.Heartbeat(ctx, providers.Heartbeat{ProviderID: "p", Position: carehex.LatLng{Lat: 91, Lng: 1}})
			return err
		}, "location.lat"},
		{"heartbeat accuracy NaN", func() error {
			_, err := s.Heartbeat(ctx, providers.Heartbeat{ProviderID: "p", Position: zibo, AccuracyM: math.NaN()})
			return err
		}, "accuracy_m"},
		{"heartbeat skill with comma", func() error {
			_, err := s.Heartbeat(ctx, providers.Heartbeat{ProviderID: "p", Position: zibo, Skills: []string{"a,b"}})
			return err
		}, "skills"},
		{"query origin", func() error { q := q; q.Origin = carehex.LatLng{}; _, err := s.Candidates(ctx, q); return err }, "origin"},
		{"query skill", func() error { q := q; q.Skill = ""; _, err := s.Candidates(ctx, q); return err }, "skill"},
		{"query radius", func() error { q := q; q.MaxRadiusM = -1; _, err := s.Candidates(ctx, q); return err }, "max_radius_m"},
		{"query radius NaN", func() error { q := q; q.MaxRadiusM = math.NaN(); _, err := s.CandidatesGeo(ctx, q); return err }, "max_radius_m"},
		{"query want", func() error { q := q; q.Want = 0; _, err := s.Candidates(ctx, q); return err }, "want"},
		{"query max age", func() error { q := q; q.MaxAge = 0; _, err := s.Candidates(ctx, q); return err }, "max_age"},
		{"claim ttl", func() error {
			_, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p", RequestID: "r", MaxAge: maxAge})
			return err
		}, "ttl"},
		{"claim request", func() error {
			_, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p", TTL: ttl, MaxAge: maxAge})
			return err
		}, "request_id"},
		{"snapshot offered", func() error {
			_, err := s.Rebuild(ctx, []providers.Snapshot{{ProviderID: "p", Skills: []string{"meal"}, Status: providers.StatusOffered}})
			return err
		}, "status"},
		{"snapshot without skills", func() error {
			_, err := s.Register(ctx, providers.Snapshot{ProviderID: "p", Status: providers.StatusOffline})
			return err
		}, "skills"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != tt.field {
				t.Fatalf("got %v (field %q), want invalid %s", err, carehex.ErrorField(err), tt.field)
			}
		})
	}
	if _, err := providers.New(e.rdb, providers.Options{Zone: "a}b"}); carehex.ErrorField(err) != "zone" {
		t.Errorf("zone with a brace: %v", err)
	}
	if _, err := providers.New(e.rdb, providers.Options{IndexRes: 15}); carehex.ErrorField(err) != "index_res" {
		t.Errorf("resolution 15: %v", err)
	}
	noGeo := e.newStore(t, providers.Options{})
	if _, err := noGeo.CandidatesGeo(ctx, q); carehex.ErrorCode(err) != carehex.EINVALID {
		t.Errorf("CandidatesGeo without the geo set: %v", err)
	}
}

// quiet silences go-redis's own log lines (dial failures) for tests that
// provoke them on purpose.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestRedisDown(t *testing.T) {
	redis.SetLogger(quiet{})
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	defer rdb.Close()
	s, err := providers.New(rdb, providers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := map[string]func() error{
		"heartbeat": func() error {
			_, err := s.Heartbeat(ctx, providers.Heartbeat{ProviderID: "p", Position: zibo, Available: true})
			return err
		},
		"candidates": func() error {
			_, err := s.Candidates(ctx, providers.Query{Origin: zibo, Skill: "meal", MaxRadiusM: 1000, Want: 5, MaxAge: maxAge})
			return err
		},
		"claim": func() error {
			_, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: "p", RequestID: "r", TTL: ttl, MaxAge: maxAge})
			return err
		},
		"release": func() error { _, err := s.Release(ctx, "p", 1); return err },
		"sweep":   func() error { _, err := s.Sweep(ctx); return err },
		"lost":    func() error { _, err := s.Lost(ctx); return err },
		"rebuild": func() error {
			_, err := s.Rebuild(ctx, []providers.Snapshot{{ProviderID: "p", Skills: []string{"meal"}, Status: providers.StatusOffline}})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			var ce *carehex.Error
			if !errors.As(err, &ce) || ce.Code != carehex.EUNAVAILABLE {
				t.Fatalf("%s with Redis down: %v, want unavailable", name, err)
			}
		})
	}
}

func TestSweepEvery(t *testing.T) {
	e := newEnv(t, backends[0])
	s := e.store
	beat(t, s, "p1", zibo, true, "meal")
	c, err := s.Claim(context.Background(), providers.ClaimRequest{ProviderID: "p1", RequestID: "r1", TTL: time.Second, MaxAge: maxAge})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second + providers.DefaultSweepGrace)

	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan []providers.Expired, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.SweepEvery(ctx, 10*time.Millisecond, func(ex []providers.Expired) { got <- ex; cancel() }, nil)
	}()
	select {
	case ex := <-got:
		if len(ex) != 1 || ex[0].ProviderID != "p1" || ex[0].Token != c.Token {
			t.Fatalf("swept %v", ex)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing swept")
	}
	if err := <-done; err != context.Canceled {
		t.Fatalf("SweepEvery returned %v, want context.Canceled", err)
	}
}

// TestLives reads several providers' live state in one round trip, the same
// as Live one by one, with nil for a provider Redis does not know.
func TestLives(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.store
		ctx := context.Background()
		beat(t, s, "p1", zibo, true, "meal")
		beat(t, s, "p2", zibo, false, "bathing", "meal")
		got, err := s.Lives(ctx, []string{"p2", "nobody", "p1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[1] != nil {
			t.Fatalf("Lives = %v, want three with the unknown one nil", got)
		}
		for i, id := range []string{"p2", "p1"} {
			want := live(t, s, id)
			if g := got[i*2]; !reflect.DeepEqual(g, want) {
				t.Errorf("Lives[%s] = %+v, Live = %+v", id, g, want)
			}
		}
		if _, err := s.Lives(ctx, []string{"p1", ""}); carehex.ErrorCode(err) != carehex.EINVALID {
			t.Errorf("an empty ID: %v, want invalid", err)
		}
		if got, err := s.Lives(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("no IDs: %v, %v", got, err)
		}
	})
}
