package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/dispatch"
)

// orgRoutingConfig is two-tier dispatch's settings (issue 12,
// dispatch/orgroute.go):
//
//   - CAREHEX_DISPATCH_VIA_ORG: comma-separated catalogue categories
//     (daily_life), skills (cleaning, bathing) or service codes
//     (DL-BATH-HOME) routed to an organisation; empty: all direct.
//     "none" is the same as empty. Emergencies are always direct; naming
//     one is an error.
//   - CAREHEX_ORG_DEADLINE_SOON, CAREHEX_ORG_DEADLINE_SCHEDULED: how long
//     an organisation has to assign a carer (default 10m, 30m).
//   - CAREHEX_ORG_AUTO_REROUTE: true sends a request whose organisation
//     missed its deadline to the next one by itself.
type orgRoutingConfig struct {
	Via dispatch.OrgRouting

	viaText, soonText, scheduledText, rerouteText string
}

func defaultOrgRouting(getenv func(string) string) orgRoutingConfig {
	return orgRoutingConfig{Via: dispatch.DefaultConfig().Via, viaText: getenv("CAREHEX_DISPATCH_VIA_ORG"),
		soonText: getenv("CAREHEX_ORG_DEADLINE_SOON"), scheduledText: getenv("CAREHEX_ORG_DEADLINE_SCHEDULED"),
		rerouteText: getenv("CAREHEX_ORG_AUTO_REROUTE")}
}

func (o *orgRoutingConfig) validate() error {
	o.Via.Services = dispatch.ParseViaOrg(o.viaText)
	if strings.TrimSpace(o.viaText) == "none" {
		o.Via.Services = nil // everything direct (simulate's default is not)
	}
	for _, d := range []struct {
		key, text string
		dst       *time.Duration
	}{{"CAREHEX_ORG_DEADLINE_SOON", o.soonText, &o.Via.Soon}, {"CAREHEX_ORG_DEADLINE_SCHEDULED", o.scheduledText, &o.Via.Scheduled}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil || v < 10*time.Second || v > 24*time.Hour {
			return fmt.Errorf("%s %q must be a duration from 10s to 24h, e.g. 10m", d.key, d.text)
		}
		*d.dst = v
	}
	if o.rerouteText != "" {
		b, err := strconv.ParseBool(o.rerouteText)
		if err != nil {
			return fmt.Errorf("CAREHEX_ORG_AUTO_REROUTE %q must be true or false", o.rerouteText)
		}
		o.Via.AutoReroute = b
	}
	if len(o.Via.Services) == 0 {
		return nil
	}
	types, err := catalog.Load()
	if err != nil {
		return fmt.Errorf("load service catalogue: %w", err)
	}
	if err := o.Via.Check(types); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return fmt.Errorf("CAREHEX_DISPATCH_VIA_ORG %q: %s", o.viaText, msg)
	}
	return nil
}
