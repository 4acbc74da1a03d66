package simulate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/matching"
	"github.com/carehex/carehex/mobile-api/mobileclient"
	"github.com/carehex/carehex/plan"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// Planned care in the simulated day: a share of the residents are on care
// plans (a meal, cleaning, a check, daily or on three days a week); every
// carer's online shifts are their working hours; the week is rostered
// ahead over Twirp as a coordinator would (RunRoster), and each carer's
// phone reads its planned visits of the day (GET /m/v1/planned) and does
// them with the same depart/arrive/complete as the calls, sharing one
// roster with the on-demand work.

// PlanShare is the share of residents on a care plan. Zibo's 12349
// platforms serve a few percent of registered elders on recurring
// subsidised service (助餐, 助洁) while most call when they need help.
const PlanShare = 0.03

// onTimeGrace is how late a planned arrival may be and still count as on
// time: the dispatcher's late-arrival grace (dispatch.DefaultConfig).
const onTimeGrace = 15 * time.Minute

// plannedRun is one planned visit of the day as the simulator saw it.
type plannedRun struct {
	pv      mobileclient.PlannedVisit
	arrived time.Time
	done    bool
}

// plannedDay is what the planned half of the day did.
type plannedDay struct {
	residents  int
	weekTotal  int // planned visits the week's roster looked at
	weekPlaced int
	requests   int     // requests the roster made: one per placed visit, one (cancelled) per refused commit
	continuity float64 // share of a resident's week done by their most frequent carer
	runs       []*plannedRun
	shiftS     float64 // carers' on-shift seconds in the played window
	busyS      float64 // seconds spent in visits (both halves)
	errors     int
}

