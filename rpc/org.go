package rpc

import (
	"context"

	"github.com/carehex/carehex"
)

// orgScope says whether the caller is an organisation account (org_dispatcher
// or org_admin) and, if so, its organisation: a handler that returns or
// changes requests, carers, visits, alerts or statements keeps to orgID
// when scoped. Platform accounts are not scoped. An organisation role
// without an organisation never gets this far (sqlstore.TokenPrincipal
// refuses its token), so scoped always comes with a non-empty orgID.
func orgScope(ctx context.Context) (orgID string, scoped bool) {
	p, ok := carehex.PrincipalFrom(ctx)
	if !ok || !p.Role.OrgRole() {
		return "", false
	}
	return p.OrgID, true
}
