package rpc

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// rosterViewService answers the console's roster view: one day of every
// carer with working hours (or a planned visit that day), read only.
type rosterViewService struct{ *Server }

// rosterDayLimit bounds the planned visits one day's view reads: a city's
// day is some 3,000 (the week is 20,000).
const rosterDayLimit = 50_000

// Reasons the view gives an open planned visit the roster left no note on.
const reasonNotRostered = "not_rostered"

func (s rosterViewService) GetRosterDay(ctx context.Context, req *pb.GetRosterDayRequest) (*pb.GetRosterDayResponse, error) {
	day, err := dateFromPB("date", req.Date)
	if err != nil {
		return nil, err
	}
	if day.IsZero() {
		day = carehex.Day(s.now())
	}
	next := day.AddDate(0, 0, 1)
	now := s.now()
	hours, err := s.Store.AllWorkingHours(ctx)
	if err != nil {
		return nil, err
	}
	byCarer := map[string]*carehex.WorkingHours{}
	for _, w := range hours {
		byCarer[w.ProviderID] = w
	}
	planned, err := s.Store.PlannedVisits(ctx, carehex.PlannedFilter{From: day, To: next, Limit: rosterDayLimit})
	if err != nil {
		return nil, err
	}
	residents := map[string]*carehex.Resident{}
	resident := func(id string) (*carehex.Resident, error) {
		if r, ok := residents[id]; ok {
			return r, nil
		}
		r, err := s.Store.Resident(ctx, id)
		if err != nil {
			return nil, err
		}
		residents[id] = r
		return r, nil
	}

	out := &pb.GetRosterDayResponse{Date: dateToPB(day)}
	byVisit := map[string]*carehex.PlannedVisit{}
	for _, v := range planned {
		if v.VisitID != "" && v.Status == carehex.PlannedAssigned {
			byVisit[v.VisitID] = v
			if byCarer[v.ProviderID] == nil {
				byCarer[v.ProviderID] = nil // a carer rostered before their hours were removed is still shown
			}
		}
		if v.Status != carehex.PlannedOpen {
			continue
		}
		r, err := resident(v.ResidentID)
		if err != nil {
			return nil, err
		}
		due, _ := carehex.PlannedOnTime(v, time.Time{}, now)
		if due {
			out.Due++ // never rostered and its window is over: missed
		}
		out.Unassigned = append(out.Unassigned, &pb.RosterUnassigned{Visit: plannedToPB(v), ResidentName: r.Name,
			Reason: cmp.Or(v.Reason, reasonNotRostered)})
	}

	for id, w := range byCarer {
		c, err := s.rosterCarer(ctx, id, w, day, next, now, byVisit, resident)
		if err != nil {
			return nil, err
		}
		if c == nil {
			continue
		}
		for _, st := range c.Stops {
			if st.OnTime || st.Late {
				out.Due++
			}
			if st.OnTime {
				out.OnTime++
			}
		}
		out.Carers = append(out.Carers, c)
	}
	slices.SortFunc(out.Carers, func(a, b *pb.RosterCarer) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ProviderId, b.ProviderId))
	})
	return out, nil
}

// rosterCarer is one carer's day: shifts, and every visit booked to start
// that day in order, with the journey to each from the one before (from
// the home base for the first). nil for a deactivated carer with no visit.
func (s rosterViewService) rosterCarer(ctx context.Context, id string, w *carehex.WorkingHours, day, next, now time.Time,
	byVisit map[string]*carehex.PlannedVisit, resident func(string) (*carehex.Resident, error)) (*pb.RosterCarer, error) {
	pr, err := s.Store.Provider(ctx, id)
	if err != nil {
		return nil, err
	}
	c := &pb.RosterCarer{ProviderId: pr.ID, Name: pr.Name}
	mode, at := carehex.TravelEBike, pr.Home // the dispatcher's assumption for a carer without hours
	if w != nil {
		mode, at = w.Mode, w.Home
		c.TravelMode, c.MaxVisitsPerDay = string(w.Mode), int32(w.MaxVisitsPerDay)
		wd := day.Weekday()
		for _, sh := range w.Weekly {
			if sh.Weekday == wd {
				c.Shifts = append(c.Shifts, &pb.RosterShift{StartTime: ts(sh.Start.On(day)), EndTime: ts(sh.End.On(day))})
			}
		}
		slices.SortFunc(c.Shifts, func(a, b *pb.RosterShift) int { return a.StartTime.AsTime().Compare(b.StartTime.AsTime()) })
		c.Off = w.Off(day, next)
	}
	vs, err := s.Store.ProviderDayVisits(ctx, id, day, next)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(vs, func(a, b *carehex.Visit) int { return a.PlannedStart.Compare(b.PlannedStart) })
	for _, v := range vs {
		if v.PlannedStart.Before(day) || !v.PlannedStart.Before(next) || v.Status == carehex.StatusCancelled {
			continue // live from an earlier day, or no longer holding the carer
		}
		q, err := s.Store.ServiceRequest(ctx, v.RequestID)
		if err != nil {
			return nil, err
		}
		r, err := resident(q.ResidentID)
		if err != nil {
			return nil, err
		}
		st := &pb.RosterStop{Kind: "on_demand", RequestId: q.ID, ResidentId: r.ID, ResidentName: r.Name, ServiceCode: q.ServiceCode,
			StartTime: ts(v.PlannedStart), EndTime: ts(v.PlannedEnd), RequestStatus: string(q.Status)}
		distM := carehex.DistanceM(at, r.Location)
		st.TravelM = int32(math.Round(distM * carehex.DetourFactor))
		st.TravelS = int32(mode.TravelTime(distM) / time.Second)
		at = r.Location
		var arrive time.Time
		if v.Status == carehex.StatusInProgress || v.Status == carehex.StatusCompleted {
			evs, err := s.Store.VisitEvents(ctx, v.ID)
			if err != nil {
				return nil, err
			}
			for _, e := range evs {
				if e.Type == carehex.VisitArrive && e.Applied {
					arrive = e.EventTime()
				}
			}
			if !arrive.IsZero() {
				st.ArriveTime = ts(arrive)
			}
		}
		if pv := byVisit[v.ID]; pv != nil {
			st.Kind, st.PlannedVisitId = "planned", pv.ID
			st.WindowStartTime, st.WindowEndTime = ts(pv.Earliest), ts(pv.Latest)
			due, onTime := carehex.PlannedOnTime(pv, arrive, now)
			st.OnTime, st.Late = onTime, due && !onTime
		}
		c.Stops = append(c.Stops, st)
	}
	if !pr.Active && len(c.Stops) == 0 {
		return nil, nil
	}
	return c, nil
}
