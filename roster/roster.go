// Package roster assigns planned visits to carers ahead of time: the
// planned half of the work, beside dispatch's on-demand half.
//
// # The problem
//
// It is a vehicle-routing problem with time windows, many depots (each
// carer's home), heterogeneous speeds (walk, e-bike, car), skills and
// personal hard constraints (gender, language, blocked carers), shifts with
// time off, daily caps on visits and work, and a second objective, continuity
// of care: the same carer for a resident's recurring visits.
//
// # Why our own solver
//
// No maintained Go solver fits. The strong open solvers (OR-Tools, VROOM,
// PyVRP, Timefold/OptaPlanner, jsprit) are C++, Python or Java; OR-Tools from
// Go means cgo and a C++ toolchain in a binary that is otherwise one static
// file, and none of them models continuity across days without a rewrite of
// the objective. The pure-Go VRP repositories found are unmaintained
// experiments. So the roster is construction + local search, small enough to
// read in one sitting:
//
//  1. Construction, resident by resident, hardest first: fewest qualified
//     carers, then the most remote (farthest from their eighth-nearest
//     qualified carer), then most visits. For a resident, each of the nearest
//     qualified carers is tried for all the resident's visits of the horizon
//     by cheapest insertion into that carer's day routes; the carer who takes
//     the most visits for the least added travel wins, and visits left over
//     go the same way to the next best. Taking a resident's week as a unit is
//     what yields continuity; cheapest insertion is what chains nearby homes.
//  2. Local search until the time limit: move all of a resident's visits
//     held by one carer to another when that shortens travel (keeping
//     continuity), and retry unassigned visits one by one.
//
// Feasibility of a day route is exact for its order: visits start as early
// as their window, the carer's shifts, time off and travel allow
// (earliest-start scheduling), which is optimal for a fixed order.
//
// Travel is the straight-line distance × carehex.DetourFactor at the carer's
// mode speed (carehex.TravelMode.TravelTime), rounded up to whole minutes,
// from home to the day's first visit, between visits, and back home after
// the last. A road router would replace the straight line; nothing else
// changes.
//
// Violations checks a roster against every hard constraint without using
// the solver's code, so the tests and the bench judge the solver with a
// yardstick it did not write. Greedy is the baseline: visits in time order,
// each to the first carer, nearest home first, who can still fit it — what
// on-demand dispatch would do with the same week.
package roster

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

// Carer is a provider with the terms the roster keeps to.
type Carer struct {
	ID        string
	Gender    carehex.Gender
	Skills    []string
	Languages []string
	Hours     carehex.WorkingHours
}

// Visit is a planned visit with what the roster needs of its resident.
type Visit struct {
	carehex.PlannedVisit
	Location      carehex.LatLng
	RequiredSkill string
	// Hard wishes of the resident, from carehex.Preferences.
	Gender   carehex.Gender
	Language string
	Blocked  []string
}

// Problem is one horizon to roster.
type Problem struct {
	Visits []Visit
	Carers []Carer
}

// Assignment is one visit given to one carer, with its start and why.
type Assignment struct {
	VisitID    string
	ProviderID string
	Start      time.Time
	Score      float64
	Factors    []carehex.Factor
}

// Reasons a visit stays unassigned, as codes the console renders.
const (
	ReasonNoQualifiedCarer = "no_qualified_carer" // nobody has the skill and meets the resident's wishes
	ReasonNoTime           = "no_time"            // qualified carers exist but none can fit it
)

// Unassigned is a visit the roster could not place, with the reason.
type Unassigned struct {
	VisitID string
	Reason  string
}

// Roster is the result: every visit of the problem is in exactly one list.
type Roster struct {
	Assignments []Assignment
	Unassigned  []Unassigned
}

