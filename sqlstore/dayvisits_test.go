package sqlstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// TestProviderDayVisits: the phone's day list is the visits planned to start
// in [from, to), plus the live ones from any day, newest first; finished
// visits of other days and other providers' visits are not in it.
func TestProviderDayVisits(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p := mustCreateProvider(t, e, "王芳")
		other := mustCreateProvider(t, e, "李强")
		day, next := visitDay, visitDay.AddDate(0, 0, 1)
		fence := int64(0)
		// visit books one visit of [start, start+1h) and moves it through
		// the given statuses at its planned times.
		visit := func(who *carehex.Provider, start time.Time, moves ...carehex.Status) *carehex.Visit {
			t.Helper()
			fence++
			v := mustAssign(t, e, claim(mustCreateRequest(t, e, res.ID), who, fence, start, start.Add(time.Hour)))
			if len(moves) > 0 && e.clock.Now().Before(start.Add(time.Hour)) {
				e.clock.Set(start.Add(time.Hour)) // moves may not be in the future
			}
			for i, to := range moves {
				v = mustMove(t, e, v, to, start.Add(time.Duration(i*20)*time.Minute))
			}
			return v
		}
		done := []carehex.Status{carehex.StatusEnRoute, carehex.StatusInProgress, carehex.StatusCompleted}

		yesterdayDone := visit(p, day.Add(-14*time.Hour), done...)
		justBefore := visit(p, day.Add(-time.Hour-time.Microsecond), done...)
		yesterdayLive := visit(p, day.Add(-9*time.Hour))
		todayDone := visit(p, day.Add(9*time.Hour), done...)
		othersToday := visit(other, day.Add(10*time.Hour))
		todayLate := visit(p, day.Add(22*time.Hour+59*time.Minute))
		atEndCancelled := visit(p, next, carehex.StatusCancelled)
		tomorrowLive := visit(p, next.Add(2*time.Hour))

		got, err := e.ProviderDayVisits(ctx, p.ID, day, next)
		if err != nil {
			t.Fatalf("ProviderDayVisits: %v", err)
		}
		var ids []string
		for _, v := range got {
			ids = append(ids, v.ID)
		}
		want := []string{tomorrowLive.ID, todayLate.ID, todayDone.ID, yesterdayLive.ID}
		if !slices.Equal(ids, want) {
			t.Errorf("day list = %v, want %v\n(not: yesterday's done %s, just before %s, other's %s, cancelled at the end %s)",
				ids, want, yesterdayDone.ID, justBefore.ID, othersToday.ID, atEndCancelled.ID)
		}
		if got, err := e.ProviderDayVisits(ctx, "prv_nobody", day, next); err != nil || len(got) != 0 {
			t.Errorf("unknown provider: %v, %v", got, err)
		}
		for _, to := range []time.Time{day, day.Add(-time.Hour)} {
			_, err := e.ProviderDayVisits(ctx, p.ID, day, to)
			if carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != "to" {
				t.Errorf("ProviderDayVisits(to %s) = %v, want EINVALID on to", to, err)
			}
		}
	})
}
