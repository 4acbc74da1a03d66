package dispatch_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// TestRankHonoursWorkingHours: a carer whose working hours say off shift
// (or on leave) now is not offered on-demand work though the phone says
// available; one on shift is, and so is one without working hours. An
// emergency goes to all who are near and available.
func TestRankHonoursWorkingHours(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	hours := func(p *carehex.Provider, start, end carehex.TimeOfDay, off ...carehex.TimeOff) {
		t.Helper()
		w := &carehex.WorkingHours{ProviderID: p.ID, MaxVisitsPerDay: 8, MaxWorkPerDay: 8 * time.Hour, Mode: carehex.TravelEBike,
			Home: p.Home, TimeOff: off}
		for d := time.Sunday; d <= time.Saturday; d++ {
			w.Weekly = append(w.Weekly, carehex.Shift{Weekday: d, Start: start, End: end})
		}
		if err := e.db.SetWorkingHours(opCtx(), w); err != nil {
			t.Fatal(err)
		}
	}
	now := carehex.TimeOfDayOf(e.clock.Now())
	onShift := e.provider("上班", away(600))
	hours(onShift, now-60, now+240)
	later := e.provider("下午班", away(300))
	hours(later, now+120, now+480)
	onLeave := e.provider("请假", away(400))
	hours(onLeave, now-60, now+240, carehex.TimeOff{From: e.clock.Now().Add(-time.Hour), To: e.clock.Now().Add(24 * time.Hour), Reason: "病假"})
	free := e.provider("无排班", away(900))

	r := e.request("meal_delivery", carehex.UrgencySoon)
	got, err := e.eng.Rank(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(got); !slices.Equal(g, names(onShift, free)) {
		t.Fatalf("Rank = %v, want the carer on shift and the one without hours %v", g, names(onShift, free))
	}
	em := e.request("fall_help", carehex.UrgencyEmergency)
	got, err = e.eng.Rank(ctx, em.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("emergency Rank = %v, want all four", ids(got))
	}
}

// TestRankETAByTravelMode: a carer's travel time is judged at the speed of
// their travel mode (a walker 4.5 km/h, a car 25 km/h), and at the
// dispatcher's 15 km/h for one without working hours; the ranking's travel
// factor follows, so a car further away can come before a walker nearby.
func TestRankETAByTravelMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	now := carehex.TimeOfDayOf(e.clock.Now())
	moving := func(p *carehex.Provider, mode carehex.TravelMode) {
		t.Helper()
		w := &carehex.WorkingHours{ProviderID: p.ID, MaxVisitsPerDay: 8, MaxWorkPerDay: 8 * time.Hour, Mode: mode, Home: p.Home}
		for d := time.Sunday; d <= time.Saturday; d++ {
			w.Weekly = append(w.Weekly, carehex.Shift{Weekday: d, Start: now - 60, End: now + 240})
		}
		if err := e.db.SetWorkingHours(opCtx(), w); err != nil {
			t.Fatal(err)
		}
	}
	walker := e.provider("步行", away(500))
	moving(walker, carehex.TravelWalk)
	driver := e.provider("开车", away(1200))
	moving(driver, carehex.TravelCar)
	free := e.provider("无排班", away(1000))

	r := e.request("meal_delivery", carehex.UrgencySoon)
	got, err := e.eng.Rank(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(got); !slices.Equal(g, names(driver, free, walker)) {
		t.Fatalf("Rank = %v, want the driver, the one without hours, the walker %v", g, names(driver, free, walker))
	}
	for _, c := range got {
		// distance / speed, from each candidate's own measured distance
		kmh := map[string]float64{walker.ID: 4.5, driver.ID: 25, free.ID: 15}[c.ProviderID]
		want := time.Duration(c.DistanceM / (kmh * 1000 / 3600) * float64(time.Second)).Round(time.Second)
		if c.ETA != want {
			t.Errorf("%s at %.0f m: ETA %s, want %s (%g km/h)", c.Name, c.DistanceM, c.ETA, want, kmh)
		}
	}
}
