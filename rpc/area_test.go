package rpc_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/rpc"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// areaAllowed are the calls a supervisor limited to a district may make
// (each held to the district); written out here, not read from rpc, so a
// method slipping into or out of the scope shows as a failure.
var areaAllowed = []string{
	"AuthService/Logout", "AccountService/ListSessions", "AccountService/EndSession", "AccountService/EndAllSessions",
	"CatalogService/ListServiceTypes",
	"ResidentService/GetResident", "ResidentService/SearchResidents", "ResidentService/ListFamilyMembers",
	"IntakeService/GetServiceRequest", "IntakeService/ListServiceRequests", "IntakeService/ListRequestEvents",
	"QualityService/ListCallbacks", "QualityService/ListComplaints", "QualityService/GetComplaint", "QualityService/GetQualitySummary",
	// the dashboard, held to the area by its own scope (TestSuperviseScope)
	"SuperviseService/GetDashboard", "SuperviseService/ListDashboardRecords", "SuperviseService/ListDashboardAreas",
}

// TestAreaSupervisor checks a supervisor limited to 张店区 on both
// databases: she sees that district's residents and requests, and none of
// 淄川区's, by list or by ID; every call that covers the whole city is
// refused to her (the role matrix for the scoped account); and a
// supervisor of the whole city still sees both.
func TestAreaSupervisor(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ts := newServer(t, be)
			ctx := context.Background()
			op := ts.ctx(t, carehex.RoleOperator)
			hash, err := passwordHash()
			if err != nil {
				t.Fatal(err)
			}
			bad := &carehex.User{Username: "op-area", Role: carehex.RoleOperator, PasswordHash: hash, Area: "张店区"}
			if err := ts.Store.CreateUser(ctx, bad); carehex.ErrorField(err) != "area" {
				t.Fatalf("an operator limited to an area: %v, want refused naming area", err)
			}
			u := &carehex.User{Username: "sup-zhangdian", Role: carehex.RoleSupervisor, PasswordHash: hash, Area: "张店区"}
			if err := ts.Store.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			issue := func(t *testing.T) string {
				tok, err := auth.Issue(ctx, ts.Store, carehex.Principal{Kind: carehex.KindUser, Subject: u.ID, Role: u.Role, Name: u.Username},
					time.Now().Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			scoped := as(t, issue(t))
			city := ts.ctx(t, carehex.RoleSupervisor)

			inRes, inReq := ts.residentWithRequest(t, op, "张桂兰", "13800138001", "张店区", "")
			outRes, outReq := ts.residentWithRequest(t, op, "王秀英", "13800138002", "淄川区", "")
			if _, err := ts.residents().LinkFamilyMember(op, &pb.LinkFamilyMemberRequest{ResidentId: outRes.Id, Name: "王强", Phone: "13900139000", Relation: "son"}); err != nil {
				t.Fatal(err)
			}

			denied := func(t *testing.T, what string, err error) {
				t.Helper()
				var te twirp.Error
				if !errors.As(err, &te) || te.Code() != twirp.PermissionDenied {
					t.Errorf("%s outside the area: %v, want permission_denied", what, err)
				}
			}
			if r, err := ts.residents().GetResident(scoped, &pb.GetResidentRequest{Id: inRes.Id}); err != nil || r.Resident.Id != inRes.Id {
				t.Errorf("GetResident in the area: %v, %v", r, err)
			}
			_, err = ts.residents().GetResident(scoped, &pb.GetResidentRequest{Id: outRes.Id})
			denied(t, "GetResident", err)
			_, err = ts.residents().ListFamilyMembers(scoped, &pb.ListFamilyMembersRequest{ResidentId: outRes.Id})
			denied(t, "ListFamilyMembers", err)
			_, err = ts.intake().GetServiceRequest(scoped, &pb.GetServiceRequestRequest{Id: outReq.Id})
			denied(t, "GetServiceRequest", err)
			_, err = ts.intake().ListRequestEvents(scoped, &pb.ListRequestEventsRequest{RequestId: outReq.Id})
			denied(t, "ListRequestEvents", err)
			if _, err := ts.intake().GetServiceRequest(scoped, &pb.GetServiceRequestRequest{Id: inReq.Id}); err != nil {
				t.Errorf("GetServiceRequest in the area: %v", err)
			}

			ids := func(ctx context.Context) (res, reqs []string) {
				t.Helper()
				s, err := ts.residents().SearchResidents(ctx, &pb.SearchResidentsRequest{Query: "13800138"})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range s.Residents {
					res = append(res, r.Id)
				}
				l, err := ts.intake().ListServiceRequests(ctx, &pb.ListServiceRequestsRequest{})
				if err != nil {
					t.Fatal(err)
				}
				for _, q := range l.Requests {
					reqs = append(reqs, q.Id)
				}
				return res, reqs
			}
			res, reqs := ids(scoped)
			if !slices.Equal(res, []string{inRes.Id}) || !slices.Equal(reqs, []string{inReq.Id}) {
				t.Errorf("scoped lists: residents %v, requests %v; want only %s and %s", res, reqs, inRes.Id, inReq.Id)
			}
			res, reqs = ids(city)
			if len(res) != 2 || len(reqs) != 2 {
				t.Errorf("the city's supervisor sees residents %v, requests %v; want both of each", res, reqs)
			}

			// The matrix: every method, called as the scoped supervisor.
			for _, method := range allMethods(t) {
				if rpc.Public[method] {
					continue
				}
				got := ts.post(t, method, jsonType, []byte(`{}`), issue(t))
				code := twirp.ErrorCode(got.Err.Code)
				if got.Status >= 500 || code == twirp.Internal {
					t.Errorf("%s: server error %s", method, got)
					continue
				}
				allowed := slices.Contains(rpc.Access[method], carehex.RoleSupervisor) && slices.Contains(areaAllowed, method)
				switch {
				case !allowed && code != twirp.PermissionDenied:
					t.Errorf("%s: got %s, want permission_denied for a supervisor limited to an area", method, got)
				case allowed && (code == twirp.PermissionDenied || code == twirp.Unauthenticated):
					t.Errorf("%s: got %s, want the call let through", method, got)
				}
			}
		})
	}
}