// Options tune Solve; zero values take the defaults.
type Options struct {
	// Candidates is how many nearest qualified carers are tried per
	// resident (default 48).
	Candidates int
	// TimeLimit bounds the local search after construction (default 20 s).
	TimeLimit time.Duration
	// ContinuityM is the extra travel, in straight-line metres, worth
	// spending to keep one more of a resident's visits with the carer who
	// has the others (default 6000).
	ContinuityM float64
	// HomeWeight adds, per visit, this share of the distance from the
	// carer's home to the resident to a carer's cost in construction
	// (default 1; negative for none).
	HomeWeight float64
	// Now is the clock for the time limit; time.Now when nil.
	Now func() time.Time
}

const (
	defaultCandidates  = 48
	defaultTimeLimit   = 20 * time.Second
	minutesPerDay      = 24 * 60
	defaultContinuityM = 6000
)

// Explanation weights: the factors are shown, not optimised directly.
const (
	weightTravel     = -1.0 // per minute of travel from the previous stop
	weightContinuity = 10.0
	weightPreferred  = 5.0
	weightFairShare  = -0.5 // per visit the carer already has that day
)

// model is the problem in minutes since base (midnight CST of the first
// visit's day), with indexes instead of IDs.
type model struct {
	base   time.Time
	days   int
	visits []mvisit
	carers []mcarer
	byRes  map[string][]int // resident ID → visit indexes
}

// point is a position prepared for fast distances.
type point struct{ lat, lng, cos float64 }

func newPoint(p carehex.LatLng) point {
	const rad = math.Pi / 180
	return point{lat: p.Lat * rad, lng: p.Lng * rad, cos: math.Cos(p.Lat * rad)}
}

// earthRadiusM is the radius geo.FastDistanceM uses.
const earthRadiusM = 6371007.180918475

// dist is the distance in metres on the flat earth around the pair, the
// meridians' convergence taken at their mean latitude: no trigonometry per
// pair, where geo.FastDistanceM (which Violations uses) needs four calls.
// Within a city it differs from the great circle by centimetres; the 0.1 %
// and 1 m added keep it from ever falling short of it, so a schedule the
// solver finds feasible is feasible to the checker too.
func (a point) dist(b point) float64 {
	dy := b.lat - a.lat
	dx := (b.lng - a.lng) * (a.cos + b.cos) / 2
	return earthRadiusM*math.Sqrt(dx*dx+dy*dy)*1.001 + 1
}

type mvisit struct {
	v         *Visit
	at        point
	day       int
	earliest  int // minutes since base
	lastStart int
	dur       int
}

type span struct{ from, to int }

type mcarer struct {
	c        *Carer
	home     point
	shifts   [][]span // per day, sorted
	off      []span
	maxWork  int
	maxCount int
}

func newModel(p *Problem) *model {
	m := &model{byRes: map[string][]int{}}
	if len(p.Visits) == 0 {
		return m
	}
	first, last := p.Visits[0].Earliest, p.Visits[0].Latest
	for i := range p.Visits {
		first = minTime(first, p.Visits[i].Earliest)
		last = maxTime(last, p.Visits[i].Latest)
	}
	m.base = carehex.Day(first)
	m.days = int(carehex.Day(last).Sub(m.base)/(24*time.Hour)) + 1
	m.visits = make([]mvisit, len(p.Visits))
	for i := range p.Visits {
		v := &p.Visits[i]
		e := m.minutes(v.Earliest)
		m.visits[i] = mvisit{v: v, at: newPoint(v.Location), day: e / minutesPerDay, earliest: e,
			lastStart: m.minutesFloor(v.LatestStart()), dur: int((v.Duration + time.Minute - 1) / time.Minute)}
		m.byRes[v.ResidentID] = append(m.byRes[v.ResidentID], i)
	}
	m.carers = make([]mcarer, len(p.Carers))
	for i := range p.Carers {
		c := &p.Carers[i]
		mc := mcarer{c: c, home: newPoint(c.Hours.Home), shifts: make([][]span, m.days), maxWork: int(c.Hours.MaxWorkPerDay / time.Minute), maxCount: c.Hours.MaxVisitsPerDay}
		for d := range m.days {
			wd := m.base.AddDate(0, 0, d).Weekday()
			for _, s := range c.Hours.Weekly {
				if s.Weekday == wd {
					mc.shifts[d] = append(mc.shifts[d], span{d*minutesPerDay + int(s.Start), d*minutesPerDay + int(s.End)})
				}
			}
			slices.SortFunc(mc.shifts[d], func(a, b span) int { return a.from - b.from })
		}
		for _, o := range c.Hours.TimeOff {
			mc.off = append(mc.off, span{m.minutesFloor(o.From), m.minutes(o.To)})
		}
		m.carers[i] = mc
	}
	return m
}

