// Package rosterbench is `carehex bench roster`: it builds a synthetic
// planned week for Zibo from the demo's residents and care workers, runs
// the roster and the greedy baseline on it, and reports travel, continuity
// and breaches of the hard constraints.
//
// The week is made the way a coordinator would enter it: each resident
// gets a care plan of one to three recurring items (meals every day or on
// weekdays, a weekly clean, a weekly bath, blood pressure three times a
// week), the plans are expanded by the domain's own rules and the RRULE
// adapter, and visits are taken resident by resident until the requested
// number is reached, so residents hold several visits each and continuity
// means something. Carers get the demo's homes, genders and languages,
// skills among the planned services', and working hours drawn from a few
// common patterns (weekday days, split shifts, weekend cover), some with a
// sick day, each with a travel mode.
package rosterbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/demo"
	"github.com/carehex/carehex/internal/stats"
	"github.com/carehex/carehex/plan/rrule"
	"github.com/carehex/carehex/roster"
)

// WeekStart is the Monday the synthetic horizon starts on.
var WeekStart = time.Date(2026, 12, 7, 0, 0, 0, 0, carehex.CST)

// Options size the synthetic city.
type Options struct {
	Seed      uint64
	Providers int
	Visits    int
	Days      int
	// TimeLimit and ContinuityM tune the roster (roster.Options).
	TimeLimit   time.Duration
	ContinuityM float64
}

// planned is a kind of plan item the generator draws.
type planned struct {
	code   string
	rule   func(rng *rand.Rand) string
	window [2]carehex.TimeOfDay
	share  float64 // of residents having it
}

var days = []string{"MO", "TU", "WE", "TH", "FR", "SA", "SU"}

func weekly(rng *rand.Rand) string { return "FREQ=WEEKLY;BYDAY=" + days[rng.IntN(7)] }

var kinds = []planned{
	{"DL-MEAL-DELIVERY", func(*rand.Rand) string { return "FREQ=DAILY" }, [2]carehex.TimeOfDay{10*60 + 30, 13 * 60}, 0.25},
	{"DL-MEAL-DELIVERY", func(*rand.Rand) string { return "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" }, [2]carehex.TimeOfDay{10*60 + 30, 13 * 60}, 0.15},
	{"DL-CLEAN-ROUTINE", weekly, [2]carehex.TimeOfDay{9 * 60, 16 * 60}, 0.35},
	{"DL-BATH-HOME", weekly, [2]carehex.TimeOfDay{9 * 60, 11*60 + 30}, 0.2},
	{"HC-BP-CHECK", func(*rand.Rand) string { return "FREQ=WEEKLY;BYDAY=MO,WE,FR" }, [2]carehex.TimeOfDay{8 * 60, 10 * 60}, 0.25},
}

// Generate builds the week. Visits are exactly o.Visits unless the demo
// residents run out (they do not below a million visits).
func Generate(o Options) (*roster.Problem, error) {
	if o.Providers < 1 || o.Visits < 1 || o.Days < 1 || o.Days > 31 {
		return nil, fmt.Errorf("providers and visits must be positive and days 1…31")
	}
	types, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	byCode := map[string]*carehex.ServiceType{}
	for _, t := range types {
		byCode[t.Code] = t
	}
	var skills []string
	for _, k := range kinds {
		t := byCode[k.code]
		if t == nil {
			return nil, fmt.Errorf("catalogue has no %s", k.code)
		}
		skills = append(skills, t.RequiredSkill)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x7057e7))
	p := &roster.Problem{}

	provs := demo.SeedProviders(o.Seed, o.Providers, skills)
	for _, pr := range provs {
		pr.ID = carehex.NewID("prv")
		p.Carers = append(p.Carers, roster.Carer{
			ID: pr.ID, Gender: pr.Gender, Skills: pr.Skills, Languages: pr.Languages,
			Hours: hours(rng, pr.ID, pr.Home),
		})
	}

	from, to := WeekStart, WeekStart.AddDate(0, 0, o.Days)
	residents := demo.SeedResidents(o.Seed, o.Visits/2+10)
	for i, r := range residents {
		if len(p.Visits) >= o.Visits {
			break
		}
		r.ID = fmt.Sprintf("res%06d", i)
		plan := DrawPlan(rng, byCode, r.ID, WeekStart)
		plan.ID = fmt.Sprintf("pl%06d", i)
		if err := plan.Validate(rrule.Parse); err != nil {
			return nil, fmt.Errorf("synthetic plan: %w", err)
		}
		occ, err := plan.Occurrences(rrule.Parse, from, to)
		if err != nil {
			return nil, err
		}
		var blocked []string
		if rng.Float64() < 0.03 { // fell out with a carer
			blocked = []string{p.Carers[rng.IntN(len(p.Carers))].ID}
		}
		for _, pv := range occ {
			if len(p.Visits) >= o.Visits {
				break
			}
			p.Visits = append(p.Visits, roster.Visit{
				PlannedVisit: pv, Location: r.Location, RequiredSkill: byCode[pv.ServiceCode].RequiredSkill,
				Gender: r.Preferences.PreferredProviderGender, Language: r.Preferences.Language, Blocked: blocked,
			})
		}
	}
	return p, nil
}

