package sqlstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/plan/rrule"
)

// weeklyPlan is a plan for r: a meal every Monday and Thursday 11:00–12:30,
// from the test clock's day.
func weeklyPlan(r *carehex.Resident) *carehex.CarePlan {
	return &carehex.CarePlan{ResidentID: r.ID, StartDate: testNow, FundingNote: "区级居家养老补贴 A 类",
		Items: []carehex.PlanItem{{ServiceCode: "meal_delivery", RRule: "FREQ=WEEKLY;BYDAY=MO,TH",
			WindowStart: 11 * 60, WindowEnd: 12*60 + 30, Duration: 30 * time.Minute}}}
}

func project(t *testing.T, e *env, p *carehex.CarePlan, days int) int {
	t.Helper()
	from := carehex.Day(e.clock.Now())
	vs, err := p.Occurrences(rrule.Parse, from, from.AddDate(0, 0, days))
	if err != nil {
		t.Fatalf("Occurrences: %v", err)
	}
	n, err := e.ProjectPlannedVisits(context.Background(), vs)
	if err != nil {
		t.Fatalf("ProjectPlannedVisits: %v", err)
	}
	return n
}

func statuses(t *testing.T, e *env, planID string) map[carehex.PlannedStatus]int {
	t.Helper()
	vs, err := e.PlannedVisits(context.Background(), carehex.PlannedFilter{PlanID: planID})
	if err != nil {
		t.Fatalf("PlannedVisits: %v", err)
	}
	out := map[carehex.PlannedStatus]int{}
	for _, v := range vs {
		out[v.Status]++
	}
	return out
}

func TestCarePlanProjection(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		r := mustCreateResident(t, e, resident("王桂兰", "13905330001"))

		// Bad input names the field and writes nothing.
		bad := weeklyPlan(r)
		bad.Items[0].RRule = "FREQ=SOMETIMES"
		wantErr(t, e.CreateCarePlan(ctx, bad, rrule.Parse), carehex.EINVALID, "items[0].rrule")
		bad = weeklyPlan(r)
		bad.Items[0].ServiceCode = "no_such_service"
		wantErr(t, e.CreateCarePlan(ctx, bad, rrule.Parse), carehex.EINVALID, "items[0].service_code")
		if n := rows(t, e, "care_plans"); n != 0 {
			t.Fatalf("refused plans wrote %d rows", n)
		}

		p := weeklyPlan(r)
		if err := e.CreateCarePlan(ctx, p, rrule.Parse); err != nil {
			t.Fatalf("CreateCarePlan: %v", err)
		}
		got, err := e.CarePlan(ctx, p.ID)
		if err != nil || len(got.Items) != 1 || got.Items[0].RRule != p.Items[0].RRule || !got.StartDate.Equal(carehex.Day(testNow)) {
			t.Fatalf("CarePlan = %+v, %v", got, err)
		}

		// Projection: two weeks of Mondays and Thursdays, then nothing new,
		// also when four replicas project at once.
		first := project(t, e, got, 14)
		if first != 4 {
			t.Fatalf("first projection wrote %d visits, want 4 (Mon+Thu over two weeks)", first)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		again := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := project(t, e, got, 14)
				mu.Lock()
				again += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		if again != 0 || rows(t, e, "planned_visits") != first {
			t.Fatalf("projecting again wrote %d, table holds %d, want 0 and %d", again, rows(t, e, "planned_visits"), first)
		}
		// A longer horizon adds only the new days.
		if n := project(t, e, got, 21); n != 2 {
			t.Fatalf("third week added %d, want 2", n)
		}

		// A pause over the second week pauses its two visits; ending it
		// opens them again.
		vs, _ := e.PlannedVisits(ctx, carehex.PlannedFilter{PlanID: p.ID})
		pause := carehex.PlanPause{From: vs[2].Earliest, To: vs[3].Earliest, Reason: "住院"}
		if _, err := e.SetPlanPauses(ctx, p.ID, []carehex.PlanPause{pause}, rrule.Parse); err != nil {
			t.Fatalf("SetPlanPauses: %v", err)
		}
		if st := statuses(t, e, p.ID); st[carehex.PlannedPaused] != 2 || st[carehex.PlannedOpen] != 4 {
			t.Fatalf("after pause: %v", st)
		}
		if _, err := e.SetPlanPauses(ctx, p.ID, []carehex.PlanPause{{From: pause.To, To: pause.From}}, rrule.Parse); carehex.ErrorField(err) != "pauses[0].to" {
			t.Fatalf("backwards pause: %v", err)
		}
		if _, err := e.SetPlanPauses(ctx, p.ID, nil, rrule.Parse); err != nil {
			t.Fatalf("resume: %v", err)
		}
		if st := statuses(t, e, p.ID); st[carehex.PlannedOpen] != 6 {
			t.Fatalf("after resume: %v", st)
		}

		// "This and all later": from the third visit on, the item moves to
		// Tuesdays; the first two stay as they were.
		item := p.Items[0]
		item.RRule = "FREQ=WEEKLY;BYDAY=TU"
		np, err := e.ReplacePlanItem(ctx, p.ID, item.ID, vs[2].Earliest, item, rrule.Parse)
		if err != nil {
			t.Fatalf("ReplacePlanItem: %v", err)
		}
		if len(np.Items) != 2 || !carehex.Day(np.Items[0].ValidTo).Equal(carehex.Day(vs[2].Earliest).AddDate(0, 0, -1)) {
			t.Fatalf("items after edit: %+v", np.Items)
		}
		if st := statuses(t, e, p.ID); st[carehex.PlannedCancelled] != 4 || st[carehex.PlannedOpen] != 2 {
			t.Fatalf("after edit: %v", st)
		}
		project(t, e, np, 21)
		after, _ := e.PlannedVisits(ctx, carehex.PlannedFilter{PlanID: p.ID, Statuses: []carehex.PlannedStatus{carehex.PlannedOpen}})
		for _, v := range after {
			wd := v.Earliest.In(carehex.CST).Weekday()
			if v.Earliest.Before(vs[2].Earliest) && v.ItemID != item.ID || !v.Earliest.Before(vs[2].Earliest) && (wd != time.Tuesday || v.ItemID == item.ID) {
				t.Errorf("open visit %s on %s from item %s", v.ID, v.Earliest.In(carehex.CST).Format("Mon 2006-01-02"), v.ItemID)
			}
		}

		// "This visit only", at a stale version, is refused.
		one := after[0]
		_, err = e.EditPlannedVisit(ctx, carehex.PlannedEdit{ID: one.ID, Version: one.Version + 1, Cancel: true})
		wantErr(t, err, carehex.ECONFLICT, "version")
		moved, err := e.EditPlannedVisit(ctx, carehex.PlannedEdit{ID: one.ID, Version: one.Version,
			WindowStart: one.Earliest.Add(2 * time.Hour), WindowEnd: one.Latest.Add(2 * time.Hour), Duration: time.Hour})
		if err != nil || !moved.Earliest.Equal(one.Earliest.Add(2*time.Hour)) || moved.Duration != time.Hour || moved.Version != one.Version+1 {
			t.Fatalf("EditPlannedVisit = %+v, %v", moved, err)
		}
		if !moved.Occurrence.Equal(one.Occurrence) {
			t.Errorf("occurrence moved with the window: %v → %v", one.Occurrence, moved.Occurrence)
		}
	})
}

