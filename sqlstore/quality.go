package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carehex/carehex"
)

// Callbacks (回访) and complaints (投诉), issue 13; the rules are the root's
// quality.go. Every step writes an audit record in its own transaction, so
// it joins the hash-chained trail like every other change.

var _ carehex.QualityStore = (*DB)(nil)

// qualityRules holds the store's QualityRules (SetQualityRules).
type qualityRules struct {
	mu sync.RWMutex
	r  *carehex.QualityRules
}

// SetQualityRules sets the callback and complaint settings the store
// applies; until called it uses carehex.DefaultQualityRules.
func (s *DB) SetQualityRules(r carehex.QualityRules) {
	s.quality.mu.Lock()
	defer s.quality.mu.Unlock()
	s.quality.r = &r
}

func (s *DB) qualityRules() carehex.QualityRules {
	s.quality.mu.RLock()
	defer s.quality.mu.RUnlock()
	if s.quality.r == nil {
		return carehex.DefaultQualityRules()
	}
	return *s.quality.r
}

// exceptionKinds are the alert kinds that make a visit an EVV exception.
var exceptionKinds = []any{carehex.ExceptionOutsideGeofence, carehex.ExceptionShortVisit, carehex.ExceptionCheckoutFar,
	carehex.ExceptionLateArrival, carehex.ExceptionMissedVisit}

// queueCallbackTx applies the callback rule to a visit that has just
// completed, inside the transaction that completed it: its exception alerts
// and events are already written there. A visit gets one task at most; a
// second replica's insert is a no-op.
func (s *DB) queueCallbackTx(ctx context.Context, tx *sql.Tx, v *carehex.Visit, now time.Time) error {
	if v.Status != carehex.StatusCompleted {
		return nil
	}
	var residentID, orgID string
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT r.resident_id, COALESCE(p.org_id, '') FROM service_requests r
		LEFT JOIN providers p ON p.id = ? WHERE r.id = ?`), v.ProviderID, v.RequestID).Scan(&residentID, &orgID); err != nil {
		return err
	}
	var exc, earlier int
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT
		(SELECT COUNT(*) FROM alerts WHERE request_id = ? AND kind IN (`+placeholders(len(exceptionKinds))+`))
		+ (SELECT COUNT(*) FROM visit_events WHERE visit_id = ? AND exception <> ''),
		(SELECT COUNT(*) FROM visits x JOIN service_requests q ON q.id = x.request_id
			WHERE q.resident_id = ? AND x.status = ? AND x.id <> ?)`),
		append(append([]any{v.RequestID}, exceptionKinds...), v.ID, residentID, string(carehex.StatusCompleted), v.ID)...).
		Scan(&exc, &earlier); err != nil {
		return err
	}
	reason := carehex.CallbackReasonFor(v.ID, earlier == 0, exc > 0, s.qualityRules().CallbackShare)
	if reason == "" {
		return nil
	}
	id := carehex.NewID("cbk")
	res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO callbacks (id, visit_id, request_id, resident_id, provider_id, org_id,
		reason, priority, create_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (visit_id) WHERE complaint_id = '' DO NOTHING`),
		id, v.ID, v.RequestID, residentID, v.ProviderID, orgID, string(reason), reason.Priority(), micros(now))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	return s.audit(ctx, tx, &carehex.AuditRecord{Action: "callback.queue", ObjectType: "callback", ObjectID: id,
		Detail: "visit=" + v.ID + " reason=" + string(reason)})
}

const callbackSelect = `SELECT c.id, c.visit_id, c.request_id, c.resident_id, c.provider_id, c.org_id, c.complaint_id, c.reason,
	c.status, c.claimed_by, c.claim_expire_time, c.attempts, c.satisfaction, c.service_done, c.notes, c.create_time,
	c.done_time, c.done_by, COALESCE(p.name, ''), COALESCE(r.service_code, '')
	FROM callbacks c LEFT JOIN residents p ON p.id = c.resident_id LEFT JOIN service_requests r ON r.id = c.request_id`

func scanCallback(sc interface{ Scan(...any) error }) (*carehex.Callback, error) {
	var (
		c                    carehex.Callback
		reason, status, done string
		claim, ct, dt        int64
	)
	if err := sc.Scan(&c.ID, &c.VisitID, &c.RequestID, &c.ResidentID, &c.ProviderID, &c.OrgID, &c.ComplaintID, &reason,
		&status, &c.ClaimedBy, &claim, &c.Attempts, &c.Satisfaction, &done, &c.Notes, &ct, &dt, &c.DoneBy,
		&c.ResidentName, &c.ServiceCode); err != nil {
		return nil, err
	}
	c.Reason, c.Status, c.ServiceDone = carehex.CallbackReason(reason), carehex.CallbackStatus(status), carehex.ServiceDone(done)
	c.ClaimExpireTime, c.CreateTime, c.DoneTime = fromMicros(claim), fromMicros(ct), fromMicros(dt)
	return &c, nil
}

// Callback returns one callback task.
func (s *DB) Callback(ctx context.Context, id string) (*carehex.Callback, error) {
	c, err := scanCallback(s.db.QueryRowContext(ctx, s.rebind(callbackSelect+` WHERE c.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "id", "no callback %q", id)
	}
	return c, s.wrap(err, "read callback")
}

