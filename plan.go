package carehex

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Planned care: the recurring half of the work. A CarePlan says what a
// resident receives and when (items with an RFC 5545 recurrence); a carer's
// WorkingHours say when and how they can work. Expanding a plan into dated
// PlannedVisits is pure (Occurrences); the RRULE arithmetic itself comes in
// through ParseRecurrence so the root stays stdlib-only (the adapter lives
// in plan/rrule).

// CST is China Standard Time. China keeps one fixed offset all year (no
// summer time since 1991), so a fixed zone is exact and needs no tzdata on
// the host, which a minimal container may not ship.
var CST = time.FixedZone("CST", 8*60*60)

// Limits on plan input, so one request cannot make projection unbounded.
const (
	MaxPlanItems     = 32
	MaxPlanPauses    = 64
	MaxRRuleLen      = 256
	MaxPlanVisitTime = 8 * time.Hour
	MaxPreferred     = 8
)

// TimeOfDay is a time of day in minutes after midnight CST (0…1440; 1440 is the
// end of the day, allowed as an end only).
type TimeOfDay int

// TimeOfDayOf returns the time of day of t in CST.
func TimeOfDayOf(t time.Time) TimeOfDay {
	t = t.In(CST)
	return TimeOfDay(t.Hour()*60 + t.Minute())
}

// On returns the instant at c on the CST calendar day of day.
func (c TimeOfDay) On(day time.Time) time.Time {
	y, m, d := day.In(CST).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, CST).Add(time.Duration(c) * time.Minute)
}

func (c TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Day returns midnight CST of t's calendar day in CST: the key plans, pauses
// and per-day limits count in.
func Day(t time.Time) time.Time {
	y, m, d := t.In(CST).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, CST)
}

// Recurrence is a parsed recurrence rule anchored at its first occurrence.
type Recurrence interface {
	// Between returns the occurrences in [from, to), in order.
	Between(from, to time.Time) []time.Time
}

// ParseRecurrence parses an RRULE body such as "FREQ=WEEKLY;BYDAY=MO,TH"
// whose first occurrence is dtstart. The plan/rrule package provides one.
type ParseRecurrence func(rule string, dtstart time.Time) (Recurrence, error)

// CarePlan is what a resident receives on a schedule, funded and agreed
// once, then projected into visits ahead.
type CarePlan struct {
	ID         string
	ResidentID string
	Items      []PlanItem
	// StartDate and EndDate are calendar days in CST (midnight); EndDate is
	// inclusive and zero when the plan is open-ended.
	StartDate   time.Time
	EndDate     time.Time
	Pauses      []PlanPause
	FundingNote string // e.g. "区级居家养老补贴 A 类"
	// Programme is the visiting programme (subsidy category) the plan was
	// generated for; "" for a plan a coordinator wrote (programme.go).
	Programme  string
	CreateTime time.Time
	UpdateTime time.Time
}

// PlanItem is one recurring service of a plan.
type PlanItem struct {
	ID          string
	ServiceCode string
	// RRule is an RFC 5545 RRULE body without DTSTART (that is the plan's
	// start date at WindowStart): "FREQ=DAILY", "FREQ=WEEKLY;BYDAY=TU",
	// "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR", "FREQ=MONTHLY;BYMONTHDAY=1".
	RRule string
	// The visit starts and ends inside [WindowStart, WindowEnd]: a meal
	// delivered between 11:00 and 12:30, a bath in the morning.
	WindowStart          TimeOfDay
	WindowEnd            TimeOfDay
	Duration             time.Duration
	PreferredProviderIDs []string
	Notes                string
	// ValidFrom and ValidTo bound the item to calendar days (CST,
	// inclusive; zero: unbounded). Editing "this and all later visits"
	// ends the old item the day before and starts its successor that day,
	// so the visits before the edit keep the item they were made from.
	ValidFrom time.Time
	ValidTo   time.Time
}

// PlanPause suspends a plan over calendar days From…To (inclusive, CST): a
// hospital stay, a visit to the children.
type PlanPause struct {
	From   time.Time
	To     time.Time
	Reason string
}

