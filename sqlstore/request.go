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

// Page sizes of the request lists.
const (
	defaultRequestLimit = 50
	maxRequestLimit     = 500
)

// errKeyClaimed says another transaction committed the same idempotency key
// first; the caller answers with that transaction's request.
var errKeyClaimed = errors.New("idempotency key claimed concurrently")

// CreateServiceRequest commits a new request with its "created" event and its
// audit record in one transaction. An idempotency key is claimed in that same
// transaction, so of two racing calls with one key exactly one creates.
func (s *DB) CreateServiceRequest(ctx context.Context, r *carehex.ServiceRequest, fingerprint string) (*carehex.ServiceRequest, bool, error) {
	out, replayed, err := s.CreateServiceRequestWith(ctx, r, fingerprint)
	if err != nil {
		return nil, false, err
	}
	return out.Request, replayed, nil
}

// CreateServiceRequestWith is CreateServiceRequest handing back the resident
// and service type the transaction read (nil on a replay).
func (s *DB) CreateServiceRequestWith(ctx context.Context, r *carehex.ServiceRequest, fingerprint string) (*carehex.NewRequest, bool, error) {
	if r == nil {
		return nil, false, carehex.Errorf(carehex.EINVALID, "request", "request is required")
	}
	actor := actorOf(ctx)
	key := r.IdempotencyKey
	// A replay is answered before validation: a retry of a request that was
	// valid when first sent (say, a window that has since begun) must still
	// get its first answer.
	if key != "" && len(key) <= 200 {
		if out, err := s.replay(ctx, actor, key, fingerprint); out != nil || err != nil {
			return replayOf(out), out != nil, err
		}
	}
	now := s.stamp()
	if err := r.Validate(now); err != nil {
		return nil, false, err
	}
	n := *r
	n.ID, n.Status, n.CreatedBy, n.CreateTime, n.UpdateTime = carehex.NewID("req"), carehex.StatusPending, actor, now, now
	n.ProviderID, n.VisitID, n.CancelReason = "", "", ""
	n.WindowStart, n.WindowEnd = precise(n.WindowStart), precise(n.WindowEnd)
	var (
		res *carehex.Resident
		svc *carehex.ServiceType
	)
	err := s.inTx(ctx, "create service request", func(tx *sql.Tx) error {
		var err error
		if res, err = s.residentServed(ctx, tx, n.ResidentID); err != nil {
			return err
		}
		svc, err = scanServiceType(tx.QueryRowContext(ctx, s.rebind(serviceTypeSelect+` WHERE code = ? AND retired = 0`),
			n.ServiceCode))
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.EINVALID, "service_code", "unknown service_code %q", n.ServiceCode).
				With(carehex.MsgUnknownService, "field", n.ServiceCode)
		}
		if err != nil {
			return err
		}
		if n.CallID != "" {
			// The call must be one the PBX reported: its recording is found
			// through it.
			var one int
			err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM calls WHERE call_id = ?`), n.CallID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return carehex.Errorf(carehex.ENOTFOUND, "call_id", "no call %q reported by the telephone system", n.CallID)
			}
			if err != nil {
				return err
			}
		}
		if key != "" {
			// On PostgreSQL a concurrent claim of the same key blocks here
			// until the other transaction ends, then does nothing; on SQLite
			// immediate transactions already run one at a time.
			res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO idempotency_keys (actor, key, fingerprint, request_id, created)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (actor, key) DO NOTHING`), actor, key, fingerprint, n.ID, micros(now))
			if err != nil {
				return err
			}
			if c, err := res.RowsAffected(); err != nil {
				return err
			} else if c == 0 {
				return errKeyClaimed
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO service_requests (id, resident_id, service_code, urgency,
			status, notes, window_start, window_end, idempotency_key, call_id, created_by, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			n.ID, n.ResidentID, n.ServiceCode, string(n.Urgency), string(n.Status), n.Notes, micros(n.WindowStart),
			micros(n.WindowEnd), key, n.CallID, actor, micros(now), micros(now)); err != nil {
			return err
		}
		if err := s.insertEvent(ctx, tx, &carehex.Event{RequestID: n.ID, Seq: 1, Type: carehex.EventCreated,
			ToStatus: carehex.StatusPending, Actor: actor, Time: now}); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "request.create", ObjectType: "request",
			ObjectID: n.ID, Detail: "resident=" + n.ResidentID + " service=" + n.ServiceCode})
	})
	if errors.Is(err, errKeyClaimed) {
		out, err := s.replay(ctx, actor, key, fingerprint)
		if out == nil && err == nil {
			err = carehex.Internal(errKeyClaimed, "idempotency key claimed but not readable")
		}
		return replayOf(out), out != nil, err
	}
	if err != nil {
		return nil, false, err
	}
	s.publish(ctx, append(requestNotices(n.ID, n.ResidentID, ""), carehex.DispatchNotice)...)
	*r = n
	return &carehex.NewRequest{Request: &n, Resident: res, ServiceType: svc}, false, nil
}

