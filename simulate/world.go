// Package simulate runs a synthetic day of a city's home-care hotline
// against a carehex server, through its public APIs only: operators log
// requests and act on alerts over Twirp, and care workers' phones
// heartbeat, take offers, accept or decline them and report their visits
// over the mobile API. It owns the synthetic day (who calls when for what,
// who works when and how they behave), the driver that plays it against a
// server on a simulated or real clock, the invariant scan at the end, and
// the report and map of what happened. The people come from package demo.
package simulate

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/demo"
	"github.com/carehex/carehex/matching"
)

// cst is China Standard Time, the hotlines' zone.
var cst = time.FixedZone("CST", 8*3600)

// Hourly demand curves, relative weights for hours 0–23 (local time).
var (
	curveDay = [24]float64{0, 0, 0, 0, 0, 0, 0.5, 3, 7, 9, 9, 7, 4, 4, 6, 6, 5, 3, 1.5, 0.8, 0.3, 0, 0, 0}
	// Meals: the lunch round (delivered before noon) and a smaller supper round.
	curveMeal = [24]float64{0, 0, 0, 0, 0, 0, 0.1, 0.3, 0.8, 2, 6, 8, 3, 0.8, 0.4, 1, 3.5, 4, 1.5, 0.3, 0, 0, 0, 0}
	// Bathing and nursing: mornings, when the house is warm and the family home.
	curveMorning = [24]float64{0, 0, 0, 0, 0, 0, 0.5, 3, 8, 9, 7, 4, 1, 1, 2, 2, 1, 0.3, 0, 0, 0, 0, 0, 0}
	// Emergencies come at any hour, fewer at night.
	curveEmergency = [24]float64{0.6, 0.5, 0.5, 0.5, 0.6, 0.8, 1.1, 1.3, 1.3, 1.3, 1.2, 1.2, 1.1, 1.1, 1.2, 1.2, 1.2, 1.3, 1.3, 1.2, 1.1, 1, 0.8, 0.7}
)

// mix is the service mix: a share of the day's calls, the skills whose
// services they ask for, and when in the day they come.
var mix = []struct {
	name      string
	share     float64
	skills    []string
	emergency bool
	curve     *[24]float64
}{
	{"meals", 0.30, []string{"meal_service"}, false, &curveMeal},
	{"cleaning", 0.16, []string{"cleaning"}, false, &curveDay},
	{"personal care", 0.12, []string{"personal_care"}, false, &curveMorning},
	{"bathing", 0.07, []string{"bathing"}, false, &curveMorning},
	{"company and errands", 0.10, []string{"companionship", "errands", "mobility_aid"}, false, &curveDay},
	{"health", 0.08, []string{"nursing", "medical_escort", "rehab_therapy"}, false, &curveMorning},
	{"repairs", 0.04, []string{"repair_plumbing", "repair_electrical", "repair_appliance", "repair_general"}, false, &curveDay},
	{"information", 0.03, []string{"consulting"}, false, &curveDay},
	{"emergency", 0.10, []string{"emergency_response"}, true, &curveEmergency},
}

// World is the synthetic day: the city's people, the calls they make, and
// how each care worker works and behaves.
type World struct {
	Date      time.Time // local midnight of the day
	Residents []*carehex.Resident
	Providers []*SimProvider
	Calls     []*Call
}

// Call is one request the day will make.
type Call struct {
	At        time.Duration // after midnight
	Resident  int           // index in World.Residents
	Service   *carehex.ServiceType
	Emergency bool
}

// SimProvider is a care worker and how they behave.
type SimProvider struct {
	P        *carehex.Provider
	SpeedKmh float64 // 15 on an e-bike, 4.5 on foot
	Online   []matching.Window
	// PhoneDead is when the phone goes silent (flat battery, no signal):
	// no heartbeats, offers go unseen. Zero length for most.
	PhoneDead matching.Window
	// Behaviour.
	NoticeMeanS float64 // mean delay before the phone's owner looks at an offer
	IgnoreP     float64 // chance an offer is left to expire
}

