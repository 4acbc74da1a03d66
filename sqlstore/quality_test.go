package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// operatorCtx is a second (third, …) operator, to race the first.
func operatorCtx(id string) context.Context {
	return carehex.WithPrincipal(context.Background(), carehex.Principal{Kind: carehex.KindUser, Subject: id, Role: carehex.RoleOperator})
}

// doneVisit runs one request for res through assignment to completion
// by p, raising an exception alert on the way when exc names its kind.
func doneVisit(t *testing.T, e *env, res *carehex.Resident, p *carehex.Provider, fence int64, exc string) *carehex.Visit {
	t.Helper()
	r := mustCreateRequest(t, e, res.ID)
	start := at(10, 0).Add(time.Duration(fence) * 2 * time.Hour)
	v := mustAssign(t, e, claim(r, p, fence, start, start.Add(time.Hour)))
	if exc != "" {
		if _, err := e.RaiseAlert(opCtx(), &carehex.Alert{RequestID: r.ID, VisitID: v.ID, Kind: exc, Message: "late"}); err != nil {
			t.Fatalf("RaiseAlert: %v", err)
		}
	}
	v = mustMove(t, e, v, carehex.StatusInProgress, time.Time{})
	return mustMove(t, e, v, carehex.StatusCompleted, time.Time{})
}

func callbackOf(t *testing.T, e *env, visitID string) *carehex.Callback {
	t.Helper()
	all, err := e.Callbacks(opCtx(), carehex.QualityFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		if c.VisitID == visitID && c.ComplaintID == "" {
			return c
		}
	}
	return nil
}

// TestCallbackRules: the first completed visit of each resident is called
// back, later ones only with an exception or in the share; the share is a
// deterministic choice per visit; the task names carer and organisation.
func TestCallbackRules(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.SetQualityRules(carehex.QualityRules{CallbackShare: 0, CallbackAttempts: 3, CallbackClaim: 10 * time.Minute})
		res := mustCreateResident(t, e, resident("王桂兰", "13905330011"))
		p := mustCreateProvider(t, e, "刘芳")

		first := doneVisit(t, e, res, p, 1, "")
		if c := callbackOf(t, e, first.ID); c == nil || c.Reason != carehex.CallbackFirstVisit || c.Status != carehex.CallbackOpen ||
			c.ProviderID != p.ID || c.OrgID != carehex.DefaultOrganisationID || c.ResidentID != res.ID || c.ResidentName != "王桂兰" {
			t.Fatalf("first visit's callback = %+v, want an open first_visit task naming carer, organisation and resident", c)
		}
		second := doneVisit(t, e, res, p, 2, "")
		if c := callbackOf(t, e, second.ID); c != nil {
			t.Errorf("second plain visit with share 0 queued %+v", c)
		}
		late := doneVisit(t, e, res, p, 3, carehex.ExceptionLateArrival)
		if c := callbackOf(t, e, late.ID); c == nil || c.Reason != carehex.CallbackException {
			t.Errorf("visit with a late arrival queued %+v, want an exception task", c)
		}
		e.SetQualityRules(carehex.QualityRules{CallbackShare: 1, CallbackAttempts: 3})
		sampled := doneVisit(t, e, res, p, 4, "")
		if c := callbackOf(t, e, sampled.ID); c == nil || c.Reason != carehex.CallbackSampled {
			t.Errorf("visit with share 1 queued %+v, want a sampled task", c)
		}
		// The queue: exception first, then the first visit, then sampled.
		q, err := e.Callbacks(opCtx(), carehex.QualityFilter{Status: string(carehex.CallbackOpen)})
		if err != nil || len(q) != 3 || q[0].VisitID != late.ID || q[1].VisitID != first.ID || q[2].VisitID != sampled.ID {
			t.Errorf("queue = %v, %v; want exception, first visit, sampled", q, err)
		}
		queued := 0
		for _, rec := range auditOf(t, e, callbackOf(t, e, first.ID).ID) {
			if rec.Action == "callback.queue" && strings.Contains(rec.Detail, first.ID) {
				queued++
			}
		}
		if queued != 1 {
			t.Errorf("callback.queue audit records of the first visit's task = %d, want 1", queued)
		}
		if _, err := e.Callbacks(opCtx(), carehex.QualityFilter{Status: "maybe"}); carehex.ErrorField(err) != "status" {
			t.Errorf("Callbacks(status maybe) = %v, want invalid status", err)
		}
	})
}