// qualityWhere builds the filter's conditions on table alias t (callbacks
// or complaints), with p the residents' alias; timeCol is the period's
// column.
func qualityWhere(f carehex.QualityFilter, t, timeCol string) (string, []any) {
	var conds []string
	var args []any
	if f.Area != "" {
		conds, args = append(conds, "p.district = ?"), append(args, f.Area)
	}
	if f.Street != "" {
		conds, args = append(conds, "p.street = ?"), append(args, f.Street)
	}
	if f.OrgID != "" {
		conds, args = append(conds, t+".org_id = ?"), append(args, f.OrgID)
	}
	if !f.From.IsZero() {
		conds, args = append(conds, t+"."+timeCol+" >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, t+"."+timeCol+" < ?"), append(args, micros(f.To))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// residentsJoin joins the residents (alias p) to table alias t when the
// filter names an area; without one the figures need no resident.
func residentsJoin(f carehex.QualityFilter, t string) string {
	if f.Area == "" && f.Street == "" {
		return ""
	}
	return ` JOIN residents p ON p.id = ` + t + `.resident_id`
}

func and(where, cond string) string {
	if where == "" {
		return " WHERE " + cond
	}
	return where + " AND " + cond
}

// Callbacks lists callback tasks: with Status open, the queue, most
// important first, then those tried least (an unanswered call goes behind
// the untried of its kind), then oldest; otherwise newest first. The period is of
// the queueing time, or of the result's for done and unreachable tasks
// (as QualitySummary counts them).
func (s *DB) Callbacks(ctx context.Context, f carehex.QualityFilter) ([]*carehex.Callback, error) {
	timeCol := "create_time"
	if f.Satisfaction != 0 || f.Status == string(carehex.CallbackDone) || f.Status == string(carehex.CallbackUnreachable) {
		timeCol = "done_time"
	}
	where, args := qualityWhere(f, "c", timeCol)
	if f.Satisfaction != 0 {
		if f.Satisfaction < 1 || f.Satisfaction > 5 {
			return nil, carehex.Errorf(carehex.EINVALID, "satisfaction", "satisfaction must be 1 to 5, got %d", f.Satisfaction).
				With(carehex.MsgSatisfactionRange, "field", "satisfaction")
		}
		where, args = and(where, "c.status = 'done' AND c.satisfaction = ?"), append(args, f.Satisfaction)
	}
	order := ` ORDER BY c.create_time DESC, c.id DESC`
	switch carehex.CallbackStatus(f.Status) {
	case "":
	case carehex.CallbackOpen:
		order = ` ORDER BY c.priority, c.attempts, c.create_time, c.id`
		fallthrough
	case carehex.CallbackDone, carehex.CallbackUnreachable, carehex.CallbackCancelled:
		where, args = and(where, "c.status = ?"), append(args, f.Status)
	default:
		return nil, carehex.Errorf(carehex.EINVALID, "status", "status must be open, done, unreachable or cancelled, got %q", f.Status).
			With(carehex.MsgInvalidEnum, "field", "status")
	}
	return queryAll(ctx, s, "list callbacks", scanCallback,
		s.rebind(callbackSelect+where+order+` LIMIT ?`), append(args, clampLimit(f.Limit, 100, 1000))...)
}

// ClaimCallback gives the task to the operator asking for the claim period,
// unless another operator's claim holds it: two operators never call the
// same person. Claiming one's own task again extends the claim.
func (s *DB) ClaimCallback(ctx context.Context, id string) (*carehex.Callback, error) {
	actor, now := actorOf(ctx), s.stamp()
	var out *carehex.Callback
	err := s.inTx(ctx, "claim callback", func(tx *sql.Tx) error {
		// One conditional update decides: on PostgreSQL the second of two
		// concurrent claims re-checks the condition after the first commits.
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE callbacks SET claimed_by = ?, claim_expire_time = ?
			WHERE id = ? AND status = ? AND (claimed_by = '' OR claimed_by = ? OR claim_expire_time <= ?)`),
			actor, micros(now.Add(s.qualityRules().CallbackClaim)), id, string(carehex.CallbackOpen), actor, micros(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if out, err = scanCallback(tx.QueryRowContext(ctx, s.rebind(callbackSelect+` WHERE c.id = ?`), id)); errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "id", "no callback %q", id)
		} else if err != nil {
			return err
		}
		if n == 0 {
			return callbackRefusal(out, actor, now)
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "callback.claim", ObjectType: "callback", ObjectID: id,
			Detail: "visit=" + out.VisitID})
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, carehex.ConsoleNotice)
	return out, nil
}

// callbackRefusal is why actor may not work on c now, nil if she may.
func callbackRefusal(c *carehex.Callback, actor string, now time.Time) error {
	if c.Status != carehex.CallbackOpen {
		return carehex.Errorf(carehex.ECONFLICT, "id", "the callback is %s already", c.Status).
			With(carehex.MsgCallbackClosed)
	}
	if c.ClaimedBy != "" && c.ClaimedBy != actor && c.ClaimExpireTime.After(now) {
		return carehex.Errorf(carehex.ECONFLICT, "id", "%s is calling about this visit", c.ClaimedBy).
			With(carehex.MsgCallbackClaimed)
	}
	return nil
}

// NextCallback claims the most important, oldest open task nobody holds
// (in area, a district, when given); ENOTFOUND when the queue is empty.
func (s *DB) NextCallback(ctx context.Context, area string) (*carehex.Callback, error) {
	actor, now := actorOf(ctx), s.stamp()
	for range 5 {
		args := []any{string(carehex.CallbackOpen), actor, micros(now)}
		q := `SELECT c.id FROM callbacks c LEFT JOIN residents p ON p.id = c.resident_id
			WHERE c.status = ? AND (c.claimed_by = '' OR c.claimed_by = ? OR c.claim_expire_time <= ?)`
		if area != "" {
			q, args = q+` AND p.district = ?`, append(args, area)
		}
		ids, err := queryAll(ctx, s, "next callback", func(sc interface{ Scan(...any) error }) (string, error) {
			var id string
			return id, sc.Scan(&id)
		}, s.rebind(q+` ORDER BY c.priority, c.attempts, c.create_time, c.id LIMIT 5`), args...)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			c, err := s.ClaimCallback(ctx, id)
			if carehex.ErrorCode(err) == carehex.ECONFLICT {
				continue // another operator took it meanwhile
			}
			return c, err
		}
	}
	return nil, carehex.Errorf(carehex.ENOTFOUND, "", "no callback waiting")
}

// RecordCallback records a call: unreachable (one attempt more; the task
// goes back to the queue, or closes as unreachable after
// QualityRules.CallbackAttempts), or the resident's answers. A complaint's
// callback answered while the complaint awaits verification moves it to
// verified in the same transaction.
func (s *DB) RecordCallback(ctx context.Context, id string, r carehex.CallbackResult) (*carehex.Callback, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	actor, now, rules := actorOf(ctx), s.stamp(), s.qualityRules()
	var out *carehex.Callback
	err := s.inTx(ctx, "record callback", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE callbacks SET attempts = attempts WHERE id = ?`), id); err != nil {
			return err
		}
		c, err := scanCallback(tx.QueryRowContext(ctx, s.rebind(callbackSelect+` WHERE c.id = ?`), id))
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "id", "no callback %q", id)
		}
		if err != nil {
			return err
		}
		if err := callbackRefusal(c, actor, now); err != nil {
			return err
		}
		var rec carehex.AuditRecord
		if r.Unreachable {
			c.Attempts++
			c.ClaimedBy, c.ClaimExpireTime = "", time.Time{}
			if c.Attempts >= max(rules.CallbackAttempts, 1) {
				c.Status, c.DoneTime, c.DoneBy = carehex.CallbackUnreachable, now, actor
			}
			if r.Notes != "" {
				c.Notes = r.Notes
			}
			rec = carehex.AuditRecord{Action: "callback.unreachable", Detail: fmt.Sprintf("visit=%s attempts=%d status=%s", c.VisitID, c.Attempts, c.Status)}
		} else {
			c.Status, c.Satisfaction, c.ServiceDone, c.Notes = carehex.CallbackDone, r.Satisfaction, r.ServiceDone, r.Notes
			c.DoneTime, c.DoneBy = now, actor
			rec = carehex.AuditRecord{Action: "callback.record",
				Detail: fmt.Sprintf("visit=%s satisfaction=%d service_done=%s", c.VisitID, c.Satisfaction, c.ServiceDone)}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE callbacks SET status = ?, claimed_by = ?, claim_expire_time = ?, attempts = ?,
			satisfaction = ?, service_done = ?, notes = ?, done_time = ?, done_by = ? WHERE id = ?`),
			string(c.Status), c.ClaimedBy, micros(c.ClaimExpireTime), c.Attempts, c.Satisfaction, string(c.ServiceDone), c.Notes,
			micros(c.DoneTime), c.DoneBy, id); err != nil {
			return err
		}
		rec.Actor, rec.ObjectType, rec.ObjectID = actor, "callback", id
		if err := s.audit(ctx, tx, &rec); err != nil {
			return err
		}
		if c.Status == carehex.CallbackDone && c.ComplaintID != "" {
			var st string
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT status FROM complaints WHERE id = ?`), c.ComplaintID).Scan(&st); err != nil {
				return err
			}
			if carehex.ComplaintStatus(st) == carehex.ComplaintResponded {
				note := fmt.Sprintf("callback %s: satisfaction %d, service done %s", id, c.Satisfaction, c.ServiceDone)
				if _, err := s.moveComplaintTx(ctx, tx, c.ComplaintID, carehex.ComplaintVerified, note, actor, now); err != nil {
					return err
				}
			}
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, carehex.ConsoleNotice)
	return out, nil
}

