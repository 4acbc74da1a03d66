package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/carehex/carehex"
)

var _ carehex.RouteStore = (*DB)(nil)

// Two-tier dispatch's routes (routing.go): a request routed to an
// organisation. The partial unique index org_routes_open keeps one open
// route per request, so that of two replicas routing a request at once one
// wins and the other gets ECONFLICT.

// CreateRoute records r as the request's open route (see carehex.RouteStore).
func (s *DB) CreateRoute(ctx context.Context, r *carehex.Route, replaces string) error {
	if r == nil || r.RequestID == "" || r.OrgID == "" {
		return carehex.Errorf(carehex.EINVALID, "route", "a route needs a request and an organisation")
	}
	if r.Actor == "" {
		r.Actor = actorOf(ctx)
	}
	ranking, err := json.Marshal(r.Ranking)
	if err != nil {
		return carehex.Internal(err, "encode ranking")
	}
	now := s.stamp()
	if r.RouteTime.IsZero() {
		r.RouteTime = now
	}
	r.ID = carehex.NewID("rte")
	var residentID string
	err = s.inTx(ctx, "route request", func(tx *sql.Tx) error {
		var status carehex.Status
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT status, resident_id FROM service_requests WHERE id = ?`), r.RequestID).Scan(&status, &residentID)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "request_id", "no service request %q", r.RequestID)
		}
		if err != nil {
			return err
		}
		if status != carehex.StatusPending && status != carehex.StatusOffered {
			return carehex.Errorf(carehex.ECONFLICT, "request_id", "request %s is %s, not waiting for a provider", r.RequestID, status).
				With(carehex.MsgNotAssignable, "status", status)
		}
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT name FROM organisations WHERE id = ? AND active = 1`), r.OrgID).Scan(&r.OrgName); errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.EINVALID, "org_id", "no active organisation %q", r.OrgID)
		} else if err != nil {
			return err
		}
		if replaces != "" {
			res, err := tx.ExecContext(ctx, s.rebind(`UPDATE org_routes SET end_time = ?, end_reason = ? WHERE id = ? AND request_id = ? AND end_time = 0`),
				micros(now), carehex.RouteRerouted, replaces, r.RequestID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return carehex.Errorf(carehex.ECONFLICT, "route", "the request's route changed meanwhile; reload and retry").
					With(carehex.MsgRequestMoved, "from", status, "to", status)
			}
		}
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COALESCE(MAX(attempt), 0) + 1 FROM org_routes WHERE request_id = ?`),
			r.RequestID).Scan(&r.Attempt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO org_routes (id, request_id, org_id, attempt, route_time, due_time, actor, ranking)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), r.ID, r.RequestID, r.OrgID, r.Attempt, micros(r.RouteTime), micros(r.DueTime),
			r.Actor, string(ranking)); err != nil {
			if isUniqueViolation(err) {
				return carehex.Errorf(carehex.ECONFLICT, "request_id", "request %s was routed meanwhile", r.RequestID)
			}
			return err
		}
		if err := s.appendEvent(ctx, tx, &carehex.Event{RequestID: r.RequestID, Type: carehex.EventRouted, FromStatus: status,
			ToStatus: status, Actor: r.Actor, Reason: r.OrgName, Time: now}); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: r.Actor, Action: "request.route", ObjectType: "request",
			ObjectID: r.RequestID, Detail: fmt.Sprintf("org=%s attempt=%d", r.OrgID, r.Attempt)})
	})
	if err != nil {
		return err
	}
	r.RouteTime, r.DueTime = precise(r.RouteTime), precise(r.DueTime)
	s.publish(ctx, requestNotices(r.RequestID, residentID, "")...)
	return nil
}

const routeSelect = `SELECT t.id, t.request_id, t.org_id, COALESCE(o.name, ''), t.attempt, t.route_time, t.due_time, t.late_time,
	t.end_time, t.end_reason, t.actor, t.ranking FROM org_routes t LEFT JOIN organisations o ON o.id = t.org_id`

func scanRoute(sc interface{ Scan(...any) error }) (*carehex.Route, error) {
	var (
		r                  carehex.Route
		rt, due, late, end int64
		ranking            string
	)
	if err := sc.Scan(&r.ID, &r.RequestID, &r.OrgID, &r.OrgName, &r.Attempt, &rt, &due, &late, &end, &r.EndReason, &r.Actor, &ranking); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ranking), &r.Ranking); err != nil {
		return nil, err
	}
	r.RouteTime, r.DueTime, r.LateTime, r.EndTime = fromMicros(rt), fromMicros(due), fromMicros(late), fromMicros(end)
	return &r, nil
}

// OpenRoute returns the request's open route.
func (s *DB) OpenRoute(ctx context.Context, requestID string) (*carehex.Route, error) {
	r, err := scanRoute(s.db.QueryRowContext(ctx, s.rebind(routeSelect+` WHERE t.request_id = ? AND t.end_time = 0`), requestID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "request_id", "request %q is not routed to an organisation", requestID)
	}
	return r, s.wrap(err, "read route")
}

// RequestRoutes lists every route of a request, first first.
func (s *DB) RequestRoutes(ctx context.Context, requestID string) ([]*carehex.Route, error) {
	return queryAll(ctx, s, "list request routes", scanRoute, s.rebind(routeSelect+` WHERE t.request_id = ? ORDER BY t.attempt`), requestID)
}

// waitingStatuses are the statuses of a request that still waits for a carer.
const waitingStatuses = `('pending', 'offered')`

// OrgRoutes lists an organisation's queue: its open routes of requests
// still waiting for a carer, oldest first.
func (s *DB) OrgRoutes(ctx context.Context, orgID string, limit int) ([]*carehex.Route, error) {
	return queryAll(ctx, s, "list organisation routes", scanRoute, s.rebind(routeSelect+` JOIN service_requests q ON q.id = t.request_id
		WHERE t.org_id = ? AND t.end_time = 0 AND q.status IN `+waitingStatuses+` ORDER BY t.route_time, t.id LIMIT ?`),
		orgID, clampLimit(limit, 100, 500))
}

// DueRoutes lists open routes not yet late whose request still waits, by
// due time, due before before.
func (s *DB) DueRoutes(ctx context.Context, before time.Time, limit int) ([]*carehex.Route, error) {
	return queryAll(ctx, s, "list due routes", scanRoute, s.rebind(routeSelect+` JOIN service_requests q ON q.id = t.request_id
		WHERE t.end_time = 0 AND t.late_time = 0 AND t.due_time < ? AND q.status IN `+waitingStatuses+` ORDER BY t.due_time, t.id LIMIT ?`),
		micros(before), clampLimit(limit, 100, 1000))
}

// MarkRouteLate sets a route's late time once.
func (s *DB) MarkRouteLate(ctx context.Context, routeID string) (bool, error) {
	res, err := s.w.ExecContext(ctx, s.rebind(`UPDATE org_routes SET late_time = ? WHERE id = ? AND late_time = 0 AND end_time = 0`),
		micros(s.stamp()), routeID)
	if err != nil {
		return false, s.wrap(err, "mark route late")
	}
	n, err := res.RowsAffected()
	return n == 1, s.wrap(err, "mark route late")
}

// EndRoute ends the request's open route, if it has one.
func (s *DB) EndRoute(ctx context.Context, requestID, reason, actor string) error {
	if actor == "" {
		actor = actorOf(ctx)
	}
	// Most assignments are of requests never routed: a read settles those
	// without a write transaction.
	var n int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM org_routes WHERE request_id = ? AND end_time = 0`), requestID).Scan(&n); err != nil {
		return s.wrap(err, "end route")
	}
	if n == 0 {
		return nil
	}
	return s.inTx(ctx, "end route", func(tx *sql.Tx) error {
		var id, org string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT id, org_id FROM org_routes WHERE request_id = ? AND end_time = 0`), requestID).Scan(&id, &org)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE org_routes SET end_time = ?, end_reason = ? WHERE id = ? AND end_time = 0`),
			micros(s.stamp()), reason, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "request.route_end", ObjectType: "request",
			ObjectID: requestID, Detail: "org=" + org + " reason=" + reason})
	})
}

