package roster

import (
	"fmt"
	"slices"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

// Kinds of hard-constraint breach Violations reports.
const (
	ViolationUnknown    = "unknown"     // the assignment names a visit or carer not in the problem
	ViolationDuplicate  = "duplicate"   // a visit is assigned twice, or both assigned and unassigned
	ViolationMissing    = "missing"     // a visit is neither assigned nor unassigned
	ViolationSkill      = "skill"       // the carer lacks the visit's skill
	ViolationGender     = "gender"      // not of the gender the resident asked for
	ViolationLanguage   = "language"    // does not speak the resident's language
	ViolationBlocked    = "blocked"     // the resident blocked this carer
	ViolationWindow     = "window"      // starts or ends outside the visit's window
	ViolationHours      = "hours"       // outside the carer's shifts
	ViolationTimeOff    = "time_off"    // during the carer's time off
	ViolationMaxVisits  = "max_visits"  // more visits that day than the carer takes
	ViolationMaxWork    = "max_work"    // more visit time that day than the carer works
	ViolationOverlap    = "overlap"     // starts before the previous visit ends plus travel between them
	ViolationTravelHome = "travel_home" // no time to come from home after the shift starts, or get home before it ends
)

// Violation is one breach of a hard constraint.
type Violation struct {
	Kind       string
	VisitID    string
	ProviderID string
	Detail     string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: visit %s carer %s: %s", v.Kind, v.VisitID, v.ProviderID, v.Detail)
}

// Violations checks r against p's hard constraints from first principles:
// it uses the domain's rules (carehex.WorkingHours, carehex.TravelMode) and
// none of the solver's code, so it can judge the solver. Each shift is a
// tour from home and back, as the solver plans it: the first visit of a
// shift leaves time to travel from home after the shift starts, the last
// to travel home before it ends, consecutive visits the travel between.
func Violations(p *Problem, r *Roster) []Violation {
	var out []Violation
	add := func(kind, visit, carer, format string, args ...any) {
		out = append(out, Violation{Kind: kind, VisitID: visit, ProviderID: carer, Detail: fmt.Sprintf(format, args...)})
	}
	visits := map[string]*Visit{}
	for i := range p.Visits {
		visits[p.Visits[i].ID] = &p.Visits[i]
	}
	carers := map[string]*Carer{}
	for i := range p.Carers {
		carers[p.Carers[i].ID] = &p.Carers[i]
	}
	seen := map[string]int{}
	for _, u := range r.Unassigned {
		seen[u.VisitID]++
		if visits[u.VisitID] == nil {
			add(ViolationUnknown, u.VisitID, "", "unassigned visit not in the problem")
		}
	}
	type stop struct {
		v          *Visit
		start, end time.Time
		shiftStart time.Time
		shiftEnd   time.Time
	}
	days := map[string][]stop{} // carer|day → stops
	for _, a := range r.Assignments {
		seen[a.VisitID]++
		v, c := visits[a.VisitID], carers[a.ProviderID]
		if v == nil || c == nil {
			add(ViolationUnknown, a.VisitID, a.ProviderID, "assignment names a visit or carer not in the problem")
			continue
		}
		if !slices.Contains(c.Skills, v.RequiredSkill) {
			add(ViolationSkill, v.ID, c.ID, "needs %s", v.RequiredSkill)
		}
		if v.Gender != "" && c.Gender != v.Gender {
			add(ViolationGender, v.ID, c.ID, "resident asks for %s", v.Gender)
		}
		if v.Language != "" && !slices.Contains(c.Languages, v.Language) {
			add(ViolationLanguage, v.ID, c.ID, "resident speaks %s", v.Language)
		}
		if slices.Contains(v.Blocked, c.ID) {
			add(ViolationBlocked, v.ID, c.ID, "carer is blocked")
		}
		end := a.Start.Add(v.Duration)
		if a.Start.Before(v.Earliest) || end.After(v.Latest) {
			add(ViolationWindow, v.ID, c.ID, "%s–%s outside %s–%s", a.Start.In(carehex.CST).Format("01-02 15:04"), end.In(carehex.CST).Format("15:04"),
				v.Earliest.In(carehex.CST).Format("01-02 15:04"), v.Latest.In(carehex.CST).Format("15:04"))
		}
		from, to, ok := c.Hours.ShiftAt(a.Start, end)
		if !ok {
			add(ViolationHours, v.ID, c.ID, "%s is outside the carer's shifts", a.Start.In(carehex.CST).Format("Mon 01-02 15:04"))
		}
		if c.Hours.Off(a.Start, end) {
			add(ViolationTimeOff, v.ID, c.ID, "carer is off")
		}
		key := c.ID + "|" + carehex.Day(a.Start).Format("2006-01-02")
		days[key] = append(days[key], stop{v: v, start: a.Start, end: end, shiftStart: from, shiftEnd: to})
	}
	for i := range p.Visits {
		switch n := seen[p.Visits[i].ID]; {
		case n == 0:
			add(ViolationMissing, p.Visits[i].ID, "", "in neither list")
		case n > 1:
			add(ViolationDuplicate, p.Visits[i].ID, "", "listed %d times", n)
		}
	}
	keys := make([]string, 0, len(days))
	for k := range days {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		stops := days[key]
		c := carers[key[:len(key)-len("|2006-01-02")]]
		slices.SortFunc(stops, func(a, b stop) int { return a.start.Compare(b.start) })
		var work time.Duration
		for _, st := range stops {
			work += st.v.Duration
		}
		if len(stops) > c.Hours.MaxVisitsPerDay {
			add(ViolationMaxVisits, stops[0].v.ID, c.ID, "%d visits on %s, at most %d", len(stops), key[len(key)-10:], c.Hours.MaxVisitsPerDay)
		}
		if work > c.Hours.MaxWorkPerDay {
			add(ViolationMaxWork, stops[0].v.ID, c.ID, "%v of visits on %s, at most %v", work, key[len(key)-10:], c.Hours.MaxWorkPerDay)
		}
		tt := func(a, b carehex.LatLng) time.Duration { return c.Hours.Mode.TravelTime(geo.FastDistanceM(a, b)) }
		home := c.Hours.Home
		for k, st := range stops {
			if st.shiftStart.IsZero() {
				continue // already reported as outside the shifts
			}
			firstOfShift := k == 0 || !stops[k-1].shiftStart.Equal(st.shiftStart)
			lastOfShift := k == len(stops)-1 || !stops[k+1].shiftStart.Equal(st.shiftStart)
			if firstOfShift && st.start.Add(-tt(home, st.v.Location)).Before(st.shiftStart) {
				add(ViolationTravelHome, st.v.ID, c.ID, "no time to come from home after the shift starts")
			}
			if lastOfShift && st.end.Add(tt(st.v.Location, home)).After(st.shiftEnd) {
				add(ViolationTravelHome, st.v.ID, c.ID, "no time to get home before the shift ends")
			}
			if k > 0 && !firstOfShift {
				prev := stops[k-1]
				if st.start.Before(prev.end.Add(tt(prev.v.Location, st.v.Location))) {
					add(ViolationOverlap, st.v.ID, c.ID, "starts before %s ends plus travel", prev.v.ID)
				}
			}
			if k > 0 && st.start.Before(stops[k-1].end) {
				add(ViolationOverlap, st.v.ID, c.ID, "overlaps %s", stops[k-1].v.ID)
			}
		}
	}
	return out
}

// Metrics are the roster's figures, as the bench reports them.
type Metrics struct {
	Visits        int
	Assigned      int
	AssignedShare float64
	// KM is the street distance travelled (straight line × DetourFactor),
	// home legs included; KMPerVisit divides it by the visits assigned.
	KM         float64
	KMPerVisit float64
	// Continuity is, over residents with two or more assigned visits, the
	// share of their visits done by the carer doing most of them.
	Continuity float64
}

// Measure computes r's metrics over p, walking each carer's shifts as
// Violations does.
func Measure(p *Problem, r *Roster) Metrics {
	visits := map[string]*Visit{}
	for i := range p.Visits {
		visits[p.Visits[i].ID] = &p.Visits[i]
	}
	carers := map[string]*Carer{}
	for i := range p.Carers {
		carers[p.Carers[i].ID] = &p.Carers[i]
	}
	mt := Metrics{Visits: len(p.Visits)}
	type stop struct {
		v     *Visit
		start time.Time
		shift time.Time
	}
	days := map[string][]stop{}
	perRes := map[string]map[string]int{}
	for _, a := range r.Assignments {
		v, c := visits[a.VisitID], carers[a.ProviderID]
		if v == nil || c == nil {
			continue
		}
		mt.Assigned++
		from, _, _ := c.Hours.ShiftAt(a.Start, a.Start.Add(v.Duration))
		key := c.ID + "|" + carehex.Day(a.Start).Format("2006-01-02")
		days[key] = append(days[key], stop{v, a.Start, from})
		if perRes[v.ResidentID] == nil {
			perRes[v.ResidentID] = map[string]int{}
		}
		perRes[v.ResidentID][c.ID]++
	}
	metres := 0.0
	for key, stops := range days {
		home := carers[key[:len(key)-len("|2006-01-02")]].Hours.Home
		slices.SortFunc(stops, func(a, b stop) int { return a.start.Compare(b.start) })
		for k, st := range stops {
			if k == 0 || !stops[k-1].shift.Equal(st.shift) {
				metres += geo.FastDistanceM(home, st.v.Location)
			} else {
				metres += geo.FastDistanceM(stops[k-1].v.Location, st.v.Location)
			}
			if k == len(stops)-1 || !stops[k+1].shift.Equal(st.shift) {
				metres += geo.FastDistanceM(st.v.Location, home)
			}
		}
	}
	mt.KM = metres * carehex.DetourFactor / 1000
	if mt.Visits > 0 {
		mt.AssignedShare = float64(mt.Assigned) / float64(mt.Visits)
	}
	if mt.Assigned > 0 {
		mt.KMPerVisit = mt.KM / float64(mt.Assigned)
	}
	top, all := 0, 0
	for _, byCarer := range perRes {
		n, best := 0, 0
		for _, k := range byCarer {
			n += k
			best = max(best, k)
		}
		if n >= 2 {
			top, all = top+best, all+n
		}
	}
	if all > 0 {
		mt.Continuity = float64(top) / float64(all)
	}
	return mt
}

// LowerBoundKMPerVisit is a floor under any roster's travel per visit:
// every visit is reached from somewhere, either a qualified carer's home or
// another visit the same day, so its inbound leg is at least the nearer of
// the two. Summed over all visits and divided by their number, it is what
// a perfect roster that assigned every visit could not beat (return legs
// only add). It is loose — chains between neighbours cost little — and
// says how far from perfect the roster is at most.
func LowerBoundKMPerVisit(p *Problem) float64 {
	if len(p.Visits) == 0 {
		return 0
	}
	byDay := map[time.Time][]int{}
	for i := range p.Visits {
		d := carehex.Day(p.Visits[i].Earliest)
		byDay[d] = append(byDay[d], i)
	}
	total := 0.0
	for i := range p.Visits {
		v := &p.Visits[i]
		best := -1.0
		for j := range p.Carers {
			if c := &p.Carers[j]; qualifiedCheck(c, v) {
				if d := geo.FastDistanceM(c.Hours.Home, v.Location); best < 0 || d < best {
					best = d
				}
			}
		}
		if best < 0 {
			continue // nobody can do it; it adds nothing to any roster
		}
		for _, j := range byDay[carehex.Day(v.Earliest)] {
			if j != i {
				if d := geo.FastDistanceM(p.Visits[j].Location, v.Location); d < best {
					best = d
				}
			}
		}
		total += best
	}
	return total * carehex.DetourFactor / 1000 / float64(len(p.Visits))
}

// qualifiedCheck is the checker's own statement of who may do a visit.
func qualifiedCheck(c *Carer, v *Visit) bool {
	return slices.Contains(c.Skills, v.RequiredSkill) &&
		(v.Gender == "" || c.Gender == v.Gender) &&
		(v.Language == "" || slices.Contains(c.Languages, v.Language)) &&
		!slices.Contains(v.Blocked, c.ID)
}
