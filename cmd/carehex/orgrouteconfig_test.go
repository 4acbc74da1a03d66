package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestOrgRoutingConfig: the two-tier settings are read and checked against
// the catalogue; a bad one stops `carehex serve` at start with the setting
// named and what is wrong.
func TestOrgRoutingConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c := defaultConfig(env("CAREHEX_DISPATCH_VIA_ORG", "cleaning, bathing,DL-MEAL-DELIVERY", "CAREHEX_ORG_DEADLINE_SOON", "5m",
		"CAREHEX_ORG_AUTO_REROUTE", "true"))
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	v := c.OrgRouting.Via
	if strings.Join(v.Services, ",") != "cleaning,bathing,DL-MEAL-DELIVERY" || v.Soon != 5*time.Minute || v.Scheduled != 30*time.Minute || !v.AutoReroute {
		t.Errorf("parsed %+v", v)
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"CAREHEX_DISPATCH_VIA_ORG", "cleaning,washing_cars"}, `"washing_cars" is not a service category`},
		{[]string{"CAREHEX_DISPATCH_VIA_ORG", "emergency"}, "emergencies are always dispatched directly"},
		{[]string{"CAREHEX_ORG_DEADLINE_SOON", "soon"}, "CAREHEX_ORG_DEADLINE_SOON"},
		{[]string{"CAREHEX_ORG_DEADLINE_SCHEDULED", "2s"}, "CAREHEX_ORG_DEADLINE_SCHEDULED"},
		{[]string{"CAREHEX_ORG_AUTO_REROUTE", "maybe"}, "CAREHEX_ORG_AUTO_REROUTE"},
	} {
		err := run(context.Background(), []string{"serve", "--data", t.TempDir()}, env(tc.env...), strings.NewReader(""), &strings.Builder{}, &strings.Builder{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve with %v = %v; want an error with %q", tc.env, err, tc.want)
		}
	}
}
