package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/carehex/carehex"
)

var _ carehex.RequestNoter = (*DB)(nil)

// NoteRequest appends an event recording an action on a request without
// moving it (an escalation step), audited, in one transaction.
func (s *DB) NoteRequest(ctx context.Context, requestID, typ, actor, reason string) (*carehex.Event, error) {
	if strings.TrimSpace(requestID) == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "request_id", "request_id is required")
	}
	if err := carehex.ValidateText("type", typ, carehex.MaxNameLen, carehex.SingleLine); err != nil || typ == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "type", "event type must be a short word")
	}
	if err := carehex.ValidateText("reason", reason, carehex.MaxTextLen, carehex.MultiLine); err != nil {
		return nil, err
	}
	if actor == "" {
		actor = actorOf(ctx)
	}
	e := &carehex.Event{RequestID: requestID, Type: typ, Actor: actor, Reason: reason, Time: s.stamp()}
	var residentID, providerID string
	err := s.inTx(ctx, "note request", func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT status, resident_id, provider_id FROM service_requests WHERE id = ?`),
			requestID).Scan(&status, &residentID, &providerID)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "request_id", "no service request %q", requestID)
		}
		if err != nil {
			return err
		}
		e.FromStatus, e.ToStatus = carehex.Status(status), carehex.Status(status)
		if err := s.appendEvent(ctx, tx, e); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "request." + typ, ObjectType: "request",
			ObjectID: requestID, Detail: reason})
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, requestNotices(requestID, residentID, providerID)...)
	return e, nil
}