// minutes rounds t up to whole minutes since base; minutesFloor rounds down.
func (m *model) minutes(t time.Time) int {
	d := t.Sub(m.base)
	return int((d + time.Minute - 1) / time.Minute)
}
func (m *model) minutesFloor(t time.Time) int {
	d := t.Sub(m.base)
	if d < 0 {
		return int((d - time.Minute + 1) / time.Minute)
	}
	return int(d / time.Minute)
}
func (m *model) at(min int) time.Time { return m.base.Add(time.Duration(min) * time.Minute) }

// qualified reports whether carer c may do visit v at all: skill, the
// resident's gender and language wishes, not blocked.
func qualified(c *Carer, v *Visit) bool {
	if !slices.Contains(c.Skills, v.RequiredSkill) {
		return false
	}
	if v.Gender != carehex.GenderUnspecified && c.Gender != v.Gender {
		return false
	}
	if v.Language != "" && !slices.Contains(c.Languages, v.Language) {
		return false
	}
	return !slices.Contains(v.Blocked, c.ID)
}

// route is one carer's day: visit indexes in order, their starts, and
// totals kept up to date.
type route struct {
	stops  []int
	starts []int
	work   int
	distM  float64 // straight-line metres, home legs included
}

// state is a roster under construction.
type state struct {
	m      *model
	routes [][]*route // [carer][day]
	holder []int      // visit → carer index, -1 when unassigned
	start  []int
	// continuityM: see Options.ContinuityM.
	continuityM float64
	// homeWeight: see Options.HomeWeight.
	homeWeight float64
}

func newState(m *model) *state {
	s := &state{m: m, routes: make([][]*route, len(m.carers)), holder: make([]int, len(m.visits)), start: make([]int, len(m.visits))}
	for i := range s.routes {
		s.routes[i] = make([]*route, m.days)
	}
	for i := range s.holder {
		s.holder[i] = -1
	}
	return s
}

func (s *state) route(c, d int) *route {
	r := s.routes[c][d]
	if r == nil {
		r = &route{}
		s.routes[c][d] = r
	}
	return r
}

func (s *state) travel(c int, distM float64) int {
	return int(s.m.carers[c].c.Hours.Mode.TravelTime(distM) / time.Minute)
}

// fitInShift returns the earliest start ≥ lb for a visit of dur minutes
// that starts by lastStart, ends inside shift sh and touches no time off.
// Jumping past each time off it overlaps finds the least such start, so a
// smaller lb never yields a later start: removing a visit from a route
// keeps the rest feasible.
func (s *state) fitInShift(c int, sh span, lb, lastStart, dur int) (int, bool) {
	t := lb
	for moved := true; moved; {
		moved = false
		if t > lastStart || t+dur > sh.to {
			return 0, false
		}
		for _, o := range s.m.carers[c].off {
			if t < o.to && o.from < t+dur {
				t, moved = o.to, true
			}
		}
	}
	return t, true
}