const complaintSelect = `SELECT k.id, k.resident_id, k.complainant, k.complainant_name, k.visit_id, k.request_id, k.provider_id,
	k.org_id, k.description, k.status, k.response, k.resolution, k.callback_id, k.due_time, k.create_time, k.update_time,
	k.created_by, COALESCE(p.name, '') FROM complaints k LEFT JOIN residents p ON p.id = k.resident_id`

func scanComplaint(sc interface{ Scan(...any) error }) (*carehex.Complaint, error) {
	var (
		c           carehex.Complaint
		who, status string
		due, ct, ut int64
	)
	if err := sc.Scan(&c.ID, &c.ResidentID, &who, &c.ComplainantName, &c.VisitID, &c.RequestID, &c.ProviderID, &c.OrgID,
		&c.Description, &status, &c.Response, &c.Resolution, &c.CallbackID, &due, &ct, &ut, &c.CreatedBy, &c.ResidentName); err != nil {
		return nil, err
	}
	c.Complainant, c.Status = carehex.Complainant(who), carehex.ComplaintStatus(status)
	c.DueTime, c.CreateTime, c.UpdateTime = fromMicros(due), fromMicros(ct), fromMicros(ut)
	return &c, nil
}

// CreateComplaint logs a complaint. Against a visit, the visit must be the
// resident's, and its carer and organisation are recorded with it; against
// a carer, the carer's organisation.
func (s *DB) CreateComplaint(ctx context.Context, c *carehex.Complaint) error {
	if c == nil {
		return carehex.Required("complaint")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	n := *c
	n.ID, n.Status, n.Response, n.Resolution, n.CallbackID = carehex.NewID("cmp"), carehex.ComplaintOpen, "", "", ""
	now := s.stamp()
	n.CreateTime, n.UpdateTime, n.CreatedBy = now, now, actorOf(ctx)
	n.DueTime = precise(s.qualityRules().Due(carehex.ComplaintOpen, now))
	err := s.inTx(ctx, "create complaint", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT name FROM residents WHERE id = ?`), n.ResidentID).Scan(&n.ResidentName); errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "resident_id", "no resident %q", n.ResidentID)
		} else if err != nil {
			return err
		}
		if n.VisitID != "" {
			var residentID string
			err := tx.QueryRowContext(ctx, s.rebind(`SELECT v.request_id, v.provider_id, r.resident_id FROM visits v
				JOIN service_requests r ON r.id = v.request_id WHERE v.id = ?`), n.VisitID).Scan(&n.RequestID, &n.ProviderID, &residentID)
			if errors.Is(err, sql.ErrNoRows) {
				return carehex.Errorf(carehex.ENOTFOUND, "visit_id", "no visit %q", n.VisitID)
			} else if err != nil {
				return err
			}
			if residentID != n.ResidentID {
				return carehex.Errorf(carehex.EINVALID, "visit_id", "visit %s was not for this resident", n.VisitID)
			}
		}
		if n.ProviderID != "" {
			err := tx.QueryRowContext(ctx, s.rebind(`SELECT org_id FROM providers WHERE id = ?`), n.ProviderID).Scan(&n.OrgID)
			if errors.Is(err, sql.ErrNoRows) {
				return carehex.Errorf(carehex.ENOTFOUND, "provider_id", "no provider %q", n.ProviderID)
			} else if err != nil {
				return err
			}
		} else {
			var one int
			err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM organisations WHERE id = ?`), n.OrgID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return carehex.Errorf(carehex.ENOTFOUND, "org_id", "no organisation %q", n.OrgID)
			} else if err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO complaints (id, resident_id, complainant, complainant_name, visit_id,
			request_id, provider_id, org_id, description, status, due_time, create_time, update_time, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			n.ID, n.ResidentID, string(n.Complainant), n.ComplainantName, n.VisitID, n.RequestID, n.ProviderID, n.OrgID,
			n.Description, string(n.Status), micros(n.DueTime), micros(now), micros(now), n.CreatedBy); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: n.CreatedBy, Action: "complaint.create", ObjectType: "complaint", ObjectID: n.ID,
			Detail: fmt.Sprintf("resident=%s visit=%s provider=%s org=%s complainant=%s", n.ResidentID, n.VisitID, n.ProviderID, n.OrgID, n.Complainant)})
	})
	if err != nil {
		return err
	}
	s.publish(ctx, carehex.ConsoleNotice)
	*c = n
	return nil
}

