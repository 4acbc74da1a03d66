package rpc

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/plan"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// Planner is the planned-care engine the plan service drives
// (*plan.Planner, wired in by the binary).
type Planner interface {
	Project(ctx context.Context) (int, error)
	ReleaseStranded(ctx context.Context) (int, error)
	Roster(ctx context.Context, from, to time.Time) (*plan.Result, error)
}

var errNoPlanner = carehex.Errorf(carehex.EUNAVAILABLE, "", "planned care is not running on this server")

type planService struct{ *Server }

// maxRosterDays bounds the days one list or roster call covers.
const maxRosterDays = 31

var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-4]):([0-5][0-9])$`)

// clockFromPB reads "HH:MM" (24:00 allowed as an end).
func clockFromPB(field, s string) (carehex.TimeOfDay, error) {
	m := hhmm.FindStringSubmatch(s)
	if m == nil {
		return 0, carehex.Errorf(carehex.EINVALID, field, "%s must be a time of day as HH:MM, got %q", field, s)
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	if h == 24 && mi != 0 {
		return 0, carehex.Errorf(carehex.EINVALID, field, "%s must be at most 24:00", field)
	}
	return carehex.TimeOfDay(h*60 + mi), nil
}

// dateFromPB reads an optional calendar day "YYYY-MM-DD" in CST.
func dateFromPB(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, carehex.CST)
	if err != nil {
		return time.Time{}, carehex.Errorf(carehex.EINVALID, field, "%s must be a date as YYYY-MM-DD, got %q", field, s)
	}
	return d, nil
}

func dateToPB(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(carehex.CST).Format(time.DateOnly)
}

func itemFromPB(field string, it *pb.PlanItem) (carehex.PlanItem, error) {
	if it == nil {
		return carehex.PlanItem{}, carehex.Errorf(carehex.EINVALID, field, "%s is required", field)
	}
	ws, err := clockFromPB(field+".window_start", it.WindowStart)
	if err != nil {
		return carehex.PlanItem{}, err
	}
	we, err := clockFromPB(field+".window_end", it.WindowEnd)
	if err != nil {
		return carehex.PlanItem{}, err
	}
	return carehex.PlanItem{ServiceCode: carehex.Trimmed(it.ServiceCode), RRule: it.Rrule, WindowStart: ws, WindowEnd: we,
		Duration: time.Duration(it.DurationS) * time.Second, PreferredProviderIDs: it.PreferredProviderIds, Notes: it.Notes}, nil
}

func planToPB(p *carehex.CarePlan) *pb.CarePlan {
	out := &pb.CarePlan{Id: p.ID, ResidentId: p.ResidentID, StartDate: dateToPB(p.StartDate), EndDate: dateToPB(p.EndDate),
		FundingNote: p.FundingNote, CreateTime: ts(p.CreateTime), UpdateTime: ts(p.UpdateTime)}
	for _, it := range p.Items {
		out.Items = append(out.Items, &pb.PlanItem{Id: it.ID, ServiceCode: it.ServiceCode, Rrule: it.RRule,
			WindowStart: it.WindowStart.String(), WindowEnd: it.WindowEnd.String(), DurationS: int32(it.Duration / time.Second),
			PreferredProviderIds: it.PreferredProviderIDs, Notes: it.Notes,
			ValidFromDate: dateToPB(it.ValidFrom), ValidToDate: dateToPB(it.ValidTo)})
	}
	for _, ps := range p.Pauses {
		out.Pauses = append(out.Pauses, &pb.PlanPause{FromDate: dateToPB(ps.From), ToDate: dateToPB(ps.To), Reason: ps.Reason})
	}
	return out
}

func plannedToPB(v *carehex.PlannedVisit) *pb.PlannedVisit {
	return &pb.PlannedVisit{Id: v.ID, PlanId: v.PlanID, ItemId: v.ItemID, ResidentId: v.ResidentID, ServiceCode: v.ServiceCode,
		WindowStartTime: ts(v.Earliest), WindowEndTime: ts(v.Latest), DurationS: int32(v.Duration / time.Second),
		Status: string(v.Status), ProviderId: v.ProviderID, RequestId: v.RequestID, VisitId: v.VisitID, Version: v.Version,
		Reason: v.Reason, RequestStatus: string(v.RequestStatus), OccurrenceTime: ts(v.Occurrence)}
}

// settle makes a plan change take effect now: requests of visits edited or
// paused away are cancelled and the new visits projected. Without a planner
// the background job does it at its next pass.
func (s planService) settle(ctx context.Context) {
	if s.Planner == nil {
		return
	}
	if _, err := s.Planner.Project(ctx); err != nil && s.Logger != nil {
		s.Logger.Warn("plan.settle", "err", err)
	}
}

func (s planService) CreateCarePlan(ctx context.Context, req *pb.CreateCarePlanRequest) (*pb.CreateCarePlanResponse, error) {
	p := &carehex.CarePlan{ResidentID: req.ResidentId, FundingNote: carehex.Trimmed(req.FundingNote)}
	var err error
	if p.StartDate, err = dateFromPB("start_date", req.StartDate); err != nil {
		return nil, err
	}
	if p.EndDate, err = dateFromPB("end_date", req.EndDate); err != nil {
		return nil, err
	}
	if len(req.Items) > carehex.MaxPlanItems {
		return nil, carehex.Errorf(carehex.EINVALID, "items", "a plan has at most %d items", carehex.MaxPlanItems)
	}
	for i, it := range req.Items {
		item, err := itemFromPB(fmt.Sprintf("items[%d]", i), it)
		if err != nil {
			return nil, err
		}
		p.Items = append(p.Items, item)
	}
	if err := s.Store.CreateCarePlan(ctx, p, plan.Parse); err != nil {
		return nil, err
	}
	out := &pb.CreateCarePlanResponse{Plan: planToPB(p)}
	if s.Planner != nil {
		n, err := s.Planner.Project(ctx)
		if err != nil {
			return nil, err
		}
		out.Projected = int32(n)
	}
	return out, nil
}

func (s planService) GetCarePlan(ctx context.Context, req *pb.GetCarePlanRequest) (*pb.GetCarePlanResponse, error) {
	if err := requireID("plan_id", req.PlanId); err != nil {
		return nil, err
	}
	p, err := s.Store.CarePlan(ctx, req.PlanId)
	if err != nil {
		return nil, err
	}
	return &pb.GetCarePlanResponse{Plan: planToPB(p)}, nil
}

func (s planService) ListCarePlans(ctx context.Context, req *pb.ListCarePlansRequest) (*pb.ListCarePlansResponse, error) {
	if err := requireID("resident_id", req.ResidentId); err != nil {
		return nil, err
	}
	ps, err := s.Store.ResidentCarePlans(ctx, req.ResidentId)
	if err != nil {
		return nil, err
	}
	out := &pb.ListCarePlansResponse{}
	for _, p := range ps {
		out.Plans = append(out.Plans, planToPB(p))
	}
	return out, nil
}

func (s planService) UpdatePlanItem(ctx context.Context, req *pb.UpdatePlanItemRequest) (*pb.UpdatePlanItemResponse, error) {
	if err := requireID("plan_id", req.PlanId); err != nil {
		return nil, err
	}
	if err := requireID("item_id", req.ItemId); err != nil {
		return nil, err
	}
	from, err := dateFromPB("from_date", req.FromDate)
	if err != nil {
		return nil, err
	}
	if from.IsZero() {
		return nil, carehex.Errorf(carehex.EINVALID, "from_date", "from_date is required")
	}
	item, err := itemFromPB("item", req.Item)
	if err != nil {
		return nil, err
	}
	p, err := s.Store.ReplacePlanItem(ctx, req.PlanId, req.ItemId, from, item, plan.Parse)
	if err != nil {
		return nil, err
	}
	s.settle(ctx)
	return &pb.UpdatePlanItemResponse{Plan: planToPB(p)}, nil
}

func (s planService) EditPlannedVisit(ctx context.Context, req *pb.EditPlannedVisitRequest) (*pb.EditPlannedVisitResponse, error) {
	if err := requireID("planned_visit_id", req.PlannedVisitId); err != nil {
		return nil, err
	}
	e := carehex.PlannedEdit{ID: req.PlannedVisitId, Version: req.Version, Cancel: req.Cancel, Reason: req.Reason,
		Duration: time.Duration(req.DurationS) * time.Second}
	var err error
	if e.WindowStart, err = timeFromPB("window_start_time", req.WindowStartTime); err != nil {
		return nil, err
	}
	if e.WindowEnd, err = timeFromPB("window_end_time", req.WindowEndTime); err != nil {
		return nil, err
	}
	v, err := s.Store.EditPlannedVisit(ctx, e)
	if err != nil {
		return nil, err
	}
	s.settle(ctx)
	if v, err = s.Store.PlannedVisit(ctx, v.ID); err != nil {
		return nil, err
	}
	return &pb.EditPlannedVisitResponse{Visit: plannedToPB(v)}, nil
}

func (s planService) PauseCarePlan(ctx context.Context, req *pb.PauseCarePlanRequest) (*pb.PauseCarePlanResponse, error) {
	if err := requireID("plan_id", req.PlanId); err != nil {
		return nil, err
	}
	from, err := dateFromPB("from_date", req.FromDate)
	if err != nil {
		return nil, err
	}
	to, err := dateFromPB("to_date", req.ToDate)
	if err != nil {
		return nil, err
	}
	p, err := s.Store.CarePlan(ctx, req.PlanId)
	if err != nil {
		return nil, err
	}
	pauses := append(p.Pauses, carehex.PlanPause{From: from, To: to, Reason: carehex.Trimmed(req.Reason)})
	if p, err = s.Store.SetPlanPauses(ctx, p.ID, pauses, plan.Parse); err != nil {
		return nil, err
	}
	s.settle(ctx)
	return &pb.PauseCarePlanResponse{Plan: planToPB(p)}, nil
}

func (s planService) ResumeCarePlan(ctx context.Context, req *pb.ResumeCarePlanRequest) (*pb.ResumeCarePlanResponse, error) {
	if err := requireID("plan_id", req.PlanId); err != nil {
		return nil, err
	}
	on, err := dateFromPB("resume_date", req.ResumeDate)
	if err != nil {
		return nil, err
	}
	if on.IsZero() {
		on = carehex.Day(s.now())
	}
	p, err := s.Store.CarePlan(ctx, req.PlanId)
	if err != nil {
		return nil, err
	}
	// Pauses wholly from the resume day on go; one under way ends the day before.
	var keep []carehex.PlanPause
	for _, ps := range p.Pauses {
		switch {
		case carehex.Day(ps.To).Before(on):
			keep = append(keep, ps)
		case carehex.Day(ps.From).Before(on):
			ps.To = on.AddDate(0, 0, -1)
			keep = append(keep, ps)
		}
	}
	if p, err = s.Store.SetPlanPauses(ctx, p.ID, keep, plan.Parse); err != nil {
		return nil, err
	}
	s.settle(ctx)
	return &pb.ResumeCarePlanResponse{Plan: planToPB(p)}, nil
}

// dayRange reads start_date (default today) and days (default 7).
func (s planService) dayRange(startDate string, days int32) (time.Time, time.Time, error) {
	from, err := dateFromPB("start_date", startDate)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if from.IsZero() {
		from = carehex.Day(s.now())
	}
	switch {
	case days == 0:
		days = 7
	case days < 0 || days > maxRosterDays:
		return time.Time{}, time.Time{}, carehex.Errorf(carehex.EINVALID, "days", "days must be 1…%d", maxRosterDays)
	}
	return from, from.AddDate(0, 0, int(days)), nil
}

func (s planService) ListPlannedVisits(ctx context.Context, req *pb.ListPlannedVisitsRequest) (*pb.ListPlannedVisitsResponse, error) {
	if req.ResidentId == "" && req.ProviderId == "" && req.PlanId == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "resident_id", "one of resident_id, provider_id or plan_id is required")
	}
	from, to, err := s.dayRange(req.StartDate, req.Days)
	if err != nil {
		return nil, err
	}
	vs, err := s.Store.PlannedVisits(ctx, carehex.PlannedFilter{ResidentID: req.ResidentId, ProviderID: req.ProviderId,
		PlanID: req.PlanId, From: from, To: to})
	if err != nil {
		return nil, err
	}
	out := &pb.ListPlannedVisitsResponse{}
	for _, v := range vs {
		out.Visits = append(out.Visits, plannedToPB(v))
	}
	return out, nil
}

func hoursToPB(w *carehex.WorkingHours) *pb.WorkingHours {
	out := &pb.WorkingHours{ProviderId: w.ProviderID, MaxVisitsPerDay: int32(w.MaxVisitsPerDay),
		MaxWorkPerDayS: int32(w.MaxWorkPerDay / time.Second), TravelMode: string(w.Mode), SpeedKmh: w.Mode.SpeedKMH(),
		Home: latLngToPB(w.Home)}
	for _, sh := range w.Weekly {
		out.Weekly = append(out.Weekly, &pb.Shift{Weekday: int32(sh.Weekday), Start: sh.Start.String(), End: sh.End.String()})
	}
	for _, o := range w.TimeOff {
		out.TimeOff = append(out.TimeOff, &pb.TimeOff{FromTime: ts(o.From), ToTime: ts(o.To), Reason: o.Reason})
	}
	return out
}

func (s planService) SetWorkingHours(ctx context.Context, req *pb.SetWorkingHoursRequest) (*pb.SetWorkingHoursResponse, error) {
	h := req.Hours
	if h == nil {
		return nil, carehex.Errorf(carehex.EINVALID, "hours", "hours is required")
	}
	if h.Home == nil {
		return nil, carehex.Errorf(carehex.EINVALID, "hours.home", "hours.home is required")
	}
	w := &carehex.WorkingHours{ProviderID: h.ProviderId, MaxVisitsPerDay: int(h.MaxVisitsPerDay),
		MaxWorkPerDay: time.Duration(h.MaxWorkPerDayS) * time.Second, Mode: carehex.TravelMode(h.TravelMode), Home: latLngFromPB(h.Home)}
	if len(h.Weekly) > 7*4 || len(h.TimeOff) > 366 {
		return nil, carehex.Errorf(carehex.EINVALID, "hours.weekly", "at most four shifts a day and 366 absences")
	}
	for i, sh := range h.Weekly {
		f := fmt.Sprintf("hours.weekly[%d]", i)
		if sh.Weekday < 0 || sh.Weekday > 6 {
			return nil, carehex.Errorf(carehex.EINVALID, f+".weekday", "%s.weekday must be 0 (Sunday) … 6 (Saturday)", f)
		}
		st, err := clockFromPB(f+".start", sh.Start)
		if err != nil {
			return nil, err
		}
		en, err := clockFromPB(f+".end", sh.End)
		if err != nil {
			return nil, err
		}
		w.Weekly = append(w.Weekly, carehex.Shift{Weekday: time.Weekday(sh.Weekday), Start: st, End: en})
	}
	for i, o := range h.TimeOff {
		f := fmt.Sprintf("hours.time_off[%d]", i)
		from, err := timeFromPB(f+".from_time", o.FromTime)
		if err != nil {
			return nil, err
		}
		to, err := timeFromPB(f+".to_time", o.ToTime)
		if err != nil {
			return nil, err
		}
		w.TimeOff = append(w.TimeOff, carehex.TimeOff{From: from, To: to, Reason: carehex.Trimmed(o.Reason)})
	}
	if err := s.Store.SetWorkingHours(ctx, w); err != nil {
		return nil, err
	}
	return &pb.SetWorkingHoursResponse{Hours: hoursToPB(w)}, nil
}

func (s planService) GetWorkingHours(ctx context.Context, req *pb.GetWorkingHoursRequest) (*pb.GetWorkingHoursResponse, error) {
	if err := requireID("provider_id", req.ProviderId); err != nil {
		return nil, err
	}
	w, err := s.Store.WorkingHours(ctx, req.ProviderId)
	if err != nil {
		return nil, err
	}
	return &pb.GetWorkingHoursResponse{Hours: hoursToPB(w)}, nil
}

func (s planService) RunRoster(ctx context.Context, req *pb.RunRosterRequest) (*pb.RunRosterResponse, error) {
	from, to, err := s.dayRange(req.StartDate, req.Days)
	if err != nil {
		return nil, err
	}
	if s.Planner == nil {
		return nil, errNoPlanner
	}
	r, err := s.Planner.Roster(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := &pb.RunRosterResponse{Released: int32(r.Released)}
	for _, v := range r.Assigned {
		rv := &pb.RosteredVisit{Visit: plannedToPB(v)}
		for _, f := range r.Explained[v.ID] {
			rv.Factors = append(rv.Factors, &pb.RankFactor{Name: f.Name, Value: f.Value, Weight: f.Weight, Contribution: f.Contribution})
		}
		out.Assigned = append(out.Assigned, rv)
	}
	for _, u := range r.Unassigned {
		out.Unassigned = append(out.Unassigned, &pb.UnrosteredVisit{PlannedVisitId: u.PlannedVisitID, Reason: u.Reason})
	}
	return out, nil
}
