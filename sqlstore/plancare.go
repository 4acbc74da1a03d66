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

// Changes to planned visits after the roster (carehex.PlanChangeStore):
// handing a visit to on-demand dispatch, a carer's sick day.

var _ carehex.PlanChangeStore = (*DB)(nil)

// HandOffPlannedVisit marks an assigned visit as handed to on-demand
// dispatch; see carehex.PlanChangeStore.
func (s *DB) HandOffPlannedVisit(ctx context.Context, id string, version int64, reason string) (*carehex.PlannedVisit, error) {
	return s.changePlanned(ctx, "hand off planned visit", id, version, func(tx *sql.Tx, v *carehex.PlannedVisit, now time.Time) error {
		switch {
		case v.Status != carehex.PlannedAssigned:
			return carehex.Errorf(carehex.ECONFLICT, "planned_visit_id", "planned visit %s is %s, not assigned", v.ID, v.Status)
		case v.RequestStatus != carehex.StatusPending && v.RequestStatus != carehex.StatusOffered:
			return carehex.Errorf(carehex.ECONFLICT, "planned_visit_id", "planned visit %s: its request is %s, not back in dispatch", v.ID, v.RequestStatus)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE planned_visits SET status = ?, provider_id = '', visit_id = '',
			previous_provider_id = ?, reason = ?, version = version + 1, update_time = ? WHERE id = ?`),
			string(carehex.PlannedDispatched), v.ProviderID, cmpOr(reason, "handed_off"), micros(now), v.ID); err != nil {
			return err
		}
		// The old visit's own key may carry the notice of its rostering;
		// this one is of the hand-off at this version.
		if err := s.notifyKey(ctx, tx, &carehex.Visit{ID: v.VisitID, RequestID: v.RequestID, Status: v.RequestStatus},
			v.ResidentID, carehex.NotifyCarerChanged, fmt.Sprintf("%s:handoff:%d", v.ID, v.Version), now); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actorOf(ctx), Action: "plan.hand_off", ObjectType: "planned_visit",
			ObjectID: v.ID, Detail: fmt.Sprintf("provider=%s request=%s reason=%s", v.ProviderID, v.RequestID, cmpOr(reason, "handed_off"))})
	})
}

// AddTimeOff appends o to a carer's working hours; see
// carehex.PlanChangeStore. The row is locked first, so two absences added
// at once both stay.
func (s *DB) AddTimeOff(ctx context.Context, providerID string, o carehex.TimeOff) (*carehex.WorkingHours, error) {
	var out *carehex.WorkingHours
	err := s.inTx(ctx, "add time off", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE working_hours SET update_time = update_time WHERE provider_id = ?`),
			providerID); err != nil {
			return err
		}
		w, err := scanHours(tx.QueryRowContext(ctx, s.rebind(hoursSelect+` WHERE provider_id = ?`), providerID))
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "provider_id", "provider %q has no working hours", providerID)
		}
		if err != nil {
			return err
		}
		for _, have := range w.TimeOff {
			if have.From.Equal(o.From) && have.To.Equal(o.To) {
				out = w
				return nil // already off then: a repeat changes nothing
			}
		}
		w.TimeOff = append(w.TimeOff, o)
		if err := w.Validate(); err != nil {
			return err
		}
		off := make([]pauseJSON, 0, len(w.TimeOff))
		for _, t := range w.TimeOff {
			off = append(off, pauseJSON{micros(t.From), micros(t.To), t.Reason})
		}
		to, _ := json.Marshal(off)
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE working_hours SET time_off = ?, update_time = ? WHERE provider_id = ?`),
			string(to), micros(s.stamp()), providerID); err != nil {
			return err
		}
		out = w
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: actorOf(ctx), Action: "provider.time_off", ObjectType: "provider",
			ObjectID: providerID, Detail: fmt.Sprintf("from=%s to=%s reason=%s", o.From.Format("2006-01-02T15:04Z07:00"),
				o.To.Format("2006-01-02T15:04Z07:00"), o.Reason)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
