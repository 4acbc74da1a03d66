package mobileapi

import (
	"context"
	"net/http"
	"time"

	"github.com/carehex/carehex"
)

// PlanStore is what the family's upcoming visits read of planned care.
type PlanStore interface {
	PlannedVisits(ctx context.Context, f carehex.PlannedFilter) ([]*carehex.PlannedVisit, error)
}

// upcomingDays is how far ahead the family sees the planned visits.
const upcomingDays = 7

// upcomingLookback is how far back the carer a change is measured against
// is looked for.
const upcomingLookback = 28 * 24 * time.Hour

type upcomingOut struct {
	PlannedVisitID  string    `json:"planned_visit_id"`
	ServiceCode     string    `json:"service_code"`
	WindowStartTime time.Time `json:"window_start_time"`
	WindowEndTime   time.Time `json:"window_end_time"`
	// Status is the planned visit's (planned, assigned, paused,
	// cancelled, dispatched); RequestStatus the real visit's once rostered.
	Status        string `json:"status"`
	RequestStatus string `json:"request_status,omitempty"`
	ProviderName  string `json:"provider_name"`
	// CarerChanged: the carer differs from the one of the previous visit
	// of the same service; PreviousProviderName names that one.
	CarerChanged         bool   `json:"carer_changed"`
	PreviousProviderName string `json:"previous_provider_name,omitempty"`
	// TimeChanged: the visit was moved ("this visit only") from the time
	// the plan gave it, OriginalWindowStartTime.
	TimeChanged             bool       `json:"time_changed"`
	OriginalWindowStartTime *time.Time `json:"original_window_start_time,omitempty"`
	// Reason says why a visit is cancelled or paused (a code such as
	// visit_cancelled, or the operator's words).
	Reason string `json:"reason,omitempty"`
}

// familyUpcoming: GET /m/v1/family/upcoming lists the linked resident's
// planned visits of the next 7 days with their carers, flagging a change
// of carer against the previous visit of the same service, a visit moved
// from its planned time, and (by status, with why) one cancelled.
func (s *Server) familyUpcoming(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m, err := s.member(ctx, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.plans == nil {
		s.fail(w, r, carehex.Errorf(carehex.EUNAVAILABLE, "", "planned care is not served here"))
		return
	}
	now := s.now()
	vs, err := s.plans.PlannedVisits(ctx, carehex.PlannedFilter{ResidentID: m.ResidentID, From: now.Add(-upcomingLookback),
		To: now.Add(upcomingDays * 24 * time.Hour)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := map[string]string{}
	name := func(id string) (string, error) {
		if id == "" {
			return "", nil
		}
		if n, ok := names[id]; ok {
			return n, nil
		}
		p, err := s.store.Provider(ctx, id)
		if err != nil {
			return "", err
		}
		names[id] = p.Name
		return p.Name, nil
	}
	last := map[string]string{} // service code → carer of the latest visit so far
	out := []*upcomingOut{}
	for _, v := range vs {
		if v.ResidentID != m.ResidentID { // belt and braces: never another resident's
			continue
		}
		carer := ""
		switch v.Status {
		case carehex.PlannedAssigned:
			carer = v.ProviderID
		case carehex.PlannedDispatched: // handed to on-demand dispatch: whoever took the request
			carer = v.RequestProviderID
		}
		prev := last[v.ServiceCode]
		if carer != "" {
			last[v.ServiceCode] = carer
		}
		switch {
		case v.Latest.Before(now) || v.RequestStatus == carehex.StatusCompleted:
			continue // history only sets the carer to compare with
		case v.Status == carehex.PlannedCancelled && v.Reason == carehex.ReasonPlanEdited:
			continue // replaced by the edited plan's own visit
		}
		o := &upcomingOut{PlannedVisitID: v.ID, ServiceCode: v.ServiceCode, WindowStartTime: v.Earliest.UTC(),
			WindowEndTime: v.Latest.UTC(), Status: string(v.Status), RequestStatus: string(v.RequestStatus)}
		if !v.Occurrence.IsZero() && !v.Occurrence.Equal(v.Earliest) {
			orig := v.Occurrence.UTC()
			o.TimeChanged, o.OriginalWindowStartTime = true, &orig
		}
		if v.Status == carehex.PlannedCancelled || v.Status == carehex.PlannedPaused {
			o.Reason = v.Reason
		}
		if o.ProviderName, err = name(carer); err != nil {
			s.fail(w, r, err)
			return
		}
		if v.PreviousProviderID != "" && v.PreviousProviderID != carer {
			// Taken from its carer (can't do, sick): a change even while
			// nobody has taken it yet.
			prev = v.PreviousProviderID
		} else if carer == "" {
			prev = ""
		}
		if prev != "" && prev != carer {
			o.CarerChanged = true
			if o.PreviousProviderName, err = name(prev); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		out = append(out, o)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"visits": out})
}
