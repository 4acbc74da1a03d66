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
