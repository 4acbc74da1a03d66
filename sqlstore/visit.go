package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carehex/carehex"
)

// This file is where a dispatch claim is decided for good (invariant 1).
// Redis lets one replica try; AssignRequest lets at most one win. Its
// transaction first raises the provider's row in provider_fences to the
// claim's fence, and only to a newer one: a claim from a paused or
// partitioned replica, or one replayed after a Redis restart, carries an
// older token and loses. That same row write is the provider's lock on
// PostgreSQL: a second assignment of the provider waits for the first to end
// and then, under READ COMMITTED, reads its committed visit in the overlap
// check. On SQLite immediate transactions run one at a time anyway.

var _ carehex.VisitStore = (*DB)(nil)

const (
	// maxVisitLength bounds the slot of one assignment; a longer one is a
	// caller's bug that would block the provider for days.
	maxVisitLength = 24 * time.Hour
	// maxClockSkew is how far ahead of the store's clock a reported time
	// may be (a phone's clock, say) before it is refused.
	maxClockSkew = 10 * time.Minute
	// maxProviderVisits caps ProviderVisits at a provider's newest visits.
	maxProviderVisits = 1000
)

const visitColumns = `id, request_id, provider_id, fence, status, planned_start, planned_end, finish_time,
	create_time, update_time`

const visitSelect = `SELECT ` + visitColumns + ` FROM visits`

// liveStatuses are the statuses of a visit that holds its provider's time.
var liveStatuses = []string{string(carehex.StatusAssigned), string(carehex.StatusEnRoute), string(carehex.StatusInProgress)}

// visitRow is the scan target of one visit, so that a query can read two
// visits per row.
type visitRow struct {
	v                   carehex.Visit
	status              string
	ps, pe, fin, ct, ut int64
}

func (r *visitRow) dest() []any {
	return []any{&r.v.ID, &r.v.RequestID, &r.v.ProviderID, &r.v.Fence, &r.status, &r.ps, &r.pe, &r.fin, &r.ct, &r.ut}
}

func (r *visitRow) visit() *carehex.Visit {
	v := r.v
	v.Status = carehex.Status(r.status)
	v.PlannedStart, v.PlannedEnd, v.FinishTime = fromMicros(r.ps), fromMicros(r.pe), fromMicros(r.fin)
	v.CreateTime, v.UpdateTime = fromMicros(r.ct), fromMicros(r.ut)
	return &v
}

func scanVisit(sc interface{ Scan(...any) error }) (*carehex.Visit, error) {
	var r visitRow
	if err := sc.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.visit(), nil
}

// held is v.Held() as stored, in microseconds. A visit completed before its
// planned start (the provider came early) holds nothing rather than a
// negative interval.
func held(v *carehex.Visit) (start, end int64) {
	s, e := v.Held()
	start, end = micros(s), micros(e)
	return start, max(start, end)
}

func validReason(reason string) error {
	if !utf8.ValidString(reason) || strings.ContainsRune(reason, 0) || utf8.RuneCountInString(reason) > carehex.MaxTextLen {
		return carehex.Errorf(carehex.EINVALID, "reason", "reason must be valid text of at most %d characters", carehex.MaxTextLen)
	}
	return nil
}

func validAssignment(a *carehex.Assignment) error {
	switch {
	case a.RequestID == "":
		return carehex.Errorf(carehex.EINVALID, "request_id", "request_id is required")
	case a.ProviderID == "":
		return carehex.Errorf(carehex.EINVALID, "provider_id", "provider_id is required")
	case a.Fence <= 0:
		return carehex.Errorf(carehex.EINVALID, "fence", "fence must be a positive fencing token, got %d", a.Fence)
	case a.Start.IsZero():
		return carehex.Errorf(carehex.EINVALID, "start_time", "start_time is required")
	case !precise(a.End).After(precise(a.Start)):
		return carehex.Errorf(carehex.EINVALID, "end_time", "end_time must be after start_time")
	case a.End.Sub(a.Start) > maxVisitLength:
		return carehex.Errorf(carehex.EINVALID, "end_time", "a visit may last at most %s", maxVisitLength)
	case !a.End.Before(carehex.Forever):
		return carehex.Errorf(carehex.EINVALID, "end_time", "end_time is too far ahead")
	}
	return validReason(a.Reason)
}

