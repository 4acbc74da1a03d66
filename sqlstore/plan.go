package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// Care plans, their projected visits and carers' working hours (issue 11).
// A planned visit is unique per (item, occurrence), so projection writes
// with INSERT … ON CONFLICT DO NOTHING and any number of replicas may
// project the same plans at once: each occurrence is written once. A
// planned visit becomes real when the roster assigns it: a scheduled
// service request assigned through AssignRequest's fence and overlap check,
// so it cannot double-book a carer against on-demand work. Edits and pauses
// leave a planned visit whose request has begun (en route, in progress,
// completed) as it is.

var _ carehex.PlanStore = (*DB)(nil)

// maxPlannedList bounds one listing of planned visits unless the caller
// asks for more (the roster does, for a city's week), up to maxPlannedBatch.
const (
	maxPlannedList  = 5000
	maxPlannedBatch = 500_000
)

type pauseJSON struct {
	From   int64  `json:"from"`
	To     int64  `json:"to"`
	Reason string `json:"reason"`
}

func pausesJSON(ps []carehex.PlanPause) string {
	out := make([]pauseJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, pauseJSON{micros(carehex.Day(p.From)), micros(carehex.Day(p.To)), p.Reason})
	}
	b, _ := json.Marshal(out) // plain values cannot fail to encode
	return string(b)
}

func parsePauses(s string) ([]carehex.PlanPause, error) {
	var in []pauseJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, carehex.Internal(err, "plan pauses")
	}
	out := make([]carehex.PlanPause, 0, len(in))
	for _, p := range in {
		out = append(out, carehex.PlanPause{From: dayOf(p.From), To: dayOf(p.To), Reason: p.Reason})
	}
	return out, nil
}

// dayMicros stores a calendar day; the zero day is 0.
func dayMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(carehex.Day(t))
}

func dayOf(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMicros(v).In(carehex.CST)
}

func jsonList(ss []string) string {
	b, _ := json.Marshal(nonNil(ss))
	return string(b)
}

func parseList(s string) []string {
	var out []string
	_ = json.Unmarshal([]byte(s), &out) // written by jsonList only
	return out
}