// Generate draws the world for seed: residents and providers from package
// demo (the same people `carehex demo seed` makes), calls over [start,
// end) of the day by the hourly curves and service mix, and shifts.
//
// With district set (e.g. "张店区"), only that district's people are kept:
// the first residents and providers of the seed who live or work there.
func Generate(seed uint64, date time.Time, district string, residents, providers, calls int, start, end time.Duration, types []*carehex.ServiceType) *World {
	w := &World{Date: date}
	skills := skillsOf(types)
	var ps []*carehex.Provider
	if district == "" {
		w.Residents = demo.SeedResidents(seed, residents)
		ps = demo.SeedProviders(seed, providers, skills)
	} else {
		// Every district holds at least 4 % of the people: 64 times the
		// count is plenty; an unknown district yields nobody, not a hang.
		for n := 2 * (residents + 10); len(w.Residents) < residents && n <= 128*(residents+10); n *= 2 {
			w.Residents = w.Residents[:0]
			for _, r := range demo.SeedResidents(seed, n) {
				if r.District == district && len(w.Residents) < residents {
					w.Residents = append(w.Residents, r)
				}
			}
		}
		for n := 2 * (providers + 10); len(ps) < providers && n <= 128*(providers+10); n *= 2 {
			ps = ps[:0]
			for _, p := range demo.SeedProviders(seed, n, skills) {
				if strings.HasPrefix(p.Organisation, district) && len(ps) < providers {
					ps = append(ps, p)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x73696d)) // "sim"
	for _, p := range ps {
		w.Providers = append(w.Providers, shift(rng, p))
	}
	if len(w.Residents) == 0 {
		return w
	}
	bySkill := map[string][]*carehex.ServiceType{}
	for _, t := range types {
		bySkill[t.RequiredSkill] = append(bySkill[t.RequiredSkill], t)
	}
	// Hour weights restricted to the window, per mix entry.
	startH, endH := start.Hours(), end.Hours()
	inWindow := func(h int) float64 {
		lo, hi := math.Max(float64(h), startH), math.Min(float64(h+1), endH)
		return math.Max(0, hi-lo)
	}
	shares := make([]float64, len(mix))
	for i, m := range mix {
		tot := 0.0
		for h := range 24 {
			tot += m.curve[h] * inWindow(h)
		}
		full := 0.0
		for h := range 24 {
			full += m.curve[h]
		}
		shares[i] = m.share * tot / full
	}
	for range calls {
		mi := pick(rng, shares)
		m := mix[mi]
		hw := make([]float64, 24)
		for h := range 24 {
			hw[h] = m.curve[h] * inWindow(h)
		}
		h := pick(rng, hw)
		lo, hi := math.Max(float64(h), startH), math.Min(float64(h+1), endH)
		at := time.Duration((lo + rng.Float64()*(hi-lo)) * float64(time.Hour)).Truncate(time.Second)
		var cands []*carehex.ServiceType
		for _, sk := range m.skills {
			for _, t := range bySkill[sk] {
				if (t.Category == "emergency") == m.emergency {
					cands = append(cands, t)
				}
			}
		}
		if len(cands) == 0 {
			continue // the catalogue lacks the skill
		}
		w.Calls = append(w.Calls, &Call{At: at, Resident: rng.IntN(len(w.Residents)),
			Service: cands[rng.IntN(len(cands))], Emergency: m.emergency})
	}
	slices.SortStableFunc(w.Calls, func(a, b *Call) int { return cmp.Compare(a.At, b.At) })
	return w
}

// shift draws when a care worker works and how they get about: most work a
// day shift, some a late one, a few the night (for emergencies); half take
// a lunch break with the phone set unavailable; one in twenty loses the
// phone for a while.
func shift(rng *rand.Rand, p *carehex.Provider) *SimProvider {
	sp := &SimProvider{P: p, SpeedKmh: 15, NoticeMeanS: 5 + rng.Float64()*15, IgnoreP: 0.03 + rng.Float64()*0.07}
	if rng.Float64() < 0.3 {
		sp.SpeedKmh = 4.5
	}
	hour := float64(time.Hour)
	var s, e float64
	switch r := rng.Float64(); {
	case r < 0.65:
		s = (7.5 + rng.NormFloat64()*0.6) * hour
		e = s + (8.5+rng.Float64())*hour
	case r < 0.9:
		s = (12 + rng.Float64()) * hour
		e = s + 9*hour
	default: // night: from the evening to the next morning, as two windows of this day
		sp.Online = []matching.Window{{StartS: 0, EndS: (7 + rng.Float64()) * 3600}, {StartS: (19 + rng.Float64()) * 3600, EndS: 24 * 3600}}
		return sp
	}
	s, e = s/1e9, math.Min(e/1e9, 24*3600)
	if rng.Float64() < 0.5 {
		mid := (s+e)/2 + rng.NormFloat64()*1800
		brk := 1800 + rng.Float64()*1800
		sp.Online = []matching.Window{{StartS: s, EndS: mid}, {StartS: mid + brk, EndS: e}}
	} else {
		sp.Online = []matching.Window{{StartS: s, EndS: e}}
	}
	if rng.Float64() < 0.05 {
		at := s + rng.Float64()*(e-s)
		sp.PhoneDead = matching.Window{StartS: at, EndS: at + 1200 + rng.Float64()*2400}
	}
	return sp
}

// onlineAt reports whether the worker means to take offers at t (seconds
// after midnight).
func (sp *SimProvider) onlineAt(t float64) bool {
	for _, w := range sp.Online {
		if t >= w.StartS && t < w.EndS {
			return true
		}
	}
	return false
}

func (sp *SimProvider) phoneDeadAt(t float64) bool {
	return t >= sp.PhoneDead.StartS && t < sp.PhoneDead.EndS
}

func skillsOf(types []*carehex.ServiceType) []string {
	var out []string
	for _, t := range types {
		out = append(out, t.RequiredSkill)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// pick draws an index with probability proportional to w.
func pick(rng *rand.Rand, w []float64) int {
	tot := 0.0
	for _, v := range w {
		tot += v
	}
	x := rng.Float64() * tot
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	for i := len(w) - 1; i >= 0; i-- {
		if w[i] > 0 {
			return i
		}
	}
	return 0
}

type label struct {
	name string
	at   carehex.LatLng
}

func districtLabels() []label {
	out := make([]label, 0, len(demo.Districts))
	for _, d := range demo.Districts {
		out = append(out, label{d.Name + " " + d.NameEN, d.Centre})
	}
	return out
}