// schedule computes earliest starts for visits in order on carer c's day,
// writing them into starts; it returns the route's straight-line metres
// and whether the order is feasible. Each shift is a tour from home and
// back: the first visit of a shift is reached from home after the shift
// starts, the last leaves time to get home before it ends (a split shift
// means the carer goes home in between).
func (s *state) schedule(c, day int, order []int, starts []int) (float64, bool) {
	m := s.m
	shifts := m.carers[c].shifts[day]
	home := m.carers[c].home
	prev, prevShift, end := home, -1, 0
	dist := 0.0
	for k, vi := range order {
		mv := &m.visits[vi]
		placed := false
		for si := max(prevShift, 0); si < len(shifts) && !placed; si++ {
			sh := shifts[si]
			var d, back float64
			var lb int
			if si == prevShift {
				d = prev.dist(mv.at)
				lb = max(mv.earliest, end+s.travel(c, d))
			} else {
				if prevShift >= 0 {
					back = prev.dist(home)
					if end+s.travel(c, back) > shifts[prevShift].to {
						return 0, false
					}
				}
				d = home.dist(mv.at)
				lb = max(mv.earliest, sh.from+s.travel(c, d))
			}
			st, ok := s.fitInShift(c, sh, lb, mv.lastStart, mv.dur)
			if !ok {
				continue
			}
			starts[k], end, prevShift, placed = st, st+mv.dur, si, true
			dist += d + back
		}
		if !placed {
			return 0, false
		}
		prev = mv.at
	}
	if prevShift >= 0 {
		d := prev.dist(home)
		if end+s.travel(c, d) > shifts[prevShift].to {
			return 0, false
		}
		dist += d
	}
	return dist, true
}

// insertion is the cheapest feasible way to add a visit to a carer's day.
type insertion struct {
	pos    int
	deltaM float64
	order  []int
	starts []int
}

// bestInsertion finds the cheapest feasible position for visit vi in
// carer c's route, or ok=false. scratch slices are reused.
func (s *state) bestInsertion(c, vi int) (ins insertion, ok bool) {
	mv := &s.m.visits[vi]
	mc := &s.m.carers[c]
	r := s.routes[c][mv.day]
	n := 0
	var oldDist float64
	var work int
	if r != nil {
		n, oldDist, work = len(r.stops), r.distM, r.work
	}
	if n+1 > mc.maxCount || work+mv.dur > mc.maxWork {
		return insertion{}, false
	}
	order := make([]int, n+1)
	starts := make([]int, n+1)
	best := insertion{deltaM: math.Inf(1)}
	for pos := 0; pos <= n; pos++ {
		// Positions far out of time order cannot be feasible: the visit
		// before must be able to start before this one's latest start.
		if pos > 0 && s.m.visits[r.stops[pos-1]].earliest > mv.lastStart {
			break
		}
		if pos < n && s.m.visits[r.stops[pos]].lastStart < mv.earliest {
			continue
		}
		if r != nil {
			copy(order, r.stops[:pos])
			copy(order[pos+1:], r.stops[pos:])
		}
		order[pos] = vi
		d, feasible := s.schedule(c, mv.day, order, starts)
		if feasible && d-oldDist < best.deltaM {
			best = insertion{pos: pos, deltaM: d - oldDist, order: slices.Clone(order), starts: slices.Clone(starts)}
		}
	}
	return best, !math.IsInf(best.deltaM, 1)
}

// apply commits an insertion found by bestInsertion.
func (s *state) apply(c, vi int, ins insertion) {
	mv := &s.m.visits[vi]
	r := s.route(c, mv.day)
	r.stops, r.starts = ins.order, ins.starts
	r.distM += ins.deltaM
	r.work += mv.dur
	s.holder[vi] = c
	for k, x := range r.stops {
		s.start[x] = r.starts[k]
	}
}