// AssignRequest commits a claim: in one transaction it takes the provider's
// fence, checks the provider is free in [a.Start, a.End), moves the request to
// assigned and creates its visit, with the request event and an audit record.
// The fence is checked first, so a stale claim is refused whatever else holds.
// A retry of a claim that already committed (same request, provider and
// fence) writes nothing and returns that visit and its request as they are
// now, so a dispatcher that lost the reply learns it won.
func (s *DB) AssignRequest(ctx context.Context, a carehex.Assignment) (*carehex.ServiceRequest, *carehex.Visit, error) {
	if err := validAssignment(&a); err != nil {
		return nil, nil, err
	}
	actor := a.Actor
	if actor == "" {
		actor = actorOf(ctx)
	}
	now := s.stamp()
	var (
		req *carehex.ServiceRequest
		v   *carehex.Visit
	)
	err := s.inTx(ctx, "assign request", func(tx *sql.Tx) error {
		var active int64
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT active FROM providers WHERE id = ?`), a.ProviderID).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "provider_id", "no provider %q", a.ProviderID)
		}
		if err != nil {
			return err
		}
		if active == 0 {
			return carehex.Errorf(carehex.ECONFLICT, "provider_id", "provider %s is not active", a.ProviderID).With(carehex.MsgProviderInactive)
		}

		// (1) The fence: raise it or lose. On PostgreSQL this row write
		// also holds every other assignment of the provider until we end.
		res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO provider_fences (provider_id, fence) VALUES (?, ?)
			ON CONFLICT (provider_id) DO UPDATE SET fence = excluded.fence
			WHERE provider_fences.fence < excluded.fence`), a.ProviderID, a.Fence)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if req, v, err = s.replayAssignment(ctx, tx, a); req != nil || err != nil {
				return err
			}
			var last int64
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT fence FROM provider_fences WHERE provider_id = ?`),
				a.ProviderID).Scan(&last); err != nil {
				return err
			}
			return carehex.Errorf(carehex.ECONFLICT, "fence", "stale claim: fence %d is not newer than %d", a.Fence, last)
		}

		// (2) The provider must be free: no visit of theirs holds any of
		// [start, end). Cancelled visits hold the empty interval.
		start, end := micros(precise(a.Start)), micros(precise(a.End))
		var other string
		err = tx.QueryRowContext(ctx, s.rebind(`SELECT id FROM visits
			WHERE provider_id = ? AND held_end > ? AND held_start < ? AND held_end > held_start
			ORDER BY held_start LIMIT 1`), a.ProviderID, start, end).Scan(&other)
		switch {
		case err == nil:
			return carehex.Errorf(carehex.ECONFLICT, "provider_id", "provider is committed to visit %s at that time", other).With(carehex.MsgProviderBusy)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}

		// (3) The request must still be waiting for a provider.
		var from carehex.Status
		err = tx.QueryRowContext(ctx, s.rebind(`SELECT status FROM service_requests WHERE id = ?`), a.RequestID).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "request_id", "no service request %q", a.RequestID)
		}
		if err != nil {
			return err
		}
		if (from != carehex.StatusPending && from != carehex.StatusOffered) || !carehex.CanTransition(from, carehex.StatusAssigned) {
			return carehex.Errorf(carehex.ECONFLICT, "request_id", "request %s is %s; only a pending or offered request can be assigned",
				a.RequestID, from).With(carehex.MsgNotAssignable, "status", from)
		}
		v = &carehex.Visit{ID: carehex.NewID("vis"), RequestID: a.RequestID, ProviderID: a.ProviderID, Fence: a.Fence,
			Status: carehex.StatusAssigned, PlannedStart: precise(a.Start), PlannedEnd: precise(a.End),
			CreateTime: now, UpdateTime: now}
		res, err = tx.ExecContext(ctx, s.rebind(`UPDATE service_requests SET status = ?, provider_id = ?, visit_id = ?,
			update_time = ? WHERE id = ? AND status = ?`),
			string(carehex.StatusAssigned), v.ProviderID, v.ID, micros(now), a.RequestID, string(from))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return carehex.Errorf(carehex.ECONFLICT, "request_id", "the request moved from %s while assigning it; reload and retry", from).
				With(carehex.MsgRequestMoved, "from", from)
		}

		// (4) The visit, holding its planned slot.
		hs, he := held(v)
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO visits (id, request_id, provider_id, fence, status,
			planned_start, planned_end, held_start, held_end, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			v.ID, v.RequestID, v.ProviderID, v.Fence, string(v.Status), micros(v.PlannedStart), micros(v.PlannedEnd),
			hs, he, micros(now), micros(now)); err != nil {
			return err
		}

		// (5) The history and who did it.
		if err := s.appendEvent(ctx, tx, &carehex.Event{RequestID: a.RequestID, Type: carehex.EventStatusChange,
			FromStatus: from, ToStatus: carehex.StatusAssigned, Actor: actor, Reason: a.Reason, Time: now}); err != nil {
			return err
		}
		if err := s.closeAlerts(ctx, tx, a.RequestID, carehex.StatusAssigned, actor, now); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "visit.assign", ObjectType: "visit",
			ObjectID: v.ID, Detail: fmt.Sprintf("request=%s provider=%s fence=%d", a.RequestID, a.ProviderID, a.Fence)}); err != nil {
			return err
		}
		req, err = scanRequest(tx.QueryRowContext(ctx, s.rebind(requestSelect+` WHERE id = ?`), a.RequestID))
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.publish(ctx, requestNotices(req.ID, req.ResidentID, v.ProviderID)...)
	return req, v, nil
}

// replayAssignment returns the request and visit a claim already committed,
// or nils when a is not a retry of one. Fences are unique per provider, so
// the fence names the claim.
func (s *DB) replayAssignment(ctx context.Context, q querier, a carehex.Assignment) (*carehex.ServiceRequest, *carehex.Visit, error) {
	v, err := scanVisit(q.QueryRowContext(ctx, s.rebind(visitSelect+` WHERE provider_id = ? AND fence = ? AND request_id = ?`),
		a.ProviderID, a.Fence, a.RequestID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	r, err := scanRequest(q.QueryRowContext(ctx, s.rebind(requestSelect+` WHERE id = ?`), a.RequestID))
	if err != nil {
		return nil, nil, err
	}
	return r, v, nil
}

// Visit returns one visit.
func (s *DB) Visit(ctx context.Context, id string) (*carehex.Visit, error) {
	v, err := scanVisit(s.db.QueryRowContext(ctx, s.rebind(visitSelect+` WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "id", "no visit %q", id)
	}
	if err != nil {
		return nil, s.wrap(err, "read visit")
	}
	return v, nil
}