// CreateCarePlan validates p, gives it and its items IDs and saves it.
func (s *DB) CreateCarePlan(ctx context.Context, p *carehex.CarePlan, parse carehex.ParseRecurrence) error {
	if p == nil {
		return carehex.Errorf(carehex.EINVALID, "plan", "plan is required")
	}
	if err := p.Validate(parse); err != nil {
		return err
	}
	now := s.stamp()
	p.ID, p.CreateTime, p.UpdateTime = carehex.NewID("pln"), now, now
	p.StartDate = carehex.Day(p.StartDate)
	if !p.EndDate.IsZero() {
		p.EndDate = carehex.Day(p.EndDate)
	}
	for i := range p.Items {
		p.Items[i].ID = carehex.NewID("itm")
	}
	err := s.inTx(ctx, "create care plan", func(tx *sql.Tx) error {
		if _, err := s.residentServed(ctx, tx, p.ResidentID); err != nil {
			return err
		}
		for i := range p.Items {
			if err := s.serviceExists(ctx, tx, p.Items[i].ServiceCode, fmt.Sprintf("items[%d].service_code", i)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO care_plans (id, resident_id, start_day, end_day, pauses,
			funding_note, programme, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			p.ID, p.ResidentID, dayMicros(p.StartDate), dayMicros(p.EndDate), pausesJSON(p.Pauses), p.FundingNote, p.Programme,
			micros(now), micros(now)); err != nil {
			return err
		}
		for i := range p.Items {
			if err := s.insertItem(ctx, tx, p.ID, i, &p.Items[i]); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actorOf(ctx), Action: "plan.create", ObjectType: "care_plan",
			ObjectID: p.ID, Detail: fmt.Sprintf("resident=%s items=%d", p.ResidentID, len(p.Items))})
	})
	if err != nil {
		return err
	}
	s.publish(ctx, carehex.Notice{Topic: carehex.TopicResident, ID: p.ResidentID}, carehex.ConsoleNotice)
	return nil
}

func (s *DB) serviceExists(ctx context.Context, q querier, code, field string) error {
	var one int
	err := q.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM service_types WHERE code = ? AND retired = 0`), code).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return carehex.Errorf(carehex.EINVALID, field, "unknown service_code %q", code)
	}
	return err
}

func (s *DB) insertItem(ctx context.Context, tx *sql.Tx, planID string, pos int, it *carehex.PlanItem) error {
	_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO plan_items (id, plan_id, position, service_code, rrule,
		window_start, window_end, duration_s, preferred, notes, valid_from, valid_to)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		it.ID, planID, pos, it.ServiceCode, it.RRule, int(it.WindowStart), int(it.WindowEnd),
		int64(it.Duration/time.Second), jsonList(it.PreferredProviderIDs), it.Notes, dayMicros(it.ValidFrom), dayMicros(it.ValidTo))
	return err
}

const planSelect = `SELECT id, resident_id, start_day, end_day, pauses, funding_note, create_time, update_time FROM care_plans`

func (s *DB) scanPlans(ctx context.Context, q querier, where string, args ...any) ([]*carehex.CarePlan, error) {
	rows, err := q.QueryContext(ctx, s.rebind(planSelect+" "+where), args...)
	if err != nil {
		return nil, err
	}
	var out []*carehex.CarePlan
	byID := map[string]*carehex.CarePlan{}
	for rows.Next() {
		var (
			p                  carehex.CarePlan
			start, end, ct, ut int64
			pauses             string
		)
		if err := rows.Scan(&p.ID, &p.ResidentID, &start, &end, &pauses, &p.FundingNote, &ct, &ut); err != nil {
			rows.Close()
			return nil, err
		}
		p.StartDate, p.EndDate, p.CreateTime, p.UpdateTime = dayOf(start), dayOf(end), fromMicros(ct), fromMicros(ut)
		if p.Pauses, err = parsePauses(pauses); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, &p)
		byID[p.ID] = &p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	// Items of these plans, in chunks under the bind-parameter limits.
	ids := make([]string, 0, len(out))
	for _, p := range out {
		ids = append(ids, p.ID)
	}
	for c := range slices.Chunk(ids, 500) {
		args := make([]any, len(c))
		for i, id := range c {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, s.rebind(`SELECT plan_id, id, service_code, rrule, window_start, window_end,
			duration_s, preferred, notes, valid_from, valid_to FROM plan_items WHERE plan_id IN (?`+
			strings.Repeat(", ?", len(c)-1)+`) ORDER BY plan_id, position`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				planID, pref string
				it           carehex.PlanItem
				ws, we       int
				dur, vf, vt  int64
			)
			if err := rows.Scan(&planID, &it.ID, &it.ServiceCode, &it.RRule, &ws, &we, &dur, &pref, &it.Notes, &vf, &vt); err != nil {
				rows.Close()
				return nil, err
			}
			it.WindowStart, it.WindowEnd, it.Duration = carehex.TimeOfDay(ws), carehex.TimeOfDay(we), time.Duration(dur)*time.Second
			it.PreferredProviderIDs, it.ValidFrom, it.ValidTo = parseList(pref), dayOf(vf), dayOf(vt)
			if p := byID[planID]; p != nil {
				p.Items = append(p.Items, it)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CarePlan returns one plan with its items (ended ones included).
func (s *DB) CarePlan(ctx context.Context, id string) (*carehex.CarePlan, error) {
	ps, err := s.scanPlans(ctx, s.db, `WHERE id = ?`, id)
	if err != nil {
		return nil, s.wrap(err, "care plan")
	}
	if len(ps) == 0 {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "plan_id", "no care plan %q", id)
	}
	return ps[0], nil
}

// ResidentCarePlans lists a resident's plans, oldest first.
func (s *DB) ResidentCarePlans(ctx context.Context, residentID string) ([]*carehex.CarePlan, error) {
	ps, err := s.scanPlans(ctx, s.db, `WHERE resident_id = ? ORDER BY create_time, id LIMIT 100`, residentID)
	return ps, s.wrap(err, "resident care plans")
}

// CarePlans lists the plans in force on some day of [from, to).
func (s *DB) CarePlans(ctx context.Context, from, to time.Time) ([]*carehex.CarePlan, error) {
	ps, err := s.scanPlans(ctx, s.db, `WHERE start_day < ? AND (end_day = 0 OR end_day >= ?) ORDER BY id`,
		micros(to), micros(carehex.Day(from)))
	return ps, s.wrap(err, "care plans")
}

// notBegun is the SQL condition that a planned visit's request, if any, has
// not begun: only such visits are changed by edits, pauses and the roster.
const notBegun = `NOT EXISTS (SELECT 1 FROM service_requests r WHERE r.id = planned_visits.request_id
	AND r.status IN ('en_route', 'in_progress', 'completed'))`

// ReplacePlanItem ends item itemID the day before from and starts item, a
// successor with a new ID, on from; see carehex.PlanStore.
func (s *DB) ReplacePlanItem(ctx context.Context, planID, itemID string, from time.Time, item carehex.PlanItem,
	parse carehex.ParseRecurrence) (*carehex.CarePlan, error) {
	if from.IsZero() {
		return nil, carehex.Errorf(carehex.EINVALID, "from_date", "from_date is required")
	}
	from = carehex.Day(from)
	var out *carehex.CarePlan
	err := s.inTx(ctx, "replace plan item", func(tx *sql.Tx) error {
		ps, err := s.scanPlans(ctx, tx, `WHERE id = ?`, planID)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return carehex.Errorf(carehex.ENOTFOUND, "plan_id", "no care plan %q", planID)
		}
		p := ps[0]
		idx := slices.IndexFunc(p.Items, func(it carehex.PlanItem) bool { return it.ID == itemID })
		if idx < 0 {
			return carehex.Errorf(carehex.ENOTFOUND, "item_id", "plan %s has no item %q", planID, itemID)
		}
		old := p.Items[idx]
		if !old.ValidTo.IsZero() && from.After(carehex.Day(old.ValidTo)) {
			return carehex.Errorf(carehex.EINVALID, "from_date", "item %s already ended on %s", itemID, old.ValidTo.Format(time.DateOnly))
		}
		if from.Before(carehex.Day(p.StartDate)) || (!old.ValidFrom.IsZero() && from.Before(carehex.Day(old.ValidFrom))) {
			return carehex.Errorf(carehex.EINVALID, "from_date", "from_date is before the item starts")
		}
		item.ID, item.ValidFrom, item.ValidTo = carehex.NewID("itm"), from, old.ValidTo
		p.Items[idx].ValidTo = from.AddDate(0, 0, -1)
		p.Items = append(p.Items, item)
		if err := p.Validate(parse); err != nil {
			return err
		}
		if err := s.serviceExists(ctx, tx, item.ServiceCode, "item.service_code"); err != nil {
			return err
		}
		now := s.stamp()
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE plan_items SET valid_to = ? WHERE id = ?`),
			dayMicros(p.Items[idx].ValidTo), itemID); err != nil {
			return err
		}
		if err := s.insertItem(ctx, tx, planID, len(p.Items)-1, &p.Items[len(p.Items)-1]); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE planned_visits SET status = ?, reason = ?, version = version + 1,
			update_time = ? WHERE item_id = ? AND occurrence_time >= ? AND status <> ? AND `+notBegun),
			string(carehex.PlannedCancelled), carehex.ReasonPlanEdited, micros(now), itemID, micros(from), string(carehex.PlannedCancelled)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE care_plans SET update_time = ? WHERE id = ?`), micros(now), planID); err != nil {
			return err
		}
		p.UpdateTime, out = now, p
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actorOf(ctx), Action: "plan.edit", ObjectType: "care_plan",
			ObjectID: planID, Detail: fmt.Sprintf("item=%s from=%s new_item=%s", itemID, from.Format(time.DateOnly), item.ID)})
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, carehex.Notice{Topic: carehex.TopicResident, ID: out.ResidentID}, carehex.ConsoleNotice)
	return out, nil
}

