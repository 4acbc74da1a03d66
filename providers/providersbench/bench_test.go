package providersbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/providers"
	"github.com/redis/go-redis/v9"
)

// TestRunBench runs the benchmark of `carehex bench dispatch` small, on the
// real servers (miniredis has no INFO memory or MEMORY USAGE), to keep it working. It checks
// that it runs and that both methods agree; the figures are only logged.
//
// With CAREHEX_BENCH_PROVIDERS=N it runs the full benchmark at N providers
// instead, and its last log line is the JSON the command prints:
//
//	CAREHEX_BENCH_PROVIDERS=100000 go test -run 'TestRunBench/redis$' -v -timeout 10m ./providers/providersbench/
func TestRunBench(t *testing.T) {
	opt := Options{Providers: 3000, Clients: 8, Samples: 200, Duration: 200 * time.Millisecond, Claims: 400}
	if n, err := strconv.Atoi(os.Getenv("CAREHEX_BENCH_PROVIDERS")); err == nil {
		opt = Options{Providers: n}
	}
	for _, b := range []struct {
		name string
		open func(t *testing.T) redis.UniversalClient
	}{
		{"redis", func(t *testing.T) redis.UniversalClient {
			opt, err := redis.ParseURL(testenv.RedisURL(t))
			if err != nil {
				t.Fatal(err)
			}
			opt.PoolSize = 64
			return redis.NewClient(opt)
		}},
		{"cluster", func(t *testing.T) redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: testenv.RedisClusterAddrs(t), PoolSize: 64})
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			rdb := b.open(t)
			t.Cleanup(func() { rdb.Close() })
			var id [6]byte
			_, _ = rand.Read(id[:])
			zone := "bench" + hex.EncodeToString(id[:])
			opt := opt
			opt.Zone, opt.Progress = zone, func(msg string) { t.Log(msg) }
			res, err := Run(context.Background(), rdb, opt)
			if err != nil {
				t.Fatal(err)
			}
			line, _ := json.Marshal(res)
			t.Logf("%s", line)
			if res.Disagreements > 0 {
				t.Errorf("H3 and GEOSEARCH disagree on %d lookups", res.Disagreements)
			}
			if res.H3OpsS <= 0 || res.GeoOpsS <= 0 || res.ClaimP99ms <= 0 || res.RedisBytesPerProvider <= 0 {
				t.Errorf("missing figures: %+v", res)
			}
			if n, err := rdb.Exists(context.Background(), "ch:{"+zone+"}:ready").Result(); err != nil || n != 0 {
				t.Errorf("the benchmark left its zone behind: %v %v", n, err)
			}
		})
	}
}

// benchZones are the zones the Go benchmarks placed providers in, one per
// size, shared by the benchmarks and deleted by TestMain.
var benchZones struct {
	sync.Mutex
	rdb   redis.UniversalClient
	zones map[int]*providers.Store
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchZones.rdb != nil {
		for _, s := range benchZones.zones {
			_ = providers.DeleteZone(context.Background(), benchZones.rdb, s.Zone())
		}
		benchZones.rdb.Close()
	}
	os.Exit(code)
}

