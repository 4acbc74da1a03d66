package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carehex/carehex"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// This file keeps offers, the dispatcher's queue of waiting requests and the
// operators' alert queue. An offer is recorded here, under the fencing token
// of the Redis claim behind it, before the provider's phone is told: Redis
// can be lost, the system of record cannot, and "never offer a request twice
// to the same provider" needs every offer ever made.
//
// Offer writes take the request's row first (the status-guarded UPDATE in
// CreateOffers, a no-op UPDATE in CloseOffer). On PostgreSQL that row lock
// serialises everything that appends to one request's history, so two
// replicas offering or closing offers of one request at once queue instead
// of colliding on the event sequence; on SQLite immediate transactions run
// one at a time anyway.

var (
	_ carehex.OfferStore = (*DB)(nil)
	_ carehex.AlertStore = (*DB)(nil)
)

// Event types of offers in a request's history. They belong beside
// EventCreated & co. in the root package; until they move there they live
// here, the one writer of them.
// Limits of the offer and alert lists.
const (
	maxOffersPerCall  = 50
	defaultOfferLimit = 100
	maxOfferLimit     = 1000
	defaultAlertLimit = 100
	maxAlertLimit     = 500
	maxWaitingLimit   = 1000
)

const offerSelect = `SELECT id, request_id, provider_id, service_code, fence, distance_m, status, reason,
	expire_time, create_time, close_time FROM offers`

func scanOffer(sc interface{ Scan(...any) error }) (*carehex.Offer, error) {
	var (
		o                  carehex.Offer
		status             string
		expire, ct, closed int64
	)
	if err := sc.Scan(&o.ID, &o.RequestID, &o.ProviderID, &o.ServiceCode, &o.Fence, &o.DistanceM, &status, &o.Reason,
		&expire, &ct, &closed); err != nil {
		return nil, err
	}
	o.Status = carehex.OfferStatus(status)
	o.ExpireTime, o.CreateTime, o.CloseTime = fromMicros(expire), fromMicros(ct), fromMicros(closed)
	return &o, nil
}

// validOffers checks a batch of new offers: one request, distinct providers,
// each with a claim's fence and a deadline.
func validOffers(offers []*carehex.Offer, now time.Time) error {
	switch {
	case len(offers) == 0:
		return carehex.Errorf(carehex.EINVALID, "offers", "at least one offer is required")
	case len(offers) > maxOffersPerCall:
		return carehex.Errorf(carehex.EINVALID, "offers", "at most %d offers at once", maxOffersPerCall)
	}
	seen := make(map[string]bool, len(offers))
	for _, o := range offers {
		switch {
		case o == nil:
			return carehex.Errorf(carehex.EINVALID, "offers", "an offer is missing")
		case o.RequestID == "":
			return carehex.Errorf(carehex.EINVALID, "request_id", "request_id is required")
		case o.RequestID != offers[0].RequestID:
			return carehex.Errorf(carehex.EINVALID, "request_id", "offers of one call must be of one request")
		case o.ProviderID == "":
			return carehex.Errorf(carehex.EINVALID, "provider_id", "provider_id is required")
		case seen[o.ProviderID]:
			return carehex.Errorf(carehex.EINVALID, "provider_id", "provider %s is offered twice in one call", o.ProviderID)
		case o.Fence <= 0:
			return carehex.Errorf(carehex.EINVALID, "fence", "fence must be a positive fencing token, got %d", o.Fence)
		case math.IsNaN(o.DistanceM) || math.IsInf(o.DistanceM, 0) || o.DistanceM < 0:
			return carehex.Errorf(carehex.EINVALID, "distance_m", "distance_m must be a non-negative number")
		case o.ExpireTime.IsZero():
			return carehex.Errorf(carehex.EINVALID, "expire_time", "expire_time is required")
		case !precise(o.ExpireTime).After(now):
			return carehex.Errorf(carehex.EINVALID, "expire_time", "expire_time must be in the future")
		}
		seen[o.ProviderID] = true
	}
	return nil
}