// SetPlanPauses replaces the plan's pauses and brings its planned visits in
// line: those not begun inside a pause are paused, paused ones outside
// every pause are open again (with any old request left for the stranded
// sweep to cancel).
func (s *DB) SetPlanPauses(ctx context.Context, planID string, pauses []carehex.PlanPause, parse carehex.ParseRecurrence) (*carehex.CarePlan, error) {
	var out *carehex.CarePlan
	err := s.inTx(ctx, "set plan pauses", func(tx *sql.Tx) error {
		ps, err := s.scanPlans(ctx, tx, `WHERE id = ?`, planID)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return carehex.Errorf(carehex.ENOTFOUND, "plan_id", "no care plan %q", planID)
		}
		p := ps[0]
		p.Pauses = pauses
		if err := p.Validate(parse); err != nil {
			return err
		}
		now := s.stamp()
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE care_plans SET pauses = ?, update_time = ? WHERE id = ?`),
			pausesJSON(pauses), micros(now), planID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT id, occurrence_time, status FROM planned_visits
			WHERE plan_id = ? AND status IN (?, ?, ?, ?) AND `+notBegun),
			planID, string(carehex.PlannedOpen), string(carehex.PlannedAssigned), string(carehex.PlannedPaused),
			string(carehex.PlannedDispatched))
		if err != nil {
			return err
		}
		type change struct {
			id string
			to carehex.PlannedStatus
		}
		var changes []change
		for rows.Next() {
			var (
				id string
				at int64
				st carehex.PlannedStatus
			)
			if err := rows.Scan(&id, &at, &st); err != nil {
				rows.Close()
				return err
			}
			paused := p.Paused(fromMicros(at))
			switch {
			case paused && st != carehex.PlannedPaused:
				changes = append(changes, change{id, carehex.PlannedPaused})
			case !paused && st == carehex.PlannedPaused:
				changes = append(changes, change{id, carehex.PlannedOpen})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range changes {
			reason := ""
			if c.to == carehex.PlannedPaused {
				reason = "plan_paused"
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE planned_visits SET status = ?, reason = ?, provider_id = '',
				version = version + 1, update_time = ? WHERE id = ?`), string(c.to), reason, micros(now), c.id); err != nil {
				return err
			}
		}
		p.UpdateTime, out = now, p
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actorOf(ctx), Action: "plan.pauses", ObjectType: "care_plan",
			ObjectID: planID, Detail: fmt.Sprintf("pauses=%d changed_visits=%d", len(pauses), len(changes))})
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, carehex.Notice{Topic: carehex.TopicResident, ID: out.ResidentID}, carehex.ConsoleNotice)
	return out, nil
}

// ProjectPlannedVisits inserts the occurrences not yet written. Each insert
// skips an existing (item, occurrence), so a second run, or a replica
// projecting the same plans at the same moment, writes nothing. Rows go 200
// to a statement (13 parameters each, far below either database's limit):
// a city's fortnight is a few hundred thousand rows, and one round trip
// per row was most of the time.
func (s *DB) ProjectPlannedVisits(ctx context.Context, vs []carehex.PlannedVisit) (int, error) {
	const perInsert, perTx = 200, 2000
	written := 0
	for c := range slices.Chunk(vs, perTx) {
		err := s.inTx(ctx, "project planned visits", func(tx *sql.Tx) error {
			now := micros(s.stamp())
			for rows := range slices.Chunk(c, perInsert) {
				q := `INSERT INTO planned_visits (id, plan_id, item_id, resident_id, service_code, occurrence_time,
					window_start, window_end, duration_s, preferred, status, create_time, update_time) VALUES ` +
					strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", len(rows)), ", ") +
					` ON CONFLICT DO NOTHING`
				args := make([]any, 0, 13*len(rows))
				for i := range rows {
					v := &rows[i]
					occ := v.Occurrence
					if occ.IsZero() {
						occ = v.Earliest
					}
					args = append(args, v.ID, v.PlanID, v.ItemID, v.ResidentID, v.ServiceCode, micros(occ),
						micros(v.Earliest), micros(v.Latest), int64(v.Duration/time.Second), jsonList(v.Preferred),
						string(carehex.PlannedOpen), now, now)
				}
				res, err := tx.ExecContext(ctx, s.rebind(q), args...)
				if err != nil {
					return err
				}
				k, err := res.RowsAffected()
				if err != nil {
					return err
				}
				written += int(k)
			}
			return nil
		})
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

const plannedSelect = `SELECT p.id, p.plan_id, p.item_id, p.resident_id, p.service_code, p.occurrence_time, p.window_start,
	p.window_end, p.duration_s, p.preferred, p.status, p.provider_id, p.request_id, p.visit_id, p.version, p.reason,
	COALESCE(r.status, ''), COALESCE(r.provider_id, ''), p.previous_provider_id FROM planned_visits p LEFT JOIN service_requests r ON r.id = p.request_id`

func scanPlanned(sc interface{ Scan(...any) error }) (*carehex.PlannedVisit, error) {
	var (
		v                       carehex.PlannedVisit
		occ, ws, we, dur        int64
		pref, status, reqStatus string
	)
	if err := sc.Scan(&v.ID, &v.PlanID, &v.ItemID, &v.ResidentID, &v.ServiceCode, &occ, &ws, &we, &dur, &pref, &status,
		&v.ProviderID, &v.RequestID, &v.VisitID, &v.Version, &v.Reason, &reqStatus, &v.RequestProviderID, &v.PreviousProviderID); err != nil {
		return nil, err
	}
	v.Occurrence, v.Earliest, v.Latest = fromMicros(occ), fromMicros(ws), fromMicros(we)
	v.Duration, v.Preferred = time.Duration(dur)*time.Second, parseList(pref)
	v.Status, v.RequestStatus = carehex.PlannedStatus(status), carehex.Status(reqStatus)
	return &v, nil
}

// PlannedVisit returns one planned visit.
func (s *DB) PlannedVisit(ctx context.Context, id string) (*carehex.PlannedVisit, error) {
	return s.plannedVisit(ctx, s.db, id)
}

func (s *DB) plannedVisit(ctx context.Context, q querier, id string) (*carehex.PlannedVisit, error) {
	v, err := scanPlanned(q.QueryRowContext(ctx, s.rebind(plannedSelect+` WHERE p.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "planned_visit_id", "no planned visit %q", id)
	}
	return v, s.wrap(err, "planned visit")
}

// PlannedVisits lists planned visits by window start, oldest first.
func (s *DB) PlannedVisits(ctx context.Context, f carehex.PlannedFilter) ([]*carehex.PlannedVisit, error) {
	var (
		conds []string
		args  []any
	)
	for _, c := range []struct {
		col, val string
	}{{"p.resident_id", f.ResidentID}, {"p.provider_id", f.ProviderID}, {"p.plan_id", f.PlanID}} {
		if c.val != "" {
			conds, args = append(conds, c.col+" = ?"), append(args, c.val)
		}
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "p.window_start >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "p.window_start < ?"), append(args, micros(f.To))
	}
	if len(f.Statuses) > 0 {
		conds = append(conds, "p.status IN (?"+strings.Repeat(", ?", len(f.Statuses)-1)+")")
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	q := plannedSelect
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = maxPlannedList
	case limit > maxPlannedBatch:
		limit = maxPlannedBatch
	}
	q += fmt.Sprintf(" ORDER BY p.window_start, p.id LIMIT %d", limit)
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, s.wrap(err, "planned visits")
	}
	defer rows.Close()
	var out []*carehex.PlannedVisit
	for rows.Next() {
		v, err := scanPlanned(rows)
		if err != nil {
			return nil, s.wrap(err, "planned visits")
		}
		out = append(out, v)
	}
	return out, s.wrap(rows.Err(), "planned visits")
}

