package rpc_test

import (
	"context"
	"strings"
	"testing"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// TestRecordEscalationStep records the steps of an escalation and checks
// each lands in the request's history with who and why; a supervisor is
// refused, and bad input names its field and records nothing.
func TestRecordEscalationStep(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ts := newServer(t, be)
			op := ts.ctx(t, carehex.RoleOperator)
			res := ts.createResident(t, "王桂兰", "13905330002")
			created, err := ts.intake().CreateServiceRequest(op, &pb.CreateServiceRequestRequest{
				ResidentId: res.Id, ServiceCode: ts.service().Code, Urgency: pb.Urgency_URGENCY_EMERGENCY})
			if err != nil {
				t.Fatal(err)
			}
			id := created.Request.Id
			events := func() []*pb.RequestEvent {
				t.Helper()
				r, err := ts.intake().ListRequestEvents(op, &pb.ListRequestEventsRequest{RequestId: id})
				if err != nil {
					t.Fatal(err)
				}
				return r.Events
			}
			before := len(events())

			_, err = ts.intake().RecordEscalationStep(ts.ctx(t, carehex.RoleSupervisor),
				&pb.RecordEscalationStepRequest{RequestId: id, Step: carehex.EscalationCalled120})
			wantCode(t, err, twirp.PermissionDenied, "")
			for _, c := range []struct {
				req   *pb.RecordEscalationStepRequest
				code  twirp.ErrorCode
				field string
			}{
				{&pb.RecordEscalationStepRequest{Step: carehex.EscalationCalled120}, twirp.InvalidArgument, "request_id"},
				{&pb.RecordEscalationStepRequest{RequestId: id, Step: "called_police"}, twirp.InvalidArgument, "step"},
				{&pb.RecordEscalationStepRequest{RequestId: id}, twirp.InvalidArgument, "step"},
				{&pb.RecordEscalationStepRequest{RequestId: id, Step: carehex.EscalationCalledContact}, twirp.InvalidArgument, "contact"},
				{&pb.RecordEscalationStepRequest{RequestId: id, Step: carehex.EscalationPhonedCarer, Contact: "  "}, twirp.InvalidArgument, "contact"},
				{&pb.RecordEscalationStepRequest{RequestId: id, Step: carehex.EscalationCalledContact, Contact: "李勇\n儿子"}, twirp.InvalidArgument, "contact"},
				{&pb.RecordEscalationStepRequest{RequestId: id, Step: carehex.EscalationCalled120, Note: strings.Repeat("长", carehex.MaxTextLen+1)}, twirp.InvalidArgument, "note"},
				{&pb.RecordEscalationStepRequest{RequestId: "req_nope", Step: carehex.EscalationCalled120}, twirp.NotFound, "request_id"},
			} {
				_, err := ts.intake().RecordEscalationStep(op, c.req)
				wantCode(t, err, c.code, c.field)
			}
			if n := len(events()); n != before {
				t.Fatalf("refused steps recorded events: %d, want %d", n, before)
			}

			for _, c := range []struct {
				req  *pb.RecordEscalationStepRequest
				want string
			}{
				{&pb.RecordEscalationStepRequest{RequestId: id, Step: carehex.EscalationCalled120, Note: "救护车约10分钟到"}, "called_120: 救护车约10分钟到"},
				{&pb.RecordEscalationStepRequest{RequestId: id, Step: carehex.EscalationCalledContact, Contact: " 李勇（儿子） "}, "called_contact: 李勇（儿子）"},
				{&pb.RecordEscalationStepRequest{RequestId: id, Step: carehex.EscalationCalled120}, "called_120"},
			} {
				resp, err := ts.intake().RecordEscalationStep(op, c.req)
				if err != nil {
					t.Fatalf("RecordEscalationStep %s: %v", c.req.Step, err)
				}
				e := resp.Event
				if e.Type != carehex.EventEscalation || e.Reason != c.want || e.FromStatus != e.ToStatus ||
					!strings.HasPrefix(e.Actor, "user:") || e.EventTime == nil {
					t.Errorf("event = %+v, want an escalation %q by the operator at the request's status", e, c.want)
				}
			}
			got := events()
			if len(got) != before+3 {
				t.Fatalf("history has %d events, want %d", len(got), before+3)
			}
			last := got[len(got)-1]
			if last.Type != carehex.EventEscalation || last.Reason != "called_120" {
				t.Errorf("last event %s %q, want the last escalation step", last.Type, last.Reason)
			}
			// The request did not move: escalation is a record, not a transition.
			r, err := ts.intake().GetServiceRequest(op, &pb.GetServiceRequestRequest{Id: id})
			if err != nil {
				t.Fatal(err)
			}
			if r.Request.Status != created.Request.Status {
				t.Errorf("status %s after escalation steps, want %s", r.Request.Status, created.Request.Status)
			}
			recs, err := ts.Store.AuditRecords(context.Background(), carehex.AuditFilter{ObjectID: id, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, a := range recs {
				if a.Action == "request.escalation" {
					n++
				}
			}
			if n != 3 {
				t.Errorf("%d request.escalation audit records, want 3", n)
			}
		})
	}
}
