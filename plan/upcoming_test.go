package plan_test

import (
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/plan"
)

// TestFamilyUpcomingChanges: the family's week shows a visit moved "this
// visit only" as a change of time (with the planned time) and a cancelled
// one with why, beside the unchanged ones; through the OpenAPI contract, on
// SQLite and PostgreSQL.
func TestFamilyUpcomingChanges(t *testing.T) {
	onEachStore(t, func(t *testing.T, w *world) {
		ctx := testenv.OpCtx()
		res := &carehex.Resident{Name: "张桂兰", Phone: "13905330001", Address: "张店区华光路56号", Location: testenv.Zibo}
		if err := w.db.CreateResident(ctx, res); err != nil {
			t.Fatal(err)
		}
		fm := &carehex.FamilyMember{ResidentID: res.ID, Name: "李娜", Phone: "13800000001", Relation: "daughter"}
		if err := w.db.LinkFamilyMember(ctx, fm); err != nil {
			t.Fatal(err)
		}
		family := w.token(carehex.Principal{Kind: carehex.KindFamily, Subject: fm.ID, Name: fm.Name})
		carer, _ := w.carer("王芳", 300)
		p := &carehex.CarePlan{ResidentID: res.ID, StartDate: w.clock.Now(), Items: []carehex.PlanItem{{
			ServiceCode: "meal_delivery", RRule: "FREQ=DAILY", WindowStart: 11 * 60, WindowEnd: 12*60 + 30, Duration: 30 * time.Minute}}}
		if err := w.db.CreateCarePlan(ctx, p, plan.Parse); err != nil {
			t.Fatal(err)
		}
		if _, err := w.planner.Project(ctx); err != nil {
			t.Fatal(err)
		}
		today := carehex.Day(w.clock.Now())
		if r, err := w.planner.Roster(ctx, today, today.AddDate(0, 0, 7)); err != nil || len(r.Assigned) != 7 {
			t.Fatalf("Roster = %+v, %v; want 7 assigned", r, err)
		}
		vs := w.planned(p.ID)
		moved, cancelled := vs[1], vs[2]
		ms := moved.Earliest.Add(3 * time.Hour)
		if _, err := w.db.EditPlannedVisit(ctx, carehex.PlannedEdit{ID: moved.ID, Version: moved.Version,
			WindowStart: ms, WindowEnd: ms.Add(90 * time.Minute), Duration: 30 * time.Minute}); err != nil {
			t.Fatalf("move: %v", err)
		}
		if _, err := w.db.EditPlannedVisit(ctx, carehex.PlannedEdit{ID: cancelled.ID, Version: cancelled.Version, Cancel: true,
			Reason: "hospitalised: 住院观察"}); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		if _, err := w.planner.Project(ctx); err != nil { // settles: the old requests cancelled
			t.Fatal(err)
		}
		byID := map[string]map[string]any{}
		for _, u := range w.upcoming(family) {
			byID[u["planned_visit_id"].(string)] = u
		}
		if len(byID) != 7 {
			t.Fatalf("family sees %d visits, want 7: %v", len(byID), byID)
		}
		m := byID[moved.ID]
		if m["time_changed"] != true || m["original_window_start_time"] != moved.Earliest.UTC().Format(time.RFC3339) ||
			m["window_start_time"] != ms.UTC().Format(time.RFC3339) {
			t.Fatalf("moved visit for the family: %v", m)
		}
		c := byID[cancelled.ID]
		if c["status"] != "cancelled" || c["reason"] != "hospitalised: 住院观察" || c["time_changed"] != false {
			t.Fatalf("cancelled visit for the family: %v", c)
		}
		first := byID[vs[0].ID]
		if first["time_changed"] != false || first["original_window_start_time"] != nil || first["reason"] != nil ||
			first["provider_name"] != carer.Name {
			t.Fatalf("unchanged visit for the family: %v", first)
		}
	})
}
