package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/carehex/carehex"
)

// HoursStore is where SeedWorkingHours saves carers' working hours (all it
// needs of a carehex.PlanStore).
type HoursStore interface {
	SetWorkingHours(ctx context.Context, w *carehex.WorkingHours) error
	WorkingHoursOf(ctx context.Context, providerIDs []string) (map[string]*carehex.WorkingHours, error)
}

// hourPatterns are the kinds of week the demo's carers work, with how
// common each is: most a weekday day shift, some mornings only (meals and
// personal care are morning work), some the weekends, a few split shifts
// around the meal times.
var hourPatterns = []struct {
	weight  int
	days    []time.Weekday
	shifts  [][2]carehex.TimeOfDay
	visits  int
	workMax time.Duration
}{
	{60, weekdays(time.Monday, time.Friday), [][2]carehex.TimeOfDay{{8 * 60, 17 * 60}}, 8, 7 * time.Hour},
	{15, weekdays(time.Monday, time.Saturday), [][2]carehex.TimeOfDay{{7*60 + 30, 12 * 60}}, 5, 4 * time.Hour},
	{15, []time.Weekday{time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}, [][2]carehex.TimeOfDay{{9 * 60, 18 * 60}}, 8, 7 * time.Hour},
	{10, weekdays(time.Monday, time.Friday), [][2]carehex.TimeOfDay{{7 * 60, 11 * 60}, {16 * 60, 19 * 60}}, 6, 6 * time.Hour},
}

func weekdays(from, to time.Weekday) []time.Weekday {
	var out []time.Weekday
	for d := from; d <= to; d++ {
		out = append(out, d)
	}
	return out
}

// WorkingHoursFor returns the demo's working hours for p: drawn from p's
// phone number, so the same carer always gets the same week. Most ride an
// e-bike, some walk, a few drive; they start from home.
func WorkingHoursFor(p *carehex.Provider) *carehex.WorkingHours {
	h := fnv.New64a()
	h.Write([]byte(p.Phone))
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x686f757273)) // "hours"
	total := 0
	for _, pt := range hourPatterns {
		total += pt.weight
	}
	k := rng.IntN(total)
	pt := hourPatterns[0]
	for _, c := range hourPatterns {
		if k < c.weight {
			pt = c
			break
		}
		k -= c.weight
	}
	w := &carehex.WorkingHours{ProviderID: p.ID, MaxVisitsPerDay: pt.visits, MaxWorkPerDay: pt.workMax,
		Mode: carehex.TravelEBike, Home: p.Home}
	switch m := rng.IntN(100); {
	case m < 20:
		w.Mode = carehex.TravelWalk
	case m < 30:
		w.Mode = carehex.TravelCar
	}
	for _, d := range pt.days {
		for _, s := range pt.shifts {
			w.Weekly = append(w.Weekly, carehex.Shift{Weekday: d, Start: s[0], End: s[1]})
		}
	}
	return w
}

// SeedWorkingHours gives each of ps (saved providers, with IDs) that has
// no working hours yet the demo's hours for it, and returns how many it
// set. Carers that have hours keep them, so seeding again changes nothing
// and never undoes an operator's edit.
func SeedWorkingHours(ctx context.Context, s HoursStore, ps []*carehex.Provider) (int, error) {
	const batch = 500
	set := 0
	for start := 0; start < len(ps); start += batch {
		part := ps[start:min(start+batch, len(ps))]
		ids := make([]string, len(part))
		for i, p := range part {
			ids[i] = p.ID
		}
		have, err := s.WorkingHoursOf(ctx, ids)
		if err != nil {
			return set, fmt.Errorf("demo: read working hours: %w", err)
		}
		for _, p := range part {
			if have[p.ID] != nil {
				continue
			}
			if err := ctx.Err(); err != nil {
				return set, err
			}
			if err := s.SetWorkingHours(ctx, WorkingHoursFor(p)); err != nil {
				return set, fmt.Errorf("demo: working hours of %s: %w", p.ID, err)
			}
			set++
		}
	}
	return set, nil
}