// setupPlanned gives the carers working hours, puts PlanShare of the
// residents on plans, rosters the week and schedules today's planned
// visits on the phones.
func (d *driver) setupPlanned(ctx context.Context) error {
	pd := &plannedDay{}
	d.planned = pd
	cfg := d.cfg
	plans := pb.NewPlanServiceProtobufClient(strings.TrimRight(d.t.BaseURL, "/"), d.token)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9a11ed))
	startS, endS := cfg.Start.Seconds(), cfg.End.Seconds()

	// Working hours: the online shifts of the day, every day of the week.
	hasHours := map[string]bool{}
	skillCount := map[string]int{}
	for _, ph := range d.phones {
		if ph == nil {
			continue
		}
		var shifts []*pb.Shift
		for _, w := range ph.sp.Online {
			a, b := max(w.StartS, 0), min(w.EndS, 86400)
			pd.shiftS += max(0, min(b, endS)-max(a, startS))
			a, b = float64(int(a/60+1)*60), float64(int(b/60)*60) // whole minutes inside the shift
			if b-a < 3600 {
				continue
			}
			for wd := range 7 {
				shifts = append(shifts, &pb.Shift{Weekday: int32(wd), Start: hhmmOf(a), End: hhmmOf(b)})
			}
		}
		if len(shifts) == 0 || len(shifts) > 28 {
			continue
		}
		mode := carehex.TravelEBike
		if ph.sp.SpeedKmh < 10 {
			mode = carehex.TravelWalk
		}
		p := ph.sp.P
		if _, err := plans.SetWorkingHours(ctx, &pb.SetWorkingHoursRequest{Hours: &pb.WorkingHours{ProviderId: ph.id, Weekly: shifts,
			MaxVisitsPerDay: 8, MaxWorkPerDayS: 8 * 3600, TravelMode: string(mode),
			Home: &pb.LatLng{Lat: p.Home.Lat, Lng: p.Home.Lng}}}); err != nil {
			pd.errors++
			d.log.Warn("simulate.working_hours", "provider", ph.id, "err", err)
			continue
		}
		hasHours[ph.id] = true
		for _, s := range p.Skills {
			skillCount[s]++
		}
	}

	// The services people have on plans: scheduled everyday ones that at
	// least a tenth of the carers with hours can do.
	var kinds []*carehex.ServiceType
	for _, st := range d.types {
		if st.UrgencyClass == carehex.ClassScheduled && st.Category == carehex.CategoryDailyLife &&
			skillCount[st.RequiredSkill]*10 >= len(hasHours) && len(hasHours) > 0 {
			kinds = append(kinds, st)
		}
	}
	slices.SortFunc(kinds, func(a, b *carehex.ServiceType) int { return strings.Compare(a.Code, b.Code) })
	if len(kinds) == 0 {
		return nil
	}

	// Plan windows inside the played part of the day (07:00–19:00 at
	// most), from half an hour in: a visit rostered for the first minute
	// could not be reached in time by anyone.
	lo, hi := max(startS+1800, 7*3600), min(endS, 19*3600)
	residentAt := map[string]carehex.LatLng{}
	ids := make([]int, 0, len(d.resID))
	for i := range d.resID {
		ids = append(ids, i)
	}
	slices.Sort(ids)
	day := cfg.Date.Format(time.DateOnly)
	wd := []string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}[cfg.Date.Weekday()]
	for _, i := range ids {
		if rng.Float64() >= PlanShare {
			continue
		}
		st := kinds[rng.IntN(len(kinds))]
		dur := min(max(st.DefaultDuration, 15*time.Minute), time.Hour).Truncate(time.Minute)
		span := hi - lo - dur.Seconds() - 1800
		if span <= 0 {
			continue
		}
		ws := lo + float64(int(rng.Float64()*span/300))*300
		we := ws + dur.Seconds() + 3600
		rule := "FREQ=DAILY"
		if rng.Float64() < 0.3 {
			days := []string{wd}
			for _, o := range []string{"MO", "WE", "FR", "TU", "TH", "SA"} {
				if len(days) < 3 && o != wd {
					days = append(days, o)
				}
			}
			rule = "FREQ=WEEKLY;BYDAY=" + strings.Join(days, ",")
		}
		_, err := plans.CreateCarePlan(ctx, &pb.CreateCarePlanRequest{ResidentId: d.resID[i], StartDate: day, FundingNote: "simulated",
			Items: []*pb.PlanItem{{ServiceCode: st.Code, Rrule: rule, WindowStart: hhmmOf(ws), WindowEnd: hhmmOf(we),
				DurationS: int32(dur / time.Second)}}})
		if err != nil {
			pd.errors++
			d.log.Warn("simulate.care_plan", "resident", d.resID[i], "err", err)
			continue
		}
		pd.residents++
		residentAt[d.resID[i]] = d.world.Residents[i].Location
	}
	if pd.residents == 0 {
		return nil
	}

	// The week ahead, rostered as the coordinator would each morning.
	out, err := plans.RunRoster(ctx, &pb.RunRosterRequest{StartDate: day, Days: 7})
	if err != nil {
		return fmt.Errorf("roster the planned week: %w", err)
	}
	pd.weekPlaced, pd.weekTotal = len(out.Assigned), len(out.Assigned)+len(out.Unassigned)
	pd.requests = len(out.Assigned)
	for _, u := range out.Unassigned {
		if u.Reason == plan.ReasonConflict {
			pd.requests++
		}
	}
	byRes := map[string]map[string]int{}
	home := map[string]carehex.LatLng{} // visit → the resident's home
	for _, a := range out.Assigned {
		v := a.Visit
		if byRes[v.ResidentId] == nil {
			byRes[v.ResidentId] = map[string]int{}
		}
		byRes[v.ResidentId][v.ProviderId]++
		home[v.VisitId] = residentAt[v.ResidentId]
	}
	most, all := 0, 0
	for _, carers := range byRes {
		n, top := 0, 0
		for _, c := range carers {
			n += c
			top = max(top, c)
		}
		if n >= 2 {
			most, all = most+top, all+n
		}
	}
	if all > 0 {
		pd.continuity = float64(most) / float64(all)
	}

	// Each carer's phone reads its day and sets off in time for each visit.
	for _, ph := range d.phones {
		if ph == nil || !hasHours[ph.id] {
			continue
		}
		vs, err := ph.api.Planned(ctx, cfg.Date, 1)
		if err != nil {
			pd.errors++
			continue
		}
		for _, pv := range vs {
			if pv.RequestStatus != string(carehex.StatusAssigned) || pv.WindowStartTime.After(cfg.Date.Add(cfg.End)) {
				continue
			}
			pr := &plannedRun{pv: pv}
			pd.runs = append(pd.runs, pr)
			h, ok := home[pv.VisitID]
			if !ok {
				continue
			}
			travel := time.Duration(matching.RoadKM(ph.sp.P.Home, h) / ph.sp.SpeedKmh * float64(time.Hour))
			leave := pv.WindowStartTime.Add(-travel - 5*time.Minute)
			st := d.types[pv.ServiceCode]
			ph.leaves = append(ph.leaves, leave)
			d.at(leave, func(ctx context.Context) { d.startPlanned(ctx, ph, pr, h, st) })
		}
	}
	return nil
}

