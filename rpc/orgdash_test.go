package rpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// TestSuperviseOrgSlice checks the organisation administrator's slice of
// the dashboard on both databases: with completed visits of two
// organisations' carers, she sees only her organisation's EVV figure and
// carers, as the visits and carers in the store say; none of the city's
// panels; drill-downs only into her organisation's visits; another
// organisation or its carer is refused, as are the areas. The
// organisation's dispatcher is refused every dashboard method.
func TestSuperviseOrgSlice(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ts := newServer(t, be)
			ctx := context.Background()
			admin, op := ts.ctx(t, carehex.RoleAdmin), ts.ctx(t, carehex.RoleOperator)
			orgAdmin := ts.ctx(t, carehex.RoleOrgAdmin)
			sup := pb.NewSuperviseServiceJSONClient(ts.URL, ts.Client)
			created, err := pb.NewOrganisationServiceJSONClient(ts.URL, ts.Client).CreateOrganisation(admin,
				&pb.CreateOrganisationRequest{Name: "乙养老服务社", Kind: "contractor", Area: []string{"张店区"}})
			if err != nil {
				t.Fatal(err)
			}
			orgA, orgB := carehex.DefaultOrganisationID, created.Organisation.Id

			carer := func(name, phone, org string) string {
				p, err := ts.providers().CreateProvider(admin, &pb.CreateProviderRequest{Name: name, Phone: phone,
					Skills: []string{ts.service().RequiredSkill}, Location: zibo})
				if err != nil {
					t.Fatal(err)
				}
				if err := ts.Store.SetProviderOrganisation(ctx, p.Provider.Id, org); err != nil {
					t.Fatal(err)
				}
				return p.Provider.Id
			}
			a1, a2 := carer("李师傅", "13700137001", orgA), carer("王师傅", "13700137002", orgA)
			b1 := carer("赵师傅", "13700137003", orgB)

			var fence int64
			request := func(phone string) string {
				_, req := ts.residentWithRequest(t, op, "住户"+phone[7:], phone, "张店区", "车站街道")
				return req.Id
			}
			var visits []string
			complete := func(phone, provider string) {
				fence++
				start := time.Now().Add(time.Duration(fence) * 3 * time.Hour)
				_, v, err := ts.Store.AssignRequest(ctx, carehex.Assignment{RequestID: request(phone), ProviderID: provider,
					Fence: fence, Start: start, End: start.Add(time.Hour), Actor: "test", Reason: "test"})
				if err != nil {
					t.Fatal(err)
				}
				for _, to := range []carehex.Status{carehex.StatusInProgress, carehex.StatusCompleted} {
					if v, err = ts.Store.TransitionVisit(ctx, v.ID, to, "test", "", time.Time{}); err != nil {
						t.Fatal(err)
					}
				}
				visits = append(visits, v.ID)
			}
			complete("13800138001", a1)
			complete("13800138002", a1)
			complete("13800138003", a2)
			complete("13800138004", b1)
			complete("13800138005", b1)
			request("13800138006") // unfilled: no organisation's

			// What the raw records say of organisation A: its carers'
			// completed visits, and the requests behind them.
			wantOrg := int64(0)
			wantCarer := map[string]int64{}
			ownRequests := map[string]bool{}
			for _, id := range visits {
				v, err := ts.Store.Visit(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				p, err := ts.Store.Provider(ctx, v.ProviderID)
				if err != nil {
					t.Fatal(err)
				}
				if v.Status == carehex.StatusCompleted && p.OrgID == orgA {
					wantOrg++
					wantCarer[p.ID]++
					ownRequests[v.RequestID] = true
				}
			}
			if wantOrg != 3 || len(wantCarer) != 2 {
				t.Fatalf("the records give organisation A %d visits by %d carers; the test made 3 by 2", wantOrg, len(wantCarer))
			}

			// Yesterday and today in China: the records were made a moment
			// ago, perhaps just before midnight there.
			yesterday, today := time.Now().Add(-24*time.Hour).In(carehex.CST).Format("2006-01-02"), time.Now().In(carehex.CST).Format("2006-01-02")
			scope := &pb.DashboardScope{FromDate: yesterday, ToDate: today}
			city, err := sup.GetDashboard(admin, &pb.GetDashboardRequest{Scope: scope})
			if err != nil || len(city.Organisations) != 2 || city.Totals.GetRequests() != 6 {
				t.Fatalf("the platform's admin sees %v, %v; want both organisations and 6 requests", city, err)
			}

			d, err := sup.GetDashboard(orgAdmin, &pb.GetDashboardRequest{Scope: scope})
			if err != nil {
				t.Fatalf("org admin: GetDashboard: %v", err)
			}
			if len(d.Organisations) != 1 || d.Organisations[0].OrgId != orgA || d.Organisations[0].Visits != wantOrg {
				t.Errorf("org admin's organisations = %v; want only %s with %d visits", d.Organisations, orgA, wantOrg)
			}
			got := map[string]int64{}
			for _, c := range d.Carers {
				got[c.ProviderId] = c.Visits
			}
			if len(got) != len(wantCarer) || got[a1] != wantCarer[a1] || got[a2] != wantCarer[a2] {
				t.Errorf("org admin's carers = %v; want %v", got, wantCarer)
			}
			if sp := d.CarerSpread; sp.GetCarers() != 2 || sp.GetMinVisits() != 1 || sp.GetMaxVisits() != 2 {
				t.Errorf("org admin's spread = %v; want over her 2 carers, 1 to 2 visits", sp)
			}
			if d.Totals != nil || len(d.ByCategory)+len(d.Latency)+len(d.Days)+len(d.Cells) != 0 {
				t.Errorf("org admin got the city's panels: totals %v, %d categories, %d latency rows, %d days, %d cells",
					d.Totals, len(d.ByCategory), len(d.Latency), len(d.Days), len(d.Cells))
			}
			for _, p := range []string{"counts", "trend", "latency", "cells"} {
				_, err := sup.GetDashboard(orgAdmin, &pb.GetDashboardRequest{Scope: scope, Panels: []string{"orgs", p}})
				wantCode(t, err, twirp.PermissionDenied, "panels")
			}

			// Drill-downs: every request is only her organisation's.
			seen := 0
			for tok := ""; ; {
				recs, err := sup.ListDashboardRecords(orgAdmin, &pb.ListDashboardRecordsRequest{Scope: scope, Figure: "requests", PageSize: 2, PageToken: tok})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range recs.Records {
					if r.OrgId != orgA || !ownRequests[r.RequestId] || r.ProviderId != a1 && r.ProviderId != a2 {
						t.Errorf("org admin's drill-down lists %s (organisation %q, carer %q)", r.RequestId, r.OrgId, r.ProviderId)
					}
					seen++
				}
				if tok = recs.NextPageToken; tok == "" {
					break
				}
			}
			if seen != len(ownRequests) {
				t.Errorf("org admin's drill-down lists %d requests, want %d", seen, len(ownRequests))
			}
			recs, err := sup.ListDashboardRecords(orgAdmin, &pb.ListDashboardRecordsRequest{Scope: scope, Figure: "carer", ProviderId: a1})
			if err != nil || int64(len(recs.Records)) != wantCarer[a1] {
				t.Errorf("org admin's drill into her carer = %v, %v; want %d visits", recs, err, wantCarer[a1])
			}
			_, err = sup.ListDashboardRecords(orgAdmin, &pb.ListDashboardRecordsRequest{Scope: scope, Figure: "exception", OrgId: orgB})
			wantCode(t, err, twirp.PermissionDenied, "org_id")
			_, err = sup.ListDashboardRecords(orgAdmin, &pb.ListDashboardRecordsRequest{Scope: scope, Figure: "carer", ProviderId: b1})
			wantCode(t, err, twirp.PermissionDenied, "provider_id")
			_, err = sup.ListDashboardAreas(orgAdmin, &pb.ListDashboardAreasRequest{})
			wantCode(t, err, twirp.PermissionDenied, "")

			disp := ts.ctx(t, carehex.RoleOrgDispatcher)
			_, err1 := sup.GetDashboard(disp, &pb.GetDashboardRequest{Scope: scope})
			_, err2 := sup.ListDashboardRecords(disp, &pb.ListDashboardRecordsRequest{Scope: scope, Figure: "requests"})
			_, err3 := sup.ListDashboardAreas(disp, &pb.ListDashboardAreasRequest{})
			for _, err := range []error{err1, err2, err3} {
				wantCode(t, err, twirp.PermissionDenied, "")
			}
		})
	}
}
