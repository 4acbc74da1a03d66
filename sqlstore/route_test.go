package sqlstore

import (
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// TestRoutes: a request has one open route at a time (a second first route
// loses with ECONFLICT, as a second replica would); re-routing ends the open
// one and opens the next with its attempt and ranking, and a "routed" event
// names the organisation; due routes are listed by due time until marked
// late, once; a route ends when its request is assigned and the loads count
// only waiting requests; auto-dispatch is per organisation.
func TestRoutes(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		a := &carehex.Organisation{Name: "东城服务社", Kind: carehex.OrgContractor}
		b := &carehex.Organisation{Name: "西城服务中心", Kind: carehex.OrgCommunityCentre}
		for _, o := range []*carehex.Organisation{a, b} {
			if err := e.CreateOrganisation(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		res := mustCreateResident(t, e, resident("王桂兰", "13905330011"))
		r := mustCreateRequest(t, e, res.ID)
		now := e.clock.Now()
		first := &carehex.Route{RequestID: r.ID, OrgID: a.ID, DueTime: now.Add(10 * time.Minute), Actor: "system:dispatch",
			Ranking: []carehex.OrgCandidate{{OrgID: a.ID, Name: a.Name, Eligible: true,
				Factors: []carehex.Factor{{Name: carehex.FactorCapacity, Value: 2}}}}}
		if err := e.CreateRoute(ctx, first, ""); err != nil {
			t.Fatalf("CreateRoute: %v", err)
		}
		before := rows(t, e, "org_routes")
		err := e.CreateRoute(ctx, &carehex.Route{RequestID: r.ID, OrgID: b.ID, DueTime: now.Add(time.Minute)}, "")
		wantErr(t, err, carehex.ECONFLICT, "")
		if rows(t, e, "org_routes") != before {
			t.Errorf("a refused route was written")
		}
		got, err := e.OpenRoute(ctx, r.ID)
		if err != nil || got.OrgID != a.ID || got.OrgName != a.Name || got.Attempt != 1 || len(got.Ranking) != 1 ||
			got.Ranking[0].Factors[0].Value != 2 || !got.DueTime.Equal(first.DueTime) {
			t.Fatalf("OpenRoute = %+v, %v", got, err)
		}
		if ev := lastEvent(t, e, r.ID); ev.Type != carehex.EventRouted || ev.Reason != a.Name {
			t.Errorf("last event = %+v, want routed to %s", ev, a.Name)
		}
		if q, err := e.OrgRoutes(ctx, a.ID, 0); err != nil || len(q) != 1 || q[0].RequestID != r.ID {
			t.Errorf("OrgRoutes(a) = %+v, %v", q, err)
		}
		if q, err := e.OrgRoutes(ctx, b.ID, 0); err != nil || len(q) != 0 {
			t.Errorf("OrgRoutes(b) = %+v, %v; want none", q, err)
		}
		// The organisation's scope (orgscope.go) follows the open route.
		if ok, err := e.RequestOfOrg(ctx, a.ID, r.ID); !ok || err != nil {
			t.Errorf("RequestOfOrg(routed) = %v, %v", ok, err)
		}
		if ok, _ := e.RequestOfOrg(ctx, b.ID, r.ID); ok {
			t.Errorf("RequestOfOrg(another organisation) = true")
		}
		if ok, err := e.ResidentHeldByOrg(ctx, a.ID, res.ID); !ok || err != nil {
			t.Errorf("ResidentHeldByOrg(routed) = %v, %v", ok, err)
		}

		// Due: listed once it is due, until one caller marks it late.
		if due, err := e.DueRoutes(ctx, now.Add(5*time.Minute), 10); err != nil || len(due) != 0 {
			t.Errorf("DueRoutes before its time = %+v, %v", due, err)
		}
		due, err := e.DueRoutes(ctx, now.Add(11*time.Minute), 10)
		if err != nil || len(due) != 1 || due[0].ID != first.ID {
			t.Fatalf("DueRoutes = %+v, %v", due, err)
		}
		if ok, err := e.MarkRouteLate(ctx, first.ID); !ok || err != nil {
			t.Fatalf("MarkRouteLate = %v, %v", ok, err)
		}
		if ok, err := e.MarkRouteLate(ctx, first.ID); ok || err != nil {
			t.Errorf("second MarkRouteLate = %v, %v; want false", ok, err)
		}
		if due, _ := e.DueRoutes(ctx, now.Add(11*time.Minute), 10); len(due) != 0 {
			t.Errorf("a late route is still due: %+v", due)
		}

		// Re-route: a stale replaces loses; the right one ends the first.
		wantErr(t, e.CreateRoute(ctx, &carehex.Route{RequestID: r.ID, OrgID: b.ID, DueTime: now.Add(20 * time.Minute)}, "rte_stale"), carehex.ECONFLICT, "")
		second := &carehex.Route{RequestID: r.ID, OrgID: b.ID, DueTime: now.Add(20 * time.Minute)}
		if err := e.CreateRoute(ctx, second, first.ID); err != nil {
			t.Fatalf("re-route: %v", err)
		}
		all, err := e.RequestRoutes(ctx, r.ID)
		if err != nil || len(all) != 2 || all[0].EndReason != carehex.RouteRerouted || all[0].EndTime.IsZero() ||
			all[1].Attempt != 2 || !all[1].EndTime.IsZero() || all[1].OrgID != b.ID {
			t.Fatalf("RequestRoutes = %+v, %v", all, err)
		}
		if ok, _ := e.RequestOfOrg(ctx, a.ID, r.ID); ok {
			t.Errorf("RequestOfOrg(rerouted away) = true")
		}
		if ok, _ := e.ResidentHeldByOrg(ctx, b.ID, res.ID); !ok {
			t.Errorf("ResidentHeldByOrg(rerouted to) = false")
		}
		loads, err := e.OrgLoads(ctx)
		if err != nil || loads[b.ID].Open != 1 || loads[a.ID].Open != 0 || loads[a.ID].Last.IsZero() {
			t.Errorf("OrgLoads = %+v, %v", loads, err)
		}

		// Assigned: the route ends and no longer counts.
		if err := e.EndRoute(ctx, r.ID, carehex.RouteAssigned, "user:x"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, func() error { _, err := e.OpenRoute(ctx, r.ID); return err }(), carehex.ENOTFOUND, "")
		if loads, _ := e.OrgLoads(ctx); loads[b.ID].Open != 0 {
			t.Errorf("loads after the end = %+v", loads)
		}

		// A request no longer waiting cannot be routed.
		if _, err := e.TransitionRequest(ctx, r.ID, carehex.StatusCancelled, "", "duplicate"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.CreateRoute(ctx, &carehex.Route{RequestID: r.ID, OrgID: a.ID, DueTime: now}, ""), carehex.ECONFLICT, "")

		// Auto-dispatch.
		if on, err := e.OrgAutoDispatch(ctx, a.ID); on || err != nil {
			t.Errorf("auto-dispatch by default = %v, %v", on, err)
		}
		if err := e.SetOrgAutoDispatch(ctx, a.ID, true, "user:x"); err != nil {
			t.Fatal(err)
		}
		if on, _ := e.OrgAutoDispatch(ctx, a.ID); !on {
			t.Errorf("auto-dispatch not on")
		}
		if on, _ := e.OrgAutoDispatch(ctx, b.ID); on {
			t.Errorf("auto-dispatch leaked to another organisation")
		}
		wantErr(t, e.SetOrgAutoDispatch(ctx, "org_nope", true, "user:x"), carehex.ENOTFOUND, "org_id")
	})
}
