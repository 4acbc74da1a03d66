// Package providersbench is `carehex bench dispatch`: it places a city of
// providers in a Redis zone of its own and measures the dispatcher's hot path
// through the providers package's public API, the H3 index beside GEOSEARCH.
// It is a tool, kept out of the production package; its figures, with the
// commands that produced them, are in docs/PERFORMANCE.md.
package providersbench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/stats"
	"github.com/carehex/carehex/providers"
	"github.com/redis/go-redis/v9"
)

// Options configure Run. The zero value runs the benchmark:
// 100,000 providers around Zibo, a skill held by 30%, 3 km, want 10.
type Options struct {
	Providers int    // default 100,000
	Zone      string // default "bench"; its keys are deleted before and after
	IndexRes  int    // the coarser index resolution; default geo.IndexRes
	Seed      int64  // default 1
	// Clients is the concurrency of the throughput and claim phases; the
	// client's connection pool must be at least this big. Default 50.
	Clients  int
	Samples  int           // lookups timed one at a time, per method; default 3,000
	Duration time.Duration // of each throughput phase; default 3 s
	Claims   int           // claims timed under concurrency; default 10,000
	RadiusM  float64       // default 3,000
	Want     int           // default 10
	Progress func(msg string)
}

// Result is what `carehex bench dispatch` prints as its last line.
type Result struct {
	Providers             int     `json:"providers"`
	H3P50ms               float64 `json:"h3_p50_ms"`
	H3P99ms               float64 `json:"h3_p99_ms"`
	H3OpsS                float64 `json:"h3_ops_s"`
	GeoP50ms              float64 `json:"geo_p50_ms"`
	GeoP99ms              float64 `json:"geo_p99_ms"`
	GeoOpsS               float64 `json:"geo_ops_s"`
	RedisBytesPerProvider float64 `json:"redis_bytes_per_provider"` // MEMORY USAGE of the zone's keys but the geo set, ÷ providers
	ClaimP99ms            float64 `json:"claim_p99_ms"`             // in bursts of Clients claimers racing for the same providers

	// Detail for the human-readable lines, not part of the JSON contract.
	IndexRes              int     `json:"-"`
	GeoBytesPerProvider   float64 `json:"-"` // the GEO set, on top of RedisBytesPerProvider
	ClaimP50ms            float64 `json:"-"`
	ClaimsPerSecond       float64 `json:"-"` // closed loop of Clients claimers, each claim with its release
	ClaimSaturatedP99ms   float64 `json:"-"` // claim latency in that closed loop: queueing
	UsedMemoryPerProvider float64 `json:"-"` // INFO used_memory difference, for comparison
	CellsPerLookup        float64 `json:"-"` // H3: cells read per lookup, mean
	ScannedPerLookup      float64 `json:"-"` // H3: index members read per lookup, mean
	TripsPerLookup        float64 `json:"-"` // H3: round trips per lookup, mean
	FoundPerLookup        float64 `json:"-"` // candidates returned per lookup, mean
	FineShare             float64 `json:"-"` // H3: share of lookups that read the fine resolution
	Disagreements         int     `json:"-"` // lookups where H3 and GEOSEARCH returned different providers
	PlaceSeconds          float64 `json:"-"`
	ProvidersPerIndexCell float64 `json:"-"` // mean over non-empty (skill, cell) sets
}

// The benchmark's skills: the query's skill is held by 30% of providers,
// the others are spread so each provider has two to three skills.
const benchSkill = "meal_aid"

var benchOtherSkills = []string{"cleaning", "bathing", "escort", "nursing", "repair", "rehab", "companion"}

const benchMaxAge = 5 * time.Minute