// benchStore returns a store on the test redis-server with n providers
// placed around Zibo, placing them the first time.
func benchStore(b *testing.B, n int) *providers.Store {
	b.Helper()
	benchZones.Lock()
	defer benchZones.Unlock()
	if benchZones.rdb == nil {
		opt, err := redis.ParseURL(testenv.RedisURL(b))
		if err != nil {
			b.Fatal(err)
		}
		opt.PoolSize = 64
		benchZones.rdb = redis.NewClient(opt)
		benchZones.zones = map[int]*providers.Store{}
	}
	if s := benchZones.zones[n]; s != nil {
		return s
	}
	s, err := providers.New(benchZones.rdb, providers.Options{Zone: "gobench" + strconv.Itoa(n), GeoSet: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := providers.DeleteZone(context.Background(), benchZones.rdb, s.Zone()); err != nil {
		b.Fatal(err)
	}
	if _, err := place(context.Background(), s, n, 1); err != nil {
		b.Fatal(err)
	}
	benchZones.zones[n] = s
	return s
}

func benchQueries(n int) []providers.Query {
	rng := mrand.New(mrand.NewSource(2))
	qs := make([]providers.Query, n)
	for i := range qs {
		qs[i] = providers.Query{Origin: benchPoint(rng), Skill: benchSkill, MaxRadiusM: 3000, Want: 10, MaxAge: 5 * time.Minute}
	}
	return qs
}

func benchLookup(b *testing.B, lookup func(*providers.Store) func(context.Context, providers.Query) ([]providers.Candidate, error)) {
	for _, n := range []int{5000, 100_000} {
		b.Run(fmt.Sprintf("providers=%d", n), func(b *testing.B) {
			s := benchStore(b, n)
			f := lookup(s)
			qs := benchQueries(1024)
			ctx := context.Background()
			found := 0
			i := 0
			for b.Loop() {
				cs, err := f(ctx, qs[i%len(qs)])
				if err != nil {
					b.Fatal(err)
				}
				found += len(cs)
				i++
			}
			b.ReportMetric(float64(found)/float64(i), "found/op")
		})
	}
}

// BenchmarkCandidatesH3 is one client's lookup through the H3 cell index:
// 3 km, want 10, a skill held by 30% of providers.
func BenchmarkCandidatesH3(b *testing.B) {
	benchLookup(b, func(s *providers.Store) func(context.Context, providers.Query) ([]providers.Candidate, error) {
		return s.Candidates
	})
}

// BenchmarkCandidatesGeo is the same lookup through GEOSEARCH.
func BenchmarkCandidatesGeo(b *testing.B) {
	benchLookup(b, func(s *providers.Store) func(context.Context, providers.Query) ([]providers.Candidate, error) {
		return s.CandidatesGeo
	})
}

// BenchmarkClaim is a claim and its release, one client.
func BenchmarkClaim(b *testing.B) {
	s := benchStore(b, 5000)
	ctx := context.Background()
	const id = "claimbench"
	if _, err := s.Heartbeat(ctx, providers.Heartbeat{ProviderID: id, Position: carehex.LatLng{Lat: 36.8, Lng: 118.05}, Available: true, Skills: []string{"meal_aid"}}); err != nil {
		b.Fatal(err)
	}
	b.Run("claim", func(b *testing.B) {
		for b.Loop() {
			c, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: id, RequestID: "r", TTL: time.Minute, MaxAge: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := s.Release(ctx, id, c.Token); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}

// BenchmarkClaimBurst is one op per burst of 50 claimers racing for the 10
// nearest providers of a request, five to a provider, as `bench dispatch`
// times them (the winners are released between bursts, untimed). Beside
// the claims' p50 and p99 it reports the Redis time the burst's claim
// scripts took (INFO commandstats, EVALSHA usec, read before and after each
// burst): on one Redis thread that is the least time the last claim of a
// burst can wait, whatever the client does. Other clients of the same
// redis-server add to that figure; run it on a server of its own.
func BenchmarkClaimBurst(b *testing.B) {
	const claimers = 50
	s := benchStore(b, 100_000)
	rdb := benchZones.rdb
	ctx := context.Background()
	evalshaUsec := func() int64 {
		info, err := rdb.Info(ctx, "commandstats").Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(info, "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_evalsha:"); ok {
				for _, f := range strings.Split(rest, ",") {
					if v, ok := strings.CutPrefix(f, "usec="); ok {
						n, _ := strconv.ParseInt(v, 10, 64)
						return n
					}
				}
			}
		}
		return 0
	}
	qs := benchQueries(256)
	var (
		lat       []time.Duration
		redisUsec int64
		round     int
	)
	for b.Loop() {
		b.StopTimer()
		q := qs[round%len(qs)]
		q.Now = time.Now()
		near, err := s.Candidates(ctx, q)
		if err != nil || len(near) == 0 {
			b.Fatalf("candidates: %d, %v", len(near), err)
		}
		l := make([]time.Duration, claimers)
		won := make([]providers.Claim, claimers)
		start := make(chan struct{})
		var ready, done sync.WaitGroup
		ready.Add(claimers)
		done.Add(claimers)
		for w := range claimers {
			go func() {
				defer done.Done()
				req := "burst-" + strconv.Itoa(round) + "-" + strconv.Itoa(w)
				ready.Done()
				<-start
				t0 := time.Now()
				c, err := s.Claim(ctx, providers.ClaimRequest{ProviderID: near[w%len(near)].ProviderID, RequestID: req,
					TTL: 45 * time.Second, MaxAge: 5 * time.Minute})
				l[w] = time.Since(t0)
				if err == nil {
					won[w] = c
				}
			}()
		}
		ready.Wait()
		before := evalshaUsec()
		b.StartTimer()
		close(start)
		done.Wait()
		b.StopTimer()
		redisUsec += evalshaUsec() - before
		lat = append(lat, l...)
		for _, c := range won {
			if c.Token != 0 {
				if _, err := s.Release(ctx, c.ProviderID, c.Token); err != nil {
					b.Fatal(err)
				}
			}
		}
		round++
		b.StartTimer()
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "claim-p50-ms")
	b.ReportMetric(pct(0.99), "claim-p99-ms")
	b.ReportMetric(float64(redisUsec)/float64(round), "redis-µs/burst")
	b.ReportMetric(float64(redisUsec)/float64(round*claimers), "redis-µs/claim")
}