// TransitionVisit moves a visit and its request together to status to, as
// the request state machine allows, in one transaction with the request event
// and an audit record. at is when it happened (zero: now); it ends the hold of
// a completed visit. Moving an assigned or en-route visit back to pending
// means the provider dropped out: the visit is cancelled and the request
// waits for another provider.
func (s *DB) TransitionVisit(ctx context.Context, visitID string, to carehex.Status, actor, reason string, at time.Time) (*carehex.Visit, error) {
	if !slices.Contains(carehex.Statuses, to) {
		return nil, carehex.Errorf(carehex.EINVALID, "status", "unknown status %q", to)
	}
	if err := validReason(reason); err != nil {
		return nil, err
	}
	if actor == "" {
		actor = actorOf(ctx)
	}
	now := s.stamp()
	switch {
	case at.IsZero():
		at = now
	case at.After(now.Add(maxClockSkew)):
		return nil, carehex.Errorf(carehex.EINVALID, "time", "time %s is in the future", at.UTC().Format(time.RFC3339))
	}
	var (
		out        *carehex.Visit
		residentID string
	)
	err := s.inTx(ctx, "transition visit", func(tx *sql.Tx) error {
		var err error
		if out, err = s.moveVisit(ctx, tx, visitID, to, actor, reason, precise(at), now); err != nil {
			return err
		}
		if err := s.queueCallbackTx(ctx, tx, out, now); err != nil { // quality.go
			return err
		}
		return tx.QueryRowContext(ctx, s.rebind(`SELECT resident_id FROM service_requests WHERE id = ?`), out.RequestID).
			Scan(&residentID)
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, requestNotices(out.RequestID, residentID, out.ProviderID)...)
	return out, nil
}

// moveVisit is TransitionVisit inside the caller's transaction; a request
// with a live visit is moved by it too (see TransitionRequest).
func (s *DB) moveVisit(ctx context.Context, tx *sql.Tx, id string, to carehex.Status, actor, reason string, at, now time.Time) (*carehex.Visit, error) {
	v, err := scanVisit(tx.QueryRowContext(ctx, s.rebind(visitSelect+` WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "id", "no visit %q", id)
	}
	if err != nil {
		return nil, err
	}
	from := v.Status
	if !v.Live() || !carehex.CanTransition(from, to) {
		return nil, carehex.Errorf(carehex.ECONFLICT, "status", "a visit cannot move from %s to %s", from, to)
	}
	var (
		reqStatus  carehex.Status
		reqVisitID string
	)
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT status, visit_id FROM service_requests WHERE id = ?`),
		v.RequestID).Scan(&reqStatus, &reqVisitID); err != nil {
		return nil, err
	}
	if reqStatus != from || reqVisitID != v.ID {
		return nil, carehex.Errorf(carehex.ECONFLICT, "status", "request %s is %s, out of step with its visit (%s); reload and retry",
			v.RequestID, reqStatus, from)
	}

	n := *v
	n.Status, n.UpdateTime = to, now
	if to == carehex.StatusPending {
		n.Status = carehex.StatusCancelled // the provider dropped out; the request is dispatched again
	}
	if n.Status == carehex.StatusCompleted || n.Status == carehex.StatusCancelled {
		n.FinishTime = at
	}
	set := `status = ?, held_start = ?, held_end = ?, finish_time = ?, update_time = ?`
	hs, he := held(&n)
	args := []any{string(n.Status), hs, he, micros(n.FinishTime), micros(now)}
	if from == carehex.StatusAssigned && !n.Status.Terminal() {
		// Setting off makes the hold open-ended. Taking the provider's fence
		// row first serialises this with AssignRequest, so no assignment
		// slips into the new hold unseen; the fence read is what
		// OverlappingVisits uses to tell visits committed before this
		// moment (overrun into them is lateness) from ones after it.
		var fence int64
		err := tx.QueryRowContext(ctx, s.rebind(`UPDATE provider_fences SET fence = fence WHERE provider_id = ? RETURNING fence`),
			v.ProviderID).Scan(&fence)
		switch {
		case errors.Is(err, sql.ErrNoRows): // a visit AssignRequest did not write
			fence = v.Fence
		case err != nil:
			return nil, err
		}
		set, args = set+`, set_off_fence = ?`, append(args, fence)
	}
	res, err := tx.ExecContext(ctx, s.rebind(`UPDATE visits SET `+set+` WHERE id = ? AND status = ?`),
		append(args, v.ID, string(from))...)
	if err != nil {
		return nil, err
	}
	if c, err := res.RowsAffected(); err != nil {
		return nil, err
	} else if c == 0 {
		return nil, carehex.Errorf(carehex.ECONFLICT, "status", "the visit moved from %s while changing it to %s; reload and retry", from, to)
	}
	if err := s.moveRequest(ctx, tx, v.RequestID, from, to, actor, reason, now, to == carehex.StatusPending); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "visit.transition", ObjectType: "visit",
		ObjectID: v.ID, Detail: fmt.Sprintf("request=%s %s→%s", v.RequestID, from, n.Status)}); err != nil {
		return nil, err
	}
	return &n, nil
}

