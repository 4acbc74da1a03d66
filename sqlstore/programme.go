package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// Visiting programmes (探访关爱) and their compliance; see
// carehex.ProgrammeStore.

var _ carehex.ProgrammeStore = (*DB)(nil)

// PutVisitProgramme validates and saves a category's programme, replacing
// any before.
func (s *DB) PutVisitProgramme(ctx context.Context, p *carehex.VisitProgramme) error {
	if p == nil {
		return carehex.Errorf(carehex.EINVALID, "programme", "programme is required")
	}
	p.Category, p.ServiceCode = carehex.Trimmed(p.Category), carehex.Trimmed(p.ServiceCode)
	if err := p.Validate(); err != nil {
		return err
	}
	p.UpdateTime = s.stamp()
	return s.inTx(ctx, "put visit programme", func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM subsidy_categories WHERE code = ?`), p.Category).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.EINVALID, "category", "unknown subsidy category %q", p.Category)
		}
		if err != nil {
			return err
		}
		if err := s.serviceExists(ctx, tx, p.ServiceCode, "service_code"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO visit_programmes (category, service_code, per_month, window_start,
			window_end, duration_s, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (category) DO UPDATE SET service_code = excluded.service_code, per_month = excluded.per_month,
			window_start = excluded.window_start, window_end = excluded.window_end, duration_s = excluded.duration_s,
			update_time = excluded.update_time`),
			p.Category, p.ServiceCode, p.PerMonth, int(p.WindowStart), int(p.WindowEnd), int64(p.Duration/time.Second),
			micros(p.UpdateTime)); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actorOf(ctx), Action: "programme.put", ObjectType: "visit_programme",
			ObjectID: p.Category, Detail: fmt.Sprintf("service=%s per_month=%d", p.ServiceCode, p.PerMonth)})
	})
}

// VisitProgrammes lists the programmes by category.
func (s *DB) VisitProgrammes(ctx context.Context) ([]*carehex.VisitProgramme, error) {
	return queryAll(ctx, s, "list visit programmes", func(sc interface{ Scan(...any) error }) (*carehex.VisitProgramme, error) {
		var (
			p        carehex.VisitProgramme
			ws, we   int
			dur, upd int64
		)
		if err := sc.Scan(&p.Category, &p.ServiceCode, &p.PerMonth, &ws, &we, &dur, &upd); err != nil {
			return nil, err
		}
		p.WindowStart, p.WindowEnd = carehex.TimeOfDay(ws), carehex.TimeOfDay(we)
		p.Duration, p.UpdateTime = time.Duration(dur)*time.Second, fromMicros(upd)
		return &p, nil
	}, `SELECT category, service_code, per_month, window_start, window_end, duration_s, update_time FROM visit_programmes ORDER BY category`)
}