// replayOf is the answer to a replayed create: the first request alone.
func replayOf(r *carehex.ServiceRequest) *carehex.NewRequest {
	if r == nil {
		return nil
	}
	return &carehex.NewRequest{Request: r}
}

// replay returns the request an idempotency key was first used for, nil if
// the key is new, or ErrIdempotencyMismatch when it was used for another body.
func (s *DB) replay(ctx context.Context, actor, key, fingerprint string) (*carehex.ServiceRequest, error) {
	var fp, id string
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT fingerprint, request_id FROM idempotency_keys
		WHERE actor = ? AND key = ?`), actor, key).Scan(&fp, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap(err, "read idempotency key")
	}
	if fp != fingerprint {
		return nil, carehex.ErrIdempotencyMismatch
	}
	return s.ServiceRequest(ctx, id)
}

func (s *DB) insertEvent(ctx context.Context, tx *sql.Tx, e *carehex.Event) error {
	if e.ID == "" {
		e.ID = carehex.NewID("evt")
	}
	s.trail.mark(tx, carehex.ChainEvents)
	_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO request_events
		(id, request_id, seq, type, from_status, to_status, actor, reason, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		e.ID, e.RequestID, e.Seq, e.Type, string(e.FromStatus), string(e.ToStatus), e.Actor, e.Reason, micros(e.Time))
	return err
}

// TransitionRequest moves a request to status to, as the state machine
// allows, and appends the event and audit record in the same transaction. A
// request with a live visit takes the visit along (see TransitionVisit):
// cancelling it cancels the visit and frees the provider's time.
func (s *DB) TransitionRequest(ctx context.Context, id string, to carehex.Status, actor, reason string) (*carehex.ServiceRequest, error) {
	if !slices.Contains(carehex.Statuses, to) {
		return nil, carehex.Errorf(carehex.EINVALID, "status", "unknown status %q", to)
	}
	if !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > carehex.MaxTextLen {
		return nil, carehex.Errorf(carehex.EINVALID, "reason", "reason must be valid text of at most %d characters", carehex.MaxTextLen)
	}
	if actor == "" {
		actor = actorOf(ctx)
	}
	now := s.stamp()
	var (
		out      *carehex.ServiceRequest
		provider string // of the visit that moved along, if any
	)
	err := s.inTx(ctx, "transition request", func(tx *sql.Tx) error {
		var (
			from    carehex.Status
			visitID string
		)
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT status, visit_id FROM service_requests WHERE id = ?`), id).Scan(&from, &visitID)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "id", "no service request %q", id)
		}
		if err != nil {
			return err
		}
		if !carehex.CanTransition(from, to) {
			return carehex.Errorf(carehex.ECONFLICT, "status", "a request cannot move from %s to %s", from, to).
				With(carehex.MsgCannotTransition, "from", from, "to", to)
		}
		if visitID != "" && (from == carehex.StatusAssigned || from == carehex.StatusEnRoute || from == carehex.StatusInProgress) {
			// The request has a live visit: they move together, so that
			// cancelling the request frees the provider's time and no visit
			// is left holding a provider for a request that moved on.
			v, err := s.moveVisit(ctx, tx, visitID, to, actor, reason, now, now)
			if err != nil {
				return err
			}
			provider = v.ProviderID
		} else if err := s.moveRequest(ctx, tx, id, from, to, actor, reason, now, false); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "request.transition", ObjectType: "request",
			ObjectID: id, Detail: fmt.Sprintf("%s→%s", from, to)}); err != nil {
			return err
		}
		out, err = scanRequest(tx.QueryRowContext(ctx, s.rebind(requestSelect+` WHERE id = ?`), id))
		return err
	})
	if err != nil {
		return nil, err
	}
	ns := requestNotices(out.ID, out.ResidentID, provider)
	if out.Status == carehex.StatusPending {
		ns = append(ns, carehex.DispatchNotice)
	}
	s.publish(ctx, ns...)
	return out, nil
}

// moveRequest moves request id from status from to status to inside tx and
// appends the event; unassign also clears its provider and visit (the
// provider dropped out).
func (s *DB) moveRequest(ctx context.Context, tx *sql.Tx, id string, from, to carehex.Status, actor, reason string,
	now time.Time, unassign bool) error {
	set, args := `status = ?, update_time = ?`, []any{string(to), micros(now)}
	if to == carehex.StatusCancelled {
		set, args = set+`, cancel_reason = ?`, append(args, reason)
	}
	if unassign {
		set += `, provider_id = '', visit_id = ''`
	}
	// The status guard is the optimistic lock: if another writer moved
	// the request since we read it, nothing matches and we refuse.
	res, err := tx.ExecContext(ctx, s.rebind(`UPDATE service_requests SET `+set+` WHERE id = ? AND status = ?`),
		append(args, id, string(from))...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return carehex.Errorf(carehex.ECONFLICT, "status", "the request moved from %s while changing it to %s; reload and retry", from, to).
			With(carehex.MsgRequestMoved, "from", from, "to", to)
	}
	typ := carehex.EventStatusChange
	if to == carehex.StatusCancelled {
		typ = carehex.EventCancelled
	}
	if err := s.appendEvent(ctx, tx, &carehex.Event{RequestID: id, Type: typ, FromStatus: from,
		ToStatus: to, Actor: actor, Reason: reason, Time: now}); err != nil {
		return err
	}
	return s.closeAlerts(ctx, tx, id, to, actor, now)
}