func TestWorkingHours(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		p := mustCreateProvider(t, e, "刘芳")
		w := &carehex.WorkingHours{ProviderID: p.ID, MaxVisitsPerDay: 8, MaxWorkPerDay: 6 * time.Hour, Mode: carehex.TravelEBike,
			Home:    p.Home,
			Weekly:  []carehex.Shift{{Weekday: time.Monday, Start: 8 * 60, End: 17 * 60}},
			TimeOff: []carehex.TimeOff{{From: testNow, To: testNow.Add(24 * time.Hour), Reason: "病假"}}}
		bad := *w
		bad.Mode = "rocket"
		wantErr(t, e.SetWorkingHours(ctx, &bad), carehex.EINVALID, "travel_mode")
		bad = *w
		bad.ProviderID = "prv_nobody"
		wantErr(t, e.SetWorkingHours(ctx, &bad), carehex.ENOTFOUND, "provider_id")
		if n := rows(t, e, "working_hours"); n != 0 {
			t.Fatalf("refused hours wrote %d rows", n)
		}
		if err := e.SetWorkingHours(ctx, w); err != nil {
			t.Fatalf("SetWorkingHours: %v", err)
		}
		w.MaxVisitsPerDay = 6
		if err := e.SetWorkingHours(ctx, w); err != nil {
			t.Fatalf("SetWorkingHours again: %v", err)
		}
		got, err := e.WorkingHours(ctx, p.ID)
		if err != nil || got.MaxVisitsPerDay != 6 || got.Mode != carehex.TravelEBike || len(got.Weekly) != 1 ||
			got.Weekly[0] != w.Weekly[0] || len(got.TimeOff) != 1 || !got.TimeOff[0].From.Equal(precise(testNow)) {
			t.Fatalf("WorkingHours = %+v, %v", got, err)
		}
		all, err := e.AllWorkingHours(ctx)
		if err != nil || len(all) != 1 {
			t.Fatalf("AllWorkingHours = %d, %v", len(all), err)
		}
	})
}