// CreateOffers records open offers of one request and moves the request
// pending → offered, with an "offered" event and an audit record, in one
// transaction. It sets each offer's ID (if empty), service code (the
// request's), status and create time. An emergency request (by its urgency
// or its service type's class) may also be offered while already offered:
// its fan-out is topped up when one of its providers declines. A routine
// request is offered to one provider at a time, so for it "already offered"
// is the ECONFLICT a second dispatcher replica gets when it lost the race.
// ECONFLICT also when the request is no longer pending or offered (assigned,
// cancelled) or a provider was already offered this request; ENOTFOUND for
// an unknown request or provider.
func (s *DB) CreateOffers(ctx context.Context, offers []*carehex.Offer, actor string) error {
	now := s.stamp()
	if err := validOffers(offers, now); err != nil {
		return err
	}
	if actor == "" {
		actor = actorOf(ctx)
	}
	reqID := offers[0].RequestID
	out := make([]carehex.Offer, len(offers))
	ids := make([]any, len(offers))
	names := make([]string, len(offers))
	for i, o := range offers {
		out[i] = *o
		n := &out[i]
		if n.ID == "" {
			n.ID = carehex.NewID("ofr")
		}
		n.Status, n.Reason, n.CloseTime = carehex.OfferOpen, "", time.Time{}
		n.ExpireTime = precise(n.ExpireTime)
		ids[i] = n.ProviderID
		names[i] = n.ProviderID
	}
	err := s.inTx(ctx, "create offers", func(tx *sql.Tx) error {
		// Stamped once the transaction holds its connection (SQLite's one
		// writer, or one of PostgreSQL's pool), so an offer's create time is
		// when it was written, not when it began to queue for the writer:
		// the phone's wakeup is measured from it (bench idle).
		now = s.stamp()
		for i := range out {
			out[i].CreateTime = now
		}
		var (
			from                 carehex.Status
			code, urgency, class string
		)
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT r.status, r.service_code, r.urgency, t.urgency_class
			FROM service_requests r JOIN service_types t ON t.code = r.service_code WHERE r.id = ?`), reqID).
			Scan(&from, &code, &urgency, &class)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "request_id", "no service request %q", reqID)
		}
		if err != nil {
			return err
		}
		emergency := carehex.Urgency(urgency) == carehex.UrgencyEmergency || carehex.UrgencyClass(class) == carehex.ClassEmergency
		switch {
		case from == carehex.StatusOffered && !emergency:
			// A routine request is offered to one provider at a time; a
			// second replica that saw it pending a moment ago loses here.
			return carehex.Errorf(carehex.ECONFLICT, "request_id", "request %s is already offered; a routine request is offered to one provider at a time", reqID)
		case from != carehex.StatusPending && from != carehex.StatusOffered:
			return carehex.Errorf(carehex.ECONFLICT, "request_id", "request %s is %s; only a pending or offered request can be offered", reqID, from)
		}
		// The status guard is the optimistic lock, and on PostgreSQL the
		// row lock that makes a racing replica wait and then fail here.
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE service_requests SET status = ?, update_time = ? WHERE id = ? AND status = ?`),
			string(carehex.StatusOffered), micros(now), reqID, string(from))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return carehex.Errorf(carehex.ECONFLICT, "request_id", "the request moved from %s while offering it; reload and retry", from)
		}
		var known int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM providers WHERE id IN (`+placeholders(len(ids))+`)`),
			ids...).Scan(&known); err != nil {
			return err
		}
		if known != len(ids) {
			return carehex.Errorf(carehex.ENOTFOUND, "provider_id", "an offered provider is not on the roster")
		}
		var again string
		err = tx.QueryRowContext(ctx, s.rebind(`SELECT provider_id FROM offers WHERE request_id = ? AND provider_id IN (`+
			placeholders(len(ids))+`) LIMIT 1`), append([]any{reqID}, ids...)...).Scan(&again)
		switch {
		case err == nil:
			return carehex.Errorf(carehex.ECONFLICT, "provider_id", "request %s was already offered to provider %s", reqID, again)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		args := make([]any, 0, 11*len(out))
		for i := range out {
			n := &out[i]
			n.ServiceCode = code
			args = append(args, n.ID, n.RequestID, n.ProviderID, n.ServiceCode, n.Fence, n.DistanceM, string(n.Status),
				n.Reason, micros(n.ExpireTime), micros(n.CreateTime), micros(n.CloseTime))
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO offers (id, request_id, provider_id, service_code, fence,
			distance_m, status, reason, expire_time, create_time, close_time) VALUES `+
			repeatRow("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", len(out))), args...); err != nil {
			if isUniqueViolation(err) {
				return carehex.Errorf(carehex.ECONFLICT, "provider_id", "request %s was already offered to one of these providers", reqID)
			}
			return err
		}
		reason := "offered to " + strings.Join(names, ", ")
		if err := s.appendEvent(ctx, tx, &carehex.Event{RequestID: reqID, Type: carehex.EventOffered, FromStatus: from,
			ToStatus: carehex.StatusOffered, Actor: actor, Reason: reason, Time: now}); err != nil {
			return err
		}
		fences := make([]string, len(out))
		for i := range out {
			fences[i] = fmt.Sprintf("%s@%d", out[i].ProviderID, out[i].Fence)
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "offer.create", ObjectType: "request",
			ObjectID: reqID, Detail: "offers=" + strings.Join(fences, ",")})
	})
	if err != nil {
		return err
	}
	notices := requestNotices(reqID, "", "")
	for i, o := range offers {
		*o = out[i]
		notices = append(notices, carehex.Notice{Topic: carehex.TopicProvider, ID: o.ProviderID})
	}
	s.publish(ctx, notices...)
	return nil
}

