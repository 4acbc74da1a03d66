package main

import (
	"context"
	"fmt"
)

// Two-tier dispatch in `carehex simulate` (issue 12). Unless the
// environment says otherwise, the simulated day sends cleaning and bathing
// via organisations (CAREHEX_DISPATCH_VIA_ORG=cleaning,bathing) and
// re-routes an organisation that misses its deadline by itself
// (CAREHEX_ORG_AUTO_REROUTE=true); CAREHEX_DISPATCH_VIA_ORG=none plays the
// day all direct, for comparison. The carers already belong to the demo's
// organisations (they name them, demo.SeedOrganisations creates them).
// Every organisation runs auto-dispatch among its own carers: the
// simulated phones work the offers they accept, so a visit assigned by an
// organisation's dispatcher by hand would never be worked; that path is
// tested in dispatch and rpc instead.

// simOrgDefaults sets simulate's two-tier defaults on cfg before it is
// validated.
func simOrgDefaults(cfg *Config, getenv func(string) string) {
	if getenv("CAREHEX_DISPATCH_VIA_ORG") == "" {
		cfg.OrgRouting.viaText = "cleaning,bathing"
	}
	if getenv("CAREHEX_ORG_AUTO_REROUTE") == "" {
		cfg.OrgRouting.rerouteText = "true"
	}
}

// simOrgAutoDispatch turns every organisation's auto-dispatch on.
func simOrgAutoDispatch(ctx context.Context, st *stack) error {
	orgs, err := st.Store.Organisations(ctx)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		if err := st.Store.SetOrgAutoDispatch(ctx, o.ID, true, "system:simulate"); err != nil {
			return fmt.Errorf("auto-dispatch of %s: %w", o.Name, err)
		}
	}
	return nil
}
