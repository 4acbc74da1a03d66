package rpc_test

import (
	"testing"
	"time"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// TestSuperviseScope checks the dashboard's access on both databases: the
// operator is refused every method; a supervisor of the whole city sees
// both streets; a supervisor limited to one street (area "张店区/车站街道")
// sees her street's figures, drill-downs and areas only, and is refused
// another street, another district and the whole city.
func TestSuperviseScope(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ts := newServer(t, be)
			op := ts.ctx(t, carehex.RoleOperator)
			sup := pb.NewSuperviseServiceJSONClient(ts.URL, ts.Client)
			mk := func(n int, phone, district, street string) {
				r, err := ts.residents().CreateResident(op, &pb.CreateResidentRequest{Name: "住户" + phone[7:], Phone: phone,
					Address: district + street + "某路 1 号", District: district, Street: street, Location: zibo})
				if err != nil {
					t.Fatal(err)
				}
				for range n {
					if _, err := ts.intake().CreateServiceRequest(op, &pb.CreateServiceRequestRequest{ResidentId: r.Resident.Id,
						ServiceCode: ts.service().Code, Urgency: pb.Urgency_URGENCY_SOON}); err != nil {
						t.Fatal(err)
					}
				}
			}
			mk(3, "13800138001", "张店区", "车站街道")
			mk(2, "13800138002", "张店区", "科苑街道")
			mk(1, "13800138003", "淄川区", "般阳路街道")
			// Yesterday and today in China: the records were made a moment
			// ago, perhaps just before midnight there.
			yesterday, today := time.Now().Add(-24*time.Hour).In(carehex.CST).Format("2006-01-02"), time.Now().In(carehex.CST).Format("2006-01-02")
			scope := func(d, s string) *pb.DashboardScope {
				return &pb.DashboardScope{FromDate: yesterday, ToDate: today, District: d, Street: s}
			}

			for _, role := range []carehex.Role{carehex.RoleOperator} {
				c := ts.ctx(t, role)
				_, err1 := sup.GetDashboard(c, &pb.GetDashboardRequest{Scope: scope("", "")})
				_, err2 := sup.ListDashboardRecords(c, &pb.ListDashboardRecordsRequest{Scope: scope("", ""), Figure: "requests"})
				_, err3 := sup.ListDashboardAreas(c, &pb.ListDashboardAreasRequest{})
				for _, err := range []error{err1, err2, err3} {
					if te, ok := err.(twirp.Error); !ok || te.Code() != twirp.PermissionDenied {
						t.Errorf("%s on the dashboard: %v, want permission_denied", role, err)
					}
				}
			}
			for _, role := range []carehex.Role{carehex.RoleSupervisor, carehex.RoleAdmin} {
				d, err := sup.GetDashboard(ts.ctx(t, role), &pb.GetDashboardRequest{Scope: scope("", "")})
				if err != nil {
					t.Fatalf("%s: GetDashboard: %v", role, err)
				}
				if d.Totals.GetRequests() != 6 {
					t.Errorf("%s sees %d requests in the city, want 6", role, d.Totals.GetRequests())
				}
			}

			street := as(t, ts.areaSupervisor(t, "sup-chezhan", "张店区/车站街道"))
			d, err := sup.GetDashboard(street, &pb.GetDashboardRequest{Scope: scope("", "")})
			if err != nil {
				t.Fatalf("street supervisor: GetDashboard: %v", err)
			}
			if d.Scope.GetDistrict() != "张店区" || d.Scope.GetStreet() != "车站街道" || d.Totals.GetRequests() != 3 {
				t.Errorf("street supervisor sees scope %v with %d requests; want her street's 3", d.Scope, d.Totals.GetRequests())
			}
			for _, other := range []*pb.DashboardScope{scope("张店区", "科苑街道"), scope("淄川区", ""), scope("淄川区", "般阳路街道")} {
				_, err := sup.GetDashboard(street, &pb.GetDashboardRequest{Scope: other})
				if te, ok := err.(twirp.Error); !ok || te.Code() != twirp.PermissionDenied {
					t.Errorf("street supervisor asking for %v: %v, want permission_denied", other, err)
				}
				_, err = sup.ListDashboardRecords(street, &pb.ListDashboardRecordsRequest{Scope: other, Figure: "requests"})
				if te, ok := err.(twirp.Error); !ok || te.Code() != twirp.PermissionDenied {
					t.Errorf("street supervisor's drill-down into %v: %v, want permission_denied", other, err)
				}
			}
			recs, err := sup.ListDashboardRecords(street, &pb.ListDashboardRecordsRequest{Scope: scope("", ""), Figure: "requests", PageSize: 2})
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			for {
				for _, r := range recs.Records {
					if r.Street != "车站街道" {
						t.Errorf("street supervisor's drill-down lists %s of %s", r.RequestId, r.Street)
					}
					seen++
				}
				if recs.NextPageToken == "" {
					break
				}
				if recs, err = sup.ListDashboardRecords(street, &pb.ListDashboardRecordsRequest{Scope: scope("", ""), Figure: "requests",
					PageSize: 2, PageToken: recs.NextPageToken}); err != nil {
					t.Fatal(err)
				}
			}
			if seen != 3 {
				t.Errorf("street supervisor's drill-down lists %d requests, want 3", seen)
			}
			areas, err := sup.ListDashboardAreas(street, &pb.ListDashboardAreasRequest{})
			if err != nil || !areas.Limited || len(areas.Areas) != 1 || len(areas.Areas[0].Streets) != 1 || areas.Areas[0].Streets[0] != "车站街道" {
				t.Errorf("street supervisor's areas: %v, %v", areas, err)
			}
			city, err := sup.ListDashboardAreas(ts.ctx(t, carehex.RoleSupervisor), &pb.ListDashboardAreasRequest{})
			if err != nil || city.Limited || len(city.Areas) != 2 {
				t.Errorf("city supervisor's areas: %v, %v", city, err)
			}
			// Bad input names the field and changes nothing.
			_, err = sup.GetDashboard(ts.ctx(t, carehex.RoleSupervisor), &pb.GetDashboardRequest{Scope: scope("", ""), Panels: []string{"gossip"}})
			if te, ok := err.(twirp.Error); !ok || te.Code() != twirp.InvalidArgument || te.Meta("argument") != "panels" {
				t.Errorf("an unknown panel: %v", err)
			}
			_, err = sup.ListDashboardRecords(ts.ctx(t, carehex.RoleSupervisor), &pb.ListDashboardRecordsRequest{Scope: scope("", ""), Figure: "everything"})
			if te, ok := err.(twirp.Error); !ok || te.Code() != twirp.InvalidArgument || te.Meta("argument") != "figure" {
				t.Errorf("an unknown figure: %v", err)
			}
		})
	}
}
