package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// This file keeps the mobile API's records: the events phones report about
// visits, applied once per event_id and in device-time order, with the
// visit's moves, the exception alerts and the families' notifications in the
// same transaction.

var _ carehex.VisitEventStore = (*DB)(nil)

// FamilyMember returns a family link by its ID.
func (s *DB) FamilyMember(ctx context.Context, id string) (*carehex.FamilyMember, error) {
	var (
		m       carehex.FamilyMember
		created int64
	)
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT id, resident_id, name, phone, relation, create_time
		FROM family_members WHERE id = ?`), id).Scan(&m.ID, &m.ResidentID, &m.Name, &m.Phone, &m.Relation, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "id", "no family member %q", id)
	}
	if err != nil {
		return nil, s.wrap(err, "read family member")
	}
	m.CreateTime = fromMicros(created)
	return &m, nil
}

const visitEventSelect = `SELECT event_id, visit_id, provider_id, type, lat, lng, accuracy_m, device_time,
	receive_time, note, verified, exception, applied FROM visit_events`

func scanVisitEvent(sc interface{ Scan(...any) error }) (*carehex.VisitEvent, error) {
	var (
		e                 carehex.VisitEvent
		typ, exc          string
		dt, rt            int64
		verified, applied int64
	)
	if err := sc.Scan(&e.EventID, &e.VisitID, &e.ProviderID, &typ, &e.Position.Lat, &e.Position.Lng, &e.AccuracyM,
		&dt, &rt, &e.Note, &verified, &exc, &applied); err != nil {
		return nil, err
	}
	e.Type, e.DeviceTime, e.ReceiveTime = carehex.VisitEventType(typ), fromMicros(dt), fromMicros(rt)
	e.Verified, e.Applied = verified != 0, applied != 0
	e.Exceptions = strings.Fields(exc)
	return &e, nil
}

// VisitEvents lists a visit's events by device time.
func (s *DB) VisitEvents(ctx context.Context, visitID string) ([]*carehex.VisitEvent, error) {
	return queryAll(ctx, s, "list visit events", scanVisitEvent,
		s.rebind(visitEventSelect+` WHERE visit_id = ? ORDER BY device_time, event_id`), visitID)
}

func (s *DB) txVisitEvents(ctx context.Context, tx *sql.Tx, visitID string) ([]*carehex.VisitEvent, error) {
	rows, err := tx.QueryContext(ctx, s.rebind(visitEventSelect+` WHERE visit_id = ? ORDER BY device_time, event_id`), visitID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*carehex.VisitEvent
	for rows.Next() {
		e, err := scanVisitEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// statusRank says how far a visit has come, on the scale of EventType ranks.
func statusRank(status carehex.Status) int {
	switch status {
	case carehex.StatusEnRoute:
		return 1
	case carehex.StatusInProgress:
		return 2
	case carehex.StatusCompleted, carehex.StatusCancelled:
		return 3
	}
	return 0
}

// notification kinds written to the outbox per event type.
var notifyKind = map[carehex.VisitEventType]string{
	carehex.VisitDepart:   "arriving",
	carehex.VisitArrive:   "arrived",
	carehex.VisitComplete: "completed",
	carehex.VisitNoShow:   "exception",
}

// RecordVisitEvent applies a phone's event to its visit; see carehex.VisitEventStore.
func (s *DB) RecordVisitEvent(ctx context.Context, e *carehex.VisitEvent, rules carehex.VisitEventRules) (*carehex.VisitEvent, *carehex.Visit, bool, error) {
	if e == nil || e.EventID == "" || e.VisitID == "" || e.ProviderID == "" || !e.Type.Valid() || e.DeviceTime.IsZero() {
		return nil, nil, false, carehex.Errorf(carehex.EINVALID, "event", "event_id, visit, provider, type and device_time are required")
	}
	now := s.stamp()
	n := *e
	n.DeviceTime, n.ReceiveTime, n.Applied = precise(n.DeviceTime), now, false
	n.Exceptions = append([]string(nil), e.Exceptions...)
	actor := string(carehex.KindProvider) + ":" + n.ProviderID
	var (
		out        *carehex.VisitEvent
		v          *carehex.Visit
		replayed   bool
		residentID string
		notified   bool // a family notification went to the outbox
	)
	err := s.inTx(ctx, "record visit event", func(tx *sql.Tx) error {
		// Taking the visit's row serialises the events of one visit on
		// PostgreSQL; it also checks that the visit is the provider's.
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE visits SET update_time = update_time WHERE id = ? AND provider_id = ?`),
			n.VisitID, n.ProviderID)
		if err != nil {
			return err
		}
		if c, err := res.RowsAffected(); err != nil {
			return err
		} else if c == 0 {
			return carehex.Errorf(carehex.ENOTFOUND, "id", "no visit %q", n.VisitID)
		}
		prev, err := scanVisitEvent(tx.QueryRowContext(ctx, s.rebind(visitEventSelect+` WHERE event_id = ?`), n.EventID))
		switch {
		case err == nil:
			if prev.VisitID != n.VisitID || prev.Type != n.Type {
				return carehex.Errorf(carehex.ECONFLICT, "event_id", "event_id %q was already used for another event", n.EventID)
			}
			out, replayed = prev, true
			v, err = scanVisit(tx.QueryRowContext(ctx, s.rebind(visitSelect+` WHERE id = ?`), n.VisitID))
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		prior, err := s.txVisitEvents(ctx, tx, n.VisitID)
		if err != nil {
			return err
		}
		all := append(prior, &n)
		if err := carehex.CheckVisitSequence(all, rules); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO visit_events (event_id, visit_id, provider_id, type, lat, lng,
			accuracy_m, device_time, receive_time, note, verified, exception, applied) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`),
			n.EventID, n.VisitID, n.ProviderID, string(n.Type), n.Position.Lat, n.Position.Lng, n.AccuracyM,
			micros(n.DeviceTime), micros(now), n.Note, boolInt(n.Verified), strings.Join(n.Exceptions, " ")); err != nil {
			return err
		}
		v, err = scanVisit(tx.QueryRowContext(ctx, s.rebind(visitSelect+` WHERE id = ?`), n.VisitID))
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT resident_id FROM service_requests WHERE id = ?`), v.RequestID).
			Scan(&residentID); err != nil {
			return err
		}
		newExc := map[*carehex.VisitEvent][]string{&n: n.Exceptions}
		var arrive *carehex.VisitEvent
		for _, ev := range carehex.SortVisitEventsFor(all, rules) {
			if ev.Type == carehex.VisitArrive {
				arrive = ev
			}
			if ev.Applied {
				continue
			}
			target := ev.Type.Target()
			switch {
			case v.Live() && carehex.CanTransition(v.Status, target):
				if ev.Type == carehex.VisitComplete && arrive != nil && rules.ShortVisit(arrive.EventTime(), ev.EventTime()) {
					ev.Exceptions = append(ev.Exceptions, carehex.ExceptionShortVisit)
					newExc[ev] = append(newExc[ev], carehex.ExceptionShortVisit)
				}
				reason := "provider reported " + string(ev.Type)
				if ev.Type == carehex.VisitNoShow {
					reason = "no_show"
				}
				if v, err = s.moveVisit(ctx, tx, v.ID, target, actor, reason, ev.EventTime(), now); err != nil {
					return err
				}
				if err := s.notify(ctx, tx, v, residentID, notifyKind[ev.Type], ev.EventTime()); err != nil {
					return err
				}
				notified = true
			case !v.Live() && ev.Type.Order() == 3 && v.Status != target:
				return carehex.Errorf(carehex.ECONFLICT, "type", "the visit is %s; it cannot be marked %s", v.Status, ev.Type)
			case statusRank(v.Status) >= ev.Type.Order():
				// The visit is already past it (a depart that arrived after
				// the arrive): recorded for the history, nothing to move.
			default:
				continue // waits for the event it follows
			}
			ev.Applied = true
			if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE visit_events SET applied = 1, exception = ? WHERE event_id = ?`),
				strings.Join(ev.Exceptions, " "), ev.EventID); err != nil {
				return err
			}
		}
		for ev, kinds := range newExc {
			for _, kind := range kinds {
				if err := s.raiseAlertTx(ctx, tx, v, kind, carehex.ExceptionMessage(kind, ev), now); err != nil {
					return err
				}
				if err := s.notify(ctx, tx, v, residentID, "exception", now); err != nil {
					return err
				}
				notified = true
			}
		}
		out = &n
		if err := s.queueCallbackTx(ctx, tx, v, now); err != nil { // a completed visit's callback (quality.go)
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "visit.event", ObjectType: "visit",
			ObjectID: n.VisitID, Detail: string(n.Type) + " " + n.EventID})
	})
	if err != nil {
		return nil, nil, false, err
	}
	if !replayed {
		ns := requestNotices(v.RequestID, residentID, v.ProviderID)
		if notified {
			ns = append(ns, carehex.OutboxNotice)
		}
		s.publish(ctx, ns...)
	}
	return out, v, replayed, nil
}

// raiseAlertTx queues an exception alert unless one of the kind is open for
// the request, inside the caller's transaction.
func (s *DB) raiseAlertTx(ctx context.Context, tx *sql.Tx, v *carehex.Visit, kind, msg string, now interface{ UnixMicro() int64 }) error {
	_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO alerts (id, request_id, visit_id, kind, message, create_time, ack_time, ack_by, code)
		VALUES (?, ?, ?, ?, ?, ?, 0, '', ?) ON CONFLICT (request_id, kind) WHERE ack_time = 0 DO NOTHING`),
		carehex.NewID("alr"), v.RequestID, v.ID, kind, msg, now.UnixMicro(), kind)
	return err
}

