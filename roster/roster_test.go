package roster_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/roster"
	"github.com/carehex/carehex/roster/rosterbench"
)

var monday = time.Date(2026, 12, 7, 0, 0, 0, 0, carehex.CST)

var zibo = carehex.LatLng{Lat: 36.807, Lng: 118.017}

// near returns a point within km of zibo.
func near(rng *rand.Rand, km float64) carehex.LatLng {
	return carehex.LatLng{Lat: zibo.Lat + (rng.Float64()*2-1)*km/111, Lng: zibo.Lng + (rng.Float64()*2-1)*km/89}
}

var skills = []string{"meal_service", "cleaning", "bathing"}

// randomWeek draws a week meant to stress the hard constraints: tight and
// wide windows, split shifts, part-day and whole-day time off, walkers,
// low daily caps, gender and language wishes, blocked carers, and more
// demand than supply.
func randomWeek(rng *rand.Rand, carers, residents int) *roster.Problem {
	p := &roster.Problem{}
	modes := []carehex.TravelMode{carehex.TravelWalk, carehex.TravelEBike, carehex.TravelCar}
	for i := range carers {
		id := fmt.Sprintf("c%d", i)
		w := carehex.WorkingHours{ProviderID: id, Home: near(rng, 6), Mode: modes[rng.IntN(3)],
			MaxVisitsPerDay: 1 + rng.IntN(6), MaxWorkPerDay: time.Duration(1+rng.IntN(8)) * time.Hour}
		for d := range 7 {
			if rng.IntN(4) == 0 {
				continue
			}
			wd := time.Weekday(d)
			if rng.IntN(2) == 0 {
				w.Weekly = append(w.Weekly, carehex.Shift{Weekday: wd, Start: carehex.TimeOfDay(7*60 + rng.IntN(120)), End: carehex.TimeOfDay(12*60 + rng.IntN(60))})
				w.Weekly = append(w.Weekly, carehex.Shift{Weekday: wd, Start: carehex.TimeOfDay(14 * 60), End: carehex.TimeOfDay(16*60 + rng.IntN(180))})
			} else {
				w.Weekly = append(w.Weekly, carehex.Shift{Weekday: wd, Start: carehex.TimeOfDay(6*60 + rng.IntN(180)), End: carehex.TimeOfDay(15*60 + rng.IntN(300))})
			}
		}
		for range rng.IntN(3) {
			from := monday.Add(time.Duration(rng.IntN(7*24*60)) * time.Minute)
			w.TimeOff = append(w.TimeOff, carehex.TimeOff{From: from, To: from.Add(time.Duration(30+rng.IntN(24*60)) * time.Minute)})
		}
		c := roster.Carer{ID: id, Gender: carehex.GenderFemale, Languages: []string{"普通话"}, Hours: w}
		if rng.IntN(5) == 0 {
			c.Gender = carehex.GenderMale
		}
		if rng.IntN(3) > 0 {
			c.Languages = append(c.Languages, "淄博话")
		}
		for _, s := range skills {
			if rng.IntN(2) == 0 {
				c.Skills = append(c.Skills, s)
			}
		}
		if len(c.Skills) == 0 {
			c.Skills = []string{skills[rng.IntN(len(skills))]}
		}
		p.Carers = append(p.Carers, c)
	}
	for r := range residents {
		loc := near(rng, 8)
		var g carehex.Gender
		if rng.IntN(6) == 0 {
			g = carehex.GenderFemale
		}
		lang := ""
		if rng.IntN(2) == 0 {
			lang = "淄博话"
		}
		var blocked []string
		if rng.IntN(5) == 0 {
			blocked = []string{p.Carers[rng.IntN(len(p.Carers))].ID}
		}
		for it := range 1 + rng.IntN(2) {
			skill := skills[rng.IntN(len(skills))]
			ws := carehex.TimeOfDay(7*60 + rng.IntN(9*60))
			dur := time.Duration(15+rng.IntN(90)) * time.Minute
			we := ws + carehex.TimeOfDay(dur/time.Minute) + carehex.TimeOfDay(rng.IntN(180))
			for d := range 7 {
				if rng.IntN(2) == 0 {
					continue
				}
				day := monday.AddDate(0, 0, d)
				p.Visits = append(p.Visits, roster.Visit{
					PlannedVisit: carehex.PlannedVisit{
						ID: fmt.Sprintf("v%d_%d_%d", r, it, d), ResidentID: fmt.Sprintf("r%d", r), ServiceCode: skill,
						Earliest: ws.On(day), Latest: we.On(day), Duration: dur,
					},
					Location: loc, RequiredSkill: skill, Gender: g, Language: lang, Blocked: blocked,
				})
			}
		}
	}
	return p
}

