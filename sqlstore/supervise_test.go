package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/demo"
	"github.com/carehex/carehex/internal/testenv"
)

// dashWorld is a few residents in two districts and three streets, three
// carers, and three days of generated history before testNow's day.
func dashWorld(t *testing.T, e *env) []*carehex.Resident {
	t.Helper()
	ctx := context.Background()
	var rs []*carehex.Resident
	for i, area := range [][2]string{{"张店区", "车站街道"}, {"张店区", "车站街道"}, {"张店区", "科苑街道"}, {"淄川区", "般阳路街道"}, {"淄川区", "般阳路街道"}} {
		r := resident(fmt.Sprintf("住户%d", i), fmt.Sprintf("1390533%04d", i))
		r.District, r.Street = area[0], area[1]
		r.Location.Lat += float64(i) * 0.02
		rs = append(rs, mustCreateResident(t, e, r))
	}
	var ps []*carehex.Provider
	for i := range 3 {
		ps = append(ps, mustCreateProvider(t, e, fmt.Sprintf("护理员%d", i)))
	}
	types, err := e.ServiceTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = demo.History(ctx, demo.HistoryOptions{Days: 3, PerDay: 60, End: testNow, Seed: 1}, rs, ps, types,
		func(_ string, b *carehex.HistoryBatch) error { return e.ImportHistory(ctx, b) })
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	return rs
}

// rawCounts computes, straight from the raw records with SQL of its own,
// what the counts panel must say over [from, to] for an area.
func rawCounts(t *testing.T, e *env, q carehex.DashQuery) map[string][4]int64 {
	t.Helper()
	from, _, _ := dayBounds(q.From)
	_, to, _ := dayBounds(q.To)
	query := `SELECT st.category, r.urgency, r.status,
		CASE WHEN EXISTS (SELECT 1 FROM request_events e WHERE e.request_id = r.id AND e.to_status = 'assigned') THEN 1 ELSE 0 END
		FROM service_requests r JOIN residents res ON res.id = r.resident_id JOIN service_types st ON st.code = r.service_code
		WHERE r.create_time >= ? AND r.create_time < ?`
	args := []any{from, to}
	if q.District != "" {
		query += ` AND res.district = ?`
		args = append(args, q.District)
	}
	if q.Street != "" {
		query += ` AND res.street = ?`
		args = append(args, q.Street)
	}
	rows, err := e.db.Query(e.rebind(query), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][4]int64{} // requests, filled, unfilled, cancelled
	for rows.Next() {
		var cat, urg, status string
		var filled int64
		if err := rows.Scan(&cat, &urg, &status, &filled); err != nil {
			t.Fatal(err)
		}
		k := cat + "/" + urg
		v := out[k]
		v[0]++
		v[1] += filled
		if filled == 0 && status != "cancelled" {
			v[2]++
		}
		if status == "cancelled" {
			v[3]++
		}
		out[k] = v
	}
	return out
}

func panelCounts(t *testing.T, e *env, q carehex.DashQuery) map[string][4]int64 {
	t.Helper()
	r, err := e.DashboardPanel(context.Background(), carehex.PanelCounts, q)
	if err != nil {
		t.Fatalf("DashboardPanel: %v", err)
	}
	out := map[string][4]int64{}
	for _, c := range r.Counts {
		out[string(c.Category)+"/"+string(c.Urgency)] = [4]int64{c.Requests, c.Filled, c.Unfilled, c.Cancelled}
	}
	return out
}

// dumpRollups is every rollup row, sorted, to compare passes.
func dumpRollups(t *testing.T, e *env) []string {
	t.Helper()
	var out []string
	for _, r := range dashTables {
		for _, table := range []string{r.table, r.table + "_month"} {
			rows, err := e.db.Query(`SELECT * FROM ` + table)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				out = append(out, table+fmt.Sprint(vals...))
			}
			rows.Close()
		}
	}
	slices.Sort(out)
	return out
}