// Offer returns one offer.
func (s *DB) Offer(ctx context.Context, id string) (*carehex.Offer, error) {
	o, err := scanOffer(s.db.QueryRowContext(ctx, s.rebind(offerSelect+` WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "offer_id", "no offer %q", id)
	}
	if err != nil {
		return nil, s.wrap(err, "read offer")
	}
	return o, nil
}

// OpenOffers lists a provider's open offers that have not expired at now,
// oldest first.
func (s *DB) OpenOffers(ctx context.Context, providerID string, now time.Time) ([]*carehex.Offer, error) {
	return queryAll(ctx, s, "list open offers", scanOffer, s.rebind(offerSelect+` WHERE provider_id = ? AND status = ?
		AND expire_time > ? ORDER BY create_time, id LIMIT ?`),
		providerID, string(carehex.OfferOpen), micros(now), defaultOfferLimit)
}

// RequestOffers lists every offer of a request, in the order they were made.
func (s *DB) RequestOffers(ctx context.Context, requestID string) ([]*carehex.Offer, error) {
	return queryAll(ctx, s, "list request offers", scanOffer, s.rebind(offerSelect+` WHERE request_id = ?
		ORDER BY create_time, id LIMIT ?`), requestID, maxOfferLimit)
}

// DueOffers lists open offers whose expiry is before now, earliest first.
func (s *DB) DueOffers(ctx context.Context, now time.Time, limit int) ([]*carehex.Offer, error) {
	return queryAll(ctx, s, "list due offers", scanOffer, s.rebind(offerSelect+` WHERE status = ? AND expire_time < ?
		ORDER BY expire_time, id LIMIT ?`), string(carehex.OfferOpen), micros(now),
		clampLimit(limit, defaultOfferLimit, maxOfferLimit))
}

// CloseOffer moves an open offer to status with a reason, appending an
// "offer_<status>" event to the request's history. When the offer was the
// request's last open one and the request is still offered, the request
// returns to pending in the same transaction (that event records the move),
// so dispatch offers it to the next provider. An accepted offer never moves
// the request: AssignRequest already made it assigned. ECONFLICT when the
// offer is not open.
func (s *DB) CloseOffer(ctx context.Context, id string, status carehex.OfferStatus, reason, actor string) (*carehex.Offer, error) {
	switch status {
	case carehex.OfferAccepted, carehex.OfferDeclined, carehex.OfferExpired, carehex.OfferWithdrawn:
	default:
		return nil, carehex.Errorf(carehex.EINVALID, "status", "an offer closes as accepted, declined, expired or withdrawn, not %q", status)
	}
	if err := validReason(reason); err != nil {
		return nil, err
	}
	if actor == "" {
		actor = actorOf(ctx)
	}
	now := s.stamp()
	var (
		out      *carehex.Offer
		resident string // set when the close moved the request
	)
	err := s.inTx(ctx, "close offer", func(tx *sql.Tx) error {
		o, err := scanOffer(tx.QueryRowContext(ctx, s.rebind(offerSelect+` WHERE id = ?`), id))
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "offer_id", "no offer %q", id)
		}
		if err != nil {
			return err
		}
		// Take the request's row before anything else (see the top of
		// this file), then read its status as it is now.
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE service_requests SET update_time = update_time WHERE id = ?`),
			o.RequestID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE offers SET status = ?, reason = ?, close_time = ?
			WHERE id = ? AND status = ?`), string(status), reason, micros(now), id, string(carehex.OfferOpen))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var current string
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT status FROM offers WHERE id = ?`), id).Scan(&current); err != nil {
				return err
			}
			return carehex.Errorf(carehex.ECONFLICT, "offer_id", "the offer is %s, no longer open", current)
		}
		var (
			from       carehex.Status
			residentID string
		)
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT status, resident_id FROM service_requests WHERE id = ?`),
			o.RequestID).Scan(&from, &residentID); err != nil {
			return err
		}
		to := from
		if from == carehex.StatusOffered && status != carehex.OfferAccepted {
			var open int
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM offers WHERE request_id = ? AND status = ?`),
				o.RequestID, string(carehex.OfferOpen)).Scan(&open); err != nil {
				return err
			}
			if open == 0 {
				to = carehex.StatusPending
				res, err := tx.ExecContext(ctx, s.rebind(`UPDATE service_requests SET status = ?, update_time = ?
					WHERE id = ? AND status = ?`), string(to), micros(now), o.RequestID, string(from))
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil {
					return err
				} else if n == 0 {
					return carehex.Errorf(carehex.ECONFLICT, "request_id", "the request moved from %s while closing its offer; reload and retry", from)
				}
				resident = residentID
			}
		}
		why := o.ProviderID + " " + string(status)
		if reason != "" {
			why += ": " + reason
		}
		if err := s.appendEvent(ctx, tx, &carehex.Event{RequestID: o.RequestID, Type: carehex.EventOfferClosed + string(status),
			FromStatus: from, ToStatus: to, Actor: actor, Reason: why, Time: now}); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "offer.close", ObjectType: "offer", ObjectID: id,
			Detail: fmt.Sprintf("request=%s provider=%s open→%s", o.RequestID, o.ProviderID, status)}); err != nil {
			return err
		}
		o.Status, o.Reason, o.CloseTime = status, reason, now
		out = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	ns := requestNotices(out.RequestID, resident, out.ProviderID)
	if resident != "" { // the request went back to pending: the next candidate, now
		ns = append(ns, carehex.DispatchNotice)
	}
	s.publish(ctx, ns...)
	return out, nil
}