// Run places providers around Zibo in a zone of its own and measures the
// hot path of dispatch against rdb, H3 index and GEOSEARCH side by side:
// candidate lookup latency at one client and throughput at Clients, Redis
// memory per provider, claim latency at Clients concurrent claimers. It
// deletes the zone's keys when done (and before, in case an earlier run was
// interrupted); nothing else in rdb is touched.
func Run(ctx context.Context, rdb redis.UniversalClient, o Options) (Result, error) {
	if o.Providers <= 0 {
		o.Providers = 100_000
	}
	if o.Zone == "" {
		o.Zone = "bench"
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Clients <= 0 {
		o.Clients = 50
	}
	if o.Samples <= 0 {
		o.Samples = 3000
	}
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	if o.Claims <= 0 {
		o.Claims = 10_000
	}
	if o.RadiusM <= 0 {
		o.RadiusM = 3000
	}
	if o.Want <= 0 {
		o.Want = 10
	}
	say := func(format string, args ...any) {
		if o.Progress != nil {
			o.Progress(fmt.Sprintf(format, args...))
		}
	}
	s, err := providers.New(rdb, providers.Options{Zone: o.Zone, IndexRes: o.IndexRes, GeoSet: true})
	if err != nil {
		return Result{}, err
	}
	res := Result{Providers: o.Providers, IndexRes: s.IndexRes()}
	if err := providers.DeleteZone(ctx, rdb, o.Zone); err != nil {
		return res, err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = providers.DeleteZone(ctx, rdb, o.Zone)
	}()

	// Place the providers and measure what they cost.
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return res, fmt.Errorf("bench memory: %w", err)
	}
	say("placing %d providers around Zibo (index resolutions %d and %d)", o.Providers, s.IndexRes(), s.IndexRes()+1)
	start := time.Now()
	placed, err := place(ctx, s, o.Providers, o.Seed)
	if err != nil {
		return res, err
	}
	res.PlaceSeconds = time.Since(start).Seconds()
	after, err := usedMemory(ctx, rdb)
	if err != nil {
		return res, fmt.Errorf("bench memory: %w", err)
	}
	fp, err := s.Footprint(ctx)
	if err != nil {
		return res, err
	}
	n := float64(o.Providers)
	res.GeoBytesPerProvider = float64(fp.GeoBytes) / n
	res.RedisBytesPerProvider = float64(fp.Bytes-fp.GeoBytes) / n
	res.UsedMemoryPerProvider = float64(after-before-fp.GeoBytes) / n
	if fp.IndexSets > 0 {
		res.ProvidersPerIndexCell = float64(fp.IndexMembers) / float64(fp.IndexSets)
	}
	say("placed in %.1fs: %.0f bytes/provider by MEMORY USAGE of the zone's keys (%.0f by INFO used_memory), +%.0f for the geo set; %.1f providers per non-empty (skill, cell) set",
		res.PlaceSeconds, res.RedisBytesPerProvider, res.UsedMemoryPerProvider, res.GeoBytesPerProvider, res.ProvidersPerIndexCell)

	// Requests come from where people live, which is where providers are:
	// origins are drawn from the same city. There are 20,000 of them, more
	// than a latency phase uses, and hints are kept per coarse cell, so a
	// lookup follows the hint its neighbours left, not one of its own.
	rng := rand.New(rand.NewSource(o.Seed + 1))
	queries := make([]providers.Query, 20_000)
	now := time.Now()
	for i := range queries {
		queries[i] = providers.Query{Origin: benchPoint(rng), Skill: benchSkill, MaxRadiusM: o.RadiusM, Want: o.Want, MaxAge: benchMaxAge, Now: now}
	}
	h3, geo := s.Candidates, s.CandidatesGeo

	// Both methods must agree before their speed means anything; this pass
	// also warms the script cache, the connection pool and the caches of
	// cell geometry and hints.
	const checked = 2000
	for _, q := range queries[:checked] {
		a, err := s.Candidates(ctx, q)
		if err != nil {
			return res, err
		}
		b, err := s.CandidatesGeo(ctx, q)
		if err != nil {
			return res, err
		}
		if !sameProviders(a, b, q.MaxRadiusM) {
			res.Disagreements++
		}
	}
	say("%d of %d lookups disagree between H3 and GEOSEARCH", res.Disagreements, checked)

	var lookups providers.LookupStats
	var found int
	timed := queries[checked:]
	for _, m := range []struct {
		name     string
		f        func(context.Context, providers.Query) ([]providers.Candidate, error)
		p50, p99 *float64
		ops      *float64
	}{
		{"h3", func(ctx context.Context, q providers.Query) ([]providers.Candidate, error) {
			cs, one, err := s.CandidatesMeasured(ctx, q)
			lookups.Res += one.Res
			lookups.Cells, lookups.Scanned, lookups.Trips, found = lookups.Cells+one.Cells, lookups.Scanned+one.Scanned, lookups.Trips+one.Trips, found+len(cs)
			return cs, err
		}, &res.H3P50ms, &res.H3P99ms, &res.H3OpsS},
		{"geo", geo, &res.GeoP50ms, &res.GeoP99ms, &res.GeoOpsS},
	} {
		lat := make([]time.Duration, o.Samples)
		for i := range lat {
			t0 := time.Now()
			if _, err := m.f(ctx, timed[i%len(timed)]); err != nil {
				return res, err
			}
			lat[i] = time.Since(t0)
		}
		*m.p50, *m.p99 = stats.Ms(stats.Percentile(lat, 50)), stats.Ms(stats.Percentile(lat, 99))
		f := h3
		if m.name == "geo" {
			f = geo
		}
		ops, err := throughput(ctx, o.Clients, o.Duration, func(ctx context.Context, i int) error {
			_, err := f(ctx, timed[(o.Samples+i)%len(timed)])
			return err
		})
		if err != nil {
			return res, err
		}
		*m.ops = ops
		say("%s: p50 %.3f ms, p99 %.3f ms at 1 client; %.0f lookups/s at %d clients", m.name, *m.p50, *m.p99, ops, o.Clients)
	}
	n = float64(o.Samples)
	res.CellsPerLookup, res.ScannedPerLookup, res.TripsPerLookup, res.FoundPerLookup = float64(lookups.Cells)/n, float64(lookups.Scanned)/n, float64(lookups.Trips)/n, float64(found)/n
	res.FineShare = float64(lookups.Res-o.Samples*s.IndexRes()) / n
	say("H3 lookups read %.1f cells (%.0f%% at the fine resolution) holding %.0f index members, in %.2f round trips; %.1f candidates found",
		res.CellsPerLookup, 100*res.FineShare, res.ScannedPerLookup, res.TripsPerLookup, res.FoundPerLookup)

	// Claims, as dispatch makes them: bursts in which 50 claimers (requests
	// dispatched at the same moment by any number of replicas) each claim one
	// of the ten providers nearest to a request, five to a provider, so every
	// claim races four others. Each claim is timed; the winners' offers are
	// released between bursts, untimed.
	var claimLat []time.Duration
	for round := 0; round*o.Clients < o.Claims; round++ {
		q := timed[rng.Intn(len(timed))]
		q.Now = time.Now()
		near, err := s.Candidates(ctx, q)
		if err != nil {
			return res, err
		}
		if len(near) == 0 {
			continue
		}
		lat := make([]time.Duration, o.Clients)
		won := make([]providers.Claim, o.Clients)
		start := make(chan struct{})
		var ready sync.WaitGroup
		ready.Add(o.Clients)
		err = workers(ctx, o.Clients, func(ctx context.Context, w int) error {
			id := near[w%len(near)].ProviderID
			req := "bench-" + strconv.Itoa(round) + "-" + strconv.Itoa(w)
			ready.Done()
			<-start
			t0 := time.Now()
			c, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: id, RequestID: req, TTL: 45 * time.Second, MaxAge: benchMaxAge})
			lat[w] = time.Since(t0)
			if err == nil {
				won[w] = c
			} else if !errors.Is(err, providers.ErrClaimed) {
				return err
			}
			return nil
		}, func() { ready.Wait(); close(start) })
		if err != nil {
			return res, err
		}
		claimLat = append(claimLat, lat...)
		for _, c := range won {
			if c.Token != 0 {
				if _, err := s.Release(ctx, c.ProviderID, c.Token); err != nil {
					return res, err
				}
			}
		}
	}
	res.ClaimP50ms, res.ClaimP99ms = stats.Ms(stats.Percentile(claimLat, 50)), stats.Ms(stats.Percentile(claimLat, 99))
	say("claim: p50 %.3f ms, p99 %.3f ms in bursts of %d concurrent claimers racing for the 10 nearest providers",
		res.ClaimP50ms, res.ClaimP99ms, o.Clients)

	// And at saturation: the same claimers in a closed loop, each claiming a
	// random available provider and releasing it at once. Latency here is
	// queueing (Little's law: claimers ÷ throughput), not the claim's cost.
	var (
		mu  sync.Mutex
		sat []time.Duration
	)
	ops, err := throughput(ctx, o.Clients, o.Duration, func(ctx context.Context, i int) error {
		id := placed.available[(i*7919)%len(placed.available)]
		t0 := time.Now()
		c, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: id, RequestID: "sat-" + strconv.Itoa(i), TTL: 45 * time.Second, MaxAge: benchMaxAge})
		d := time.Since(t0)
		mu.Lock()
		sat = append(sat, d)
		mu.Unlock()
		switch {
		case errors.Is(err, providers.ErrClaimed):
			return nil
		case err != nil:
			return err
		}
		_, err = s.Release(ctx, id, c.Token)
		return err
	})
	if err != nil {
		return res, err
	}
	res.ClaimsPerSecond, res.ClaimSaturatedP99ms = ops, stats.Ms(stats.Percentile(sat, 99))
	say("claim at saturation: %.0f claims (each with its release) per second, p99 %.3f ms, from %d claimers in a closed loop",
		ops, res.ClaimSaturatedP99ms, o.Clients)
	return res, nil
}