// Complaint returns one complaint.
func (s *DB) Complaint(ctx context.Context, id string) (*carehex.Complaint, error) {
	c, err := scanComplaint(s.db.QueryRowContext(ctx, s.rebind(complaintSelect+` WHERE k.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "id", "no complaint %q", id)
	}
	return c, s.wrap(err, "read complaint")
}

// The QualityFilter.Status of complaints past their step's due time, and
// of those not yet in a final status (what QualitySummary counts open).
const (
	ComplaintOverdue = "overdue"
	ComplaintActive  = "active"
)

// Complaints lists complaints, newest first; Status is a ComplaintStatus,
// "overdue", "active", or empty for all.
func (s *DB) Complaints(ctx context.Context, f carehex.QualityFilter) ([]*carehex.Complaint, error) {
	where, args := qualityWhere(f, "k", "create_time")
	switch st := carehex.ComplaintStatus(f.Status); {
	case st == "":
	case f.Status == ComplaintOverdue:
		where, args = and(where, "k.due_time > 0 AND k.due_time < ?"), append(args, micros(s.stamp()))
	case f.Status == ComplaintActive:
		where, args = and(where, "k.status NOT IN (?, ?, ?)"), append(args, string(carehex.ComplaintClosed),
			string(carehex.ComplaintRejected), string(carehex.ComplaintWithdrawn))
	case st.Valid():
		where, args = and(where, "k.status = ?"), append(args, f.Status)
	default:
		return nil, carehex.Errorf(carehex.EINVALID, "status", "status must be a complaint status, overdue or active, got %q", f.Status).
			With(carehex.MsgInvalidEnum, "field", "status")
	}
	return queryAll(ctx, s, "list complaints", scanComplaint,
		s.rebind(complaintSelect+where+` ORDER BY k.create_time DESC, k.id DESC LIMIT ?`), append(args, clampLimit(f.Limit, 100, 1000))...)
}

// MoveComplaint takes the complaint's next step (carehex.ComplaintTransitions)
// with the operator's note: the organisation's response for responded, the
// reason for rejected, withdrawn and closed. Verified is reached only by the
// verification callback (RecordCallback). A refused step changes nothing.
func (s *DB) MoveComplaint(ctx context.Context, id string, to carehex.ComplaintStatus, note string) (*carehex.Complaint, error) {
	if !to.Valid() {
		return nil, carehex.Errorf(carehex.EINVALID, "status", "unknown complaint status %q", to).With(carehex.MsgInvalidEnum, "field", "status")
	}
	if err := carehex.ValidateText("note", note, carehex.MaxTextLen, carehex.MultiLine); err != nil {
		return nil, err
	}
	if (to == carehex.ComplaintResponded || to == carehex.ComplaintRejected) && carehex.Trimmed(note) == "" {
		return nil, carehex.Required("note")
	}
	if to == carehex.ComplaintVerified {
		return nil, carehex.Errorf(carehex.ECONFLICT, "status", "a complaint is verified by its callback, not by hand").
			With(carehex.MsgComplaintNeedsCall)
	}
	actor, now := actorOf(ctx), s.stamp()
	var out *carehex.Complaint
	err := s.inTx(ctx, "move complaint", func(tx *sql.Tx) error {
		var err error
		out, err = s.moveComplaintTx(ctx, tx, id, to, note, actor, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, carehex.ConsoleNotice)
	return out, nil
}

// moveComplaintTx is MoveComplaint inside the caller's transaction: the
// step, its new due time, the verification callback when the response is
// recorded, the overdue alert closed, and the audit record.
func (s *DB) moveComplaintTx(ctx context.Context, tx *sql.Tx, id string, to carehex.ComplaintStatus, note, actor string, now time.Time) (*carehex.Complaint, error) {
	// Taking the row first serialises two operators' steps on PostgreSQL.
	if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE complaints SET update_time = update_time WHERE id = ?`), id); err != nil {
		return nil, err
	}
	c, err := scanComplaint(tx.QueryRowContext(ctx, s.rebind(complaintSelect+` WHERE k.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "id", "no complaint %q", id)
	}
	if err != nil {
		return nil, err
	}
	from := c.Status
	if !carehex.CanMoveComplaint(from, to) {
		return nil, carehex.Errorf(carehex.ECONFLICT, "status", "a complaint cannot move from %s to %s", from, to).
			With(carehex.MsgComplaintStep)
	}
	c.Status, c.UpdateTime = to, now
	c.DueTime = precise(s.qualityRules().Due(to, now))
	switch to {
	case carehex.ComplaintResponded:
		c.Response = note
	case carehex.ComplaintReferred:
		if note != "" {
			c.Resolution = note
		}
	default:
		c.Resolution = note
	}
	if from == carehex.ComplaintResponded && to != carehex.ComplaintVerified {
		// Withdrawn, or the response sent back before anyone called: the
		// check of that response is no longer needed.
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE callbacks SET status = ?, claimed_by = '', claim_expire_time = 0, done_time = ?, done_by = ?
			WHERE complaint_id = ? AND status = ?`), string(carehex.CallbackCancelled), micros(now), actor, id, string(carehex.CallbackOpen))
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n > 0 {
			if err := s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "callback.cancel", ObjectType: "callback", ObjectID: c.CallbackID,
				Detail: "complaint=" + id + " " + string(from) + "→" + string(to)}); err != nil {
				return nil, err
			}
		}
	}
	if to == carehex.ComplaintResponded {
		// The callback that verifies the response: first in the queue.
		c.CallbackID = carehex.NewID("cbk")
		reason := carehex.CallbackComplaint
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO callbacks (id, visit_id, request_id, resident_id, provider_id, org_id,
			complaint_id, reason, priority, create_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			c.CallbackID, c.VisitID, c.RequestID, c.ResidentID, c.ProviderID, c.OrgID, c.ID, string(reason), reason.Priority(), micros(now)); err != nil {
			return nil, err
		}
		if err := s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "callback.queue", ObjectType: "callback", ObjectID: c.CallbackID,
			Detail: "complaint=" + c.ID + " reason=" + string(reason)}); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE complaints SET status = ?, due_time = ?, update_time = ?, response = ?, resolution = ?,
		callback_id = ? WHERE id = ?`), string(c.Status), micros(c.DueTime), micros(now), c.Response, c.Resolution, c.CallbackID, id); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "complaint." + string(to), ObjectType: "complaint", ObjectID: id,
		Detail: fmt.Sprintf("%s→%s", from, to)}); err != nil {
		return nil, err
	}
	// The step is done: its overdue alert, if any, has ended.
	res, err := tx.ExecContext(ctx, s.rebind(`UPDATE alerts SET ack_time = ?, ack_by = ?, close_reason = ?
		WHERE request_id = ? AND kind = ? AND ack_time = 0`), micros(now), actor, carehex.MsgClosedComplaint, id, carehex.AlertComplaintOverdue)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, err
	} else if n > 0 {
		if err := s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Action: "alert.close", ObjectType: "complaint", ObjectID: id,
			Detail: "kind=" + carehex.AlertComplaintOverdue + " reason=" + carehex.MsgClosedComplaint}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// RaiseComplaintAlerts queues an alert for each complaint whose step is
// past its due time at now and has had no alert since it entered that step;
// it returns how many it raised. Every replica may run it: the alerts'
// partial unique key keeps one.
func (s *DB) RaiseComplaintAlerts(ctx context.Context, now time.Time) (int, error) {
	type due struct {
		id, status string
		due        int64
	}
	late, err := queryAll(ctx, s, "overdue complaints", func(sc interface{ Scan(...any) error }) (due, error) {
		var d due
		return d, sc.Scan(&d.id, &d.status, &d.due)
	}, s.rebind(`SELECT k.id, k.status, k.due_time FROM complaints k WHERE k.due_time > 0 AND k.due_time < ?
		AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.request_id = k.id AND a.kind = ? AND a.create_time >= k.update_time)
		ORDER BY k.due_time LIMIT 500`), micros(now), carehex.AlertComplaintOverdue)
	if err != nil {
		return 0, err
	}
	raised := 0
	for _, d := range late {
		created := false
		err := s.inTx(ctx, "raise complaint alert", func(tx *sql.Tx) error {
			// The step may have been done since the read: raise only
			// while the complaint is still where it was.
			res, err := tx.ExecContext(ctx, s.rebind(`UPDATE complaints SET update_time = update_time WHERE id = ? AND status = ? AND due_time = ?`),
				d.id, d.status, d.due)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err
			}
			dueTime := fromMicros(d.due)
			words := carehex.Msg(carehex.AlertComplaintOverdue, "due_time", dueTime.Format(time.RFC3339))
			id := carehex.NewID("alr")
			res, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO alerts (id, request_id, visit_id, kind, message, create_time, ack_time, ack_by,
				code, params) VALUES (?, ?, '', ?, ?, ?, 0, '', ?, ?) ON CONFLICT (request_id, kind) WHERE ack_time = 0 DO NOTHING`),
				id, d.id, carehex.AlertComplaintOverdue, fmt.Sprintf("complaint %s is %s past its due time %s", d.id, d.status, dueTime.Format(time.RFC3339)),
				micros(now), words.Code, alertParams(words.Params))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err
			}
			created = true
			return s.audit(ctx, tx, &carehex.AuditRecord{Actor: "system", Action: "alert.raise", ObjectType: "alert", ObjectID: id,
				Detail: "complaint=" + d.id + " kind=" + carehex.AlertComplaintOverdue + " status=" + d.status})
		})
		if err != nil {
			return raised, err
		}
		if created {
			raised++
		}
	}
	if raised > 0 {
		s.publish(ctx, carehex.ConsoleNotice)
	}
	return raised, nil
}