func TestDashboardRollups(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		targets := carehex.DefaultDashTargets()
		rs := dashWorld(t, e)
		days, err := e.RefreshDashboard(ctx, targets)
		if err != nil || days != 3 {
			t.Fatalf("first RefreshDashboard = %d days, %v; want the 3 history days", days, err)
		}
		today := testNow.In(carehex.CST).Format("2006-01-02")
		first := testNow.In(carehex.CST).AddDate(0, 0, -3).Format("2006-01-02")
		city := carehex.DashQuery{From: first, To: today}
		areas := []carehex.DashQuery{city,
			{From: first, To: today, District: "张店区"},
			{From: first, To: today, District: "张店区", Street: "科苑街道"},
			{From: first, To: first, District: "淄川区", Street: "般阳路街道"},
			// whole months (February and March 2025) read the month sums
			{From: "2025-02-01", To: "2025-03-31"},
			{From: "2025-01-15", To: "2025-03-31", District: "张店区"},
			{From: "2025-02-01", To: "2025-03-01", District: "淄川区"}}
		check := func(stage string) {
			t.Helper()
			for _, q := range areas {
				want, got := rawCounts(t, e, q), panelCounts(t, e, q)
				if len(want) == 0 {
					t.Fatalf("%s %+v: no raw records; the test is empty", stage, q)
				}
				if fmt.Sprint(want) != fmt.Sprint(got) {
					t.Errorf("%s %+v: rollup %v, raw records %v", stage, q, got, want)
				}
			}
		}
		check("after the first pass")

		// Incremental: a request today, accepted and carried out through
		// the live path, shows after the next pass, and only today is rebuilt.
		before := panelCounts(t, e, carehex.DashQuery{From: today, To: today})
		p := mustCreateProvider(t, e, "新护理员")
		r := mustCreateRequest(t, e, rs[2].ID)
		if n, err := e.RefreshDashboard(ctx, targets); err != nil || n != 1 {
			t.Fatalf("RefreshDashboard after a new request = %d days, %v; want 1", n, err)
		}
		check("after a new request")
		v := mustAssign(t, e, claim(r, p, 1, testNow.Add(10*60e9), testNow.Add(40*60e9)))
		mustMove(t, e, v, carehex.StatusEnRoute, testNow)
		mustMove(t, e, v, carehex.StatusInProgress, testNow)
		mustMove(t, e, v, carehex.StatusCompleted, testNow)
		if n, err := e.RefreshDashboard(ctx, targets); err != nil || n != 1 {
			t.Fatalf("RefreshDashboard after the visit = %d days, %v; want 1", n, err)
		}
		check("after the visit")
		after := panelCounts(t, e, carehex.DashQuery{From: today, To: today})
		k := "daily_life/soon"
		if after[k][0] != before[k][0]+1 || after[k][1] != before[k][1]+1 {
			t.Errorf("today's %s: before %v, after %v; want one more request, filled", k, before[k], after[k])
		}

		// Idempotent: more passes, and rebuilding every day again, leave
		// exactly the same rows.
		snap := dumpRollups(t, e)
		if _, err := e.RefreshDashboard(ctx, targets); err != nil {
			t.Fatal(err)
		}
		if err := e.RebuildDashboardDays(ctx, []string{first, today, first}, targets); err != nil {
			t.Fatal(err)
		}
		if again := dumpRollups(t, e); !slices.Equal(snap, again) {
			t.Errorf("rebuilding changed the rollups:\n%v\n%v", snap, again)
		}
		// Changed targets rebuild every day with the history's 3 and today.
		tight := carehex.DefaultDashTargets()
		tight.Arrive[carehex.UrgencySoon] = 1
		if n, err := e.RefreshDashboard(ctx, tight); err != nil || n != 4 {
			t.Fatalf("RefreshDashboard with new targets = %d days, %v; want 4", n, err)
		}

		// Other panels against the raw records.
		orgs, err := e.DashboardPanel(ctx, carehex.PanelOrgs, city)
		if err != nil {
			t.Fatal(err)
		}
		var visits, exceptions int64
		for _, o := range orgs.Orgs {
			visits, exceptions = visits+o.Visits, exceptions+o.Exceptions
		}
		var rawVisits, rawExc int64
		if err := e.db.QueryRow(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM visit_events ve WHERE ve.visit_id = v.id AND ve.exception <> '') THEN 1 ELSE 0 END), 0)
			FROM visits v WHERE v.status = 'completed'`).Scan(&rawVisits, &rawExc); err != nil {
			t.Fatal(err)
		}
		if visits != rawVisits || exceptions != rawExc || rawVisits == 0 {
			t.Errorf("organisations: %d visits, %d exceptions; raw %d, %d", visits, exceptions, rawVisits, rawExc)
		}
		lat, err := e.DashboardPanel(ctx, carehex.PanelLatency, city)
		if err != nil {
			t.Fatal(err)
		}
		var accepts, acceptOver, arriveOver int64
		for _, l := range lat.Latency {
			switch {
			case l.Bucket == carehex.BucketOverTarget && l.Kind == "accept":
				acceptOver += l.N
			case l.Bucket == carehex.BucketOverTarget:
				arriveOver += l.N
			case l.Kind == "accept":
				accepts += l.N
			}
		}
		cr, err := e.DashboardPanel(ctx, carehex.PanelCounts, city)
		if err != nil {
			t.Fatal(err)
		}
		var acceptLate, late int64
		for _, c := range cr.Counts {
			acceptLate, late = acceptLate+c.AcceptLate, late+c.Late
		}
		if acceptOver != acceptLate || arriveOver != late || late == 0 {
			t.Errorf("over target: latency rows %d accept, %d arrive; counts %d, %d", acceptOver, arriveOver, acceptLate, late)
		}
		var filled int64
		for _, v := range panelCounts(t, e, city) {
			filled += v[1]
		}
		if accepts != filled {
			t.Errorf("latency histogram holds %d accepts, counts %d filled", accepts, filled)
		}

		// Drill-down: the records behind "tight-late" and "filled", paged,
		// are as many as the figures say, each once.
		seen := map[string]bool{}
		token, pages := "", 0
		for {
			facts, next, err := e.DashboardFacts(ctx, city, carehex.DashDrill{Figure: carehex.FigureFilled}, targets, token, 7)
			if err != nil {
				t.Fatalf("DashboardFacts: %v", err)
			}
			for _, f := range facts {
				if seen[f.RequestID] || !f.Filled() {
					t.Fatalf("drill-down gave %s twice or unfilled", f.RequestID)
				}
				seen[f.RequestID] = true
			}
			pages++
			if token = next; token == "" {
				break
			}
		}
		if int64(len(seen)) != filled || pages < 2 {
			t.Errorf("drill-down listed %d filled requests in %d pages; the figure is %d", len(seen), pages, filled)
		}
		_, _, err = e.DashboardFacts(ctx, city, carehex.DashDrill{Figure: carehex.FigureFilled}, targets, "garbage", 7)
		wantErr(t, err, carehex.EINVALID, "page_token")
		_, err = e.DashboardPanel(ctx, carehex.PanelCounts, carehex.DashQuery{From: today, To: first})
		wantErr(t, err, carehex.EINVALID, "to")
		_, err = e.DashboardPanel(ctx, carehex.PanelCounts, carehex.DashQuery{From: "yesterday", To: today})
		if !strings.Contains(carehex.ErrorMessage(err), "yesterday") {
			t.Errorf("a bad date: %v", err)
		}
	})
}

// TestDashboardReplicas runs the catch-up from two replicas (two stores on
// one PostgreSQL database) at once, many times over: the rollups end as
// the raw records say, with no pass failing. (SQLite is one process's
// file: its single writer serialises the passes already.)
func TestDashboardReplicas(t *testing.T) {
	dsn := testenv.PostgresURL(t)
	a, b := openEnv(t, dsn), openEnv(t, dsn)
	dashWorld(t, a)
	ctx := context.Background()
	targets := carehex.DefaultDashTargets()
	errs := make(chan error, 2)
	for _, e := range []*env{a, b} {
		go func() {
			var err error
			for range 3 {
				if _, err = e.RefreshDashboard(ctx, targets); err != nil {
					break
				}
				first := testNow.In(carehex.CST).AddDate(0, 0, -3).Format("2006-01-02")
				if err = e.RebuildDashboardDays(ctx, []string{first}, targets); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a replica's pass failed: %v", err)
		}
	}
	q := carehex.DashQuery{From: testNow.In(carehex.CST).AddDate(0, 0, -3).Format("2006-01-02"), To: testNow.In(carehex.CST).Format("2006-01-02")}
	if want, got := rawCounts(t, a, q), panelCounts(t, b, q); fmt.Sprint(want) != fmt.Sprint(got) || len(want) == 0 {
		t.Errorf("after two replicas: rollup %v, raw %v", got, want)
	}
}