// TestNoViolationsOnRandomWeeks is the property: whatever the week, neither
// the roster nor the greedy baseline ever breaks a hard constraint, and
// every visit ends up in exactly one of the two lists.
func TestNoViolationsOnRandomWeeks(t *testing.T) {
	weeks := 40
	if testing.Short() {
		weeks = 12
	}
	for seed := range uint64(weeks) {
		rng := rand.New(rand.NewPCG(seed, 11))
		p := randomWeek(rng, 5+rng.IntN(25), 5+rng.IntN(40))
		r, err := roster.Solve(context.Background(), p, roster.Options{TimeLimit: time.Second})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for name, got := range map[string]*roster.Roster{"roster": r, "greedy": roster.Greedy(p)} {
			if v := roster.Violations(p, got); len(v) > 0 {
				t.Errorf("seed %d %s: %d violations, first %v", seed, name, len(v), v[0])
			}
			if n := len(got.Assignments) + len(got.Unassigned); n != len(p.Visits) {
				t.Errorf("seed %d %s: %d visits accounted for, want %d", seed, name, n, len(p.Visits))
			}
		}
		if len(r.Assignments) == 0 {
			t.Errorf("seed %d: nothing assigned out of %d visits", seed, len(p.Visits))
		}
	}
}

// TestNoViolationsOnCityWeeks runs the property on the bench's own weeks.
func TestNoViolationsOnCityWeeks(t *testing.T) {
	for seed := range uint64(3) {
		p, err := rosterbench.Generate(rosterbench.Options{Seed: seed, Providers: 60, Visits: 500, Days: 7})
		if err != nil {
			t.Fatal(err)
		}
		r, err := roster.Solve(context.Background(), p, roster.Options{TimeLimit: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if v := roster.Violations(p, r); len(v) > 0 {
			t.Errorf("seed %d: %d violations, first %v", seed, len(v), v[0])
		}
		m := roster.Measure(p, r)
		if m.Assigned == 0 || m.KMPerVisit < roster.LowerBoundKMPerVisit(p) {
			t.Errorf("seed %d: %+v below the lower bound %.3f", seed, m, roster.LowerBoundKMPerVisit(p))
		}
	}
}

// small is a hand-made problem: two carers, one resident's weekday
// lunches, one bath. c1 lives 1 km away, c2 3 km.
func small() *roster.Problem {
	home := zibo
	c1 := carehex.LatLng{Lat: zibo.Lat + 0.009, Lng: zibo.Lng}
	c2 := carehex.LatLng{Lat: zibo.Lat - 0.027, Lng: zibo.Lng}
	hours := func(id string, at carehex.LatLng) carehex.WorkingHours {
		w := carehex.WorkingHours{ProviderID: id, Home: at, Mode: carehex.TravelEBike, MaxVisitsPerDay: 4, MaxWorkPerDay: 4 * time.Hour}
		for d := time.Monday; d <= time.Friday; d++ {
			w.Weekly = append(w.Weekly, carehex.Shift{Weekday: d, Start: 8 * 60, End: 17 * 60})
		}
		return w
	}
	p := &roster.Problem{Carers: []roster.Carer{
		{ID: "c1", Gender: carehex.GenderFemale, Skills: []string{"meal_service", "bathing"}, Languages: []string{"淄博话"}, Hours: hours("c1", c1)},
		{ID: "c2", Gender: carehex.GenderFemale, Skills: []string{"meal_service", "bathing"}, Languages: []string{"淄博话"}, Hours: hours("c2", c2)},
	}}
	for d := range 5 {
		day := monday.AddDate(0, 0, d)
		p.Visits = append(p.Visits, roster.Visit{PlannedVisit: carehex.PlannedVisit{
			ID: fmt.Sprintf("meal%d", d), ResidentID: "r1", ServiceCode: "DL-MEAL-DELIVERY",
			Earliest: carehex.TimeOfDay(11 * 60).On(day), Latest: carehex.TimeOfDay(12*60 + 30).On(day), Duration: 30 * time.Minute,
		}, Location: home, RequiredSkill: "meal_service", Language: "淄博话"})
	}
	p.Visits = append(p.Visits, roster.Visit{PlannedVisit: carehex.PlannedVisit{
		ID: "bath", ResidentID: "r1", ServiceCode: "DL-BATH-HOME",
		Earliest: carehex.TimeOfDay(9 * 60).On(monday.AddDate(0, 0, 1)), Latest: carehex.TimeOfDay(11 * 60).On(monday.AddDate(0, 0, 1)), Duration: time.Hour,
	}, Location: home, RequiredSkill: "bathing", Language: "淄博话"})
	return p
}

func TestSolveSmall(t *testing.T) {
	p := small()
	r, err := roster.Solve(context.Background(), p, roster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v := roster.Violations(p, r); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
	if len(r.Unassigned) != 0 || len(r.Assignments) != len(p.Visits) {
		t.Fatalf("assigned %d, unassigned %v", len(r.Assignments), r.Unassigned)
	}
	for _, a := range r.Assignments {
		// The nearer carer takes the whole week: less travel, one face.
		if a.ProviderID != "c1" {
			t.Errorf("%s went to %s, want c1", a.VisitID, a.ProviderID)
		}
		names := map[string]float64{}
		sum := 0.0
		for _, f := range a.Factors {
			names[f.Name] = f.Value
			sum += f.Contribution
		}
		if _, ok := names[carehex.FactorTravelTime]; !ok || names[carehex.FactorContinuity] != 1 || sum != a.Score {
			t.Errorf("%s: factors %+v, score %v", a.VisitID, a.Factors, a.Score)
		}
		// Each visit starts at its window's start: c1 is 1 km away.
		v := p.Visits[slices.IndexFunc(p.Visits, func(v roster.Visit) bool { return v.ID == a.VisitID })]
		if !a.Start.Equal(v.Earliest) {
			t.Errorf("%s starts %v, want %v", a.VisitID, a.Start, v.Earliest)
		}
	}
	if m := roster.Measure(p, r); m.Continuity != 1 || m.AssignedShare != 1 {
		t.Errorf("metrics %+v", m)
	}
}

func TestUnassignedReasons(t *testing.T) {
	p := small()
	p.Visits[0].RequiredSkill = "nursing"      // nobody has it
	p.Visits[1].Blocked = []string{"c1", "c2"} // nobody left
	p.Visits[2].Gender = carehex.GenderMale    // nobody of that gender
	// Saturday: both carers are qualified but off.
	p.Visits[3].Earliest = p.Visits[3].Earliest.AddDate(0, 0, 5-3)
	p.Visits[3].Latest = p.Visits[3].Latest.AddDate(0, 0, 5-3)
	r, err := roster.Solve(context.Background(), p, roster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range r.Unassigned {
		got[u.VisitID] = u.Reason
	}
	want := map[string]string{"meal0": roster.ReasonNoQualifiedCarer, "meal1": roster.ReasonNoQualifiedCarer,
		"meal2": roster.ReasonNoQualifiedCarer, "meal3": roster.ReasonNoTime}
	for id, reason := range want {
		if got[id] != reason {
			t.Errorf("%s: reason %q, want %q", id, got[id], reason)
		}
	}
	if len(got) != len(want) {
		t.Errorf("unassigned %v, want %v", got, want)
	}
	if v := roster.Violations(p, r); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

// TestViolationsCatches proves the checker is not vacuous: each way of
// breaking a valid roster is reported under its kind.
func TestViolationsCatches(t *testing.T) {
	base := small()
	good, err := roster.Solve(context.Background(), base, roster.Options{})
	if err != nil || len(roster.Violations(base, good)) != 0 || len(good.Unassigned) != 0 {
		t.Fatalf("base roster: %v %v", err, roster.Violations(base, good))
	}
	idx := func(r *roster.Roster, id string) int {
		return slices.IndexFunc(r.Assignments, func(a roster.Assignment) bool { return a.VisitID == id })
	}
	tests := []struct {
		kind   string
		break_ func(p *roster.Problem, r *roster.Roster)
	}{
		{roster.ViolationSkill, func(p *roster.Problem, r *roster.Roster) { p.Carers[0].Skills = []string{"meal_service"} }},
		{roster.ViolationGender, func(p *roster.Problem, r *roster.Roster) { p.Visits[0].Gender = carehex.GenderMale }},
		{roster.ViolationLanguage, func(p *roster.Problem, r *roster.Roster) { p.Visits[0].Language = "粤语" }},
		{roster.ViolationBlocked, func(p *roster.Problem, r *roster.Roster) { p.Visits[0].Blocked = []string{"c1"} }},
		{roster.ViolationWindow, func(p *roster.Problem, r *roster.Roster) {
			r.Assignments[idx(r, "meal0")].Start = p.Visits[0].Latest.Add(-10 * time.Minute)
		}},
		{roster.ViolationHours, func(p *roster.Problem, r *roster.Roster) { p.Carers[0].Hours.Weekly = p.Carers[0].Hours.Weekly[1:] }},
		{roster.ViolationTimeOff, func(p *roster.Problem, r *roster.Roster) {
			p.Carers[0].Hours.TimeOff = []carehex.TimeOff{{From: monday.Add(11 * time.Hour), To: monday.Add(11*time.Hour + time.Minute)}}
		}},
		{roster.ViolationMaxVisits, func(p *roster.Problem, r *roster.Roster) { p.Carers[0].Hours.MaxVisitsPerDay = 1 }},
		{roster.ViolationMaxWork, func(p *roster.Problem, r *roster.Roster) { p.Carers[0].Hours.MaxWorkPerDay = time.Hour }},
		{roster.ViolationOverlap, func(p *roster.Problem, r *roster.Roster) {
			// The bath runs into Tuesday's lunch.
			r.Assignments[idx(r, "bath")].Start = r.Assignments[idx(r, "meal1")].Start.Add(-30 * time.Minute)
		}},
		{roster.ViolationTravelHome, func(p *roster.Problem, r *roster.Roster) {
			p.Carers[0].Hours.Home = carehex.LatLng{Lat: zibo.Lat + 0.3, Lng: zibo.Lng} // 33 km: no time to come
		}},
		{roster.ViolationDuplicate, func(p *roster.Problem, r *roster.Roster) { r.Assignments = append(r.Assignments, r.Assignments[0]) }},
		{roster.ViolationMissing, func(p *roster.Problem, r *roster.Roster) { r.Assignments = r.Assignments[1:] }},
		{roster.ViolationUnknown, func(p *roster.Problem, r *roster.Roster) { r.Assignments[0].ProviderID = "nobody" }},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			p := small()
			r := &roster.Roster{Assignments: slices.Clone(good.Assignments)}
			tc.break_(p, r)
			v := roster.Violations(p, r)
			if !slices.ContainsFunc(v, func(x roster.Violation) bool { return x.Kind == tc.kind }) {
				t.Fatalf("violations %v, want one of kind %s", v, tc.kind)
			}
		})
	}
}

// TestSolveStopsWithContext: a cancelled context stops the solver early,
// and what it returns still breaks nothing.
func TestSolveStopsWithContext(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	p := randomWeek(rng, 20, 40)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := roster.Solve(ctx, p, roster.Options{})
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if v := roster.Violations(p, r); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
}
