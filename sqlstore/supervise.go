package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

var _ carehex.DashStore = (*DB)(nil)

// dashMargin is how far back of its watermark the catch-up looks again: a
// change stamped just before a pass may commit just after it.
const dashMargin = time.Minute

// dayBounds is a China day's [start, end) in microseconds.
func dayBounds(day string) (int64, int64, error) {
	d, err := time.ParseInLocation("2006-01-02", day, carehex.CST)
	if err != nil {
		return 0, 0, carehex.Errorf(carehex.EINVALID, "day", "day must be a date like 2026-12-03, got %q", day)
	}
	return d.UnixMicro(), d.AddDate(0, 0, 1).UnixMicro(), nil
}

func chinaDay(us int64) string { return time.UnixMicro(us).In(carehex.CST).Format("2006-01-02") }

// dashFactsSQL reads the requests created in [?, ?) as the dashboard counts
// them (carehex.DashFact): their first assignment and arrival from the
// request's own events, and their last visit with its carer, organisation
// and EVV exceptions.
const dashFactsSQL = `SELECT r.id, r.resident_id, r.service_code, r.urgency, r.status, r.create_time, r.window_start,
	res.district, res.street, res.cell, res.lat, res.lng, st.category,
	(SELECT MIN(e.time) FROM request_events e WHERE e.request_id = r.id AND e.to_status = 'assigned'),
	(SELECT MIN(e.time) FROM request_events e WHERE e.request_id = r.id AND e.to_status = 'in_progress'),
	COALESCE(v.provider_id, ''), COALESCE(v.status, ''), COALESCE(v.finish_time, 0), COALESCE(p.org_id, ''),
	COALESCE(p.lat, 0), COALESCE(p.lng, 0),
	(SELECT COUNT(*) FROM visit_events ve WHERE ve.visit_id = v.id AND ve.exception <> '')
	FROM service_requests r
	JOIN residents res ON res.id = r.resident_id
	JOIN service_types st ON st.code = r.service_code
	LEFT JOIN visits v ON v.id = (SELECT v2.id FROM visits v2 WHERE v2.request_id = r.id ORDER BY v2.create_time DESC, v2.id DESC LIMIT 1)
	LEFT JOIN providers p ON p.id = v.provider_id
	WHERE r.create_time >= ? AND r.create_time < ?`

// dashFacts reads the facts of the requests created in [from, to) (micros),
// in creation order, optionally in one district (and street).
func (s *DB) dashFacts(ctx context.Context, q querier, from, to int64, district, street string) ([]carehex.DashFact, error) {
	query, args := dashFactsSQL, []any{from, to}
	if district != "" {
		query += ` AND res.district = ?`
		args = append(args, district)
	}
	if street != "" {
		query += ` AND res.street = ?`
		args = append(args, street)
	}
	rows, err := q.QueryContext(ctx, s.rebind(query+` ORDER BY r.create_time, r.id`), args...)
	if err != nil {
		return nil, s.wrap(err, "dashboard facts")
	}
	defer rows.Close()
	var out []carehex.DashFact
	for rows.Next() {
		var (
			f                             carehex.DashFact
			urgency, status, vstatus, cat string
			created, window, finish       int64
			cell                          int64
			hlat, hlng, plat, plng        float64
			accept, arrive                sql.NullInt64
			exceptions                    int64
		)
		if err := rows.Scan(&f.RequestID, &f.ResidentID, &f.ServiceCode, &urgency, &status, &created, &window,
			&f.District, &f.Street, &cell, &hlat, &hlng, &cat, &accept, &arrive,
			&f.ProviderID, &vstatus, &finish, &f.OrgID, &plat, &plng, &exceptions); err != nil {
			return nil, s.wrap(err, "dashboard facts")
		}
		f.Urgency, f.Status, f.Category = carehex.Urgency(urgency), carehex.Status(status), carehex.Category(cat)
		f.CreateTime, f.Day = fromMicros(created), chinaDay(created)
		if c, err := geo.Parent(carehex.Cell(cell), carehex.DashCellRes); err == nil {
			f.Cell = c
		}
		f.AcceptS, f.ArriveS = -1, -1
		if accept.Valid {
			f.AcceptS = float64(accept.Int64-created) / 1e6
		}
		if arrive.Valid {
			from := created
			if f.Urgency == carehex.UrgencyScheduled && window > 0 {
				from = window
			}
			f.ArriveS = max(0, float64(arrive.Int64-from)/1e6)
		}
		f.Completed = vstatus == string(carehex.StatusCompleted)
		if f.Completed {
			f.Exception = exceptions > 0
			if arrive.Valid && finish > arrive.Int64 {
				f.WorkS = float64(finish-arrive.Int64) / 1e6
			}
			f.TravelM = geo.DistanceM(carehex.LatLng{Lat: plat, Lng: plng}, carehex.LatLng{Lat: hlat, Lng: hlng})
		} else {
			f.ProviderID, f.OrgID = "", ""
		}
		out = append(out, f)
	}
	return out, s.wrap(rows.Err(), "dashboard facts")
}

