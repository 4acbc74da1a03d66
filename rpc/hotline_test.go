package rpc_test

import (
	"context"
	"testing"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// TestCallOnRequest: the console finds the call ringing at its extension,
// logs the request with its call_id, and the request detail shows the
// recording once the telephone system names it at hangup.
func TestCallOnRequest(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ts := newServer(t, be)
			op := ts.ctx(t, carehex.RoleOperator)
			ctx := context.Background()
			res := ts.createResident(t, "张桂兰", "13905330001")

			_, err := ts.intake().GetActiveCall(op, &pb.GetActiveCallRequest{Extension: "8001"})
			wantCode(t, err, twirp.NotFound, "extension")
			_, err = ts.intake().GetActiveCall(op, &pb.GetActiveCallRequest{Extension: " "})
			wantCode(t, err, twirp.InvalidArgument, "extension")

			if _, err := ts.Store.RecordCallEvent(ctx, &carehex.CallEvent{CallID: "fs-1", Event: carehex.CallRinging,
				Caller: "13905330001", Extension: "8001"}); err != nil {
				t.Fatal(err)
			}
			got, err := ts.intake().GetActiveCall(op, &pb.GetActiveCallRequest{Extension: "8001"})
			if err != nil || got.Call.CallId != "fs-1" || got.Call.Caller != "13905330001" || got.Call.Status != "ringing" {
				t.Fatalf("GetActiveCall = %v, %v", got, err)
			}
			_, err = ts.intake().GetActiveCall(ts.ctx(t, carehex.RoleSupervisor), &pb.GetActiveCallRequest{Extension: "8001"})
			wantCode(t, err, twirp.PermissionDenied, "")

			// A call the telephone system never reported is refused, and no request is logged.
			_, err = ts.intake().CreateServiceRequest(op, &pb.CreateServiceRequestRequest{ResidentId: res.Id,
				ServiceCode: ts.service().Code, Urgency: pb.Urgency_URGENCY_SOON, CallId: "made-up"})
			wantCode(t, err, twirp.NotFound, "call_id")
			if list, _ := ts.intake().ListServiceRequests(op, &pb.ListServiceRequestsRequest{ResidentId: res.Id}); len(list.GetRequests()) != 0 {
				t.Fatalf("a refused request was logged: %v", list)
			}

			created, err := ts.intake().CreateServiceRequest(op, &pb.CreateServiceRequestRequest{ResidentId: res.Id,
				ServiceCode: ts.service().Code, Urgency: pb.Urgency_URGENCY_SOON, CallId: got.Call.CallId})
			if err != nil || created.Request.CallId != "fs-1" {
				t.Fatalf("CreateServiceRequest with the call = %v, %v", created, err)
			}
			detail, err := ts.intake().GetServiceRequest(op, &pb.GetServiceRequestRequest{Id: created.Request.Id})
			if err != nil || detail.Request.CallId != "fs-1" || detail.Request.RecordingRef != "" {
				t.Fatalf("detail during the call = %v, %v", detail, err)
			}
			if _, err := ts.Store.RecordCallEvent(ctx, &carehex.CallEvent{CallID: "fs-1", Event: carehex.CallHangup,
				RecordingRef: "rec/2026/12/fs-1.wav"}); err != nil {
				t.Fatal(err)
			}
			detail, err = ts.intake().GetServiceRequest(op, &pb.GetServiceRequestRequest{Id: created.Request.Id})
			if err != nil || detail.Request.RecordingRef != "rec/2026/12/fs-1.wav" {
				t.Fatalf("detail after the hangup = %v, %v", detail, err)
			}
			_, err = ts.intake().GetActiveCall(op, &pb.GetActiveCallRequest{Extension: "8001"})
			wantCode(t, err, twirp.NotFound, "extension")
		})
	}
}

// TestDeactivateResident: a resident who moved away keeps her record, is
// still found, and takes no new requests.
func TestDeactivateResident(t *testing.T) {
	ts := newServer(t, sqlite)
	op := ts.ctx(t, carehex.RoleOperator)
	res := ts.createResident(t, "张桂兰", "13905330001")

	for _, tt := range []struct {
		req  *pb.DeactivateResidentRequest
		code twirp.ErrorCode
		arg  string
	}{
		{&pb.DeactivateResidentRequest{Id: res.Id}, twirp.InvalidArgument, "reason_code"},
		{&pb.DeactivateResidentRequest{Id: res.Id, ReasonCode: "other"}, twirp.InvalidArgument, "reason"},
		{&pb.DeactivateResidentRequest{ReasonCode: "deceased"}, twirp.InvalidArgument, "id"},
		{&pb.DeactivateResidentRequest{Id: "res_nope", ReasonCode: "deceased"}, twirp.NotFound, "id"},
	} {
		_, err := ts.residents().DeactivateResident(op, tt.req)
		wantCode(t, err, tt.code, tt.arg)
	}
	_, err := ts.residents().DeactivateResident(ts.ctx(t, carehex.RoleSupervisor),
		&pb.DeactivateResidentRequest{Id: res.Id, ReasonCode: "deceased"})
	wantCode(t, err, twirp.PermissionDenied, "")

	got, err := ts.residents().DeactivateResident(op, &pb.DeactivateResidentRequest{Id: res.Id, ReasonCode: "care_home"})
	if err != nil || got.Resident.DeactivateReason != "care_home" || got.Resident.DeactivateTime == nil {
		t.Fatalf("DeactivateResident = %v, %v", got, err)
	}
	_, err = ts.intake().CreateServiceRequest(op, &pb.CreateServiceRequestRequest{ResidentId: res.Id,
		ServiceCode: ts.service().Code, Urgency: pb.Urgency_URGENCY_SOON})
	wantCode(t, err, twirp.FailedPrecondition, "resident_id")
	found, err := ts.residents().SearchResidents(op, &pb.SearchResidentsRequest{Query: "zgl"})
	if err != nil || len(found.Residents) != 1 || found.Residents[0].DeactivateReason != "care_home" {
		t.Errorf("search after deactivation = %v, %v", found, err)
	}
}