// TestCallbackClaimExclusive: of operators claiming one task at once,
// exactly one gets it; the others are told who is calling and cannot
// record a result; NextCallback skips a held task.
func TestCallbackClaimExclusive(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		res := mustCreateResident(t, e, resident("王桂兰", "13905330011"))
		res2 := mustCreateResident(t, e, resident("张秀英", "13905330012"))
		p := mustCreateProvider(t, e, "刘芳")
		v := doneVisit(t, e, res, p, 1, carehex.ExceptionLateArrival)
		v2 := doneVisit(t, e, res2, p, 2, "")
		task := callbackOf(t, e, v.ID)

		const n = 8
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []string
			refused int
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := operatorCtx(fmt.Sprintf("op%d", i))
				_, err := e.ClaimCallback(ctx, task.ID)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, fmt.Sprintf("op%d", i))
				case carehex.ErrorCode(err) == carehex.ECONFLICT && carehex.ErrorMsg(err).Code == carehex.MsgCallbackClaimed:
					refused++
				case carehex.ErrorCode(err) == carehex.EUNAVAILABLE: // SQLite busy under the race: not a claim
					refused++
				default:
					t.Errorf("claim: %v", err)
				}
			}()
		}
		wg.Wait()
		if len(winners) != 1 || refused != n-1 {
			t.Fatalf("winners %v, refused %d; want exactly one of %d", winners, refused, n)
		}
		got, _ := e.Callback(opCtx(), task.ID)
		if got.ClaimedBy != "user:"+winners[0] {
			t.Errorf("claimed_by = %q, want user:%s", got.ClaimedBy, winners[0])
		}
		other := "op-other"
		if winners[0] == other {
			t.Fatal("impossible winner")
		}
		_, err := e.RecordCallback(operatorCtx(other), task.ID, carehex.CallbackResult{Satisfaction: 5, ServiceDone: carehex.DoneYes})
		wantErr(t, err, carehex.ECONFLICT, "id")
		// Another operator asking for the next task gets the unheld one.
		next, err := e.NextCallback(operatorCtx(other), "")
		if err != nil || next.VisitID != v2.ID || next.ClaimedBy != "user:"+other {
			t.Errorf("NextCallback = %+v, %v; want the second visit's task", next, err)
		}
		if _, err := e.NextCallback(operatorCtx("op-third"), ""); carehex.ErrorCode(err) != carehex.ENOTFOUND {
			t.Errorf("NextCallback with every task held = %v, want not found", err)
		}
		// The claim runs out: another operator may take it then.
		e.clock.Advance(carehex.DefaultQualityRules().CallbackClaim + time.Second)
		if _, err := e.ClaimCallback(operatorCtx(other), task.ID); err != nil {
			t.Errorf("claim after the first one expired: %v", err)
		}
	})
}

