package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// TestOrgAccounts: an organisation account needs an existing organisation,
// a platform account has none, and a token of an organisation account
// carries its organisation.
func TestOrgAccounts(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		wantErr(t, e.CreateUser(ctx, &carehex.User{Username: "d0", Role: carehex.RoleOrgDispatcher, PasswordHash: "h"}),
			carehex.EINVALID, "org_id")
		wantErr(t, e.CreateUser(ctx, &carehex.User{Username: "d0", Role: carehex.RoleOrgAdmin, PasswordHash: "h", OrgID: "org_nosuch"}),
			carehex.ENOTFOUND, "org_id")
		wantErr(t, e.CreateUser(ctx, &carehex.User{Username: "op", Role: carehex.RoleOperator, PasswordHash: "h", OrgID: carehex.DefaultOrganisationID}),
			carehex.EINVALID, "org_id")
		if n := rows(t, e, "users"); n != 0 {
			t.Errorf("refused accounts left %d users", n)
		}
		u := &carehex.User{Username: "d1", Role: carehex.RoleOrgDispatcher, PasswordHash: "h", OrgID: " " + carehex.DefaultOrganisationID + " "}
		if err := e.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		got, err := e.UserByUsername(ctx, "d1")
		if err != nil || got.OrgID != carehex.DefaultOrganisationID {
			t.Errorf("UserByUsername = %+v, %v", got, err)
		}
		p := carehex.Principal{Kind: carehex.KindUser, Subject: u.ID, Role: u.Role, Name: u.Username}
		if err := e.CreateToken(ctx, "h-org", p, testNow.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		gp, err := e.TokenPrincipal(ctx, "h-org", testNow)
		if err != nil || gp.OrgID != carehex.DefaultOrganisationID || gp.Role != carehex.RoleOrgDispatcher {
			t.Errorf("TokenPrincipal = %+v, %v; want the organisation carried", gp, err)
		}
	})
}

