package rpc_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// TestRequestLifecycle walks an operator's shift: sign in, log a call,
// read it back with its history, cancel it, sign out.
func TestRequestLifecycle(t *testing.T) {
	ts := newServer(t, sqlite)
	op := ts.Users[carehex.RoleOperator]
	anon := as(t, "")

	var badLogin string
	t.Run("wrong password", func(t *testing.T) {
		_, err := ts.auth().Login(anon, &pb.LoginRequest{Username: op.Username, Password: "not the password"})
		badLogin = wantCode(t, err, twirp.Unauthenticated, "").Msg()
	})
	t.Run("unknown user", func(t *testing.T) {
		_, err := ts.auth().Login(anon, &pb.LoginRequest{Username: "nobody-at-all", Password: testPassword})
		te := wantCode(t, err, twirp.Unauthenticated, "")
		if te.Msg() != badLogin {
			t.Errorf("unknown user got %q, wrong password %q: the answer tells which was wrong", te.Msg(), badLogin)
		}
	})

	login, err := ts.auth().Login(anon, &pb.LoginRequest{Username: op.Username, Password: testPassword})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if login.Token == "" || login.Role != string(carehex.RoleOperator) || login.UserId != op.ID {
		t.Fatalf("login = role %q user %q token %v, want operator %s with a token", login.Role, login.UserId, login.Token != "", op.ID)
	}
	ctx := as(t, login.Token)
	actor := "user:" + op.ID

	res, err := ts.residents().CreateResident(ctx, &pb.CreateResidentRequest{
		Name: "王秀英", Phone: "13800138000", Address: "淄博市张店区人民西路 1 号", Location: zibo,
	})
	if err != nil {
		t.Fatalf("create resident: %v", err)
	}
	created, err := ts.intake().CreateServiceRequest(ctx, &pb.CreateServiceRequestRequest{
		ResidentId: res.Resident.Id, ServiceCode: ts.service().Code, Urgency: pb.Urgency_URGENCY_SOON,
		Notes: "需要送午餐", IdempotencyKey: "lifecycle-1",
	})
	if err != nil {
		t.Fatalf("create request: %v", err)
	}
	id := created.Request.Id

	t.Run("pending with a created event", func(t *testing.T) {
		got, err := ts.intake().GetServiceRequest(ctx, &pb.GetServiceRequestRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		r := got.Request
		if r.Status != pb.RequestStatus_REQUEST_STATUS_PENDING || r.ResidentId != res.Resident.Id ||
			r.ServiceCode != ts.service().Code || r.Notes != "需要送午餐" || r.CreatedBy != actor {
			t.Errorf("request = %v", r)
		}
		if len(got.Events) != 1 {
			t.Fatalf("%d events, want 1: %v", len(got.Events), got.Events)
		}
		e := got.Events[0]
		if e.Type != carehex.EventCreated || e.Actor != actor || e.Seq != 1 ||
			e.ToStatus != pb.RequestStatus_REQUEST_STATUS_PENDING || e.EventTime == nil {
			t.Errorf("event = %v, want created by %s", e, actor)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		got, err := ts.intake().CancelServiceRequest(ctx, &pb.CancelServiceRequestRequest{Id: id, Reason: "家属已自行处理"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Request.Status != pb.RequestStatus_REQUEST_STATUS_CANCELLED || got.Request.CancelReason != "家属已自行处理" {
			t.Errorf("after cancel: %v", got.Request)
		}
		evs, err := ts.intake().ListRequestEvents(ctx, &pb.ListRequestEventsRequest{RequestId: id})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range evs.Events {
			types = append(types, e.Type)
		}
		if !slices.Equal(types, []string{carehex.EventCreated, carehex.EventCancelled}) {
			t.Fatalf("events %v, want created then cancelled", types)
		}
		e := evs.Events[1]
		if e.Actor != actor || e.Reason != "家属已自行处理" || e.Seq != 2 ||
			e.FromStatus != pb.RequestStatus_REQUEST_STATUS_PENDING || e.ToStatus != pb.RequestStatus_REQUEST_STATUS_CANCELLED {
			t.Errorf("cancel event = %v", e)
		}
		shown, err := ts.intake().GetServiceRequest(ctx, &pb.GetServiceRequestRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		if shown.Request.Status != pb.RequestStatus_REQUEST_STATUS_CANCELLED || len(shown.Events) != 2 {
			t.Errorf("GetServiceRequest after cancel: %s with %d events", shown.Request.Status, len(shown.Events))
		}
	})

	t.Run("cancel again", func(t *testing.T) {
		_, err := ts.intake().CancelServiceRequest(ctx, &pb.CancelServiceRequestRequest{Id: id, Reason: "again"})
		wantCode(t, err, twirp.FailedPrecondition, "")
		evs, err := ts.intake().ListRequestEvents(ctx, &pb.ListRequestEventsRequest{RequestId: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs.Events) != 2 {
			t.Errorf("%d events after a refused cancel, want 2", len(evs.Events))
		}
	})

	t.Run("logout", func(t *testing.T) {
		if _, err := ts.auth().Logout(ctx, &pb.LogoutRequest{}); err != nil {
			t.Fatalf("logout: %v", err)
		}
		_, err := ts.intake().GetServiceRequest(ctx, &pb.GetServiceRequestRequest{Id: id})
		wantCode(t, err, twirp.Unauthenticated, "")
		_, err = ts.auth().Logout(ctx, &pb.LogoutRequest{})
		wantCode(t, err, twirp.Unauthenticated, "")
		// Other sessions of the same user go on.
		if _, err := ts.intake().GetServiceRequest(ts.ctx(t, carehex.RoleOperator), &pb.GetServiceRequestRequest{Id: id}); err != nil {
			t.Errorf("another session of the user: %v", err)
		}
	})
}

// TestAuditTrail checks that reads of personal data leave a record a
// supervisor can see, and that operators cannot read the trail.
func TestAuditTrail(t *testing.T) {
	ts := newServer(t, sqlite)
	op := ts.ctx(t, carehex.RoleOperator)
	sup := ts.ctx(t, carehex.RoleSupervisor)
	actor := "user:" + ts.Users[carehex.RoleOperator].ID
	res := ts.createResident(t, "王秀英", "13800138000")

	if _, err := ts.residents().GetResident(op, &pb.GetResidentRequest{Id: res.Id}); err != nil {
		t.Fatalf("get resident: %v", err)
	}
	found, err := ts.residents().SearchResidents(op, &pb.SearchResidentsRequest{Query: "8000"})
	if err != nil {
		t.Fatalf("search residents: %v", err)
	}
	if len(found.Residents) != 1 || found.Residents[0].Id != res.Id {
		t.Fatalf("search found %v, want %s", found.Residents, res.Id)
	}

	recs, err := ts.audit().ListAuditRecords(sup, &pb.ListAuditRecordsRequest{Actor: actor})
	if err != nil {
		t.Fatalf("list audit records: %v", err)
	}
	var read, search *pb.AuditRecord
	for _, r := range recs.Records {
		if r.Actor != actor {
			t.Errorf("filter by actor %s returned a record of %s", actor, r.Actor)
		}
		switch r.Action {
		case "resident.read":
			read = r
		case "resident.search":
			search = r
		}
	}
	if read == nil || read.ObjectId != res.Id || read.RecordTime == nil {
		t.Errorf("no resident.read record of %s by %s: %v", res.Id, actor, recs.Records)
	}
	if search == nil || !strings.Contains(search.ObjectId, res.Id) || !strings.Contains(search.Detail, "8000") {
		t.Errorf("no resident.search record showing %s: %v", res.Id, recs.Records)
	}

	byObject, err := ts.audit().ListAuditRecords(sup, &pb.ListAuditRecordsRequest{ObjectId: res.Id})
	if err != nil {
		t.Fatalf("list audit records by object: %v", err)
	}
	var actions []string
	for _, r := range byObject.Records {
		actions = append(actions, r.Action)
	}
	if !slices.Contains(actions, "resident.read") || !slices.Contains(actions, "resident.create") {
		t.Errorf("records of %s: %v, want its creation and the read", res.Id, actions)
	}

	_, err = ts.audit().ListAuditRecords(op, &pb.ListAuditRecordsRequest{})
	wantCode(t, err, twirp.PermissionDenied, "")
}

// TestSearchResidents is the incoming-call lookup: by any run of 4 or more
// digits of a phone number, by the whole number, by part of a Chinese name
// and by its pinyin.
func TestSearchResidents(t *testing.T) {
	ts := newServer(t, sqlite)
	ids := map[string]string{} // name → id
	for _, r := range []struct{ name, phone string }{
		{"王秀英", "13800001234"},
		{"李秀英", "13911115678"},
		{"张伟", "+8613722229012"},
		{"王伟", "053312345678"},
		{"欧阳秀兰", "13655550001"},
	} {
		ids[r.name] = ts.createResident(t, r.name, r.phone).Id
	}
	tests := []struct {
		query string
		want  []string // names
	}{
		{"1234", []string{"王秀英", "王伟"}}, // the end of one number, the middle of another
		{"0533", []string{"王伟"}},        // the start
		{"11115", []string{"李秀英"}},      // the middle
		{"5678", []string{"李秀英", "王伟"}},
		{"13911115678", []string{"李秀英"}},
		{"9012", []string{"张伟"}},
		{"+8613722229012", []string{"张伟"}},
		{"13722229012", []string{"张伟"}},
		{"053312345678", []string{"王伟"}},
		{"秀英", []string{"王秀英", "李秀英"}},
		{"王", []string{"王秀英", "王伟"}},
		{"伟", []string{"张伟", "王伟"}},
		{"张伟", []string{"张伟"}},
		{"阳秀兰", []string{"欧阳秀兰"}},
		{"赵", nil},
		{"9999", nil},
		{"wxy", []string{"王秀英"}},
		{"xy", []string{"王秀英", "李秀英"}},
		{"oyxl", []string{"欧阳秀兰"}},
		{"ouyang", []string{"欧阳秀兰"}},
		{"xiuying", []string{"王秀英", "李秀英"}},
	}
	op := ts.ctx(t, carehex.RoleOperator)
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp, err := ts.residents().SearchResidents(op, &pb.SearchResidentsRequest{Query: tt.query})
			if err != nil {
				t.Fatal(err)
			}
			var got, want []string
			for _, r := range resp.Residents {
				got = append(got, r.Id)
			}
			for _, n := range tt.want {
				want = append(want, ids[n])
			}
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("search %q found %v, want %v (%v)", tt.query, got, want, tt.want)
			}
		})
	}
	// Empty, or too few digits to mean a number: the console shows a hint.
	for _, q := range []string{"  ", "123"} {
		t.Run("refused "+q, func(t *testing.T) {
			_, err := ts.residents().SearchResidents(op, &pb.SearchResidentsRequest{Query: q})
			wantCode(t, err, twirp.InvalidArgument, "query")
		})
	}
}