// Validate checks a plan before it is saved; parse validates the rules.
// The error names the bad field, e.g. "items[1].rrule".
func (p *CarePlan) Validate(parse ParseRecurrence) error {
	if Trimmed(p.ResidentID) == "" {
		return Errorf(EINVALID, "resident_id", "resident_id is required")
	}
	if p.StartDate.IsZero() {
		return Errorf(EINVALID, "start_date", "start_date is required")
	}
	if !p.EndDate.IsZero() && Day(p.EndDate).Before(Day(p.StartDate)) {
		return Errorf(EINVALID, "end_date", "end_date is before start_date")
	}
	if !validText(p.FundingNote) || len(p.FundingNote) > MaxTextLen {
		return Errorf(EINVALID, "funding_note", "funding_note is too long or not valid text")
	}
	if len(p.Items) == 0 {
		return Errorf(EINVALID, "items", "a plan needs at least one item")
	}
	if len(p.Items) > MaxPlanItems {
		return Errorf(EINVALID, "items", "a plan has at most %d items", MaxPlanItems)
	}
	for i := range p.Items {
		if err := p.Items[i].validate(fmt.Sprintf("items[%d]", i), Day(p.StartDate), parse); err != nil {
			return err
		}
	}
	if len(p.Pauses) > MaxPlanPauses {
		return Errorf(EINVALID, "pauses", "a plan has at most %d pauses", MaxPlanPauses)
	}
	for i, ps := range p.Pauses {
		f := fmt.Sprintf("pauses[%d]", i)
		switch {
		case ps.From.IsZero():
			return Errorf(EINVALID, f+".from", "%s.from is required", f)
		case ps.To.IsZero():
			return Errorf(EINVALID, f+".to", "%s.to is required", f)
		case Day(ps.To).Before(Day(ps.From)):
			return Errorf(EINVALID, f+".to", "%s.to is before its from", f)
		case !validText(ps.Reason) || len(ps.Reason) > MaxTextLen:
			return Errorf(EINVALID, f+".reason", "%s.reason is too long or not valid text", f)
		}
	}
	return nil
}

func (it *PlanItem) validate(f string, start time.Time, parse ParseRecurrence) error {
	switch {
	case Trimmed(it.ServiceCode) == "":
		return Errorf(EINVALID, f+".service_code", "%s.service_code is required", f)
	case Trimmed(it.RRule) == "":
		return Errorf(EINVALID, f+".rrule", "%s.rrule is required", f)
	case len(it.RRule) > MaxRRuleLen:
		return Errorf(EINVALID, f+".rrule", "%s.rrule is longer than %d characters", f, MaxRRuleLen)
	case it.WindowStart < 0 || it.WindowStart >= 24*60:
		return Errorf(EINVALID, f+".window_start", "%s.window_start must be a time of day", f)
	case it.WindowEnd <= it.WindowStart || it.WindowEnd > 24*60:
		return Errorf(EINVALID, f+".window_end", "%s.window_end must be after window_start on the same day", f)
	case it.Duration <= 0 || it.Duration > MaxPlanVisitTime:
		return Errorf(EINVALID, f+".duration", "%s.duration must be between 1 minute and %v", f, MaxPlanVisitTime)
	case it.Duration%time.Minute != 0:
		return Errorf(EINVALID, f+".duration", "%s.duration must be whole minutes", f)
	case time.Duration(it.WindowEnd-it.WindowStart)*time.Minute < it.Duration:
		return Errorf(EINVALID, f+".duration", "%s.duration does not fit in its time window", f)
	case len(it.PreferredProviderIDs) > MaxPreferred:
		return Errorf(EINVALID, f+".preferred_provider_ids", "%s lists more than %d preferred carers", f, MaxPreferred)
	case !validText(it.Notes) || len(it.Notes) > MaxTextLen:
		return Errorf(EINVALID, f+".notes", "%s.notes is too long or not valid text", f)
	}
	if parse == nil {
		return Errorf(EINTERNAL, "", "no recurrence parser")
	}
	first := it.WindowStart.On(start)
	rec, err := parse(it.RRule, first)
	if err != nil {
		return Errorf(EINVALID, f+".rrule", "%s.rrule is not a valid RFC 5545 RRULE: %v", f, err)
	}
	// A rule that never occurs is a mistake (30 February), and expanding it
	// would make the library search to year 9999 at every projection. Four
	// years and a day reach every leap day.
	if len(rec.Between(first, first.AddDate(4, 0, 1))) == 0 {
		return Errorf(EINVALID, f+".rrule", "%s.rrule never occurs in the four years after start_date", f)
	}
	return nil
}

