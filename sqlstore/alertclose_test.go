package sqlstore

import (
	"strings"
	"testing"

	"github.com/carehex/carehex"
)

// TestAlertsNameAndCloseThemselves: an alert is read with its resident's
// name, its service and its code and parameters; it closes by itself, in the
// transaction that moves its request, when its condition ends (assigned,
// arrived, completed, cancelled), with the reason and an audit record; it is
// not raised for a request that already moved on; and exceptions of the
// visit stay open for review.
func TestAlertsNameAndCloseThemselves(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		res := mustCreateResident(t, e, resident("王桂兰", "13905330011"))
		p := mustCreateProvider(t, e, "刘芳")
		r := mustCreateRequest(t, e, res.ID)

		words := carehex.Msg(carehex.MsgNoProviderNearby, "service_code", r.ServiceCode, "skill", "meals", "radius_m", 5000)
		a := &carehex.Alert{RequestID: r.ID, Kind: carehex.AlertNoCandidates, Message: "nobody within 5 km", Code: words.Code, Params: words.Params}
		if created, err := e.RaiseAlert(ctx, a); err != nil || !created {
			t.Fatalf("RaiseAlert = %v, %v", created, err)
		}
		if a.ResidentName != "王桂兰" || a.ServiceCode != r.ServiceCode || a.ResidentID != res.ID {
			t.Errorf("raised alert names %q %q %q, want 王桂兰 %s %s", a.ResidentName, a.ServiceCode, a.ResidentID, r.ServiceCode, res.ID)
		}
		open, err := e.Alerts(ctx, true, 0)
		if err != nil || len(open) != 1 {
			t.Fatalf("Alerts(open) = %+v, %v", open, err)
		}
		got := open[0]
		if got.ResidentName != "王桂兰" || got.ServiceCode != r.ServiceCode || got.Code != carehex.MsgNoProviderNearby ||
			got.Params["radius_m"] != "5000" || got.Params["skill"] != "meals" || got.CloseReason != "" {
			t.Errorf("listed alert = %+v", got)
		}

		v := mustAssign(t, e, claim(r, p, 1, at(10, 0), at(11, 0)))
		if open, _ := e.Alerts(ctx, true, 0); len(open) != 0 {
			t.Errorf("open alerts after assignment = %+v, want none", open)
		}
		all, _ := e.Alerts(ctx, false, 0)
		if len(all) != 1 || all[0].CloseReason != carehex.MsgClosedAssigned || all[0].AckBy != "provider:"+p.ID || all[0].AckTime.IsZero() {
			t.Errorf("history after assignment = %+v, want closed_assigned by the carer", all)
		}
		closed := false
		for _, rec := range auditOf(t, e, r.ID) {
			closed = closed || rec.Action == "alert.close" && strings.Contains(rec.Detail, a.ID) && rec.Actor == "provider:"+p.ID
		}
		if !closed {
			t.Errorf("no alert.close audit record of %s by the carer on the request", a.ID)
		}

		// The dispatcher's tick a moment late raises nothing for an assigned request.
		late := &carehex.Alert{RequestID: r.ID, Kind: carehex.AlertUnaccepted, Message: "nobody accepted", Code: carehex.MsgRequestUnaccepted}
		before := rows(t, e, "alerts")
		if created, err := e.RaiseAlert(ctx, late); err != nil || created || rows(t, e, "alerts") != before {
			t.Errorf("RaiseAlert on an assigned request = %v, %v (rows %d → %d)", created, err, before, rows(t, e, "alerts"))
		}

		// A late carer: the alert holds while assigned, and cancelling the
		// request closes it; a review exception stays open.
		lateArr := &carehex.Alert{RequestID: r.ID, VisitID: v.ID, Kind: carehex.ExceptionLateArrival, Message: "late", Code: carehex.MsgLateArrival}
		review := &carehex.Alert{RequestID: r.ID, VisitID: v.ID, Kind: carehex.ExceptionShortVisit, Message: "short"}
		for _, x := range []*carehex.Alert{lateArr, review} {
			if created, err := e.RaiseAlert(ctx, x); err != nil || !created {
				t.Fatalf("RaiseAlert(%s) = %v, %v", x.Kind, created, err)
			}
		}
		if _, err := e.TransitionRequest(ctx, r.ID, carehex.StatusCancelled, "", "caller_cancelled"); err != nil {
			t.Fatal(err)
		}
		open, _ = e.Alerts(ctx, true, 0)
		if len(open) != 1 || open[0].ID != review.ID {
			t.Errorf("open alerts after cancelling = %+v, want only the review exception %s", open, review.ID)
		}
		all, _ = e.Alerts(ctx, false, 0)
		for _, x := range all {
			if x.ID == lateArr.ID && (x.CloseReason != carehex.MsgClosedCancelled || x.AckBy != operator.Actor()) {
				t.Errorf("late-arrival alert after cancelling = %+v, want closed_cancelled by the operator", x)
			}
		}
	})
}