// ProviderVisits lists a provider's visits, newest first (by fence, the order
// the system of record committed them), at most the newest 1000.
func (s *DB) ProviderVisits(ctx context.Context, providerID string, liveOnly bool) ([]*carehex.Visit, error) {
	q, args := visitSelect+` WHERE provider_id = ?`, []any{providerID}
	if liveOnly {
		q += ` AND status IN (` + placeholders(len(liveStatuses)) + `)`
		for _, status := range liveStatuses {
			args = append(args, status)
		}
	}
	return queryAll(ctx, s, "list provider visits", scanVisit, s.rebind(q+` ORDER BY fence DESC LIMIT ?`), append(args, maxProviderVisits)...)
}

// ProviderDayVisits lists the provider's visits planned to start in
// [from, to) and those still live from before, newest first by fence; see
// carehex.VisitStore. Live and one day's visits are few, but the list is
// bounded like ProviderVisits all the same.
func (s *DB) ProviderDayVisits(ctx context.Context, providerID string, from, to time.Time) ([]*carehex.Visit, error) {
	if !from.Before(to) {
		return nil, carehex.Errorf(carehex.EINVALID, "to", "the day's end must be after its start")
	}
	args := []any{providerID, micros(from), micros(to)}
	for _, status := range liveStatuses {
		args = append(args, status)
	}
	return queryAll(ctx, s, "list provider day visits", scanVisit, s.rebind(visitSelect+` WHERE provider_id = ?
		AND ((planned_start >= ? AND planned_start < ?) OR status IN (`+placeholders(len(liveStatuses))+`))
		ORDER BY fence DESC LIMIT ?`), append(args, maxProviderVisits)...)
}