// ValidOn reports whether the item applies on t's calendar day.
func (it *PlanItem) ValidOn(t time.Time) bool {
	d := Day(t)
	return (it.ValidFrom.IsZero() || !d.Before(Day(it.ValidFrom))) && (it.ValidTo.IsZero() || !d.After(Day(it.ValidTo)))
}

// Paused reports whether the plan is paused on t's calendar day.
func (p *CarePlan) Paused(t time.Time) bool {
	d := Day(t)
	for _, ps := range p.Pauses {
		if !d.Before(Day(ps.From)) && !d.After(Day(ps.To)) {
			return true
		}
	}
	return false
}

// PlannedVisit is one dated occurrence of a plan item: what projection
// writes ahead and the roster assigns.
type PlannedVisit struct {
	// ID is stable for (plan, item, day), so projecting twice finds the
	// visit it wrote before instead of adding a second one.
	ID          string
	PlanID      string
	ItemID      string
	ResidentID  string
	ServiceCode string
	// The visit must start at or after Earliest and end by Latest.
	Earliest  time.Time
	Latest    time.Time
	Duration  time.Duration
	Preferred []string

	// What the system of record keeps of it (zero in a projection).
	Status PlannedStatus
	// Occurrence is the start of the window the rule gave; it names the
	// occurrence for good, even after "this visit only" moved the window.
	Occurrence time.Time
	ProviderID string // the carer rostered, while Status is assigned
	RequestID  string // the request it became when rostered; its visit is the real one
	VisitID    string
	Version    int64 // bumped by every change: an edit made on a stale read is refused
	Reason     string
	// RequestStatus is the status of RequestID, read with the planned visit.
	RequestStatus Status
	// RequestProviderID is the carer of RequestID, read with it: who took
	// a visit handed to on-demand dispatch (PlannedDispatched).
	RequestProviderID string
	// PreviousProviderID is the carer the visit was taken from (can't do,
	// sick, handed off); see plannedchange.go.
	PreviousProviderID string
}

// PlannedStatus is where a planned visit stands.
type PlannedStatus string

const (
	PlannedOpen      PlannedStatus = "planned"   // projected, nobody rostered yet
	PlannedAssigned  PlannedStatus = "assigned"  // rostered: a request assigned to a carer through the fenced claim
	PlannedPaused    PlannedStatus = "paused"    // in a pause of the plan; back to planned when the pause ends
	PlannedCancelled PlannedStatus = "cancelled" // edited away ("this visit only" or a later edit)
)

// NotifyCarerChanged is the family notification (outbox kind) of a
// planned visit rostered to another carer than the previous visit of the
// same service.
const NotifyCarerChanged = "carer_changed"

// ReasonPlanEdited is the reason of a planned visit cancelled because its
// item was edited "this and all later": its successor replaces it.
const ReasonPlanEdited = "plan_edited"

// Locked reports whether the real visit has begun or is over: an edit, a
// pause or a new roster leaves it as it is (verified visits never change).
func (v *PlannedVisit) Locked() bool {
	switch v.RequestStatus {
	case StatusEnRoute, StatusInProgress, StatusCompleted:
		return true
	}
	return false
}

// LatestStart is the last start that still ends inside the window.
func (v *PlannedVisit) LatestStart() time.Time { return v.Latest.Add(-v.Duration) }

