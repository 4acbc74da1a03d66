package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// TestPlannedVisitCounts checks the fair-share count: visits not cancelled
// whose planned start falls in [from, to), per provider, in one query.
func TestPlannedVisitCounts(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		a := mustCreateProvider(t, e, "王芳")
		b := mustCreateProvider(t, e, "李娜")
		idle := mustCreateProvider(t, e, "赵强")
		assign := func(p *carehex.Provider, fence int64, startH int) *carehex.Visit {
			r := mustCreateRequest(t, e, res.ID)
			return mustAssign(t, e, claim(r, p, fence, at(startH, 0), at(startH, 30)))
		}
		assign(a, 1, 0)               // at the start of the day: counted
		assign(a, 2, 9)               // counted
		done := assign(a, 3, 10)      // completed: still a visit of the day
		cancelled := assign(a, 4, 11) // cancelled: not counted
		assign(a, 5, 24)              // the next day's midnight: not counted
		assign(b, 1, 23)              // counted
		mustMove(t, e, done, carehex.StatusEnRoute, time.Time{})
		mustMove(t, e, done, carehex.StatusInProgress, time.Time{})
		mustMove(t, e, done, carehex.StatusCompleted, time.Time{})
		mustMove(t, e, cancelled, carehex.StatusCancelled, time.Time{})

		day, next := at(0, 0), at(24, 0)
		got, err := e.PlannedVisitCounts(ctx, []string{a.ID, b.ID, idle.ID, a.ID, "prv_unknown"}, day, next)
		if err != nil {
			t.Fatalf("PlannedVisitCounts: %v", err)
		}
		if want := map[string]int{a.ID: 3, b.ID: 1}; !maps.Equal(got, want) {
			t.Errorf("PlannedVisitCounts = %v, want %v", got, want)
		}
		if got, err := e.PlannedVisitCounts(ctx, []string{a.ID}, next, next.Add(24*time.Hour)); err != nil || !maps.Equal(got, map[string]int{a.ID: 1}) {
			t.Errorf("next day: %v, %v; want %s: 1", got, err, a.ID)
		}
		if got, err := e.PlannedVisitCounts(ctx, nil, day, next); err != nil || len(got) != 0 {
			t.Errorf("no providers: %v, %v; want an empty map", got, err)
		}
		if _, err := e.PlannedVisitCounts(ctx, []string{a.ID}, next, day); carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != "to" {
			t.Errorf("reversed period: err = %v, want invalid naming to", err)
		}

		// Many providers at once: more IDs than one chunk holds.
		ids := []string{b.ID}
		for i := range 1200 {
			ids = append(ids, fmt.Sprintf("prv_none_%04d", i))
		}
		ids = append(ids, a.ID)
		if got, err := e.PlannedVisitCounts(ctx, ids, day, next); err != nil || !maps.Equal(got, map[string]int{a.ID: 3, b.ID: 1}) {
			t.Errorf("1202 IDs: %v, %v", got, err)
		}
	})
}

// TestLiveVisits checks the rebuild's one query: live visits only, grouped
// by provider, each provider's newest (highest fence) first.
func TestLiveVisits(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		a := mustCreateProvider(t, e, "王芳")
		b := mustCreateProvider(t, e, "李娜")
		assign := func(p *carehex.Provider, fence int64, startH int) *carehex.Visit {
			r := mustCreateRequest(t, e, res.ID)
			return mustAssign(t, e, claim(r, p, fence, at(startH, 0), at(startH, 30)))
		}
		if vs, err := e.LiveVisits(ctx); err != nil || len(vs) != 0 {
			t.Fatalf("empty store: %v, %v", vs, err)
		}
		a1 := assign(a, 1, 8)
		a2 := assign(a, 2, 9)
		a3 := assign(a, 3, 10)
		gone := assign(a, 4, 11)
		b1 := assign(b, 7, 8)
		over := assign(b, 8, 12)
		a1 = mustMove(t, e, a1, carehex.StatusEnRoute, time.Time{})
		a2 = mustMove(t, e, mustMove(t, e, a2, carehex.StatusEnRoute, time.Time{}), carehex.StatusInProgress, time.Time{})
		mustMove(t, e, gone, carehex.StatusCancelled, time.Time{})
		for _, to := range []carehex.Status{carehex.StatusEnRoute, carehex.StatusInProgress, carehex.StatusCompleted} {
			over = mustMove(t, e, over, to, time.Time{})
		}

		vs, err := e.LiveVisits(ctx)
		if err != nil {
			t.Fatalf("LiveVisits: %v", err)
		}
		var got []string
		for _, v := range vs {
			got = append(got, v.ID+":"+string(v.Status))
		}
		byProvider := map[string][]string{
			a.ID: {a3.ID + ":" + string(carehex.StatusAssigned), a2.ID + ":" + string(carehex.StatusInProgress), a1.ID + ":" + string(carehex.StatusEnRoute)},
			b.ID: {b1.ID + ":" + string(carehex.StatusAssigned)},
		}
		first, second := a.ID, b.ID
		if second < first {
			first, second = second, first
		}
		want := append(append([]string{}, byProvider[first]...), byProvider[second]...)
		if len(got) != len(want) {
			t.Fatalf("LiveVisits = %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("LiveVisits = %v, want %v", got, want)
			}
		}
	})
}