// TestStreetSupervisor: a supervisor limited to one street of a district
// ("张店区/车站街道") sees that street's residents and their requests, and
// none of a neighbouring street's in the same district, by search or by ID.
func TestStreetSupervisor(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ts := newServer(t, be)
			op := ts.ctx(t, carehex.RoleOperator)
			scoped := as(t, ts.areaSupervisor(t, "sup-chezhan", "张店区/车站街道"))
			inRes, inReq := ts.residentWithRequest(t, op, "张桂兰", "13800138011", "张店区", "车站街道")
			outRes, outReq := ts.residentWithRequest(t, op, "李凤英", "13800138012", "张店区", "公园街道")

			if _, err := ts.residents().GetResident(scoped, &pb.GetResidentRequest{Id: inRes.Id}); err != nil {
				t.Fatalf("her street's resident: %v", err)
			}
			_, err := ts.residents().GetResident(scoped, &pb.GetResidentRequest{Id: outRes.Id})
			wantCode(t, err, twirp.PermissionDenied, "id")
			if _, err := ts.intake().GetServiceRequest(scoped, &pb.GetServiceRequestRequest{Id: inReq.Id}); err != nil {
				t.Fatalf("her street's request: %v", err)
			}
			_, err = ts.intake().GetServiceRequest(scoped, &pb.GetServiceRequestRequest{Id: outReq.Id})
			wantCode(t, err, twirp.PermissionDenied, "id")
			found, err := ts.residents().SearchResidents(scoped, &pb.SearchResidentsRequest{Query: "138001380"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range found.Residents {
				got = append(got, r.Id)
			}
			if !slices.Equal(got, []string{inRes.Id}) {
				t.Fatalf("search = %v, want only her street's %s", got, inRes.Id)
			}
		})
	}
}