// appendEvent adds e as the next event of its request; UNIQUE (request_id,
// seq) turns a racing writer into an error rather than a fork in the history.
func (s *DB) appendEvent(ctx context.Context, tx *sql.Tx, e *carehex.Event) error {
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COALESCE(MAX(seq), 0) FROM request_events WHERE request_id = ?`),
		e.RequestID).Scan(&e.Seq); err != nil {
		return err
	}
	e.Seq++
	return s.insertEvent(ctx, tx, e)
}

const requestSelect = `SELECT id, resident_id, service_code, urgency, status, notes, window_start, window_end,
	provider_id, visit_id, cancel_reason, idempotency_key, call_id, created_by, create_time, update_time FROM service_requests`

func scanRequest(sc interface{ Scan(...any) error }) (*carehex.ServiceRequest, error) {
	var (
		r                            carehex.ServiceRequest
		urgency, status              string
		wStart, wEnd, created, updat int64
	)
	if err := sc.Scan(&r.ID, &r.ResidentID, &r.ServiceCode, &urgency, &status, &r.Notes, &wStart, &wEnd,
		&r.ProviderID, &r.VisitID, &r.CancelReason, &r.IdempotencyKey, &r.CallID, &r.CreatedBy, &created, &updat); err != nil {
		return nil, err
	}
	r.Urgency, r.Status = carehex.Urgency(urgency), carehex.Status(status)
	r.WindowStart, r.WindowEnd = fromMicros(wStart), fromMicros(wEnd)
	r.CreateTime, r.UpdateTime = fromMicros(created), fromMicros(updat)
	return &r, nil
}

// ServiceRequest returns one request.
func (s *DB) ServiceRequest(ctx context.Context, id string) (*carehex.ServiceRequest, error) {
	r, err := scanRequest(s.db.QueryRowContext(ctx, s.rebind(requestSelect+` WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "id", "no service request %q", id)
	}
	if err != nil {
		return nil, s.wrap(err, "read service request")
	}
	return r, nil
}

// ServiceRequests lists requests, newest first.
func (s *DB) ServiceRequests(ctx context.Context, f carehex.RequestFilter) ([]*carehex.ServiceRequest, error) {
	var (
		conds []string
		args  []any
	)
	if f.ResidentID != "" {
		conds, args = append(conds, "resident_id = ?"), append(args, f.ResidentID)
	}
	if len(f.Statuses) > 0 {
		sts := dedupe(statusStrings(f.Statuses))
		conds = append(conds, "status IN ("+placeholders(len(sts))+")")
		for _, status := range sts {
			args = append(args, status)
		}
	}
	if f.OrgID != "" {
		c, a := orgRequestCond("id", f.OrgID)
		conds, args = append(conds, c), append(args, a...)
	}
	q := requestSelect
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY create_time DESC, id DESC LIMIT ?"
	args = append(args, clampLimit(f.Limit, defaultRequestLimit, maxRequestLimit))
	return queryAll(ctx, s, "list service requests", scanRequest, s.rebind(q), args...)
}

func statusStrings(statuses []carehex.Status) []string {
	out := make([]string, len(statuses))
	for i, status := range statuses {
		out[i] = string(status)
	}
	return out
}

// RequestEvents returns the history of a request in the order it happened.
func (s *DB) RequestEvents(ctx context.Context, requestID string) ([]*carehex.Event, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, request_id, seq, type, from_status, to_status, actor, reason, time
		FROM request_events WHERE request_id = ? ORDER BY seq`), requestID)
	if err != nil {
		return nil, s.wrap(err, "read request events")
	}
	defer rows.Close()
	out := []*carehex.Event{}
	for rows.Next() {
		var (
			e        carehex.Event
			from, to string
			t        int64
		)
		if err := rows.Scan(&e.ID, &e.RequestID, &e.Seq, &e.Type, &from, &to, &e.Actor, &e.Reason, &t); err != nil {
			return nil, s.wrap(err, "read request events")
		}
		e.FromStatus, e.ToStatus, e.Time = carehex.Status(from), carehex.Status(to), fromMicros(t)
		out = append(out, &e)
	}
	return out, s.wrap(rows.Err(), "read request events")
}