// ProgrammeResidents lists the served residents with a subsidy of the
// category valid some time in [from, to); with withoutPlan, only those
// who have no plan of the programme yet.
func (s *DB) ProgrammeResidents(ctx context.Context, category string, from, to time.Time, withoutPlan bool) ([]string, error) {
	cond := ""
	if withoutPlan {
		cond = ` AND NOT EXISTS (SELECT 1 FROM care_plans c WHERE c.resident_id = f.resident_id AND c.programme = f.category)`
	}
	return queryAll(ctx, s, "programme residents", func(sc interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, s.rebind(`SELECT DISTINCT f.resident_id FROM resident_funding f JOIN residents r ON r.id = f.resident_id
		WHERE f.kind = ? AND f.category = ? AND f.valid_from < ? AND (f.valid_to = 0 OR f.valid_to > ?)
		AND r.deactivate_reason = ''`+cond+` ORDER BY f.resident_id`),
		string(carehex.FundingSubsidy), category, micros(to), micros(from))
}

// CreateProgrammePlan saves a programme's plan for a resident unless she
// has one; the unique (resident, programme) index settles two replicas
// generating at once.
func (s *DB) CreateProgrammePlan(ctx context.Context, p *carehex.CarePlan, parse carehex.ParseRecurrence) (bool, error) {
	if p == nil || p.Programme == "" {
		return false, carehex.Errorf(carehex.EINVALID, "programme", "programme is required")
	}
	has := func() (bool, error) {
		var one int
		err := s.db.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM care_plans WHERE resident_id = ? AND programme = ?`),
			p.ResidentID, p.Programme).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, s.wrap(err, "programme plan")
	}
	if ok, err := has(); ok || err != nil {
		return false, err
	}
	if err := s.CreateCarePlan(ctx, p, parse); err != nil {
		if ok, herr := has(); ok && herr == nil {
			return false, nil // another replica made it meanwhile
		}
		return false, err
	}
	return true, nil
}

// ProgrammeStandings counts each resident's programme visits in [from,
// to): done (completed visits of the service finished then), remaining
// (the programme's planned visits not yet ended at now and not done), and
// the organisation of the carer of the latest one.
func (s *DB) ProgrammeStandings(ctx context.Context, p *carehex.VisitProgramme, residentIDs []string, from, to, now time.Time) ([]carehex.ProgrammeStanding, error) {
	out := make([]carehex.ProgrammeStanding, 0, len(residentIDs))
	for c := range slices.Chunk(residentIDs, 500) {
		in := "(?" + strings.Repeat(", ?", len(c)-1) + ")"
		ids := make([]any, len(c))
		for i, id := range c {
			ids[i] = id
		}
		st := map[string]*carehex.ProgrammeStanding{}
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, name, street FROM residents WHERE id IN `+in), ids...)
		if err != nil {
			return nil, s.wrap(err, "programme standings")
		}
		for rows.Next() {
			x := &carehex.ProgrammeStanding{Category: p.Category, Required: p.PerMonth}
			if err := rows.Scan(&x.ResidentID, &x.ResidentName, &x.Street); err != nil {
				rows.Close()
				return nil, s.wrap(err, "programme standings")
			}
			st[x.ResidentID] = x
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "programme standings")
		}
		count := func(what, q string, args []any, apply func(x *carehex.ProgrammeStanding, n int, org string)) error {
			rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
			if err != nil {
				return s.wrap(err, what)
			}
			defer rows.Close()
			for rows.Next() {
				var (
					id, org string
					n       int
				)
				if err := rows.Scan(&id, &n, &org); err != nil {
					return s.wrap(err, what)
				}
				if x := st[id]; x != nil {
					apply(x, n, org)
				}
			}
			return s.wrap(rows.Err(), what)
		}
		if err := count("programme visits done", `SELECT r.resident_id, COUNT(*), MAX(pr.org_id) FROM visits v
			JOIN service_requests r ON r.id = v.request_id JOIN providers pr ON pr.id = v.provider_id
			WHERE v.status = ? AND r.service_code = ? AND v.finish_time >= ? AND v.finish_time < ? AND r.resident_id IN `+in+`
			GROUP BY r.resident_id`,
			append([]any{string(carehex.StatusCompleted), p.ServiceCode, micros(from), micros(to)}, ids...),
			func(x *carehex.ProgrammeStanding, n int, org string) { x.Done, x.OrganisationID = n, org }); err != nil {
			return nil, err
		}
		// Remaining: the programme's visits of the month not ended at now
		// and not done. The organisation: of the carer of any of them
		// (a missed one too: that organisation owed the visit).
		if err := count("programme visits ahead", `SELECT p.resident_id,
			SUM(CASE WHEN p.window_end > ? AND COALESCE(r.status, '') <> ? THEN 1 ELSE 0 END), MAX(COALESCE(pr.org_id, ''))
			FROM planned_visits p JOIN care_plans c ON c.id = p.plan_id LEFT JOIN service_requests r ON r.id = p.request_id
			LEFT JOIN providers pr ON pr.id = COALESCE(NULLIF(p.provider_id, ''), r.provider_id)
			WHERE c.programme = ? AND p.status IN (?, ?, ?) AND p.window_start >= ? AND p.window_start < ?
			AND p.resident_id IN `+in+` GROUP BY p.resident_id`,
			append([]any{micros(now), string(carehex.StatusCompleted), p.Category, string(carehex.PlannedOpen),
				string(carehex.PlannedAssigned), string(carehex.PlannedDispatched), micros(from), micros(to)}, ids...),
			func(x *carehex.ProgrammeStanding, n int, org string) {
				x.Remaining = n
				if x.OrganisationID == "" {
					x.OrganisationID = org
				}
			}); err != nil {
			return nil, err
		}
		for _, id := range c {
			if x := st[id]; x != nil {
				out = append(out, *x)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Street != out[j].Street {
			return out[i].Street < out[j].Street
		}
		return out[i].ResidentName < out[j].ResidentName
	})
	return out, nil
}
