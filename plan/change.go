package plan

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// Changes after the roster: a carer's "can't do" and sick day. Each taken
// visit is rostered anew to another qualified carer (Roster over its day,
// through the fenced claim), or, when it starts within HandOffBefore,
// handed to on-demand dispatch: its request goes back to pending and is
// offered like a call. The family is told in the same transaction as the
// change (carehex.NotifyCarerChanged), and every step is in the trail
// (request events, audit records).

// Change is what a change did to the visits it touched.
type Change struct {
	// Rostered: taken visits placed with another carer.
	Rostered []*carehex.PlannedVisit
	// HandedOff: taken visits given to on-demand dispatch.
	HandedOff []*carehex.PlannedVisit
	// Unplaced: taken visits the roster could not place (still open; the
	// roster view shows them with the reason).
	Unplaced []Unplaced

	released map[string]bool // IDs released for the roster in this change
}

// redispatcher offers a request at once (*dispatch.Engine); without it the
// dispatcher's background pass offers the pending request a moment later.
type redispatcher interface {
	Dispatch(ctx context.Context, requestID string) ([]*carehex.Offer, error)
}

// blockedFor is whom the roster must not give v to: the resident's blocked
// carers, and the carer who said they cannot do it.
func blockedFor(v *carehex.PlannedVisit, r *carehex.Resident) []string {
	b := r.Preferences.BlockedProviderIDs
	if v.PreviousProviderID != "" && strings.HasPrefix(v.Reason, carehex.ReasonCantDo) {
		b = append(slices.Clone(b), v.PreviousProviderID)
	}
	return b
}

// CantDo takes planned visit id from its carer providerID, who cannot do
// it (code and text as carehex.CantDoReason checks them), and repairs the
// roster. A visit that is not the carer's own is ENOTFOUND, as if it did
// not exist; one that has begun is ECONFLICT.
func (p *Planner) CantDo(ctx context.Context, providerID, id, code, text string) (*Change, error) {
	reason, err := carehex.CantDoReason(code, text)
	if err != nil {
		return nil, err
	}
	v, err := p.store.PlannedVisit(ctx, id)
	if err != nil {
		return nil, err
	}
	if v.Status != carehex.PlannedAssigned || v.ProviderID != providerID {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "planned_visit_id", "no planned visit %q of yours", id)
	}
	if v.Locked() {
		return nil, carehex.Errorf(carehex.ECONFLICT, "planned_visit_id", "planned visit %s has begun (%s); report it on the visit", id, v.RequestStatus)
	}
	ch := &Change{}
	if err := p.take(ctx, ch, v, reason); err != nil {
		return nil, err
	}
	return ch, p.repair(ctx, ch, carehex.Day(v.Earliest))
}

// SickDay marks carer providerID off sick on day's calendar day (CST) and
// repairs the roster of that day: every visit of theirs not begun is taken
// from them. Marking the same day twice changes nothing more.
func (p *Planner) SickDay(ctx context.Context, providerID string, day time.Time) (*Change, error) {
	if day.IsZero() {
		return nil, carehex.Errorf(carehex.EINVALID, "date", "date is required")
	}
	d := carehex.Day(day)
	if d.Before(carehex.Day(p.clock())) {
		return nil, carehex.Errorf(carehex.EINVALID, "date", "date %s is in the past", d.Format(time.DateOnly))
	}
	if _, err := p.store.AddTimeOff(ctx, providerID, carehex.SickDay(d)); err != nil {
		return nil, err
	}
	vs, err := p.store.PlannedVisits(ctx, carehex.PlannedFilter{ProviderID: providerID, From: d, To: d.AddDate(0, 0, 1),
		Statuses: []carehex.PlannedStatus{carehex.PlannedAssigned}})
	if err != nil {
		return nil, err
	}
	ch := &Change{}
	for _, v := range vs {
		if v.Locked() {
			continue // begun before the carer fell ill: the visit itself says how it ends
		}
		if err := p.take(ctx, ch, v, carehex.ReasonSick); err != nil {
			return nil, err
		}
	}
	return ch, p.repair(ctx, ch, d)
}

// take takes v from its carer: handed to dispatch when its start is near,
// otherwise released for the roster (its request is cancelled by the
// stranded sweep in repair).
func (p *Planner) take(ctx context.Context, ch *Change, v *carehex.PlannedVisit, reason string) error {
	start, _ := p.slotOf(ctx, v)
	if !carehex.HandOff(start, p.clock(), p.HandOffBefore) {
		if _, err := p.store.ReleasePlannedVisit(ctx, v.ID, v.Version, reason); err != nil {
			return err
		}
		if ch.released == nil {
			ch.released = map[string]bool{}
		}
		ch.released[v.ID] = true
		return nil
	}
	// Back to dispatch first: should that fail the planned visit stays as
	// it was, still assigned; should recording the hand-off fail after, the
	// request is pending and dispatch offers it all the same.
	if _, err := p.store.TransitionRequest(ctx, v.RequestID, carehex.StatusPending, Actor, reason); err != nil {
		return err
	}
	pv, err := p.store.HandOffPlannedVisit(ctx, v.ID, v.Version, reason)
	if err != nil {
		return err
	}
	if d, ok := p.assign.(redispatcher); ok {
		if _, err := d.Dispatch(ctx, v.RequestID); err != nil {
			p.log.Warn("plan.hand_off_dispatch", "request", v.RequestID, "err", err) // the background pass retries
		}
	}
	p.log.Info("plan.handed_off", "planned_visit", v.ID, "request", v.RequestID, "from", v.ProviderID, "reason", reason)
	ch.HandedOff = append(ch.HandedOff, pv)
	return nil
}

// repair cancels the requests of released visits and rosters day anew,
// reporting what became of the visits released in this change.
func (p *Planner) repair(ctx context.Context, ch *Change, day time.Time) error {
	if _, err := p.ReleaseStranded(ctx); err != nil {
		return err
	}
	if len(ch.released) == 0 {
		return nil
	}
	res, err := p.Roster(ctx, day, day.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	for _, v := range res.Assigned {
		if ch.released[v.ID] {
			ch.Rostered = append(ch.Rostered, v)
		}
	}
	for _, u := range res.Unassigned {
		if ch.released[u.PlannedVisitID] {
			ch.Unplaced = append(ch.Unplaced, u)
		}
	}
	return nil
}