// DrawPlan draws a plausible care plan for a resident starting on start:
// at least one of the common recurring services (meals daily or on
// weekdays, weekly cleaning and bathing, blood pressure three times a
// week), each in its usual window. byCode is the catalogue by code.
func DrawPlan(rng *rand.Rand, byCode map[string]*carehex.ServiceType, residentID string, start time.Time) *carehex.CarePlan {
	plan := &carehex.CarePlan{ResidentID: residentID, StartDate: start}
	for len(plan.Items) == 0 {
		for j, k := range kinds {
			if rng.Float64() >= k.share {
				continue
			}
			t := byCode[k.code]
			plan.Items = append(plan.Items, carehex.PlanItem{
				ID: fmt.Sprintf("i%d", j), ServiceCode: k.code, RRule: k.rule(rng),
				WindowStart: k.window[0], WindowEnd: k.window[1], Duration: t.DefaultDuration,
			})
		}
	}
	return plan
}

// hours draws a carer's working terms from common patterns.
func hours(rng *rand.Rand, id string, home carehex.LatLng) carehex.WorkingHours {
	w := carehex.WorkingHours{ProviderID: id, Home: home,
		MaxVisitsPerDay: 6 + rng.IntN(3), MaxWorkPerDay: time.Duration(6+rng.IntN(2)) * time.Hour}
	add := func(from, to carehex.TimeOfDay, wds ...time.Weekday) {
		for _, d := range wds {
			w.Weekly = append(w.Weekly, carehex.Shift{Weekday: d, Start: from, End: to})
		}
	}
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	switch x := rng.Float64(); {
	case x < 0.55: // weekday days
		add(8*60, 17*60, weekdays...)
	case x < 0.75: // split shift, six days, Tuesday to Sunday
		six := []time.Weekday{time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
		add(7*60, 13*60, six...)
		add(15*60, 18*60, six...)
	default: // weekend cover
		add(8*60, 17*60, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday)
	}
	if rng.Float64() < 0.05 {
		d := WeekStart.AddDate(0, 0, rng.IntN(7))
		w.TimeOff = []carehex.TimeOff{{From: d, To: d.AddDate(0, 0, 1), Reason: "病假"}}
	}
	switch x := rng.Float64(); {
	case x < 0.15:
		w.Mode = carehex.TravelWalk
	case x < 0.8:
		w.Mode = carehex.TravelEBike
	default:
		w.Mode = carehex.TravelCar
	}
	return w
}

// Result is the bench's JSON line; the keys are fixed by issue 11.
type Result struct {
	Bench            string  `json:"bench"`
	Providers        int     `json:"providers"`
	Visits           int     `json:"visits"`
	Assigned         int     `json:"assigned"`
	AssignedShare    float64 `json:"assigned_share"`
	KMPerVisit       float64 `json:"km_per_visit"`
	GreedyKMPerVisit float64 `json:"greedy_km_per_visit"`
	Continuity       float64 `json:"continuity"`
	Violations       int     `json:"violations"`
	Seconds          float64 `json:"seconds"`

	// Beside the fixed keys, for the report.
	GreedyAssigned       int            `json:"greedy_assigned"`
	GreedyContinuity     float64        `json:"greedy_continuity"`
	GreedyViolations     int            `json:"greedy_violations"`
	GreedySeconds        float64        `json:"greedy_seconds"`
	LowerBoundKMPerVisit float64        `json:"lower_bound_km_per_visit"`
	Residents            int            `json:"residents"`
	Unassigned           map[string]int `json:"unassigned_by_reason"`
}

// Run generates the week and measures both rosters. seconds is the
// roster's wall time alone (not generation, greedy or checking).
func Run(ctx context.Context, o Options, progress func(string)) (*Result, []roster.Violation, error) {
	if progress == nil {
		progress = func(string) {}
	}
	p, err := Generate(o)
	if err != nil {
		return nil, nil, err
	}
	res := map[string]bool{}
	for _, v := range p.Visits {
		res[v.ResidentID] = true
	}
	progress(fmt.Sprintf("week of %d visits for %d residents, %d carers", len(p.Visits), len(res), len(p.Carers)))

	t0 := time.Now()
	r, err := roster.Solve(ctx, p, roster.Options{TimeLimit: o.TimeLimit, ContinuityM: o.ContinuityM})
	if err != nil {
		return nil, nil, err
	}
	secs := time.Since(t0).Seconds()
	progress(fmt.Sprintf("roster in %.1f s", secs))

	t0 = time.Now()
	g := roster.Greedy(p)
	gsecs := time.Since(t0).Seconds()
	progress(fmt.Sprintf("greedy in %.1f s", gsecs))

	viol := roster.Violations(p, r)
	gviol := roster.Violations(p, g)
	m, gm := roster.Measure(p, r), roster.Measure(p, g)
	out := &Result{
		Bench: "roster", Providers: len(p.Carers), Visits: len(p.Visits),
		Assigned: m.Assigned, AssignedShare: stats.Round(m.AssignedShare, 4), KMPerVisit: stats.Round(m.KMPerVisit, 3),
		GreedyKMPerVisit: stats.Round(gm.KMPerVisit, 3), Continuity: stats.Round(m.Continuity, 4), Violations: len(viol),
		Seconds: stats.Round(secs, 2), GreedyAssigned: gm.Assigned, GreedyContinuity: stats.Round(gm.Continuity, 4),
		GreedyViolations: len(gviol), GreedySeconds: stats.Round(gsecs, 2),
		LowerBoundKMPerVisit: stats.Round(roster.LowerBoundKMPerVisit(p), 3), Residents: len(res),
		Unassigned: map[string]int{},
	}
	for _, u := range r.Unassigned {
		out.Unassigned[u.Reason]++
	}
	return out, viol, nil
}