// TestCallbackRecord: bad results are refused and change nothing;
// unanswered calls return the task to the queue until the N-th closes it
// as unreachable; an answered call records the result once.
func TestCallbackRecord(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.SetQualityRules(carehex.QualityRules{CallbackShare: 0, CallbackAttempts: 2, CallbackClaim: 10 * time.Minute})
		res := mustCreateResident(t, e, resident("王桂兰", "13905330011"))
		res2 := mustCreateResident(t, e, resident("张秀英", "13905330012"))
		p := mustCreateProvider(t, e, "刘芳")
		a := callbackOf(t, e, doneVisit(t, e, res, p, 1, "").ID)
		b := callbackOf(t, e, doneVisit(t, e, res2, p, 2, "").ID)

		for _, bad := range []struct {
			r     carehex.CallbackResult
			field string
		}{
			{carehex.CallbackResult{Satisfaction: 0, ServiceDone: carehex.DoneYes}, "satisfaction"},
			{carehex.CallbackResult{Satisfaction: 6, ServiceDone: carehex.DoneYes}, "satisfaction"},
			{carehex.CallbackResult{Satisfaction: 3, ServiceDone: "maybe"}, "service_done"},
			{carehex.CallbackResult{Satisfaction: 3, ServiceDone: carehex.DoneYes, Notes: "a\x00b"}, "notes"},
		} {
			before := rows(t, e, "audit_records")
			_, err := e.RecordCallback(opCtx(), a.ID, bad.r)
			wantErr(t, err, carehex.EINVALID, bad.field)
			if got, _ := e.Callback(opCtx(), a.ID); got.Status != carehex.CallbackOpen || got.Attempts != 0 || rows(t, e, "audit_records") != before {
				t.Errorf("refused result changed the task: %+v", got)
			}
		}
		_, err := e.RecordCallback(opCtx(), "cbk_nope", carehex.CallbackResult{Unreachable: true})
		wantErr(t, err, carehex.ENOTFOUND, "id")

		got, err := e.RecordCallback(opCtx(), a.ID, carehex.CallbackResult{Unreachable: true, Notes: "无人接听"})
		if err != nil || got.Status != carehex.CallbackOpen || got.Attempts != 1 || got.ClaimedBy != "" {
			t.Fatalf("first unanswered call = %+v, %v; want open, 1 attempt, unclaimed", got, err)
		}
		// The unanswered task goes behind the untried one of its kind.
		if q, err := e.Callbacks(opCtx(), carehex.QualityFilter{Status: string(carehex.CallbackOpen)}); err != nil || len(q) != 2 || q[0].ID != b.ID {
			t.Errorf("queue after an unanswered call = %v, %v; want %s first", q, err, b.ID)
		}
		got, err = e.RecordCallback(opCtx(), a.ID, carehex.CallbackResult{Unreachable: true})
		if err != nil || got.Status != carehex.CallbackUnreachable || got.Attempts != 2 || got.DoneTime.IsZero() {
			t.Fatalf("second unanswered call = %+v, %v; want unreachable after 2", got, err)
		}
		_, err = e.RecordCallback(opCtx(), a.ID, carehex.CallbackResult{Satisfaction: 5, ServiceDone: carehex.DoneYes})
		wantConflict(t, err, "unreachable")

		got, err = e.RecordCallback(opCtx(), b.ID, carehex.CallbackResult{Satisfaction: 4, ServiceDone: carehex.DonePartly, Notes: "晚到十分钟"})
		if err != nil || got.Status != carehex.CallbackDone || got.Satisfaction != 4 || got.ServiceDone != carehex.DonePartly ||
			got.Notes != "晚到十分钟" || got.DoneBy != operator.Actor() {
			t.Fatalf("answered call = %+v, %v", got, err)
		}
		actions := map[string]int{}
		for _, id := range []string{a.ID, b.ID} {
			for _, rec := range auditOf(t, e, id) {
				actions[rec.Action]++
			}
		}
		if actions["callback.unreachable"] != 2 || actions["callback.record"] != 1 {
			t.Errorf("audit actions = %v, want 2 unreachable and 1 record", actions)
		}
		if fours, err := e.Callbacks(opCtx(), carehex.QualityFilter{Satisfaction: 4}); err != nil || len(fours) != 1 || fours[0].ID != b.ID {
			t.Errorf("callbacks scored 4 = %v, %v; want %s", fours, err, b.ID)
		}
		if fives, err := e.Callbacks(opCtx(), carehex.QualityFilter{Satisfaction: 5}); err != nil || len(fives) != 0 {
			t.Errorf("callbacks scored 5 = %v, %v; want none", fives, err)
		}
		_, err = e.Callbacks(opCtx(), carehex.QualityFilter{Satisfaction: 7})
		wantErr(t, err, carehex.EINVALID, "satisfaction")
		sum, err := e.QualitySummary(opCtx(), carehex.QualityFilter{})
		if err != nil || sum.Callbacks != 1 || sum.Unreachable != 1 || sum.Satisfaction != 4 || sum.Distribution[3] != 1 ||
			sum.NotAsLogged != 1 || len(sum.ByOrg) != 1 || sum.ByOrg[0].OrgID != carehex.DefaultOrganisationID || sum.ByOrg[0].OrgName == "" {
			t.Errorf("summary = %+v, %v", sum, err)
		}
		rep, err := e.VerifyTrail(context.Background(), time.Time{}, nil)
		if err != nil || rep.Fault() != nil {
			t.Errorf("VerifyTrail = %v, %v", rep.Fault(), err)
		}
	})
}