// changePlanned runs fn on planned visit id inside a transaction after
// checking it has not begun and is at version (0: any).
func (s *DB) changePlanned(ctx context.Context, what, id string, version int64,
	fn func(tx *sql.Tx, v *carehex.PlannedVisit, now time.Time) error) (*carehex.PlannedVisit, error) {
	var out *carehex.PlannedVisit
	err := s.inTx(ctx, what, func(tx *sql.Tx) error {
		v, err := s.plannedVisit(ctx, tx, id)
		if err != nil {
			return err
		}
		switch {
		case version != 0 && v.Version != version:
			return carehex.Errorf(carehex.ECONFLICT, "version", "planned visit %s changed since it was read (version %d, not %d); reload", id, v.Version, version)
		case v.Locked():
			return carehex.Errorf(carehex.ECONFLICT, "planned_visit_id", "planned visit %s has begun (%s) and no longer changes", id, v.RequestStatus)
		}
		now := s.stamp()
		if err := fn(tx, v, now); err != nil {
			return err
		}
		out, err = s.plannedVisit(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, carehex.Notice{Topic: carehex.TopicResident, ID: out.ResidentID}, carehex.ConsoleNotice)
	return out, nil
}

// EditPlannedVisit changes one visit that has not begun: "this visit only".
// A moved visit is open again for the roster; its old request, if any, is
// left for the stranded sweep to cancel.
func (s *DB) EditPlannedVisit(ctx context.Context, e carehex.PlannedEdit) (*carehex.PlannedVisit, error) {
	if e.Reason = carehex.Trimmed(e.Reason); len(e.Reason) > carehex.MaxTextLen {
		return nil, carehex.Errorf(carehex.EINVALID, "reason", "reason is longer than %d characters", carehex.MaxTextLen)
	}
	if !e.Cancel {
		switch {
		case e.WindowStart.IsZero():
			return nil, carehex.Errorf(carehex.EINVALID, "window_start_time", "window_start_time is required")
		case !e.WindowEnd.After(e.WindowStart):
			return nil, carehex.Errorf(carehex.EINVALID, "window_end_time", "window_end_time must be after window_start_time")
		case e.Duration <= 0 || e.Duration > carehex.MaxPlanVisitTime || e.Duration%time.Minute != 0:
			return nil, carehex.Errorf(carehex.EINVALID, "duration_s", "duration must be whole minutes, at most %v", carehex.MaxPlanVisitTime)
		case e.WindowEnd.Sub(e.WindowStart) < e.Duration:
			return nil, carehex.Errorf(carehex.EINVALID, "duration_s", "duration does not fit in the window")
		case !carehex.Day(e.WindowStart).Equal(carehex.Day(e.WindowEnd.Add(-time.Nanosecond))):
			return nil, carehex.Errorf(carehex.EINVALID, "window_end_time", "the window must lie within one day")
		}
	}
	return s.changePlanned(ctx, "edit planned visit", e.ID, e.Version, func(tx *sql.Tx, v *carehex.PlannedVisit, now time.Time) error {
		if v.Status == carehex.PlannedCancelled || v.Status == carehex.PlannedPaused {
			return carehex.Errorf(carehex.ECONFLICT, "planned_visit_id", "planned visit %s is %s", v.ID, v.Status)
		}
		if e.Cancel {
			_, err := tx.ExecContext(ctx, s.rebind(`UPDATE planned_visits SET status = ?, reason = ?, version = version + 1,
				update_time = ? WHERE id = ?`), string(carehex.PlannedCancelled), cmpOr(e.Reason, "visit_cancelled"), micros(now), v.ID)
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(`UPDATE planned_visits SET status = ?, window_start = ?, window_end = ?,
			duration_s = ?, provider_id = '', reason = ?, version = version + 1, update_time = ? WHERE id = ?`),
			string(carehex.PlannedOpen), micros(precise(e.WindowStart)), micros(precise(e.WindowEnd)),
			int64(e.Duration/time.Second), cmpOr(e.Reason, "visit_moved"), micros(now), v.ID)
		return err
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// RosterPlannedVisit records the roster's assignment of an open visit.
func (s *DB) RosterPlannedVisit(ctx context.Context, id string, version int64, providerID, requestID, visitID string) (*carehex.PlannedVisit, error) {
	return s.changePlanned(ctx, "roster planned visit", id, version, func(tx *sql.Tx, v *carehex.PlannedVisit, now time.Time) error {
		if v.Status != carehex.PlannedOpen {
			return carehex.Errorf(carehex.ECONFLICT, "planned_visit_id", "planned visit %s is %s, not open", v.ID, v.Status)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE planned_visits SET status = ?, provider_id = ?, request_id = ?,
			visit_id = ?, reason = '', version = version + 1, update_time = ? WHERE id = ?`),
			string(carehex.PlannedAssigned), providerID, requestID, visitID, micros(now), v.ID); err != nil {
			return err
		}
		// The family is told when the carer differs from the one of the
		// previous visit of the same service (the rule the family's
		// upcoming list flags, mobile-api/familyplan.go).
		var prev string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT provider_id FROM planned_visits WHERE resident_id = ? AND service_code = ?
			AND status = ? AND window_start < ? AND id <> ? ORDER BY window_start DESC LIMIT 1`),
			v.ResidentID, v.ServiceCode, string(carehex.PlannedAssigned), micros(v.Earliest), v.ID).Scan(&prev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case prev != "" && prev != providerID, v.PreviousProviderID != "" && v.PreviousProviderID != providerID:
			if err := s.notify(ctx, tx, &carehex.Visit{ID: visitID, RequestID: requestID, Status: carehex.StatusAssigned},
				v.ResidentID, carehex.NotifyCarerChanged, now); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actorOf(ctx), Action: "plan.roster", ObjectType: "planned_visit",
			ObjectID: v.ID, Detail: fmt.Sprintf("provider=%s request=%s visit=%s", providerID, requestID, visitID)})
	})
}

// ReleasePlannedVisit opens an assigned visit that has not begun again.
func (s *DB) ReleasePlannedVisit(ctx context.Context, id string, version int64, reason string) (*carehex.PlannedVisit, error) {
	return s.changePlanned(ctx, "release planned visit", id, version, func(tx *sql.Tx, v *carehex.PlannedVisit, now time.Time) error {
		if v.Status != carehex.PlannedAssigned {
			return carehex.Errorf(carehex.ECONFLICT, "planned_visit_id", "planned visit %s is %s, not assigned", v.ID, v.Status)
		}
		// The carer it is taken from is kept: the roster does not give a
		// "can't do" back to them, and the family is told of the change.
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE planned_visits SET status = ?, provider_id = '', previous_provider_id = ?,
			reason = ?, version = version + 1, update_time = ? WHERE id = ?`),
			string(carehex.PlannedOpen), v.ProviderID, cmpOr(reason, "released"), micros(now), v.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actorOf(ctx), Action: "plan.release", ObjectType: "planned_visit",
			ObjectID: v.ID, Detail: fmt.Sprintf("provider=%s reason=%s", v.ProviderID, cmpOr(reason, "released"))})
	})
}

// NotePlannedReason records why the roster left an open visit unassigned;
// see carehex.PlanStore. It bumps no version: it is a note on the visit,
// not a change of it, so an edit read before it still applies.
func (s *DB) NotePlannedReason(ctx context.Context, id string, version int64, reason string) error {
	if reason = carehex.Trimmed(reason); reason == "" || len(reason) > carehex.MaxTextLen {
		return carehex.Errorf(carehex.EINVALID, "reason", "reason must be a short code")
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE planned_visits SET reason = ? WHERE id = ? AND version = ? AND status = ?`),
		reason, id, version, string(carehex.PlannedOpen))
	if err != nil {
		return s.wrap(err, "note planned reason")
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return carehex.Errorf(carehex.ECONFLICT, "planned_visit_id", "planned visit %s is no longer open at version %d", id, version)
	}
	return nil
}

// StrandedPlannedVisits lists planned visits not assigned whose request is
// still waiting or assigned; see carehex.PlanStore.
func (s *DB) StrandedPlannedVisits(ctx context.Context, limit int) ([]*carehex.PlannedVisit, error) {
	if limit <= 0 || limit > maxPlannedList {
		limit = maxPlannedList
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(plannedSelect+` WHERE p.request_id <> '' AND p.status NOT IN (?, ?)
		AND r.status IN ('pending', 'offered', 'assigned') ORDER BY p.window_start LIMIT `+fmt.Sprint(limit)),
		string(carehex.PlannedAssigned), string(carehex.PlannedDispatched))
	if err != nil {
		return nil, s.wrap(err, "stranded planned visits")
	}
	defer rows.Close()
	var out []*carehex.PlannedVisit
	for rows.Next() {
		v, err := scanPlanned(rows)
		if err != nil {
			return nil, s.wrap(err, "stranded planned visits")
		}
		out = append(out, v)
	}
	return out, s.wrap(rows.Err(), "stranded planned visits")
}

// ClearPlannedRequest forgets a planned visit's request once it is
// cancelled, unless the visit has been rostered anew meanwhile.
func (s *DB) ClearPlannedRequest(ctx context.Context, id, requestID string) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE planned_visits SET request_id = '', visit_id = '', version = version + 1
		WHERE id = ? AND request_id = ? AND status NOT IN (?, ?)`), id, requestID, string(carehex.PlannedAssigned), string(carehex.PlannedDispatched))
	return s.wrap(err, "clear planned request")
}

type shiftJSON struct {
	Weekday int `json:"weekday"`
	Start   int `json:"start"`
	End     int `json:"end"`
}

// SetWorkingHours validates and saves a carer's working hours, replacing
// any before.
func (s *DB) SetWorkingHours(ctx context.Context, w *carehex.WorkingHours) error {
	if w == nil {
		return carehex.Errorf(carehex.EINVALID, "working_hours", "working_hours is required")
	}
	if err := w.Validate(); err != nil {
		return err
	}
	shifts := make([]shiftJSON, 0, len(w.Weekly))
	for _, sh := range w.Weekly {
		shifts = append(shifts, shiftJSON{int(sh.Weekday), int(sh.Start), int(sh.End)})
	}
	off := make([]pauseJSON, 0, len(w.TimeOff))
	for _, o := range w.TimeOff {
		off = append(off, pauseJSON{micros(o.From), micros(o.To), o.Reason})
	}
	wk, _ := json.Marshal(shifts)
	to, _ := json.Marshal(off)
	return s.inTx(ctx, "set working hours", func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM providers WHERE id = ?`), w.ProviderID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "provider_id", "no provider %q", w.ProviderID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO working_hours (provider_id, weekly, time_off, max_visits,
			max_work_s, travel_mode, home_lat, home_lng, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (provider_id) DO UPDATE SET weekly = excluded.weekly, time_off = excluded.time_off,
			max_visits = excluded.max_visits, max_work_s = excluded.max_work_s, travel_mode = excluded.travel_mode,
			home_lat = excluded.home_lat, home_lng = excluded.home_lng, update_time = excluded.update_time`),
			w.ProviderID, string(wk), string(to), w.MaxVisitsPerDay, int64(w.MaxWorkPerDay/time.Second), string(w.Mode),
			w.Home.Lat, w.Home.Lng, micros(s.stamp())); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actorOf(ctx), Action: "provider.working_hours", ObjectType: "provider",
			ObjectID: w.ProviderID, Detail: fmt.Sprintf("shifts=%d time_off=%d mode=%s", len(w.Weekly), len(w.TimeOff), w.Mode)})
	})
}

const hoursSelect = `SELECT provider_id, weekly, time_off, max_visits, max_work_s, travel_mode, home_lat, home_lng FROM working_hours`

func scanHours(sc interface{ Scan(...any) error }) (*carehex.WorkingHours, error) {
	var (
		w        carehex.WorkingHours
		wk, to   string
		maxWork  int64
		mode     string
		shifts   []shiftJSON
		timeOffs []pauseJSON
	)
	if err := sc.Scan(&w.ProviderID, &wk, &to, &w.MaxVisitsPerDay, &maxWork, &mode, &w.Home.Lat, &w.Home.Lng); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(wk), &shifts); err != nil {
		return nil, carehex.Internal(err, "working hours")
	}
	if err := json.Unmarshal([]byte(to), &timeOffs); err != nil {
		return nil, carehex.Internal(err, "working hours")
	}
	for _, sh := range shifts {
		w.Weekly = append(w.Weekly, carehex.Shift{Weekday: time.Weekday(sh.Weekday), Start: carehex.TimeOfDay(sh.Start), End: carehex.TimeOfDay(sh.End)})
	}
	for _, o := range timeOffs {
		w.TimeOff = append(w.TimeOff, carehex.TimeOff{From: fromMicros(o.From), To: fromMicros(o.To), Reason: o.Reason})
	}
	w.MaxWorkPerDay, w.Mode = time.Duration(maxWork)*time.Second, carehex.TravelMode(mode)
	return &w, nil
}

// WorkingHours returns a carer's working hours.
func (s *DB) WorkingHours(ctx context.Context, providerID string) (*carehex.WorkingHours, error) {
	w, err := scanHours(s.db.QueryRowContext(ctx, s.rebind(hoursSelect+` WHERE provider_id = ?`), providerID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "provider_id", "provider %q has no working hours", providerID)
	}
	return w, s.wrap(err, "working hours")
}

// WorkingHoursOf returns the working hours of those of providerIDs that have
// any, in chunks under the bind-parameter limits.
func (s *DB) WorkingHoursOf(ctx context.Context, providerIDs []string) (map[string]*carehex.WorkingHours, error) {
	out := map[string]*carehex.WorkingHours{}
	for c := range slices.Chunk(providerIDs, 500) {
		args := make([]any, len(c))
		for i, id := range c {
			args[i] = id
		}
		rows, err := s.db.QueryContext(ctx, s.rebind(hoursSelect+` WHERE provider_id IN (?`+strings.Repeat(", ?", len(c)-1)+`)`), args...)
		if err != nil {
			return nil, s.wrap(err, "working hours")
		}
		for rows.Next() {
			w, err := scanHours(rows)
			if err != nil {
				rows.Close()
				return nil, s.wrap(err, "working hours")
			}
			out[w.ProviderID] = w
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "working hours")
		}
	}
	return out, nil
}

// AllWorkingHours lists every carer's working hours: the roster's supply.
func (s *DB) AllWorkingHours(ctx context.Context) ([]*carehex.WorkingHours, error) {
	rows, err := s.db.QueryContext(ctx, hoursSelect+` ORDER BY provider_id`)
	if err != nil {
		return nil, s.wrap(err, "working hours")
	}
	defer rows.Close()
	var out []*carehex.WorkingHours
	for rows.Next() {
		w, err := scanHours(rows)
		if err != nil {
			return nil, s.wrap(err, "working hours")
		}
		out = append(out, w)
	}
	return out, s.wrap(rows.Err(), "working hours")
}

// ProviderFence returns the last fencing token committed for the provider,
// 0 when none: the floor of the token for a rostered visit.
func (s *DB) ProviderFence(ctx context.Context, providerID string) (int64, error) {
	var f int64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT fence FROM provider_fences WHERE provider_id = ?`), providerID).Scan(&f)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return f, s.wrap(err, "provider fence")
}
