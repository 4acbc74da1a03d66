package plan_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/plan"
)

// changeWorld is a resident with a daily meal 11:00–12:30, rostered for
// four days to carer A (near), with carer B (farther) free, and the
// resident's family linked.
type changeWorld struct {
	*world
	res    *carehex.Resident
	family string
	a, b   *carehex.Provider
	days   []*carehex.PlannedVisit // Monday… Thursday, all A's
}

func newChangeWorld(t *testing.T, dsn string) *changeWorld {
	t.Helper()
	w := &changeWorld{world: newWorld(t, dsn)}
	ctx := testenv.OpCtx()
	w.res = &carehex.Resident{Name: "张桂兰", Phone: "13905330001", Address: "张店区华光路56号", Location: testenv.Zibo}
	if err := w.db.CreateResident(ctx, w.res); err != nil {
		t.Fatal(err)
	}
	fm := &carehex.FamilyMember{ResidentID: w.res.ID, Name: "李娜", Phone: "13800000001", Relation: "daughter"}
	if err := w.db.LinkFamilyMember(ctx, fm); err != nil {
		t.Fatal(err)
	}
	w.family = w.token(carehex.Principal{Kind: carehex.KindFamily, Subject: fm.ID, Name: fm.Name})
	w.a, _ = w.carer("王芳", 300)
	w.b, _ = w.carer("刘洋", 2500)
	p := &carehex.CarePlan{ResidentID: w.res.ID, StartDate: w.clock.Now(), Items: []carehex.PlanItem{{
		ServiceCode: "meal_delivery", RRule: "FREQ=DAILY", WindowStart: 11 * 60, WindowEnd: 12*60 + 30, Duration: 30 * time.Minute}}}
	if err := w.db.CreateCarePlan(ctx, p, plan.Parse); err != nil {
		t.Fatal(err)
	}
	if _, err := w.planner.Project(ctx); err != nil {
		t.Fatal(err)
	}
	monday := carehex.Day(w.clock.Now())
	r, err := w.planner.Roster(ctx, monday, monday.AddDate(0, 0, 4))
	if err != nil || len(r.Assigned) != 4 {
		t.Fatalf("Roster = %+v, %v", r, err)
	}
	for _, v := range r.Assigned {
		if v.ProviderID != w.a.ID {
			t.Fatalf("rostered %s to %s, want A (nearest, continuity)", v.ID, v.ProviderID)
		}
	}
	w.days = r.Assigned
	return w
}

