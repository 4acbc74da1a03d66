package plan_test

import (
	"context"
	"flag"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/demo"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/plan"
	"github.com/carehex/carehex/roster/rosterbench"
	"github.com/carehex/carehex/sqlstore"
)

var (
	benchResidents = flag.Int("plan.residents", 90000, "residents in BenchmarkProject's city")
	benchShare     = flag.Float64("plan.share", 0.2, "share of them on care plans")
)

// BenchmarkProject projects the city's care plans for the 14-day horizon
// (issue 11's target: 90,000 residents' plans in ≤ 30 s on SQLite and
// PostgreSQL), then again, which must write nothing. Seeding is not timed.
//
//	go test -run '^$' -bench Project -benchtime 1x -timeout 30m ./plan/
func BenchmarkProject(b *testing.B) {
	for _, be := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", testenv.SQLitePath}, {"postgres", testenv.PostgresURL}} {
		b.Run(be.name, func(b *testing.B) {
			ctx := testenv.OpCtx()
			start := time.Date(2026, 12, 7, 8, 0, 0, 0, carehex.CST)
			db, err := sqlstore.Open(context.Background(), be.dsn(b), func() time.Time { return start })
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			types, err := catalog.Load()
			if err != nil {
				b.Fatal(err)
			}
			if err := db.SyncCatalog(ctx, types); err != nil {
				b.Fatal(err)
			}
			byCode := map[string]*carehex.ServiceType{}
			for _, t := range types {
				byCode[t.Code] = t
			}
			rs := demo.SeedResidents(1, *benchResidents)
			if err := db.ImportResidents(ctx, rs); err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			var plans []*carehex.CarePlan
			for _, r := range rs {
				if rng.Float64() < *benchShare {
					plans = append(plans, rosterbench.DrawPlan(rng, byCode, r.ID, start))
				}
			}
			var wg sync.WaitGroup
			work := make(chan *carehex.CarePlan)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for p := range work {
						if err := db.CreateCarePlan(ctx, p, plan.Parse); err != nil {
							b.Error(err)
						}
					}
				}()
			}
			for _, p := range plans {
				work <- p
			}
			close(work)
			wg.Wait()
			pl := plan.New(db, nil, func() time.Time { return start }, nil, 0)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				n, err := pl.Project(ctx)
				first := time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				t0 = time.Now()
				again, err := pl.Project(ctx)
				second := time.Since(t0)
				if err != nil || again != 0 {
					b.Fatalf("second projection wrote %d, %v", again, err)
				}
				b.ReportMetric(float64(len(plans)), "plans")
				b.ReportMetric(float64(n), "visits")
				b.ReportMetric(first.Seconds(), "first-s")
				b.ReportMetric(second.Seconds(), "again-s")
			}
		})
	}
}