func targetsKey(t carehex.DashTargets) string {
	b, _ := json.Marshal(t)
	return string(b)
}

// RefreshDashboard is the catch-up pass (carehex.DashStore).
func (s *DB) RefreshDashboard(ctx context.Context, t carehex.DashTargets) (int, error) {
	started := s.stamp()
	var watermark int64
	var stored string
	if err := s.db.QueryRowContext(ctx, `SELECT watermark, targets FROM dash_state WHERE name = 'rollup'`).Scan(&watermark, &stored); err != nil {
		return 0, s.wrap(err, "dashboard state")
	}
	since := watermark - dashMargin.Microseconds()
	if stored != targetsKey(t) {
		since = -1 << 62 // the targets changed: every day again
	}
	times, err := queryAll(ctx, s, "dashboard changes", func(r interface{ Scan(...any) error }) (int64, error) {
		var v int64
		return v, r.Scan(&v)
	}, s.rebind(`SELECT create_time FROM service_requests WHERE update_time >= ?
		UNION SELECT r.create_time FROM visits v JOIN service_requests r ON r.id = v.request_id WHERE v.update_time >= ?`), since, since)
	if err != nil {
		return 0, err
	}
	days := map[string]bool{}
	for _, us := range times {
		days[chinaDay(us)] = true
	}
	list := make([]string, 0, len(days))
	for d := range days {
		list = append(list, d)
	}
	sort.Strings(list)
	if len(list) == 0 && stored == targetsKey(t) {
		// Nothing changed: no write (on SQLite a commit is a disk flush).
		// The watermark stays; the next pass looks from it again, and
		// finds what changed since through the update_time indexes.
		return 0, nil
	}
	if err := s.RebuildDashboardDays(ctx, list, t); err != nil {
		return 0, err
	}
	err = s.inTx(ctx, "dashboard state", func(tx *sql.Tx) error {
		// Only forward: a slower replica's pass does not rewind a faster one's.
		_, err := tx.ExecContext(ctx, s.rebind(`UPDATE dash_state SET watermark = ?, targets = ?
			WHERE name = 'rollup' AND watermark <= ?`), micros(started), targetsKey(t), micros(started))
		return err
	})
	return len(list), err
}