// TestComplaintWorkflow: a complaint against a visit goes open → referred
// → responded (queuing the verification callback first in line) →
// verified by that callback → closed; illegal steps and bad input are
// refused with a clear error and change nothing; a step past its due time
// raises one alert, which closes itself when the step is done; every step
// is in the trail and the trail verifies.
func TestComplaintWorkflow(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.SetQualityRules(carehex.DefaultQualityRules())
		ctx := opCtx()
		res := mustCreateResident(t, e, resident("王桂兰", "13905330011"))
		other := mustCreateResident(t, e, resident("张秀英", "13905330012"))
		p := mustCreateProvider(t, e, "刘芳")
		v := doneVisit(t, e, res, p, 1, "")

		for _, bad := range []struct {
			c     carehex.Complaint
			code  string
			field string
		}{
			{carehex.Complaint{Complainant: carehex.ComplainantElder, VisitID: v.ID, Description: "x"}, carehex.EINVALID, "resident_id"},
			{carehex.Complaint{ResidentID: res.ID, Complainant: "neighbour", VisitID: v.ID, Description: "x"}, carehex.EINVALID, "complainant"},
			{carehex.Complaint{ResidentID: res.ID, Complainant: carehex.ComplainantElder, Description: "x"}, carehex.EINVALID, "visit_id"},
			{carehex.Complaint{ResidentID: res.ID, Complainant: carehex.ComplainantElder, VisitID: v.ID, Description: " "}, carehex.EINVALID, "description"},
			{carehex.Complaint{ResidentID: other.ID, Complainant: carehex.ComplainantFamily, VisitID: v.ID, Description: "x"}, carehex.EINVALID, "visit_id"},
			{carehex.Complaint{ResidentID: res.ID, Complainant: carehex.ComplainantElder, VisitID: "vis_nope", Description: "x"}, carehex.ENOTFOUND, "visit_id"},
			{carehex.Complaint{ResidentID: res.ID, Complainant: carehex.ComplainantElder, OrgID: "org_nope", Description: "x"}, carehex.ENOTFOUND, "org_id"},
			{carehex.Complaint{ResidentID: "res_nope", Complainant: carehex.ComplainantElder, OrgID: carehex.DefaultOrganisationID, Description: "x"}, carehex.ENOTFOUND, "resident_id"},
		} {
			before := rows(t, e, "complaints")
			c := bad.c
			wantErr(t, e.CreateComplaint(ctx, &c), bad.code, bad.field)
			if rows(t, e, "complaints") != before {
				t.Errorf("refused complaint %+v was stored", bad.c)
			}
		}

		c := &carehex.Complaint{ResidentID: res.ID, Complainant: carehex.ComplainantFamily, ComplainantName: "李勇",
			VisitID: v.ID, Description: "护理员提前离开"}
		if err := e.CreateComplaint(ctx, c); err != nil {
			t.Fatal(err)
		}
		if c.Status != carehex.ComplaintOpen || c.ProviderID != p.ID || c.OrgID != carehex.DefaultOrganisationID ||
			c.RequestID != v.RequestID || !c.DueTime.Equal(c.CreateTime.Add(24*time.Hour)) {
			t.Fatalf("created = %+v", c)
		}

		// Illegal steps: refused, nothing changed.
		for _, to := range []carehex.ComplaintStatus{carehex.ComplaintResponded, carehex.ComplaintClosed, carehex.ComplaintVerified, "lost"} {
			before, audits := *mustComplaint(t, e, c.ID), rows(t, e, "audit_records")
			_, err := e.MoveComplaint(ctx, c.ID, to, "note")
			if err == nil || carehex.ErrorField(err) != "status" {
				t.Errorf("open → %s = %v, want refused on status", to, err)
			}
			if after := mustComplaint(t, e, c.ID); *after != before || rows(t, e, "audit_records") != audits {
				t.Errorf("refused open → %s changed the complaint or the trail", to)
			}
		}
		_, err := e.MoveComplaint(ctx, c.ID, carehex.ComplaintRejected, "")
		wantErr(t, err, carehex.EINVALID, "note")

		// Overdue: one alert, named with the resident, not raised twice.
		e.clock.Advance(25 * time.Hour)
		if n, err := e.RaiseComplaintAlerts(ctx, e.clock.Now()); err != nil || n != 1 {
			t.Fatalf("RaiseComplaintAlerts = %d, %v; want 1", n, err)
		}
		if n, err := e.RaiseComplaintAlerts(ctx, e.clock.Now()); err != nil || n != 0 {
			t.Errorf("second pass raised %d, %v; want 0", n, err)
		}
		open, _ := e.Alerts(ctx, true, 0)
		var alert *carehex.Alert
		for _, a := range open {
			if a.Kind == carehex.AlertComplaintOverdue {
				alert = a
			}
		}
		if alert == nil || alert.RequestID != c.ID || alert.ResidentName != "王桂兰" || alert.Params["due_time"] == "" {
			t.Fatalf("open alerts = %+v, want the complaint's overdue alert", open)
		}
		if late, _ := e.Complaints(ctx, carehex.QualityFilter{Status: ComplaintOverdue}); len(late) != 1 {
			t.Errorf("overdue complaints = %d, want 1", len(late))
		}
		if active, _ := e.Complaints(ctx, carehex.QualityFilter{Status: ComplaintActive}); len(active) != 1 {
			t.Errorf("active complaints = %d, want 1", len(active))
		}
		sum, _ := e.QualitySummary(ctx, carehex.QualityFilter{})
		if sum.Complaints != 1 || sum.OpenComplaint != 1 || sum.Overdue != 1 {
			t.Errorf("summary while overdue = %+v", sum)
		}

		moved, err := e.MoveComplaint(ctx, c.ID, carehex.ComplaintReferred, "")
		if err != nil || moved.Status != carehex.ComplaintReferred || !moved.DueTime.Equal(moved.UpdateTime.Add(72*time.Hour)) {
			t.Fatalf("refer = %+v, %v", moved, err)
		}
		all, _ := e.Alerts(ctx, false, 0)
		for _, a := range all {
			if a.ID == alert.ID && (a.AckTime.IsZero() || a.CloseReason != carehex.MsgClosedComplaint) {
				t.Errorf("overdue alert after referring = %+v, want closed by itself", a)
			}
		}

		moved, err = e.MoveComplaint(ctx, c.ID, carehex.ComplaintResponded, "已批评教育护理员，补做服务")
		if err != nil || moved.CallbackID == "" || moved.Response == "" {
			t.Fatalf("respond = %+v, %v", moved, err)
		}
		next, err := e.NextCallback(ctx, "")
		if err != nil || next.ID != moved.CallbackID || next.Reason != carehex.CallbackComplaint || next.ComplaintID != c.ID {
			t.Fatalf("next callback = %+v, %v; want the complaint's verification first", next, err)
		}
		if _, err := e.RecordCallback(ctx, next.ID, carehex.CallbackResult{Satisfaction: 4, ServiceDone: carehex.DoneYes}); err != nil {
			t.Fatal(err)
		}
		if got := mustComplaint(t, e, c.ID); got.Status != carehex.ComplaintVerified {
			t.Fatalf("after the callback the complaint is %s, want verified", got.Status)
		}
		if _, err := e.MoveComplaint(ctx, c.ID, carehex.ComplaintClosed, "家属满意"); err != nil {
			t.Fatal(err)
		}
		got := mustComplaint(t, e, c.ID)
		if got.Status != carehex.ComplaintClosed || !got.DueTime.IsZero() || got.Resolution != "家属满意" {
			t.Errorf("closed = %+v", got)
		}
		_, err = e.MoveComplaint(ctx, c.ID, carehex.ComplaintReferred, "")
		wantErr(t, err, carehex.ECONFLICT, "status")

		var steps []string
		for _, rec := range auditOf(t, e, c.ID) {
			steps = append(steps, rec.Action)
		}
		for _, want := range []string{"complaint.create", "complaint.referred", "alert.close", "complaint.responded", "complaint.verified", "complaint.closed"} {
			if !strings.Contains(strings.Join(steps, " "), want) {
				t.Errorf("trail of the complaint %v lacks %s", steps, want)
			}
		}
		rep, err := e.VerifyTrail(context.Background(), time.Time{}, nil)
		if err != nil || rep.Fault() != nil {
			t.Errorf("VerifyTrail = %v, %v", rep.Fault(), err)
		}

		// Against an organisation alone; then withdrawn.
		o := &carehex.Complaint{ResidentID: other.ID, Complainant: carehex.ComplainantElder, OrgID: carehex.DefaultOrganisationID, Description: "电话打不通"}
		if err := e.CreateComplaint(ctx, o); err != nil {
			t.Fatal(err)
		}
		for _, step := range []carehex.ComplaintStatus{carehex.ComplaintReferred, carehex.ComplaintResponded} {
			if _, err := e.MoveComplaint(ctx, o.ID, step, "已回电解释"); err != nil {
				t.Fatal(err)
			}
		}
		withdrawn, err := e.MoveComplaint(ctx, o.ID, carehex.ComplaintWithdrawn, "老人撤回")
		if err != nil {
			t.Fatal(err)
		}
		if cb, err := e.Callback(ctx, withdrawn.CallbackID); err != nil || cb.Status != carehex.CallbackCancelled || cb.VisitID != "" {
			t.Errorf("the withdrawn complaint's check = %+v, %v; want cancelled", cb, err)
		}
		if active, _ := e.Complaints(ctx, carehex.QualityFilter{Status: ComplaintActive}); len(active) != 0 {
			t.Errorf("active complaints at the end = %d, want 0", len(active))
		}
		sum, _ = e.QualitySummary(ctx, carehex.QualityFilter{})
		if sum.Complaints != 2 || sum.OpenComplaint != 0 || sum.Overdue != 0 {
			t.Errorf("summary at the end = %+v", sum)
		}

		// Erasure keeps the figures and drops the words.
		if _, err := e.DeactivateResident(ctx, res.ID, "moved_away"); err != nil {
			t.Fatal(err)
		}
		if err := e.EraseResident(ctx, res.ID); err != nil {
			t.Fatal(err)
		}
		if got := mustComplaint(t, e, c.ID); got.Description != "" || got.ComplainantName != "" || got.Response != "" || got.Status != carehex.ComplaintClosed {
			t.Errorf("erased resident's complaint = %+v, want its words gone and its status kept", got)
		}
		if after, _ := e.QualitySummary(ctx, carehex.QualityFilter{}); after.Complaints != 2 || after.Callbacks != sum.Callbacks {
			t.Errorf("summary after erasure = %+v, want the figures kept", after)
		}
	})
}

func mustComplaint(t *testing.T, e *env, id string) *carehex.Complaint {
	t.Helper()
	c, err := e.Complaint(opCtx(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