// remove takes visit vi out of its carer's route, rescheduling the rest
// (removing a visit never makes a feasible route infeasible: every other
// visit can keep its start or start earlier).
func (s *state) remove(vi int) bool {
	c := s.holder[vi]
	if c < 0 {
		return true
	}
	mv := &s.m.visits[vi]
	r := s.routes[c][mv.day]
	k := slices.Index(r.stops, vi)
	stops := slices.Delete(slices.Clone(r.stops), k, k+1)
	starts := make([]int, len(stops))
	d, ok := s.schedule(c, mv.day, stops, starts)
	if !ok {
		// Cannot happen while travel obeys the triangle inequality (see
		// fitInShift); if it did, keeping the visit keeps the roster valid.
		return false
	}
	r.stops, r.starts, r.distM = stops, starts, d
	r.work -= mv.dur
	s.holder[vi] = -1
	for k, x := range r.stops {
		s.start[x] = r.starts[k]
	}
	return true
}

// Solve builds the roster for p. It returns when done, at opt.TimeLimit, or
// when ctx is done (with the best roster so far and ctx's error).
func Solve(ctx context.Context, p *Problem, opt Options) (*Roster, error) {
	if opt.Candidates <= 0 {
		opt.Candidates = defaultCandidates
	}
	if opt.TimeLimit <= 0 {
		opt.TimeLimit = defaultTimeLimit
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ContinuityM <= 0 {
		opt.ContinuityM = defaultContinuityM
	}
	deadline := opt.Now().Add(opt.TimeLimit)
	m := newModel(p)
	s := newState(m)
	s.continuityM = opt.ContinuityM
	switch {
	case opt.HomeWeight == 0:
		s.homeWeight = 1
	case opt.HomeWeight > 0:
		s.homeWeight = opt.HomeWeight
	}

	// Candidate carers per resident: the nearest homes among those
	// qualified for at least one of the resident's visits.
	type resident struct {
		id     string
		visits []int
		cands  []int
		reach  float64 // to the 8th nearest qualified carer's home
	}
	res := make([]*resident, 0, len(m.byRes))
	for id, vs := range m.byRes {
		res = append(res, &resident{id: id, visits: vs, cands: s.nearestQualified(vs, opt.Candidates)})
	}
	reach := func(r *resident) float64 {
		if len(r.cands) == 0 {
			return math.Inf(1)
		}
		return m.visits[r.visits[0]].at.dist(m.carers[r.cands[min(len(r.cands)-1, 7)]].home)
	}
	for _, r := range res {
		r.reach = reach(r)
	}
	sort.Slice(res, func(i, j int) bool {
		a, b := res[i], res[j]
		if len(a.cands) != len(b.cands) {
			return len(a.cands) < len(b.cands)
		}
		if a.reach != b.reach {
			return a.reach > b.reach
		}
		if len(a.visits) != len(b.visits) {
			return len(a.visits) > len(b.visits)
		}
		return a.id < b.id
	})

	for _, r := range res {
		if err := ctx.Err(); err != nil {
			return s.roster(), err
		}
		s.placeResident(r.visits, r.cands)
	}

	// Local search: relocate a resident's visits held by one carer to
	// another when it shortens travel; then retry what is left unassigned.
	for improved := true; improved; {
		improved = false
		for _, r := range res {
			if ctx.Err() != nil || opt.Now().After(deadline) {
				break
			}
			if s.relocateResident(r.visits, r.cands) {
				improved = true
			}
			for _, vi := range r.visits {
				if s.relocateVisit(vi, r.visits, r.cands) {
					improved = true
				}
			}
		}
		if ctx.Err() != nil || opt.Now().After(deadline) {
			break
		}
	}
	for _, r := range res {
		for _, vi := range r.visits {
			if s.holder[vi] < 0 {
				s.placeOne(vi, r.cands)
			}
		}
	}
	return s.roster(), ctx.Err()
}

// nearestQualified lists up to k carers nearest to the resident's home
// that are qualified for at least one of vs, nearest first.
func (s *state) nearestQualified(vs []int, k int) []int {
	loc := s.m.visits[vs[0]].at
	type cd struct {
		c int
		d float64
	}
	var all []cd
	for c := range s.m.carers {
		for _, vi := range vs {
			if qualified(s.m.carers[c].c, s.m.visits[vi].v) {
				all = append(all, cd{c, loc.dist(s.m.carers[c].home)})
				break
			}
		}
	}
	// Keep the k nearest in order, by insertion: most carers are farther
	// than the k-th and cost one comparison.
	less := func(a, b cd) bool { return a.d < b.d || (a.d == b.d && a.c < b.c) }
	top := make([]cd, 0, k)
	for _, x := range all {
		if len(top) == k && !less(x, top[k-1]) {
			continue
		}
		i := sort.Search(len(top), func(i int) bool { return less(x, top[i]) })
		if len(top) < k {
			top = append(top, cd{})
		}
		copy(top[i+1:], top[i:len(top)-1])
		top[i] = x
	}
	out := make([]int, 0, len(top))
	for _, x := range top {
		out = append(out, x.c)
	}
	return out
}

// tryCarer inserts as many of vs (unassigned ones) as fit into carer c,
// returning how many and the added metres; with commit false it undoes
// them again.
func (s *state) tryCarer(c int, vs []int, commit bool) (n int, addM float64) {
	var placed []int
	for _, vi := range vs {
		if s.holder[vi] >= 0 || !qualified(s.m.carers[c].c, s.m.visits[vi].v) {
			continue
		}
		ins, ok := s.bestInsertion(c, vi)
		if !ok {
			continue
		}
		s.apply(c, vi, ins)
		placed = append(placed, vi)
		addM += ins.deltaM
	}
	if !commit {
		for i := len(placed) - 1; i >= 0; i-- {
			s.remove(placed[i])
		}
	}
	return len(placed), addM
}

// placeResident gives the resident's unassigned visits to the candidate
// taking the most of them for the least travel, then the rest likewise.
func (s *state) placeResident(vs []int, cands []int) {
	for {
		left := 0
		for _, vi := range vs {
			if s.holder[vi] < 0 {
				left++
			}
		}
		if left == 0 {
			return
		}
		bestC, bestM := -1, math.Inf(1)
		for _, c := range cands {
			n, add := s.tryCarer(c, vs, false)
			if n == 0 {
				continue
			}
			// Each visit left for another carer costs as much travel as
			// a detour of continuityM: continuity is worth some
			// kilometres, not any number of them.
			home := s.m.carers[c].home.dist(s.m.visits[vs[0]].at)
			cost := add + float64(left-n)*s.continuityM + s.homeWeight*home*float64(n)
			if cost < bestM {
				bestC, bestM = c, cost
			}
		}
		if bestC < 0 {
			return
		}
		s.tryCarer(bestC, vs, true)
	}
}

// placeOne gives one visit to the candidate where it adds least travel.
func (s *state) placeOne(vi int, cands []int) bool {
	bestC, best := -1, insertion{deltaM: math.Inf(1)}
	for _, c := range cands {
		if !qualified(s.m.carers[c].c, s.m.visits[vi].v) {
			continue
		}
		if ins, ok := s.bestInsertion(c, vi); ok && ins.deltaM < best.deltaM {
			bestC, best = c, ins
		}
	}
	if bestC < 0 {
		return false
	}
	s.apply(bestC, vi, best)
	return true
}

// relocateResident moves, for each carer holding some of the resident's
// visits, all of those to another candidate if every one fits there and
// travel falls by more than a few metres. It reports whether it moved any.
func (s *state) relocateResident(vs []int, cands []int) bool {
	groups := map[int][]int{}
	for _, vi := range vs {
		if c := s.holder[vi]; c >= 0 {
			groups[c] = append(groups[c], vi)
		}
	}
	moved := false
	for from, g := range groups {
		before := s.totalDist(from, g)
		removed := g[:0:0]
		for _, vi := range g {
			if s.remove(vi) {
				removed = append(removed, vi)
			}
		}
		g = removed
		saved := before - s.totalDist(from, g)
		bestC, bestAdd := -1, saved-50 // gain must exceed 50 m
		for _, c := range cands {
			if c == from {
				continue
			}
			n, add := s.tryCarer(c, g, false)
			if n == len(g) && add < bestAdd {
				bestC, bestAdd = c, add
			}
		}
		if bestC < 0 {
			bestC = from
		} else {
			moved = true
		}
		if n, _ := s.tryCarer(bestC, g, true); n != len(g) {
			// The old carer's routes only lost these visits, so
			// earliest-start insertion takes them back; if not, hand
			// the rest to anyone rather than lose them.
			for _, vi := range g {
				if s.holder[vi] < 0 {
					s.placeOne(vi, cands)
				}
			}
		}
	}
	return moved
}

// topCount is how many of the resident's visits vs its most frequent
// carer holds: the numerator of continuity.
func (s *state) topCount(vs []int) int {
	var count [8]struct{ c, n int } // residents have few carers; spill to a map is not needed
	used, top := 0, 0
	for _, vi := range vs {
		c := s.holder[vi]
		if c < 0 {
			continue
		}
		k := 0
		for k < used && count[k].c != c {
			k++
		}
		if k == used {
			if used == len(count) {
				continue
			}
			count[k] = struct{ c, n int }{c, 0}
			used++
		}
		count[k].n++
		top = max(top, count[k].n)
	}
	return top
}

// relocateVisit moves one visit to another candidate when the travel saved
// outweighs the continuity lost (continuityM per visit no longer with the
// resident's main carer), or travel and continuity both gain.
func (s *state) relocateVisit(vi int, vs []int, cands []int) bool {
	from := s.holder[vi]
	if from < 0 {
		return false
	}
	day := s.m.visits[vi].day
	before := s.routes[from][day].distM
	top := s.topCount(vs)
	if !s.remove(vi) {
		return false
	}
	saved := before - s.routes[from][day].distM
	bestC, best, bestGain := -1, insertion{}, 50.0 // gain must exceed 50 m
	for _, c := range cands {
		if c == from || !qualified(s.m.carers[c].c, s.m.visits[vi].v) {
			continue
		}
		ins, ok := s.bestInsertion(c, vi)
		if !ok || saved-ins.deltaM-s.continuityM < bestGain-s.continuityM*2 {
			// Cheap pre-check: even gaining a visit of continuity
			// would not make this move pay.
			continue
		}
		s.holder[vi] = c
		gain := saved - ins.deltaM + s.continuityM*float64(s.topCount(vs)-top)
		s.holder[vi] = -1
		if gain > bestGain {
			bestC, best, bestGain = c, ins, gain
		}
	}
	if bestC < 0 {
		// Put it back where it was: the route only lost it, so it fits.
		if ins, ok := s.bestInsertion(from, vi); ok {
			s.apply(from, vi, ins)
		} else {
			s.placeOne(vi, cands)
		}
		return false
	}
	s.apply(bestC, vi, best)
	return true
}

// totalDist is carer c's straight-line metres over the days of vs.
func (s *state) totalDist(c int, vs []int) float64 {
	seen := map[int]bool{}
	t := 0.0
	for _, vi := range vs {
		d := s.m.visits[vi].day
		if seen[d] {
			continue
		}
		seen[d] = true
		if r := s.routes[c][d]; r != nil {
			t += r.distM
		}
	}
	return t
}

// roster turns the state into assignments with explanations.
func (s *state) roster() *Roster {
	m := s.m
	out := &Roster{}
	// The resident's main carer: who holds most of their visits.
	main := map[string]int{}
	for id, vs := range m.byRes {
		count := map[int]int{}
		bestC, bestN := -1, 0
		for _, vi := range vs {
			if c := s.holder[vi]; c >= 0 {
				count[c]++
				if count[c] > bestN || (count[c] == bestN && c < bestC) {
					bestC, bestN = c, count[c]
				}
			}
		}
		main[id] = bestC
	}
	for c := range s.routes {
		for _, r := range s.routes[c] {
			if r == nil {
				continue
			}
			prev, shift := m.carers[c].c.Hours.Home, -1
			for k, vi := range r.stops {
				v := m.visits[vi].v
				// A split shift starts again from home.
				if sh := s.shiftOf(c, m.visits[vi].day, r.starts[k]); sh != shift {
					prev, shift = m.carers[c].c.Hours.Home, sh
				}
				dm := geo.FastDistanceM(prev, v.Location)
				prev = v.Location
				travelMin := float64(m.carers[c].c.Hours.Mode.TravelTime(dm) / time.Minute)
				cont, pref := 0.0, 0.0
				if main[v.ResidentID] == c {
					cont = 1
				}
				if slices.Contains(v.Preferred, m.carers[c].c.ID) {
					pref = 1
				}
				fs := []carehex.Factor{
					factor(carehex.FactorTravelTime, travelMin, weightTravel),
					factor(carehex.FactorContinuity, cont, weightContinuity),
					factor(carehex.FactorPreferred, pref, weightPreferred),
					factor(carehex.FactorFairShare, float64(k), weightFairShare),
				}
				score := 0.0
				for _, f := range fs {
					score += f.Contribution
				}
				out.Assignments = append(out.Assignments, Assignment{
					VisitID: v.ID, ProviderID: m.carers[c].c.ID, Start: m.at(r.starts[k]), Score: score, Factors: fs,
				})
			}
		}
	}
	for vi, c := range s.holder {
		if c >= 0 {
			continue
		}
		reason := ReasonNoQualifiedCarer
		for ci := range m.carers {
			if qualified(m.carers[ci].c, m.visits[vi].v) {
				reason = ReasonNoTime
				break
			}
		}
		out.Unassigned = append(out.Unassigned, Unassigned{VisitID: m.visits[vi].v.ID, Reason: reason})
	}
	slices.SortFunc(out.Assignments, func(a, b Assignment) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.VisitID, b.VisitID)
	})
	return out
}