// told counts the family's carer_changed notifications so far.
func (w *changeWorld) told() int {
	w.t.Helper()
	ns, err := w.db.ClaimNotifications(context.Background(), w.clock.Now(), time.Nanosecond, 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, x := range ns {
		if x.Kind == carehex.NotifyCarerChanged && x.ResidentID == w.res.ID {
			n++
		}
	}
	return n
}

// familySees returns the family's upcoming entry of planned visit id.
func (w *changeWorld) familySees(id string) map[string]any {
	w.t.Helper()
	for _, u := range w.upcoming(w.family) {
		if u["planned_visit_id"] == id {
			return u
		}
	}
	w.t.Fatalf("family does not see planned visit %s", id)
	return nil
}

// TestPlannedChanges: a "can't do" far from the start is rostered to
// another qualified carer through the fenced claim; one close to the start
// goes to on-demand dispatch; a sick day repairs the carer's day; the
// family is told each time; a carer cannot touch another's visit; all of
// it is in the trail. SQLite and PostgreSQL.
func TestPlannedChanges(t *testing.T) {
	onEachDSN(t, func(t *testing.T, dsn string) {
		w := newChangeWorld(t, dsn)
		ctx := testenv.OpCtx()
		mon, tue, wed, thu := w.days[0], w.days[1], w.days[2], w.days[3]

		// Refused, changing nothing: B marking A's visit, a code not
		// on the list, a visit that does not exist.
		for _, bad := range []struct {
			carer, id, code string
			want            string
		}{{w.b.ID, wed.ID, carehex.CantDoUnwell, carehex.ENOTFOUND}, {w.a.ID, wed.ID, "lazy", carehex.EINVALID},
			{w.a.ID, wed.ID, "", carehex.EINVALID}, {w.a.ID, "pv_nope", carehex.CantDoUnwell, carehex.ENOTFOUND}} {
			if _, err := w.planner.CantDo(ctx, bad.carer, bad.id, bad.code, ""); carehex.ErrorCode(err) != bad.want {
				t.Errorf("CantDo(%s, %s, %q) = %v, want %s", bad.carer, bad.id, bad.code, err, bad.want)
			}
		}
		if again, _ := w.db.PlannedVisit(ctx, wed.ID); again.Version != wed.Version || again.ProviderID != w.a.ID {
			t.Fatalf("a refused change changed Wednesday: %+v", again)
		}
		if n := w.told(); n != 0 {
			t.Fatalf("%d notifications before any change", n)
		}

		// Tuesday, a day ahead: rostered to B.
		ch, err := w.planner.CantDo(ctx, w.a.ID, tue.ID, carehex.CantDoFamily, "孩子生病")
		if err != nil || len(ch.Rostered) != 1 || len(ch.HandedOff) != 0 || ch.Rostered[0].ProviderID != w.b.ID {
			t.Fatalf("CantDo Tuesday = %+v, %v", ch, err)
		}
		nt := ch.Rostered[0]
		if nt.RequestID == tue.RequestID || nt.RequestStatus != carehex.StatusAssigned || nt.PreviousProviderID != w.a.ID {
			t.Fatalf("Tuesday after the change: %+v", nt)
		}
		old, _ := w.db.ServiceRequest(ctx, tue.RequestID)
		if old.Status != carehex.StatusCancelled || !strings.Contains(old.CancelReason, carehex.ReasonCantDo) {
			t.Fatalf("A's Tuesday request: %s %q, want cancelled for cant_do", old.Status, old.CancelReason)
		}
		if n := w.told(); n != 1 {
			t.Fatalf("%d carer_changed notifications after Tuesday's change, want 1", n)
		}
		if u := w.familySees(tue.ID); u["provider_name"] != w.b.Name || u["carer_changed"] != true || u["previous_provider_name"] != w.a.Name {
			t.Fatalf("family's Tuesday: %v", u)
		}
		audit, err := w.db.AuditRecords(ctx, carehex.AuditFilter{ObjectID: tue.ID, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, a := range audit {
			actions = append(actions, a.Action)
		}
		if !strings.Contains(strings.Join(actions, " "), "plan.release") {
			t.Fatalf("trail of Tuesday lacks the release: %v", actions)
		}

		// Today's 11:00 visit at 10:00: too close for the roster, it
		// goes to on-demand dispatch.
		w.clock.Set(mon.Earliest.Add(-time.Hour))
		ch, err = w.planner.CantDo(ctx, w.a.ID, mon.ID, carehex.CantDoTransport, "电动车坏了")
		if err != nil || len(ch.HandedOff) != 1 || len(ch.Rostered) != 0 {
			t.Fatalf("CantDo Monday = %+v, %v", ch, err)
		}
		hm, _ := w.db.PlannedVisit(ctx, mon.ID)
		if hm.Status != carehex.PlannedDispatched || hm.RequestID != mon.RequestID || hm.PreviousProviderID != w.a.ID {
			t.Fatalf("Monday after hand-off: %+v", hm)
		}
		if r, _ := w.db.ServiceRequest(ctx, mon.RequestID); (r.Status != carehex.StatusPending && r.Status != carehex.StatusOffered) || r.ProviderID != "" {
			t.Fatalf("Monday's request after hand-off: %s provider %q, want back in dispatch", r.Status, r.ProviderID)
		}
		if v, _ := w.db.Visit(ctx, mon.VisitID); v.Status != carehex.StatusCancelled {
			t.Fatalf("A's Monday visit is %s, want cancelled", v.Status)
		}
		if n := w.told(); n != 2 {
			t.Fatalf("%d carer_changed notifications after the hand-off, want 2", n)
		}
		if u := w.familySees(mon.ID); u["status"] != "dispatched" || u["carer_changed"] != true || u["previous_provider_name"] != w.a.Name {
			t.Fatalf("family's Monday: %v", u)
		}
		// The projection and roster leave a dispatched visit alone.
		if _, err := w.planner.Project(ctx); err != nil {
			t.Fatal(err)
		}
		if r, _ := w.db.ServiceRequest(ctx, mon.RequestID); r.Status == carehex.StatusCancelled {
			t.Fatal("the stranded sweep cancelled the handed-off request")
		}

		// A hospital stay on Monday pauses the handed-off visit too,
		// and its request leaves dispatch; resuming opens it again.
		pl, _ := w.db.CarePlan(ctx, mon.PlanID)
		if _, err := w.db.SetPlanPauses(ctx, pl.ID, []carehex.PlanPause{{From: mon.Earliest, To: mon.Earliest, Reason: "住院"}}, plan.Parse); err != nil {
			t.Fatal(err)
		}
		if _, err := w.planner.Project(ctx); err != nil {
			t.Fatal(err)
		}
		if v, _ := w.db.PlannedVisit(ctx, mon.ID); v.Status != carehex.PlannedPaused {
			t.Fatalf("handed-off Monday in a pause: %+v", v)
		}
		if r, _ := w.db.ServiceRequest(ctx, mon.RequestID); r.Status != carehex.StatusCancelled {
			t.Fatalf("handed-off Monday's request in a pause is %s, want cancelled", r.Status)
		}
		if _, err := w.db.SetPlanPauses(ctx, pl.ID, nil, plan.Parse); err != nil {
			t.Fatal(err)
		}

		// A off sick on Thursday: the day is repaired to B; marking it
		// again changes nothing; a past day is refused.
		ch, err = w.planner.SickDay(ctx, w.a.ID, thu.Earliest)
		if err != nil || len(ch.Rostered) != 1 || ch.Rostered[0].ID != thu.ID || ch.Rostered[0].ProviderID != w.b.ID {
			t.Fatalf("SickDay Thursday = %+v, %v", ch, err)
		}
		if ch, err := w.planner.SickDay(ctx, w.a.ID, thu.Earliest); err != nil || len(ch.Rostered)+len(ch.HandedOff) != 0 {
			t.Fatalf("second SickDay = %+v, %v", ch, err)
		}
		if wh, _ := w.db.WorkingHours(ctx, w.a.ID); len(wh.TimeOff) != 1 || wh.TimeOff[0].Reason != carehex.ReasonSick {
			t.Fatalf("A's time off: %+v", wh.TimeOff)
		}
		if _, err := w.planner.SickDay(ctx, w.a.ID, mon.Earliest.AddDate(0, 0, -1)); carehex.ErrorCode(err) != carehex.EINVALID {
			t.Fatalf("SickDay yesterday = %v, want invalid", err)
		}
		if n := w.told(); n != 3 {
			t.Fatalf("%d carer_changed notifications after the sick day, want 3", n)
		}
		// Wednesday stays A's.
		if v, _ := w.db.PlannedVisit(ctx, wed.ID); v.ProviderID != w.a.ID || v.Status != carehex.PlannedAssigned {
			t.Fatalf("Wednesday changed: %+v", v)
		}
		if pairs, err := w.db.OverlappingVisits(context.Background()); err != nil || len(pairs) != 0 {
			t.Fatalf("overlapping visits: %v, %v", pairs, err)
		}
	})
}
