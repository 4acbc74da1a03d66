package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// BenchmarkQualitySummary reads the dashboard's callback and complaint
// figures over a city-year of records: 200,000 callbacks (about one visit
// in six of 1.2 million requests) and 6,000 complaints, over 3,000
// residents in five districts and 8 organisations (docs/PERFORMANCE.md).
func BenchmarkQualitySummary(b *testing.B) {
	const callbacks, complaints = 200_000, 6_000
	districts := []string{"张店区", "淄川区", "博山区", "临淄区", "周村区"}
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, carehex.CST)
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			e := openEnv(b, d.dsn(b))
			ctx := context.Background()
			rs := cityResidents(3000)
			for i, r := range rs {
				r.District = districts[i%len(districts)]
			}
			if err := e.ImportResidents(ctx, rs); err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(13, 1))
			start := time.Now()
			const batch = 500
			for i := 0; i < callbacks; i += batch {
				args := make([]any, 0, batch*9)
				for j := range batch {
					n := i + j
					t := year.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
					status, sat, done := "done", 1+rng.IntN(5), []string{"yes", "yes", "yes", "partly", "no"}[rng.IntN(5)]
					if n%10 == 0 {
						status, sat, done = "unreachable", 0, ""
					}
					args = append(args, fmt.Sprintf("cbk_b%07d", n), fmt.Sprintf("vis_b%07d", n), rs[rng.IntN(len(rs))].ID,
						fmt.Sprintf("org_%d", rng.IntN(8)), status, fmt.Sprint(sat), done, fmt.Sprint(micros(t.Add(-time.Hour))), fmt.Sprint(micros(t)))
				}
				if _, err := e.db.ExecContext(ctx, e.rebind(`INSERT INTO callbacks (id, visit_id, request_id, resident_id, org_id, reason,
					priority, status, satisfaction, service_done, create_time, done_time) SELECT column1, column2, '', column3, column4,
					'sampled', 3, column5, CAST(column6 AS INTEGER), column7, CAST(column8 AS BIGINT), CAST(column9 AS BIGINT) FROM (VALUES `+
					repeatRow("(?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)+`) AS v`), args...); err != nil {
					b.Fatal(err)
				}
			}
			for i := range complaints {
				t := year.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
				status := carehex.ComplaintStatuses[rng.IntN(len(carehex.ComplaintStatuses))]
				due := int64(0)
				if !status.Terminal() {
					due = micros(t.Add(72 * time.Hour))
				}
				if _, err := e.db.ExecContext(ctx, e.rebind(`INSERT INTO complaints (id, resident_id, complainant, org_id, description, status,
					due_time, create_time, update_time, created_by) VALUES (?, ?, 'elder', ?, 'x', ?, ?, ?, ?, 'bench')`),
					fmt.Sprintf("cmp_b%06d", i), rs[rng.IntN(len(rs))].ID, fmt.Sprintf("org_%d", rng.IntN(8)), string(status), due,
					micros(t), micros(t)); err != nil {
					b.Fatal(err)
				}
			}
			b.Logf("%s: loaded %d callbacks and %d complaints in %v", d.name, callbacks, complaints, time.Since(start).Round(time.Millisecond))
			for _, q := range []struct {
				name string
				f    carehex.QualityFilter
			}{
				{"year_city", carehex.QualityFilter{From: year, To: year.AddDate(1, 0, 0)}},
				{"month_district", carehex.QualityFilter{Area: "张店区", From: year.AddDate(0, 5, 0), To: year.AddDate(0, 6, 0)}},
			} {
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						s, err := e.QualitySummary(ctx, q.f)
						if err != nil || s.Callbacks == 0 {
							b.Fatalf("summary = %+v, %v", s, err)
						}
					}
				})
			}
		})
	}
}