// WaitingRequests is the dispatcher's queue: requests waiting for a provider
// (pending or offered), soonest due first. A scheduled request is included
// only when its window starts before windowBefore (the dispatcher books them
// a lead time ahead) and is due at its window start; any other request is
// due since it was created. It belongs in carehex.RequestStore (ServiceRequests
// lists newest first and at most 500, so the oldest waiting request could
// starve behind newer ones); until it moves there the dispatcher finds it
// on the store by its method.
func (s *DB) WaitingRequests(ctx context.Context, windowBefore time.Time, limit int) ([]*carehex.ServiceRequest, error) {
	// Up to limit of each status, pending first: requests holding an offer
	// (waiting for an answer or the expiry) must not crowd pending ones out
	// of the dispatcher's batch, and offered ones still need their alerts.
	limit = clampLimit(limit, defaultRequestLimit, maxWaitingLimit)
	var out []*carehex.ServiceRequest
	for _, status := range []carehex.Status{carehex.StatusPending, carehex.StatusOffered} {
		rs, err := queryAll(ctx, s, "list waiting requests", scanRequest, s.rebind(requestSelect+`
		WHERE status = ? AND (urgency <> ? OR window_start < ?)
		ORDER BY CASE WHEN urgency = ? THEN window_start ELSE create_time END, id LIMIT ?`),
			string(status), string(carehex.UrgencyScheduled), micros(windowBefore),
			string(carehex.UrgencyScheduled), limit)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// isUniqueViolation reports whether err is a unique constraint refusing a
// row, on either database.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// alertSelect reads an alert with its request's resident and service, so
// that the console can name whom and what it is about; alias a. A
// complaint's alert (carehex.AlertComplaintOverdue) names the complaint in
// request_id, and its resident is the complaint's.
const alertSelect = `SELECT a.id, a.request_id, a.visit_id, a.kind, a.message, a.create_time, a.ack_time, a.ack_by,
	a.code, a.params, a.close_reason, COALESCE(r.resident_id, k.resident_id, ''), COALESCE(r.service_code, ''), COALESCE(p.name, '')
	FROM alerts a LEFT JOIN service_requests r ON r.id = a.request_id LEFT JOIN complaints k ON k.id = a.request_id
	LEFT JOIN residents p ON p.id = COALESCE(r.resident_id, k.resident_id)`

func scanAlert(sc interface{ Scan(...any) error }) (*carehex.Alert, error) {
	var (
		a       carehex.Alert
		ct, ack int64
		params  string
	)
	if err := sc.Scan(&a.ID, &a.RequestID, &a.VisitID, &a.Kind, &a.Message, &ct, &ack, &a.AckBy,
		&a.Code, &params, &a.CloseReason, &a.ResidentID, &a.ServiceCode, &a.ResidentName); err != nil {
		return nil, err
	}
	a.CreateTime, a.AckTime = fromMicros(ct), fromMicros(ack)
	if params != "" && params != "{}" {
		if err := json.Unmarshal([]byte(params), &a.Params); err != nil {
			return nil, fmt.Errorf("alert %s params: %w", a.ID, err)
		}
	}
	return &a, nil
}

// alertParams is how Params are stored: a JSON object of strings.
func alertParams(p map[string]string) string {
	if len(p) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(p) // a map of strings always marshals
	return string(b)
}

// closeAlerts closes the request's open alerts whose condition ended when it
// moved to status to (carehex.AlertClosers), inside the transaction that
// moved it, with an audit record naming them. actor is who moved it.
func (s *DB) closeAlerts(ctx context.Context, tx *sql.Tx, requestID string, to carehex.Status, actor string, now time.Time) error {
	c, ok := carehex.AlertClosers[to]
	if !ok {
		return nil
	}
	kinds := make([]any, len(c.Kinds))
	for i, k := range c.Kinds {
		kinds[i] = k
	}
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT id FROM alerts WHERE request_id = ? AND ack_time = 0 AND kind IN (`+
		placeholders(len(kinds))+`) ORDER BY id`), append([]any{requestID}, kinds...)...)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE alerts SET ack_time = ?, ack_by = ?, close_reason = ?
		WHERE request_id = ? AND ack_time = 0 AND kind IN (`+placeholders(len(kinds))+`)`),
		append([]any{micros(now), actor, c.Reason, requestID}, kinds...)...); err != nil {
		return err
	}
	return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "alert.close", ObjectType: "request", ObjectID: requestID,
		Detail: "alerts=" + strings.Join(ids, ",") + " reason=" + c.Reason})
}

