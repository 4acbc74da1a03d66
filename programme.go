package carehex

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// Visiting programmes (探访关爱): the district owes the elders of some
// subsidy categories regular visits (a 2022 national notice asks that elders
// in special difficulty be visited at least monthly). A programme says, per
// category of the district's subsidy table (funding.go), which service and
// how many visits a calendar month. Each eligible resident gets a care plan
// generated from it (one per resident and programme), so the visits are
// projected, rostered and done like any other planned care; compliance is
// counted from the completed visits.

// MaxProgrammePerMonth bounds a programme's visits a month (weekly is 4–5).
const MaxProgrammePerMonth = 8

// VisitProgramme is the visiting duty of one subsidy category.
type VisitProgramme struct {
	Category    string // a subsidy category's code
	ServiceCode string // the service a visit is, e.g. DL-WELFARE-VISIT 探视巡访
	PerMonth    int
	WindowStart TimeOfDay
	WindowEnd   TimeOfDay
	Duration    time.Duration
	UpdateTime  time.Time
}

// Validate checks a programme before it is saved, naming the bad field.
func (p *VisitProgramme) Validate() error {
	switch {
	case Trimmed(p.Category) == "":
		return Errorf(EINVALID, "category", "category is required")
	case Trimmed(p.ServiceCode) == "":
		return Errorf(EINVALID, "service_code", "service_code is required")
	case p.PerMonth < 1 || p.PerMonth > MaxProgrammePerMonth:
		return Errorf(EINVALID, "per_month", "per_month must be 1…%d", MaxProgrammePerMonth)
	case p.WindowStart < 0 || p.WindowStart >= 24*60:
		return Errorf(EINVALID, "window_start", "window_start must be a time of day")
	case p.WindowEnd <= p.WindowStart || p.WindowEnd > 24*60:
		return Errorf(EINVALID, "window_end", "window_end must be after window_start on the same day")
	case p.Duration < time.Minute || p.Duration > MaxPlanVisitTime || p.Duration%time.Minute != 0:
		return Errorf(EINVALID, "duration_s", "duration must be whole minutes, 1 minute to %v", MaxPlanVisitTime)
	case time.Duration(p.WindowEnd-p.WindowStart)*time.Minute < p.Duration:
		return Errorf(EINVALID, "duration_s", "duration does not fit in the time window")
	}
	return nil
}

// RRule is the recurrence of the programme's visits to one resident: its
// PerMonth days of the month spread evenly over days 1–28 (every month has
// them), offset by the resident so a street's visits do not all fall on the
// same day.
func (p *VisitProgramme) RRule(residentID string) string {
	h := fnv.New32a()
	h.Write([]byte(residentID))
	step := 28 / p.PerMonth
	off := int(h.Sum32() % uint32(step))
	days := make([]string, p.PerMonth)
	for i := range days {
		days[i] = fmt.Sprint(1 + off + i*step)
	}
	return "FREQ=MONTHLY;BYMONTHDAY=" + strings.Join(days, ",")
}

// Plan is the care plan the programme gives resident from start.
func (p *VisitProgramme) Plan(residentID string, start time.Time) *CarePlan {
	return &CarePlan{ResidentID: residentID, StartDate: Day(start), Programme: p.Category,
		FundingNote: "探访关爱 " + p.Category,
		Items: []PlanItem{{ServiceCode: p.ServiceCode, RRule: p.RRule(residentID), WindowStart: p.WindowStart,
			WindowEnd: p.WindowEnd, Duration: p.Duration}}}
}

// ProgrammeStanding is one resident's standing in a programme for a month.
type ProgrammeStanding struct {
	ResidentID     string
	ResidentName   string
	Category       string
	Street         string
	OrganisationID string // of the carer of the resident's latest programme visit; "" when none yet
	Required       int
	Done           int // completed visits of the programme's service in the month
	Remaining      int // programme visits still ahead in the month, not done
}

// Overdue: the month's required visits can no longer be met by the
// visits done and those still planned (a visit missed, none planned, or
// the month over).
func (s *ProgrammeStanding) Overdue() bool {
	return s.Done < s.Required && s.Done+s.Remaining < s.Required
}

// ComplianceRow counts one (category, street, organisation).
type ComplianceRow struct {
	Category       string
	Street         string
	OrganisationID string
	Residents      int
	Met            int // required visits done
	Overdue        int
}

// Compliance is a month's programme compliance.
type Compliance struct {
	Month    string // YYYY-MM
	Rows     []ComplianceRow
	Overdue  []ProgrammeStanding // who is overdue, by category, street, name
	Standing []ProgrammeStanding // everyone counted
}

// ProgrammeStore keeps the programmes and counts their compliance;
// *sqlstore.DB implements it.
type ProgrammeStore interface {
	PutVisitProgramme(ctx context.Context, p *VisitProgramme) error
	VisitProgrammes(ctx context.Context) ([]*VisitProgramme, error)
	// ProgrammeResidents lists the residents holding a subsidy of the
	// category valid some time in [from, to); withoutPlan: only those
	// without a plan of the programme yet.
	ProgrammeResidents(ctx context.Context, category string, from, to time.Time, withoutPlan bool) ([]string, error)
	// CreateProgrammePlan saves p (p.Programme set) unless the resident
	// already has a plan of that programme; created says which.
	CreateProgrammePlan(ctx context.Context, p *CarePlan, parse ParseRecurrence) (created bool, err error)
	// ProgrammeStandings counts the month [from, to) at now for the
	// residents of the programme.
	ProgrammeStandings(ctx context.Context, p *VisitProgramme, residentIDs []string, from, to, now time.Time) ([]ProgrammeStanding, error)
}