// placed is what place put in Redis.
type placed struct {
	available []string // IDs of the available, fresh providers
}

// placeBatch is how many providers one Rebuild call places.
const placeBatch = 500

// place puts n providers around Zibo through Rebuild (one call per 500):
// 85% available, 5% of those with a heartbeat too old to count, 5% busy, the
// rest offline. Positions: 60% in a 4 km Gaussian around the centre, 40%
// uniform over a 15 km radius, so the centre is ~10× denser than the edge.
func place(ctx context.Context, s *providers.Store, n int, seed int64) (placed, error) {
	rng := rand.New(rand.NewSource(seed))
	now := time.Now()
	var out placed
	snaps := make([]providers.Snapshot, 0, placeBatch)
	for i := 0; i < n; i++ {
		p := providers.Snapshot{
			ProviderID:  benchID(rng),
			Position:    benchPoint(rng),
			AccuracyM:   float64(5 + rng.Intn(30)),
			LastSeen:    now,
			Status:      providers.StatusAvailable,
			WantsOffers: true,
		}
		if rng.Float64() < 0.30 {
			p.Skills = append(p.Skills, benchSkill)
		}
		for _, j := range rng.Perm(len(benchOtherSkills))[:1+rng.Intn(2)] {
			p.Skills = append(p.Skills, benchOtherSkills[j])
		}
		switch r := rng.Float64(); {
		case r < 0.10:
			p.Status, p.WantsOffers = providers.StatusOffline, false
		case r < 0.15:
			p.Status, p.RequestID, p.Token = providers.StatusBusy, "req_"+p.ProviderID[4:], 1
		case r < 0.15+0.85*0.05:
			p.LastSeen = now.Add(-time.Hour)
		default:
			out.available = append(out.available, p.ProviderID)
		}
		snaps = append(snaps, p)
		if len(snaps) == cap(snaps) || i == n-1 {
			if _, err := s.Rebuild(ctx, snaps); err != nil {
				return out, err
			}
			snaps = snaps[:0]
		}
	}
	return out, nil
}