// startPlanned sets off for a planned visit, or waits for the visit in
// hand to end first (the planned one is then late).
func (d *driver) startPlanned(ctx context.Context, ph *phone, pr *plannedRun, home carehex.LatLng, st *carehex.ServiceType) {
	if ph.visit != nil {
		d.res.count("planned_waited")
		d.after(120, func(ctx context.Context) { d.startPlanned(ctx, ph, pr, home, st) })
		return
	}
	// The visit takes about the plan's duration, not the catalogue's.
	svc := carehex.ServiceType{Code: pr.pv.ServiceCode}
	if st != nil {
		svc = *st
	}
	svc.DefaultDuration = time.Duration(pr.pv.DurationS) * time.Second
	v := &visitRun{id: pr.pv.VisitID, req: &reqRun{call: &Call{Service: &svc}, id: pr.pv.RequestID}, home: home, planned: pr}
	ph.visit = v
	d.depart(ctx, ph, v)
}

// plannedSoon: the worker sets off for a planned visit before a call's
// visit needing need would be over, so she declines the call rather than
// be late (she sees her day on the phone).
func (ph *phone) plannedSoon(now time.Time, need time.Duration) bool {
	for _, t := range ph.leaves {
		if !t.Before(now) && t.Sub(now) < need {
			return true
		}
	}
	return false
}

// callNeeds is how long a call's visit would keep the worker: travel
// there at her speed, the service with a fifth to spare, ten minutes.
func (d *driver) callNeeds(ph *phone, o mobileclient.Offer) time.Duration {
	dur := time.Hour
	if r := d.reqs[o.RequestID]; r != nil && r.call.Service.DefaultDuration > 0 {
		dur = r.call.Service.DefaultDuration
	}
	travel := time.Duration(o.DistanceM / 1000 * matching.DetourFactor / ph.sp.SpeedKmh * float64(time.Hour))
	return travel + dur*6/5 + 10*time.Minute
}

func hhmmOf(s float64) string {
	m := int(s) / 60
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// plannedSummary computes the planned half's figures.
func (pd *plannedDay) summary() (visits, done int, onTime, util float64) {
	if pd == nil {
		return 0, 0, 0, 0
	}
	ok := 0
	for _, r := range pd.runs {
		if r.done {
			done++
		}
		if !r.arrived.IsZero() && !r.arrived.After(r.pv.WindowStartTime.Add(onTimeGrace)) {
			ok++
		}
	}
	if len(pd.runs) > 0 {
		onTime = float64(ok) / float64(len(pd.runs))
	}
	if pd.shiftS > 0 {
		util = pd.busyS / pd.shiftS
	}
	return len(pd.runs), done, onTime, util
}