func validAlert(a *carehex.Alert) error {
	switch {
	case a == nil:
		return carehex.Errorf(carehex.EINVALID, "alert", "alert is required")
	case a.RequestID == "":
		return carehex.Errorf(carehex.EINVALID, "request_id", "request_id is required")
	case carehex.Trimmed(a.Kind) == "" || len(a.Kind) > carehex.MaxNameLen || strings.ContainsAny(a.Kind, " \t\r\n\x00"):
		return carehex.Errorf(carehex.EINVALID, "kind", "kind must be a short word such as %q", carehex.AlertUnaccepted)
	case carehex.Trimmed(a.Message) == "" || !utf8.ValidString(a.Message) || strings.ContainsRune(a.Message, 0) ||
		utf8.RuneCountInString(a.Message) > carehex.MaxTextLen:
		return carehex.Errorf(carehex.EINVALID, "message", "message must be valid text of 1 to %d characters", carehex.MaxTextLen)
	case len(a.VisitID) > 100:
		return carehex.Errorf(carehex.EINVALID, "visit_id", "visit_id is too long")
	}
	return nil
}

// RaiseAlert adds a to the operators' queue and sets its ID and create time,
// unless an unacknowledged alert of the same kind is already queued for the
// request: then a becomes that one and created is false. The partial unique
// index decides, so replicas raising the same alert at once queue one.
func (s *DB) RaiseAlert(ctx context.Context, a *carehex.Alert) (bool, error) {
	if err := validAlert(a); err != nil {
		return false, err
	}
	n := *a
	n.ID, n.CreateTime, n.AckTime, n.AckBy = carehex.NewID("alr"), s.stamp(), time.Time{}, ""
	created := false
	var existing *carehex.Alert
	err := s.inTx(ctx, "raise alert", func(tx *sql.Tx) error {
		// Take the request's row first, so that a move that would close
		// this alert (closeAlerts) either sees it or happens before the
		// status check below; then raise only while the condition holds.
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE service_requests SET update_time = update_time WHERE id = ?`), n.RequestID)
		if err != nil {
			return err
		}
		if c, err := res.RowsAffected(); err != nil {
			return err
		} else if c == 0 {
			return carehex.Errorf(carehex.ENOTFOUND, "request_id", "no service request %q", n.RequestID)
		}
		var status carehex.Status
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT status FROM service_requests WHERE id = ?`), n.RequestID).Scan(&status); err != nil {
			return err
		}
		if !carehex.AlertHolds(n.Kind, status) {
			return nil // the request moved on meanwhile: nothing to alert
		}
		res, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO alerts (id, request_id, visit_id, kind, message, create_time, ack_time, ack_by,
			code, params) VALUES (?, ?, ?, ?, ?, ?, 0, '', ?, ?) ON CONFLICT (request_id, kind) WHERE ack_time = 0 DO NOTHING`),
			n.ID, n.RequestID, n.VisitID, n.Kind, n.Message, micros(n.CreateTime), n.Code, alertParams(n.Params))
		if err != nil {
			return err
		}
		if c, err := res.RowsAffected(); err != nil {
			return err
		} else if c == 0 {
			existing, err = scanAlert(tx.QueryRowContext(ctx, s.rebind(alertSelect+` WHERE a.request_id = ? AND a.kind = ? AND a.ack_time = 0`),
				n.RequestID, n.Kind))
			return err
		}
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT r.resident_id, r.service_code, COALESCE(p.name, '') FROM service_requests r
			LEFT JOIN residents p ON p.id = r.resident_id WHERE r.id = ?`), n.RequestID).Scan(&n.ResidentID, &n.ServiceCode, &n.ResidentName); err != nil {
			return err
		}
		created = true
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "alert.raise", ObjectType: "alert", ObjectID: n.ID,
			Detail: "request=" + n.RequestID + " kind=" + n.Kind})
	})
	if err != nil {
		return false, err
	}
	if created {
		s.publish(ctx, carehex.ConsoleNotice)
	}
	if existing != nil {
		*a = *existing
	} else {
		*a = n
	}
	return created, nil
}