// TestOrgScopeStore: requests, alerts, residents and carers of one
// organisation, and none of another's.
func TestOrgScopeStore(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		orgs := map[string]*carehex.Organisation{}
		for _, name := range []string{"甲", "乙"} {
			o := &carehex.Organisation{Name: name + "服务社", Kind: carehex.OrgContractor}
			if err := e.CreateOrganisation(ctx, o); err != nil {
				t.Fatal(err)
			}
			orgs[name] = o
		}
		a, b := orgs["甲"].ID, orgs["乙"].ID
		pa, pb := mustCreateProvider(t, e, "甲师傅"), mustCreateProvider(t, e, "乙师傅")
		for p, org := range map[*carehex.Provider]string{pa: a, pb: b} {
			if err := e.SetProviderOrganisation(ctx, p.ID, org); err != nil {
				t.Fatal(err)
			}
		}
		res := mustCreateResident(t, e, resident("王秀英", "13800138001"))
		other := mustCreateResident(t, e, resident("李桂兰", "13800138002"))
		assigned := mustCreateRequest(t, e, res.ID) // a's carer holds it
		offered := mustCreateRequest(t, e, res.ID)  // offered to b's carer only
		neither := mustCreateRequest(t, e, other.ID)
		mustOffer(t, e, newOffer(e, offered, pb, 1))
		v := mustAssign(t, e, claim(assigned, pa, 2, at(10, 0), at(11, 0)))
		if _, err := e.RaiseAlert(ctx, &carehex.Alert{RequestID: assigned.ID, VisitID: v.ID, Kind: carehex.ExceptionLateArrival, Message: "late"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.RaiseAlert(ctx, &carehex.Alert{RequestID: neither.ID, Kind: carehex.AlertUnaccepted, Message: "nobody"}); err != nil {
			t.Fatal(err)
		}

		for _, tt := range []struct {
			org, req string
			want     bool
		}{{a, assigned.ID, true}, {a, offered.ID, false}, {a, neither.ID, false}, {b, offered.ID, true}, {b, assigned.ID, false}} {
			if got, err := e.RequestOfOrg(ctx, tt.org, tt.req); err != nil || got != tt.want {
				t.Errorf("RequestOfOrg(%s, %s) = %v, %v; want %v", tt.org, tt.req, got, err, tt.want)
			}
		}
		list, err := e.ServiceRequests(ctx, carehex.RequestFilter{OrgID: b})
		if err != nil || len(list) != 1 || list[0].ID != offered.ID {
			t.Errorf("ServiceRequests(org b) = %v, %v; want only the offered one", list, err)
		}
		held, err := e.RequestsHeldByOrg(ctx, a, []string{assigned.ID, offered.ID, neither.ID})
		if err != nil || len(held) != 1 || !held[assigned.ID] {
			t.Errorf("RequestsHeldByOrg(a) = %v, %v", held, err)
		}
		if held, err := e.RequestsHeldByOrg(ctx, b, []string{offered.ID}); err != nil || len(held) != 0 {
			t.Errorf("an offer is no hold: %v, %v", held, err)
		}
		for _, tt := range []struct {
			org, res string
			want     bool
		}{{a, res.ID, true}, {a, other.ID, false}, {b, res.ID, false}} {
			if got, err := e.ResidentHeldByOrg(ctx, tt.org, tt.res); err != nil || got != tt.want {
				t.Errorf("ResidentHeldByOrg(%s, %s) = %v, %v; want %v", tt.org, tt.res, got, err, tt.want)
			}
		}
		alerts, err := e.OrgAlerts(ctx, a, true, 10)
		if err != nil || len(alerts) != 1 || alerts[0].RequestID != assigned.ID {
			t.Fatalf("OrgAlerts(a) = %v, %v", alerts, err)
		}
		if ok, err := e.AlertHeldByOrg(ctx, b, alerts[0].ID); err != nil || ok {
			t.Errorf("AlertHeldByOrg(b, a's alert) = %v, %v", ok, err)
		}
		if ok, err := e.AlertHeldByOrg(ctx, a, alerts[0].ID); err != nil || !ok {
			t.Errorf("AlertHeldByOrg(a, its own alert) = %v, %v", ok, err)
		}
		_, err = e.AlertHeldByOrg(ctx, a, "alr_nosuch")
		wantErr(t, err, carehex.ENOTFOUND, "id")
		ps, n, err := e.SearchProviders(ctx, carehex.ProviderFilter{OrgID: a})
		if err != nil || n != 1 || ps[0].ID != pa.ID {
			t.Errorf("SearchProviders(org a) = %v, %d, %v", ps, n, err)
		}

		// The job ends: the resident is a's business no longer.
		if _, err := e.TransitionVisit(ctx, v.ID, carehex.StatusCancelled, "user:op", "called off", e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if got, err := e.ResidentHeldByOrg(ctx, a, res.ID); err != nil || got {
			t.Errorf("after the visit ended: ResidentHeldByOrg = %v, %v", got, err)
		}
		if got, err := e.RequestOfOrg(ctx, a, assigned.ID); err != nil || !got {
			t.Errorf("a past visit keeps the request a's: %v, %v", got, err)
		}

		o := orgs["乙"]
		o.Name, o.Active, o.Contact = "乙养老服务社", false, "张经理 0533-1234567"
		if err := e.UpdateOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
		got, err := e.Organisation(ctx, b)
		if err != nil || got.Name != o.Name || got.Active || got.Contact != o.Contact {
			t.Errorf("after UpdateOrganisation: %+v, %v", got, err)
		}
		dup := *o
		dup.Name = orgs["甲"].Name
		wantErr(t, e.UpdateOrganisation(ctx, &dup), carehex.ECONFLICT, "name")
		wantErr(t, e.UpdateOrganisation(ctx, &carehex.Organisation{ID: "org_nosuch", Name: "x", Kind: carehex.OrgContractor}), carehex.ENOTFOUND, "id")
	})
}