// PlannedVisitCounts counts each provider's visits, not cancelled, planned to
// start in [from, to). The IDs go in chunks, well under the bind-parameter
// limits of both databases.
func (s *DB) PlannedVisitCounts(ctx context.Context, providerIDs []string, from, to time.Time) (map[string]int, error) {
	if !from.Before(to) {
		return nil, carehex.Errorf(carehex.EINVALID, "to", "the period must end after it starts, got [%s, %s)", from, to)
	}
	out := map[string]int{}
	ids := dedupe(providerIDs)
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := []any{string(carehex.StatusCancelled), micros(from), micros(to)}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT provider_id, COUNT(*) FROM visits
			WHERE status <> ? AND planned_start >= ? AND planned_start < ? AND provider_id IN (`+placeholders(len(chunk))+`)
			GROUP BY provider_id`), args...)
		if err != nil {
			return nil, s.wrap(err, "count planned visits")
		}
		for rows.Next() {
			var (
				id string
				n  int
			)
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, s.wrap(err, "count planned visits")
			}
			out[id] = n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, s.wrap(err, "count planned visits")
		}
	}
	return out, nil
}

// LiveVisits lists every live visit, by provider and each provider's newest
// first (by fence).
func (s *DB) LiveVisits(ctx context.Context) ([]*carehex.Visit, error) {
	args := make([]any, 0, len(liveStatuses))
	for _, status := range liveStatuses {
		args = append(args, status)
	}
	q := visitSelect + ` WHERE status IN (` + placeholders(len(liveStatuses)) + `) ORDER BY provider_id, fence DESC`
	return queryAll(ctx, s, "list live visits", scanVisit, s.rebind(q), args...)
}

// ProviderFences returns the last committed fence of every provider that
// has one.
func (s *DB) ProviderFences(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT provider_id, fence FROM provider_fences`)
	if err != nil {
		return nil, s.wrap(err, "read provider fences")
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			id    string
			fence int64
		)
		if err := rows.Scan(&id, &fence); err != nil {
			return nil, s.wrap(err, "read provider fences")
		}
		out[id] = fence
	}
	return out, s.wrap(rows.Err(), "read provider fences")
}

// OverlappingVisits is the invariant scan: pairs of visits of one provider
// whose held intervals overlap although the later-committed visit's slot
// was not free when it was committed. Each pair is (earlier, later) by fence.
//
// Held intervals can come to overlap without anyone double-booking: a
// provider with visits at 10:00 and 11:00 sets off for the first, whose hold
// becomes "until it finishes", and finishes at 11:20. That is lateness, which
// the 11:00 visit's events show; it is not a commitment to two visits at
// once, and the scan must not cry wolf about it or nobody will heed it. So a
// pair counts when the later visit b was committed
//   - before a set off (b.fence <= a.set_off_fence, or a never set off) and
//     b's planned slot overlaps a's, which was a's hold then; or
//   - after a set off, and b's slot ends after a begins: a then held
//     everything from its start on.
//
// A double booking that a later early finish or cancellation has undone is
// not reported: the visits no longer overlap.
func (s *DB) OverlappingVisits(ctx context.Context) ([][2]*carehex.Visit, error) {
	cols := func(alias string) string {
		parts := strings.Split(visitColumns, ",")
		for i, p := range parts {
			parts[i] = alias + "." + strings.TrimSpace(p)
		}
		return strings.Join(parts, ", ")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+cols("a")+`, `+cols("b")+`
		FROM visits a JOIN visits b ON b.provider_id = a.provider_id AND b.fence > a.fence
		WHERE a.held_end > a.held_start AND b.held_end > b.held_start
			AND a.held_start < b.held_end AND b.held_start < a.held_end
			AND ((a.set_off_fence = 0 OR b.fence <= a.set_off_fence)
					AND b.planned_start < a.planned_end AND a.planned_start < b.planned_end
				OR a.set_off_fence > 0 AND b.fence > a.set_off_fence AND b.planned_end > a.planned_start)
		ORDER BY a.provider_id, a.fence, b.fence`)
	if err != nil {
		return nil, s.wrap(err, "scan overlapping visits")
	}
	defer rows.Close()
	out := [][2]*carehex.Visit{}
	for rows.Next() {
		var a, b visitRow
		if err := rows.Scan(append(a.dest(), b.dest()...)...); err != nil {
			return nil, s.wrap(err, "scan overlapping visits")
		}
		out = append(out, [2]*carehex.Visit{a.visit(), b.visit()})
	}
	return out, s.wrap(rows.Err(), "scan overlapping visits")
}
