package sqlstore

import (
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/plan/rrule"
)

// TestNotePlannedReason: the roster's reason for leaving a visit open is
// kept on it without a new version (an edit read before still applies),
// only while the visit is open at that version, and bad input changes
// nothing.
func TestNotePlannedReason(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		r := mustCreateResident(t, e, resident("王桂兰", "13905330001"))
		p := weeklyPlan(r)
		if err := e.CreateCarePlan(ctx, p, rrule.Parse); err != nil {
			t.Fatalf("CreateCarePlan: %v", err)
		}
		project(t, e, p, 14)
		vs, err := e.PlannedVisits(ctx, carehex.PlannedFilter{PlanID: p.ID})
		if err != nil || len(vs) < 2 {
			t.Fatalf("PlannedVisits = %d, %v", len(vs), err)
		}
		v, other := vs[0], vs[1]

		wantErr(t, e.NotePlannedReason(ctx, v.ID, v.Version, "  "), carehex.EINVALID, "reason")
		wantErr(t, e.NotePlannedReason(ctx, v.ID, v.Version+1, "no_time"), carehex.ECONFLICT, "planned_visit_id")
		wantErr(t, e.NotePlannedReason(ctx, "pv_nobody", 1, "no_time"), carehex.ECONFLICT, "planned_visit_id")
		if got, _ := e.PlannedVisit(ctx, v.ID); got.Reason != "" {
			t.Fatalf("refused notes left reason %q", got.Reason)
		}

		if err := e.NotePlannedReason(ctx, v.ID, v.Version, "no_time"); err != nil {
			t.Fatalf("NotePlannedReason: %v", err)
		}
		got, err := e.PlannedVisit(ctx, v.ID)
		if err != nil || got.Reason != "no_time" || got.Version != v.Version || got.Status != carehex.PlannedOpen {
			t.Fatalf("noted visit = %+v, %v; want reason no_time at version %d, still open", got, err, v.Version)
		}
		if o, _ := e.PlannedVisit(ctx, other.ID); o.Reason != "" {
			t.Fatalf("another visit got reason %q", o.Reason)
		}

		// Cancelled "this visit only": no longer open, so the roster's note
		// does not overwrite why.
		c, err := e.EditPlannedVisit(ctx, carehex.PlannedEdit{ID: other.ID, Version: other.Version, Cancel: true, Reason: "家属接走"})
		if err != nil {
			t.Fatalf("EditPlannedVisit: %v", err)
		}
		wantErr(t, e.NotePlannedReason(ctx, c.ID, c.Version, "no_time"), carehex.ECONFLICT, "planned_visit_id")
		if o, _ := e.PlannedVisit(ctx, other.ID); o.Reason != "家属接走" {
			t.Fatalf("cancelled visit's reason became %q", o.Reason)
		}
	})
}