// RebuildDashboardDays rebuilds the rollups of the given China days from
// the raw records, one transaction a day: delete the day's rows, insert
// the day's sums. The day's transaction first takes the dash_state row, so
// replicas rebuilding the same day take turns.
func (s *DB) RebuildDashboardDays(ctx context.Context, days []string, t carehex.DashTargets) error {
	for _, day := range days {
		from, to, err := dayBounds(day)
		if err != nil {
			return err
		}
		err = s.inTx(ctx, "rebuild dashboard day", func(tx *sql.Tx) error {
			lock := `UPDATE dash_state SET watermark = watermark WHERE name = 'rollup'`
			if _, err := tx.ExecContext(ctx, lock); err != nil {
				return err
			}
			facts, err := s.dashFacts(ctx, tx, from, to, "", "")
			if err != nil {
				return err
			}
			for _, table := range []string{"dash_counts", "dash_latency", "dash_orgs", "dash_carers", "dash_cells"} {
				if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM `+table+` WHERE day = ?`), day); err != nil {
					return err
				}
			}
			return s.insertRollup(ctx, tx, carehex.Rollup(facts, t))
		})
		if err != nil {
			return err
		}
	}
	months := map[string]bool{}
	for _, day := range days {
		months[day[:7]] = true
	}
	for m := range months {
		if err := s.inTx(ctx, "rebuild dashboard month", func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE dash_state SET watermark = watermark WHERE name = 'rollup'`); err != nil {
				return err
			}
			for _, r := range dashTables {
				if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM `+r.table+`_month WHERE day = ?`), m); err != nil {
					return err
				}
				sums := "SUM(" + strings.ReplaceAll(r.sums, ", ", "), SUM(") + ")"
				if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO `+r.table+`_month (day, district, street, `+r.keys+`, `+r.sums+`)
					SELECT ?, district, street, `+r.keys+`, `+sums+` FROM `+r.table+` WHERE day >= ? AND day <= ?
					GROUP BY district, street, `+r.keys), m, m+"-01", m+"-31"); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// dashTables are the rollup tables: their keys besides day, district and
// street, and their summed columns. Each has a _month twin (migration
// 00031) with the month in day.
var dashTables = []struct{ table, keys, sums string }{
	{"dash_counts", "category, urgency", "requests, filled, unfilled, cancelled, completed, accept_late, late, missed, accept_sum_s, arrive_sum_s, accept_n, arrive_n"},
	{"dash_latency", "urgency, kind, bucket", "n"},
	{"dash_orgs", "org_id", "visits, exceptions"},
	{"dash_carers", "provider_id", "visits, work_s, travel_m"},
	{"dash_cells", "cell", "requests, filled"},
}

// dashFrom is the rows of rollup table over the period and area: whole
// months from its _month twin, the days at either end that do not fill a
// month from the day table. The trend reads days (byDay).
func dashFrom(table string, q carehex.DashQuery, byDay bool) (string, []any) {
	area, areaArgs := "", []any{}
	if q.District != "" {
		area += ` AND district = ?`
		areaArgs = append(areaArgs, q.District)
	}
	if q.Street != "" {
		area += ` AND street = ?`
		areaArgs = append(areaArgs, q.Street)
	}
	var parts []string
	var args []any
	add := func(t, from, to string) {
		parts = append(parts, `SELECT * FROM `+t+` WHERE day >= ? AND day <= ?`+area)
		args = append(append(args, from, to), areaArgs...)
	}
	from, _ := time.Parse("2006-01-02", q.From)
	to, _ := time.Parse("2006-01-02", q.To)
	// the first whole month on or after from, and the last on or before to
	first := from
	if from.Day() != 1 {
		first = time.Date(from.Year(), from.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	}
	end := time.Date(to.Year(), to.Month()+1, 1, 0, 0, 0, 0, time.UTC) // the day after to's month
	if to.AddDate(0, 0, 1).Before(end) {
		end = time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	if byDay || !first.Before(end) {
		add(table, q.From, q.To)
	} else {
		if from.Before(first) {
			add(table, q.From, first.AddDate(0, 0, -1).Format("2006-01-02"))
		}
		add(table+"_month", first.Format("2006-01"), end.AddDate(0, 0, -1).Format("2006-01"))
		if end.Before(to.AddDate(0, 0, 1)) {
			add(table, end.Format("2006-01-02"), q.To)
		}
	}
	return ` FROM (` + strings.Join(parts, ` UNION ALL `) + `) x`, args
}

// insertRollup writes rollup rows with multi-row INSERTs.
func (s *DB) insertRollup(ctx context.Context, tx *sql.Tx, r *carehex.DashRollup) error {
	ins := func(table, cols string, n int, row func(i int) []any) error {
		width := strings.Count(cols, ",") + 1
		const per = 400
		for start := 0; start < n; start += per {
			end := min(start+per, n)
			var b strings.Builder
			args := make([]any, 0, (end-start)*width)
			for i := start; i < end; i++ {
				if i > start {
					b.WriteString(", ")
				}
				b.WriteString("(" + placeholders(width) + ")")
				args = append(args, row(i)...)
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO `+table+` (`+cols+`) VALUES `+b.String()), args...); err != nil {
				return err
			}
		}
		return nil
	}
	key := func(k carehex.DashKey) []any { return []any{k.Day, k.District, k.Street} }
	if err := ins("dash_counts", "day, district, street, category, urgency, requests, filled, unfilled, cancelled, completed, accept_late, late, missed, accept_sum_s, arrive_sum_s, accept_n, arrive_n",
		len(r.Counts), func(i int) []any {
			c := r.Counts[i]
			return append(key(c.DashKey), string(c.Category), string(c.Urgency), c.Requests, c.Filled, c.Unfilled, c.Cancelled,
				c.Completed, c.AcceptLate, c.Late, c.Missed, c.AcceptSumS, c.ArriveSumS, c.AcceptN, c.ArriveN)
		}); err != nil {
		return err
	}
	if err := ins("dash_latency", "day, district, street, urgency, kind, bucket, n", len(r.Latency), func(i int) []any {
		l := r.Latency[i]
		return append(key(l.DashKey), string(l.Urgency), l.Kind, l.Bucket, l.N)
	}); err != nil {
		return err
	}
	if err := ins("dash_orgs", "day, district, street, org_id, visits, exceptions", len(r.Orgs), func(i int) []any {
		o := r.Orgs[i]
		return append(key(o.DashKey), o.OrgID, o.Visits, o.Exceptions)
	}); err != nil {
		return err
	}
	if err := ins("dash_carers", "day, district, street, provider_id, visits, work_s, travel_m", len(r.Carers), func(i int) []any {
		c := r.Carers[i]
		return append(key(c.DashKey), c.ProviderID, c.Visits, c.WorkS, c.TravelM)
	}); err != nil {
		return err
	}
	return ins("dash_cells", "day, district, street, cell, requests, filled", len(r.Cells), func(i int) []any {
		c := r.Cells[i]
		return append(key(c.DashKey), int64(c.Cell), c.Requests, c.Filled)
	})
}

// dashWhere checks a period and area.
func dashWhere(q carehex.DashQuery) (string, []any, error) {
	if _, _, err := dayBounds(q.From); err != nil {
		return "", nil, carehex.Errorf(carehex.EINVALID, "from", "from must be a date like 2026-12-03, got %q", q.From)
	}
	if _, _, err := dayBounds(q.To); err != nil {
		return "", nil, carehex.Errorf(carehex.EINVALID, "to", "to must be a date like 2026-12-03, got %q", q.To)
	}
	if q.To < q.From {
		return "", nil, carehex.Errorf(carehex.EINVALID, "to", "to (%s) is before from (%s)", q.To, q.From)
	}
	if q.Street != "" && q.District == "" {
		return "", nil, carehex.Errorf(carehex.EINVALID, "district", "a street needs its district")
	}
	return "", nil, nil
}

// DashboardPanel sums one panel over the period and area (carehex.DashStore).
func (s *DB) DashboardPanel(ctx context.Context, p carehex.DashPanel, q carehex.DashQuery) (*carehex.DashRollup, error) {
	if _, _, err := dashWhere(q); err != nil {
		return nil, err
	}
	var err error
	out := &carehex.DashRollup{}
	sums := `SUM(requests), SUM(filled), SUM(unfilled), SUM(cancelled), SUM(completed), SUM(accept_late), SUM(late), SUM(missed),
		SUM(accept_sum_s), SUM(arrive_sum_s), SUM(accept_n), SUM(arrive_n)`
	scanCount := func(c *carehex.DashCount, r interface{ Scan(...any) error }, lead ...any) error {
		return r.Scan(append(lead, &c.Requests, &c.Filled, &c.Unfilled, &c.Cancelled, &c.Completed, &c.AcceptLate, &c.Late,
			&c.Missed, &c.AcceptSumS, &c.ArriveSumS, &c.AcceptN, &c.ArriveN)...)
	}
	switch p {
	case carehex.PanelCounts:
		f, args := dashFrom("dash_counts", q, false)
		out.Counts, err = queryAll(ctx, s, "dashboard counts", func(r interface{ Scan(...any) error }) (carehex.DashCount, error) {
			var c carehex.DashCount
			var cat, urg string
			err := scanCount(&c, r, &cat, &urg)
			c.Category, c.Urgency = carehex.Category(cat), carehex.Urgency(urg)
			return c, err
		}, s.rebind(`SELECT category, urgency, `+sums+` `+f+` GROUP BY category, urgency ORDER BY category, urgency`), args...)
	case carehex.PanelTrend:
		f, args := dashFrom("dash_counts", q, true)
		out.Counts, err = queryAll(ctx, s, "dashboard trend", func(r interface{ Scan(...any) error }) (carehex.DashCount, error) {
			var c carehex.DashCount
			err := scanCount(&c, r, &c.Day)
			return c, err
		}, s.rebind(`SELECT day, `+sums+` `+f+` GROUP BY day ORDER BY day`), args...)
	case carehex.PanelLatency:
		f, args := dashFrom("dash_latency", q, false)
		out.Latency, err = queryAll(ctx, s, "dashboard latency", func(r interface{ Scan(...any) error }) (carehex.DashLatency, error) {
			var l carehex.DashLatency
			var urg string
			err := r.Scan(&urg, &l.Kind, &l.Bucket, &l.N)
			l.Urgency = carehex.Urgency(urg)
			return l, err
		}, s.rebind(`SELECT urgency, kind, bucket, SUM(n) `+f+` GROUP BY urgency, kind, bucket ORDER BY urgency, kind, bucket`), args...)
	case carehex.PanelOrgs:
		f, args := dashFrom("dash_orgs", q, false)
		out.Orgs, err = queryAll(ctx, s, "dashboard organisations", func(r interface{ Scan(...any) error }) (carehex.DashOrg, error) {
			var o carehex.DashOrg
			return o, r.Scan(&o.OrgID, &o.Name, &o.Visits, &o.Exceptions)
		}, s.rebind(`SELECT x.org_id, COALESCE(o.name, ''), x.v, x.e FROM (SELECT org_id, SUM(visits) AS v, SUM(exceptions) AS e
			`+f+` GROUP BY org_id) x LEFT JOIN organisations o ON o.id = x.org_id ORDER BY x.org_id`), args...)
	case carehex.PanelCarers:
		f, args := dashFrom("dash_carers", q, false)
		out.Carers, err = queryAll(ctx, s, "dashboard carers", func(r interface{ Scan(...any) error }) (carehex.DashCarer, error) {
			var c carehex.DashCarer
			return c, r.Scan(&c.ProviderID, &c.Name, &c.Visits, &c.WorkS, &c.TravelM)
		}, s.rebind(`SELECT x.provider_id, COALESCE(p.name, ''), x.v, x.w, x.t FROM (SELECT provider_id, SUM(visits) AS v, SUM(work_s) AS w,
			SUM(travel_m) AS t `+f+` GROUP BY provider_id) x LEFT JOIN providers p ON p.id = x.provider_id ORDER BY x.provider_id`), args...)
	case carehex.PanelCells:
		f, args := dashFrom("dash_cells", q, false)
		out.Cells, err = queryAll(ctx, s, "dashboard cells", func(r interface{ Scan(...any) error }) (carehex.DashCellCount, error) {
			var c carehex.DashCellCount
			var cell int64
			err := r.Scan(&cell, &c.Requests, &c.Filled)
			c.Cell = carehex.Cell(cell)
			return c, err
		}, s.rebind(`SELECT cell, SUM(requests), SUM(filled) `+f+` GROUP BY cell ORDER BY cell`), args...)
	default:
		return nil, carehex.Errorf(carehex.EINVALID, "panel", "unknown panel %q", p)
	}
	return out, err
}

// DashboardFacts lists the records behind a figure (carehex.DashStore). It
// reads the raw records a day at a time from the page token's day on, so
// a page costs a few days' requests however long the period.
func (s *DB) DashboardFacts(ctx context.Context, q carehex.DashQuery, d carehex.DashDrill, t carehex.DashTargets, pageToken string, limit int) ([]carehex.DashFact, string, error) {
	if _, _, err := dashWhere(q); err != nil {
		return nil, "", err
	}
	limit = clampLimit(limit, 50, 500)
	from, _, _ := dayBounds(q.From)
	_, end, _ := dayBounds(q.To)
	afterTime, afterID := int64(-1), ""
	if pageToken != "" {
		ts, id, ok := strings.Cut(pageToken, ":")
		v, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || v < from || v >= end {
			return nil, "", carehex.Errorf(carehex.EINVALID, "page_token", "page_token is not one this list gave")
		}
		afterTime, afterID = v, id
		from = v
	}
	out := []carehex.DashFact{}
	for day := from; day < end; {
		dayStart, _, _ := dayBounds(chinaDay(day))
		next := time.UnixMicro(dayStart).In(carehex.CST).AddDate(0, 0, 1).UnixMicro()
		facts, err := s.dashFacts(ctx, s.db, day, min(next, end), q.District, q.Street)
		if err != nil {
			return nil, "", err
		}
		for i := range facts {
			f := &facts[i]
			us := micros(f.CreateTime)
			if us < afterTime || us == afterTime && f.RequestID <= afterID {
				continue
			}
			if !d.Match(f, t) {
				continue
			}
			out = append(out, *f)
			if len(out) == limit {
				return out, fmt.Sprintf("%d:%s", us, f.RequestID), nil
			}
		}
		day = next
	}
	return out, "", nil
}

// DashboardSupply counts active providers per heatmap cell (carehex.DashStore).
func (s *DB) DashboardSupply(ctx context.Context) (map[carehex.Cell]int64, error) {
	cells, err := queryAll(ctx, s, "dashboard supply", func(r interface{ Scan(...any) error }) (int64, error) {
		var c int64
		return c, r.Scan(&c)
	}, `SELECT cell FROM providers WHERE active = 1`)
	if err != nil {
		return nil, err
	}
	out := map[carehex.Cell]int64{}
	for _, c := range cells {
		if p, err := geo.Parent(carehex.Cell(c), carehex.DashCellRes); err == nil {
			out[p]++
		}
	}
	return out, nil
}

// DashboardAreas lists the districts and streets residents live in (carehex.DashStore).
func (s *DB) DashboardAreas(ctx context.Context) ([][2]string, error) {
	return queryAll(ctx, s, "dashboard areas", func(r interface{ Scan(...any) error }) ([2]string, error) {
		var a [2]string
		return a, r.Scan(&a[0], &a[1])
	}, `SELECT district, street FROM residents WHERE district <> '' GROUP BY district, street ORDER BY district, street`)
}
