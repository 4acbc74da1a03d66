package rpc

import (
	"context"
	"testing"

	"github.com/carehex/carehex"
)

// TestOrgScope: organisation accounts are scoped to their organisation,
// platform accounts and anonymous contexts are not.
func TestOrgScope(t *testing.T) {
	for _, tt := range []struct {
		p      *carehex.Principal
		org    string
		scoped bool
	}{
		{nil, "", false},
		{&carehex.Principal{Kind: carehex.KindUser, Role: carehex.RoleAdmin}, "", false},
		{&carehex.Principal{Kind: carehex.KindUser, Role: carehex.RoleSupervisor, Area: "张店区"}, "", false},
		{&carehex.Principal{Kind: carehex.KindUser, Role: carehex.RoleOrgDispatcher, OrgID: "org_a"}, "org_a", true},
		{&carehex.Principal{Kind: carehex.KindUser, Role: carehex.RoleOrgAdmin, OrgID: "org_b"}, "org_b", true},
	} {
		ctx := context.Background()
		if tt.p != nil {
			ctx = carehex.WithPrincipal(ctx, *tt.p)
		}
		if org, scoped := orgScope(ctx); org != tt.org || scoped != tt.scoped {
			t.Errorf("%+v: orgScope = %q, %v; want %q, %v", tt.p, org, scoped, tt.org, tt.scoped)
		}
	}
}