// Alerts lists the alert queue, newest first; only unacknowledged ones if
// openOnly. limit defaults to 100, at most 500.
func (s *DB) Alerts(ctx context.Context, openOnly bool, limit int) ([]*carehex.Alert, error) {
	q := alertSelect
	if openOnly {
		q += ` WHERE a.ack_time = 0`
	}
	return queryAll(ctx, s, "list alerts", scanAlert, s.rebind(q+` ORDER BY a.create_time DESC, a.id DESC LIMIT ?`),
		clampLimit(limit, defaultAlertLimit, maxAlertLimit))
}

// AcknowledgeAlert records that actor has seen alert id and taken it on. An
// alert already acknowledged is returned as it is, with its first
// acknowledgement: two operators clicking at once is not an error.
func (s *DB) AcknowledgeAlert(ctx context.Context, id, actor string) (*carehex.Alert, error) {
	if actor == "" {
		actor = actorOf(ctx)
	}
	now := s.stamp()
	var (
		out   *carehex.Alert
		acked bool
	)
	err := s.inTx(ctx, "acknowledge alert", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE alerts SET ack_time = ?, ack_by = ? WHERE id = ? AND ack_time = 0`),
			micros(now), actor, id)
		if err != nil {
			return err
		}
		c, err := res.RowsAffected()
		if err != nil {
			return err
		}
		out, err = scanAlert(tx.QueryRowContext(ctx, s.rebind(alertSelect+` WHERE a.id = ?`), id))
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "id", "no alert %q", id)
		}
		if err != nil || c == 0 {
			return err
		}
		acked = true
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "alert.ack", ObjectType: "alert", ObjectID: id,
			Detail: "request=" + out.RequestID + " kind=" + out.Kind})
	})
	if err != nil {
		return nil, err
	}
	if acked {
		s.publish(ctx, carehex.ConsoleNotice)
	}
	return out, nil
}