// PlannedVisitID is the stable ID of item's occurrence on day.
func PlannedVisitID(planID, itemID string, day time.Time) string {
	return "pv_" + planID + "_" + itemID + "_" + Day(day).Format("20060102")
}

// Occurrences expands the plan into its visits starting in [from, to),
// leaving out days outside start…end and paused days. A plan that fails
// Validate may fail here with the same field names.
func (p *CarePlan) Occurrences(parse ParseRecurrence, from, to time.Time) ([]PlannedVisit, error) {
	start := Day(p.StartDate)
	if from.Before(start) {
		from = start
	}
	if !p.EndDate.IsZero() {
		if end := Day(p.EndDate).AddDate(0, 0, 1); to.After(end) {
			to = end
		}
	}
	if !from.Before(to) {
		return nil, nil
	}
	var out []PlannedVisit
	for i := range p.Items {
		it := &p.Items[i]
		rule, err := parse(it.RRule, it.WindowStart.On(start))
		if err != nil {
			return nil, Errorf(EINVALID, fmt.Sprintf("items[%d].rrule", i), "items[%d].rrule: %v", i, err)
		}
		// Ask from the window's start on the first day, so an occurrence
		// earlier that day than `from` is still that day's visit.
		for _, t := range rule.Between(it.WindowStart.On(from), to) {
			if p.Paused(t) || !it.ValidOn(t) {
				continue
			}
			out = append(out, PlannedVisit{
				ID:          PlannedVisitID(p.ID, it.ID, t),
				PlanID:      p.ID,
				ItemID:      it.ID,
				ResidentID:  p.ResidentID,
				ServiceCode: it.ServiceCode,
				Earliest:    it.WindowStart.On(t),
				Latest:      it.WindowEnd.On(t),
				Duration:    it.Duration,
				Preferred:   slices.Clone(it.PreferredProviderIDs),
				Occurrence:  it.WindowStart.On(t),
			})
		}
	}
	slices.SortFunc(out, func(a, b PlannedVisit) int {
		if c := a.Earliest.Compare(b.Earliest); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// PlannedFilter selects planned visits whose window starts in [From, To);
// empty fields select all.
type PlannedFilter struct {
	ResidentID string
	ProviderID string
	PlanID     string
	From, To   time.Time
	Statuses   []PlannedStatus
	Limit      int // 0: the store's bound for a listing (5,000); more for a whole city's roster
}

// PlannedEdit changes one planned visit only ("this visit only"): a new
// window and duration, or Cancel. Version must be the one read.
type PlannedEdit struct {
	ID          string
	Version     int64
	WindowStart time.Time
	WindowEnd   time.Time
	Duration    time.Duration
	Cancel      bool
	Reason      string
}

// PlanStore keeps care plans, their projected visits and carers' working
// hours. Projection is idempotent: a planned visit is unique per (item,
// occurrence), so writing the same occurrences twice adds nothing.
type PlanStore interface {
	// CreateCarePlan validates p (with parse), gives it and its items IDs
	// and saves it.
	CreateCarePlan(ctx context.Context, p *CarePlan, parse ParseRecurrence) error
	CarePlan(ctx context.Context, id string) (*CarePlan, error)
	// ResidentCarePlans lists a resident's plans, oldest first.
	ResidentCarePlans(ctx context.Context, residentID string) ([]*CarePlan, error)
	// CarePlans lists the plans in force on some day of [from, to).
	CarePlans(ctx context.Context, from, to time.Time) ([]*CarePlan, error)
	// ReplacePlanItem edits an item for "this and all later visits" from
	// day from: the old item ends the day before, item (a new ID) starts
	// on from, and the old item's planned visits from then on that have
	// not begun are cancelled.
	ReplacePlanItem(ctx context.Context, planID, itemID string, from time.Time, item PlanItem, parse ParseRecurrence) (*CarePlan, error)
	// SetPlanPauses replaces the plan's pauses: planned visits not begun
	// inside a pause are paused, paused ones outside every pause are open
	// again.
	SetPlanPauses(ctx context.Context, planID string, pauses []PlanPause, parse ParseRecurrence) (*CarePlan, error)
	// ProjectPlannedVisits writes the occurrences not yet written and
	// reports how many it wrote.
	ProjectPlannedVisits(ctx context.Context, vs []PlannedVisit) (int, error)
	PlannedVisit(ctx context.Context, id string) (*PlannedVisit, error)
	PlannedVisits(ctx context.Context, f PlannedFilter) ([]*PlannedVisit, error)
	// EditPlannedVisit changes one visit that has not begun.
	EditPlannedVisit(ctx context.Context, e PlannedEdit) (*PlannedVisit, error)
	// RosterPlannedVisit records that the visit (at version) became request
	// requestID, assigned to providerID as visit visitID.
	RosterPlannedVisit(ctx context.Context, id string, version int64, providerID, requestID, visitID string) (*PlannedVisit, error)
	// StrandedPlannedVisits lists planned visits no longer assigned
	// (edited, paused, released) whose request is still waiting or
	// assigned: the request must be cancelled, then ClearPlannedRequest.
	StrandedPlannedVisits(ctx context.Context, limit int) ([]*PlannedVisit, error)
	ClearPlannedRequest(ctx context.Context, id, requestID string) error
	// ReleasePlannedVisit opens an assigned visit that has not begun again
	// (its carer can no longer do it), for the roster to place anew.
	ReleasePlannedVisit(ctx context.Context, id string, version int64, reason string) (*PlannedVisit, error)
	// NotePlannedReason records why the roster left an open visit at
	// version unassigned (a roster reason code), for the roster view; it
	// changes nothing else and bumps no version. ECONFLICT when the visit
	// is no longer open at that version.
	NotePlannedReason(ctx context.Context, id string, version int64, reason string) error

	SetWorkingHours(ctx context.Context, w *WorkingHours) error
	WorkingHours(ctx context.Context, providerID string) (*WorkingHours, error)
	AllWorkingHours(ctx context.Context) ([]*WorkingHours, error)
	// WorkingHoursOf returns the working hours of those of providerIDs that
	// have any: what on-demand dispatch checks its candidates against.
	WorkingHoursOf(ctx context.Context, providerIDs []string) (map[string]*WorkingHours, error)
}

// TravelMode is how a carer moves between homes.
type TravelMode string

const (
	TravelWalk  TravelMode = "walk"
	TravelEBike TravelMode = "ebike"
	TravelCar   TravelMode = "car"
)

// SpeedKMH is the door-to-door speed of a mode in town, parking and stairs
// included: a brisk walk, an e-bike held to the 25 km/h national limit but
// stopping at lights, a car in Zibo's traffic.
func (m TravelMode) SpeedKMH() float64 {
	switch m {
	case TravelWalk:
		return 4.5
	case TravelEBike:
		return 15
	case TravelCar:
		return 25
	}
	return 0
}

// DetourFactor turns a straight-line distance into a street distance. Urban
// road networks measure 1.2–1.4 times the crow's flight; we take 1.3 until
// the roster uses a road router.
const DetourFactor = 1.3

// TravelTime is how long the mode takes over a straight-line distance of
// distM metres, detour included, rounded up to the minute so schedules stay
// in whole minutes.
func (m TravelMode) TravelTime(distM float64) time.Duration {
	v := m.SpeedKMH()
	if v <= 0 || distM <= 0 {
		return 0
	}
	minutes := math.Ceil(distM * DetourFactor / 1000 / v * 60)
	return time.Duration(minutes) * time.Minute
}

// Shift is one stretch of a carer's regular week.
type Shift struct {
	Weekday time.Weekday
	Start   TimeOfDay
	End     TimeOfDay
}

// TimeOff is an absence: leave, sickness, training.
type TimeOff struct {
	From   time.Time
	To     time.Time
	Reason string
}

// WorkingHours are the terms a carer works on: when, how much, how they
// travel and from where. The roster keeps to them; on-demand dispatch
// checks OnShift.
type WorkingHours struct {
	ProviderID      string
	Weekly          []Shift
	TimeOff         []TimeOff
	MaxVisitsPerDay int
	// MaxWorkPerDay bounds the time spent in visits each day; travel is
	// not counted, as the subsidy contracts pay service time.
	MaxWorkPerDay time.Duration
	Mode          TravelMode
	Home          LatLng
}

// Validate checks working hours before they are saved, naming the bad field.
func (w *WorkingHours) Validate() error {
	if Trimmed(w.ProviderID) == "" {
		return Errorf(EINVALID, "provider_id", "provider_id is required")
	}
	if len(w.Weekly) > 7*4 {
		return Errorf(EINVALID, "weekly", "at most four shifts a day")
	}
	for i, s := range w.Weekly {
		f := fmt.Sprintf("weekly[%d]", i)
		switch {
		case s.Weekday < time.Sunday || s.Weekday > time.Saturday:
			return Errorf(EINVALID, f+".weekday", "%s.weekday must be Sunday…Saturday", f)
		case s.Start < 0 || s.Start >= 24*60:
			return Errorf(EINVALID, f+".start", "%s.start must be a time of day", f)
		case s.End <= s.Start || s.End > 24*60:
			return Errorf(EINVALID, f+".end", "%s.end must be after start on the same day", f)
		}
		for j, o := range w.Weekly[:i] {
			if o.Weekday == s.Weekday && s.Start < o.End && o.Start < s.End {
				return Errorf(EINVALID, f, "%s overlaps weekly[%d]", f, j)
			}
		}
	}
	for i, o := range w.TimeOff {
		f := fmt.Sprintf("time_off[%d]", i)
		switch {
		case o.From.IsZero():
			return Errorf(EINVALID, f+".from", "%s.from is required", f)
		case !o.To.After(o.From):
			return Errorf(EINVALID, f+".to", "%s.to must be after its from", f)
		case !validText(o.Reason) || len(o.Reason) > MaxTextLen:
			return Errorf(EINVALID, f+".reason", "%s.reason is too long or not valid text", f)
		}
	}
	switch {
	case w.MaxVisitsPerDay < 1 || w.MaxVisitsPerDay > 48:
		return Errorf(EINVALID, "max_visits_per_day", "max_visits_per_day must be 1…48")
	case w.MaxWorkPerDay < time.Hour || w.MaxWorkPerDay > 16*time.Hour:
		return Errorf(EINVALID, "max_work_per_day", "max_work_per_day must be 1…16 hours")
	case w.Mode.SpeedKMH() == 0:
		return Errorf(EINVALID, "travel_mode", "travel_mode must be walk, ebike or car")
	}
	return w.Home.Validate("home")
}

// ShiftAt returns the shift that holds all of [start, end), if any. A
// visit never spans two shifts: the carer is off in between.
func (w *WorkingHours) ShiftAt(start, end time.Time) (from, to time.Time, ok bool) {
	day := Day(start)
	if !Day(end.Add(-time.Nanosecond)).Equal(day) {
		return time.Time{}, time.Time{}, false
	}
	wd := start.In(CST).Weekday()
	for _, s := range w.Weekly {
		if s.Weekday != wd {
			continue
		}
		f, t := s.Start.On(day), s.End.On(day)
		if !start.Before(f) && !end.After(t) {
			return f, t, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// Off reports whether [start, end) touches any time off.
func (w *WorkingHours) Off(start, end time.Time) bool {
	for _, o := range w.TimeOff {
		if start.Before(o.To) && o.From.Before(end) {
			return true
		}
	}
	return false
}

// OnShift reports whether the carer is working at t: inside a shift and
// not off. On-demand dispatch asks this beside "phone available".
func (w *WorkingHours) OnShift(t time.Time) bool {
	_, _, ok := w.ShiftAt(t, t.Add(time.Minute))
	return ok && !w.Off(t, t.Add(time.Minute))
}