// notify writes a family notification to the outbox; its dedupe key makes a
// second one for the same visit and kind a no-op, and lets a receiver drop
// repeats of a delivery.
func (s *DB) notify(ctx context.Context, tx *sql.Tx, v *carehex.Visit, residentID, kind string, at interface{ UnixMicro() int64 }) error {
	return s.notifyKey(ctx, tx, v, residentID, kind, v.ID+":"+kind, at)
}

// notifyKey is notify with its own dedupe key, for a notice that is not
// once per visit and kind (a planned visit handed off).
func (s *DB) notifyKey(ctx context.Context, tx *sql.Tx, v *carehex.Visit, residentID, kind, key string, at interface{ UnixMicro() int64 }) error {
	payload, err := json.Marshal(map[string]any{"kind": kind, "request_id": v.RequestID, "visit_id": v.ID,
		"status": v.Status, "time_us": at.UnixMicro()})
	if err != nil {
		return err
	}
	now := s.stamp()
	_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO outbox (id, dedupe_key, kind, request_id, resident_id, payload,
		create_time, attempts, next_try_time, sent_time) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, 0) ON CONFLICT (dedupe_key) DO NOTHING`),
		carehex.NewID("ntf"), key, kind, v.RequestID, residentID, string(payload), micros(now), micros(now))
	return err
}

// OverdueVisits lists visits the provider has not arrived at (assigned or
// en route) that were due before startBefore and whose request has never had
// an alert of kind, oldest first; see carehex.VisitStore.
func (s *DB) OverdueVisits(ctx context.Context, kind string, startBefore time.Time, limit int) ([]*carehex.Visit, error) {
	return queryAll(ctx, s, "overdue visits", scanVisit, s.rebind(visitSelect+` v
		WHERE v.status IN (?, ?) AND v.planned_start < ?
		AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.request_id = v.request_id AND a.kind = ?)
		ORDER BY v.planned_start, v.id LIMIT ?`),
		string(carehex.StatusAssigned), string(carehex.StatusEnRoute), micros(startBefore), kind, clampLimit(limit, 100, 1000))
}