// OrgLoads counts each organisation's open routes of waiting requests and
// its last route time, in one query.
func (s *DB) OrgLoads(ctx context.Context) (map[string]carehex.OrgLoad, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.org_id,
		SUM(CASE WHEN t.end_time = 0 AND q.status IN `+waitingStatuses+` THEN 1 ELSE 0 END), MAX(t.route_time)
		FROM org_routes t JOIN service_requests q ON q.id = t.request_id GROUP BY t.org_id`)
	if err != nil {
		return nil, s.wrap(err, "count organisation loads")
	}
	defer rows.Close()
	out := map[string]carehex.OrgLoad{}
	for rows.Next() {
		var (
			id   string
			open int
			last int64
		)
		if err := rows.Scan(&id, &open, &last); err != nil {
			return nil, s.wrap(err, "count organisation loads")
		}
		out[id] = carehex.OrgLoad{Open: open, Last: fromMicros(last)}
	}
	return out, s.wrap(rows.Err(), "count organisation loads")
}

// SetOrgAutoDispatch turns an organisation's auto-dispatch on or off; on,
// it wakes the dispatcher for the requests waiting in its queue.
func (s *DB) SetOrgAutoDispatch(ctx context.Context, orgID string, on bool, actor string) error {
	if actor == "" {
		actor = actorOf(ctx)
	}
	v := 0
	if on {
		v = 1
	}
	err := s.inTx(ctx, "set auto-dispatch", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM organisations WHERE id = ?`), orgID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return carehex.Errorf(carehex.ENOTFOUND, "org_id", "no organisation %q", orgID)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO org_dispatch (org_id, auto_dispatch, update_time, updated_by) VALUES (?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET auto_dispatch = excluded.auto_dispatch, update_time = excluded.update_time,
			updated_by = excluded.updated_by`), orgID, v, micros(s.stamp()), actor); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "organisation.auto_dispatch", ObjectType: "organisation",
			ObjectID: orgID, Detail: fmt.Sprint(on)})
	})
	if err == nil && on {
		s.publish(ctx, carehex.DispatchNotice, carehex.ConsoleNotice)
	}
	return err
}

// OrgAutoDispatch reports whether an organisation's auto-dispatch is on.
func (s *DB) OrgAutoDispatch(ctx context.Context, orgID string) (bool, error) {
	var v int
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT auto_dispatch FROM org_dispatch WHERE org_id = ?`), orgID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return v == 1, s.wrap(err, "read auto-dispatch")
}