var benchIDEncoding = "abcdefghijklmnopqrstuvwxyz234567"

// benchID looks like carehex.NewID("prv"), so memory figures are honest.
func benchID(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString("prv_")
	for i := 0; i < 16; i++ {
		b.WriteByte(benchIDEncoding[rng.Intn(32)])
	}
	return b.String()
}

// benchPoint draws a position from the benchmark's city: 60% in a Gaussian of
// 4 km around the centre of Zibo, 40% uniform within 15 km.
func benchPoint(rng *rand.Rand) carehex.LatLng {
	const r = 6371007.180918475
	var north, east float64
	if rng.Float64() < 0.6 {
		for {
			north, east = rng.NormFloat64()*4000, rng.NormFloat64()*4000
			if math.Hypot(north, east) < 15000 {
				break
			}
		}
	} else {
		d, a := 15000*math.Sqrt(rng.Float64()), rng.Float64()*2*math.Pi
		north, east = d*math.Cos(a), d*math.Sin(a)
	}
	const lat0, lng0 = 36.80, 118.05
	return carehex.LatLng{
		Lat: lat0 + north/r*180/math.Pi,
		Lng: lng0 + east/(r*math.Cos(lat0*math.Pi/180))*180/math.Pi,
	}
}

// sameProviders reports whether two answers to a query of radiusM name the
// same providers, up to what rounding allows: the two methods measure to
// positions stored differently (5 decimals against a 52-bit geohash) and
// GEOSEARCH's earth radius is 0.03% larger than H3's, so providers within a
// couple of metres of each other may swap places, and one within 0.05% of the
// radius may be in one answer only.
func sameProviders(a, b []providers.Candidate, radiusM float64) bool {
	for i := range min(len(a), len(b)) {
		if a[i].ProviderID != b[i].ProviderID && math.Abs(a[i].DistanceM-b[i].DistanceM) > 2 {
			return false
		}
	}
	longer := a
	if len(b) > len(a) {
		longer = b
	}
	for _, c := range longer[min(len(a), len(b)):] {
		if c.DistanceM < radiusM*0.9995-2 {
			return false
		}
	}
	return true
}