// QualitySummary sums callbacks done in the period (by done time) and
// complaints logged in it (by create time), and counts the complaints open
// and overdue now, overall and per organisation, within the filter's area
// and organisation.
func (s *DB) QualitySummary(ctx context.Context, f carehex.QualityFilter) (*carehex.QualitySummary, error) {
	now := micros(s.stamp())
	out := &carehex.QualitySummary{}
	byOrg := map[string]*carehex.OrgQuality{}
	org := func(id string) *carehex.OrgQuality {
		if o := byOrg[id]; o != nil {
			return o
		}
		o := &carehex.OrgQuality{OrgID: id}
		byOrg[id] = o
		return o
	}
	// Callbacks: by organisation, status, satisfaction and answer.
	where, args := qualityWhere(f, "c", "done_time")
	type cbRow struct {
		org, status, done string
		sat, n            int
	}
	cbs, err := queryAll(ctx, s, "callback summary", func(sc interface{ Scan(...any) error }) (cbRow, error) {
		var r cbRow
		return r, sc.Scan(&r.org, &r.status, &r.sat, &r.done, &r.n)
	}, s.rebind(`SELECT c.org_id, c.status, c.satisfaction, c.service_done, COUNT(*) FROM callbacks c`+
		residentsJoin(f, "c")+and(where, "c.done_time > 0")+`
		GROUP BY c.org_id, c.status, c.satisfaction, c.service_done`), args...)
	if err != nil {
		return nil, err
	}
	sums := map[string]int{}
	total := 0
	for _, r := range cbs {
		// Read by the done time alone (the covering index callbacks_done);
		// cancelled checks are no result.
		switch carehex.CallbackStatus(r.status) {
		case carehex.CallbackUnreachable:
			out.Unreachable += r.n
			continue
		case carehex.CallbackDone:
		default:
			continue
		}
		o := org(r.org)
		out.Callbacks += r.n
		o.Callbacks += r.n
		total += r.sat * r.n
		sums[r.org] += r.sat * r.n
		if r.sat >= 1 && r.sat <= 5 {
			out.Distribution[r.sat-1] += r.n
		}
		if carehex.ServiceDone(r.done) != carehex.DoneYes {
			out.NotAsLogged += r.n
			o.NotAsLogged += r.n
		}
	}
	if out.Callbacks > 0 {
		out.Satisfaction = float64(total) / float64(out.Callbacks)
	}
	for id, sum := range sums {
		if o := byOrg[id]; o.Callbacks > 0 {
			o.Satisfaction = float64(sum) / float64(o.Callbacks)
		}
	}
	openWhere, openArgs := qualityWhere(carehex.QualityFilter{Area: f.Area, Street: f.Street, OrgID: f.OrgID}, "c", "")
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM callbacks c`+residentsJoin(f, "c")+
		and(openWhere, "c.status = 'open'")), openArgs...).Scan(&out.Open); err != nil {
		return nil, s.wrap(err, "callback summary")
	}
	// Complaints: logged in the period; open and overdue now.
	where, args = qualityWhere(f, "k", "create_time")
	type cmRow struct {
		org string
		n   int
	}
	scan := func(sc interface{ Scan(...any) error }) (cmRow, error) {
		var r cmRow
		return r, sc.Scan(&r.org, &r.n)
	}
	logged, err := queryAll(ctx, s, "complaint summary", scan, s.rebind(`SELECT k.org_id, COUNT(*) FROM complaints k`+
		residentsJoin(f, "k")+where+` GROUP BY k.org_id`), args...)
	if err != nil {
		return nil, err
	}
	for _, r := range logged {
		out.Complaints += r.n
		org(r.org).Complaints += r.n
	}
	terminal := []any{string(carehex.ComplaintClosed), string(carehex.ComplaintRejected), string(carehex.ComplaintWithdrawn)}
	openWhere, openArgs = qualityWhere(carehex.QualityFilter{Area: f.Area, Street: f.Street, OrgID: f.OrgID}, "k", "")
	_, err = queryAll(ctx, s, "complaint summary", func(sc interface{ Scan(...any) error }) (cmRow, error) {
		var r cmRow
		var late int
		err := sc.Scan(&r.org, &r.n, &late)
		o := org(r.org)
		o.Open, o.Overdue = r.n, late
		out.OpenComplaint += r.n
		out.Overdue += late
		return r, err
	}, s.rebind(`SELECT k.org_id, COUNT(*), SUM(CASE WHEN k.due_time > 0 AND k.due_time < ? THEN 1 ELSE 0 END) FROM complaints k`+
		residentsJoin(f, "k")+and(openWhere, "k.status NOT IN (?, ?, ?)")+` GROUP BY k.org_id`),
		append(append([]any{now}, openArgs...), terminal...)...)
	if err != nil {
		return nil, err
	}
	names, err := queryAll(ctx, s, "organisation names", func(sc interface{ Scan(...any) error }) ([2]string, error) {
		var p [2]string
		return p, sc.Scan(&p[0], &p[1])
	}, `SELECT id, name FROM organisations`)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if o := byOrg[n[0]]; o != nil {
			o.OrgName = n[1]
		}
	}
	for _, o := range byOrg {
		out.ByOrg = append(out.ByOrg, *o)
	}
	slices.SortFunc(out.ByOrg, orgOrder)
	return out, nil
}

// orgOrder puts the organisations with most open complaints first, then
// the least satisfied, then by ID.
func orgOrder(a, b carehex.OrgQuality) int {
	switch {
	case a.Open != b.Open:
		return b.Open - a.Open
	case a.Satisfaction != b.Satisfaction:
		return cmp.Compare(a.Satisfaction, b.Satisfaction)
	}
	return strings.Compare(a.OrgID, b.OrgID)
}
