package mobileapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/plan"
)

// The carer's planned visits: the day and the week ahead, a "can't do" on
// one of them, and "off sick today". Each planned visit, once rostered, is
// a real visit of the carer's (visit_id) done through the same
// /m/v1/visits/{id}/events as on-demand work; the rules of a change live
// in plan (change.go), not here.

// PlanChanger takes a carer's changes (*plan.Planner).
type PlanChanger interface {
	CantDo(ctx context.Context, providerID, id, code, text string) (*plan.Change, error)
	SickDay(ctx context.Context, providerID string, day time.Time) (*plan.Change, error)
}

// maxPlannedDays is the longest stretch the carer's list covers: a week.
const maxPlannedDays = 7

type carerPlannedOut struct {
	PlannedVisitID  string    `json:"planned_visit_id"`
	VisitID         string    `json:"visit_id"`
	RequestID       string    `json:"request_id"`
	ServiceCode     string    `json:"service_code"`
	WindowStartTime time.Time `json:"window_start_time"`
	WindowEndTime   time.Time `json:"window_end_time"`
	DurationS       int64     `json:"duration_s"`
	// RequestStatus is the real visit's request status (assigned,
	// en_route, in_progress, completed …).
	RequestStatus string `json:"request_status"`
	// ResidentName: the carer holds the visit, so may see whom it is for;
	// the address is on the visit (GET /m/v1/visits) on its day.
	ResidentName string `json:"resident_name"`
}

// carerPlanned: GET /m/v1/planned?date=YYYY-MM-DD&days=N lists the
// caller's rostered planned visits from date (default today, CST) for N
// days (1…7, default 1), oldest first.
func (s *Server) carerPlanned(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.plans == nil {
		s.fail(w, r, carehex.Errorf(carehex.EUNAVAILABLE, "", "planned care is not served here"))
		return
	}
	day := carehex.Day(s.now())
	if d := r.URL.Query().Get("date"); d != "" {
		t, err := time.ParseInLocation(time.DateOnly, d, carehex.CST)
		if err != nil {
			s.fail(w, r, carehex.Errorf(carehex.EINVALID, "date", "date must be a day as YYYY-MM-DD, got %q", d))
			return
		}
		day = t
	}
	days := 1
	if d := r.URL.Query().Get("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > maxPlannedDays {
			s.fail(w, r, carehex.Errorf(carehex.EINVALID, "days", "days must be a whole number from 1 to %d", maxPlannedDays))
			return
		}
		days = n
	}
	me := subject(r)
	vs, err := s.plans.PlannedVisits(ctx, carehex.PlannedFilter{ProviderID: me, From: day, To: day.AddDate(0, 0, days),
		Statuses: []carehex.PlannedStatus{carehex.PlannedAssigned}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := map[string]string{}
	out := []*carerPlannedOut{}
	for _, v := range vs {
		if v.ProviderID != me { // belt and braces: never another carer's
			continue
		}
		if _, ok := names[v.ResidentID]; !ok {
			res, err := s.store.Resident(ctx, v.ResidentID)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			names[v.ResidentID] = res.Name
		}
		start, end := v.Earliest, v.Latest
		if v.RequestID != "" { // the slot the roster chose
			if req, err := s.store.ServiceRequest(ctx, v.RequestID); err == nil && !req.WindowStart.IsZero() {
				start, end = req.WindowStart, req.WindowEnd
			}
		}
		out = append(out, &carerPlannedOut{PlannedVisitID: v.ID, VisitID: v.VisitID, RequestID: v.RequestID, ServiceCode: v.ServiceCode,
			WindowStartTime: start.UTC(), WindowEndTime: end.UTC(), DurationS: int64(v.Duration / time.Second),
			RequestStatus: string(v.RequestStatus), ResidentName: names[v.ResidentID]})
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"visits": out})
}

type cantDoIn struct {
	ReasonCode string `json:"reason_code"`
	Reason     string `json:"reason"`
}

type changeOut struct {
	// Rostered: visits given to another carer; HandedOff: visits given to
	// on-demand dispatch (too close to their start); Unplaced: visits
	// waiting for the coordinator.
	Rostered  int `json:"rostered"`
	HandedOff int `json:"handed_off"`
	Unplaced  int `json:"unplaced"`
}

func changeToOut(ch *plan.Change) changeOut {
	return changeOut{Rostered: len(ch.Rostered), HandedOff: len(ch.HandedOff), Unplaced: len(ch.Unplaced)}
}

// cantDo: POST /m/v1/planned/{id}/cant-do {reason_code, reason}: the
// carer cannot do their planned visit; see carehex.CantDoReason.
func (s *Server) cantDo(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in cantDoIn
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.changes == nil {
		s.fail(w, r, carehex.Errorf(carehex.EUNAVAILABLE, "", "planned care is not served here"))
		return
	}
	ch, err := s.changes.CantDo(r.Context(), subject(r), id, in.ReasonCode, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"change": changeToOut(ch)})
}

type sickIn struct{}

// sickToday: POST /m/v1/sick {}: the carer is off sick today (CST); their
// planned visits of today not begun are given to others.
func (s *Server) sickToday(w http.ResponseWriter, r *http.Request) {
	var in sickIn
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.changes == nil {
		s.fail(w, r, carehex.Errorf(carehex.EUNAVAILABLE, "", "planned care is not served here"))
		return
	}
	ch, err := s.changes.SickDay(r.Context(), subject(r), s.now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"change": changeToOut(ch)})
}
