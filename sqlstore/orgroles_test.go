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