// throughput runs f from clients goroutines for d and returns calls per second.
func throughput(ctx context.Context, clients int, d time.Duration, f func(ctx context.Context, i int) error) (float64, error) {
	var count atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	err := workers(ctx, clients, func(ctx context.Context, w int) error {
		for i := w; time.Now().Before(deadline); i += clients {
			if err := f(ctx, i); err != nil {
				return err
			}
			count.Add(1)
		}
		return nil
	})
	return float64(count.Load()) / time.Since(start).Seconds(), err
}

// workers runs f in n goroutines and waits for all of them; the first error
// cancels the others. Each of then runs once the goroutines are started.
func workers(ctx context.Context, n int, f func(ctx context.Context, w int) error, then ...func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx, w); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	for _, f := range then {
		f()
	}
	wg.Wait()
	return first
}

// usedMemory is INFO memory's used_memory, summed over a cluster's masters.
func usedMemory(ctx context.Context, rdb redis.UniversalClient) (int64, error) {
	one := func(ctx context.Context, c *redis.Client) (int64, error) {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return 0, err
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
		}
		return 0, fmt.Errorf("INFO memory has no used_memory")
	}
	switch c := rdb.(type) {
	case *redis.Client:
		return one(ctx, c)
	case *redis.ClusterClient:
		var total atomic.Int64
		err := c.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			n, err := one(ctx, c)
			total.Add(n)
			return err
		})
		return total.Load(), err
	}
	return 0, fmt.Errorf("cannot read memory of a %T", rdb)
}