// shiftOf is the index of carer c's shift on day holding minute t.
func (s *state) shiftOf(c, day, t int) int {
	for i, sh := range s.m.carers[c].shifts[day] {
		if sh.from <= t && t < sh.to {
			return i
		}
	}
	return -1
}

func factor(name string, v, w float64) carehex.Factor {
	return carehex.Factor{Name: name, Value: v, Weight: w, Contribution: v * w}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// greedyCandidates bounds how far down the nearest-first list Greedy looks;
// beyond 200 carers no home is within a working day's reach in a city.
const greedyCandidates = 200

// Greedy is the baseline: visits in order of their earliest start, each
// to the first carer who can still fit it, trying the greedyCandidates
// qualified carers nearest home first, at that carer's cheapest position. It is what dispatching the
// week one visit at a time would do.
func Greedy(p *Problem) *Roster {
	m := newModel(p)
	s := newState(m)
	order := make([]int, len(m.visits))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return m.visits[order[i]].earliest < m.visits[order[j]].earliest })
	// Visits at one place with the same needs and wishes (a resident's
	// recurring visits) share their candidates.
	type need struct {
		at                      carehex.LatLng
		skill, gender, language string
		blocked                 string
	}
	cands := map[need][]int{}
	for _, vi := range order {
		v := m.visits[vi].v
		key := need{v.Location, v.RequiredSkill, string(v.Gender), v.Language, strings.Join(v.Blocked, "\x00")}
		cs, ok := cands[key]
		if !ok {
			cs = s.nearestQualified([]int{vi}, greedyCandidates)
			cands[key] = cs
		}
		for _, c := range cs {
			if ins, ok := s.bestInsertion(c, vi); ok {
				s.apply(c, vi, ins)
				break
			}
		}
	}
	return s.roster()
}
