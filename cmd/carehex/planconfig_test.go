package main

import (
	"strings"
	"testing"
	"time"
)

func TestPlanHorizonConfig(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "CAREHEX_PLAN_HORIZON" {
				return v
			}
			return ""
		}
	}
	c := defaultConfig(env("168h"))
	if err := c.validate(); err != nil || c.PlanHorizon != 7*24*time.Hour {
		t.Fatalf("168h: horizon %v, %v", c.PlanHorizon, err)
	}
	c = defaultConfig(env(""))
	if err := c.validate(); err != nil || c.PlanHorizon != 0 { // 0: the planner's default, 14 days
		t.Fatalf("unset: horizon %v, %v", c.PlanHorizon, err)
	}
	for _, bad := range []string{"2w", "1h", "2000h"} {
		c = defaultConfig(env(bad))
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), "CAREHEX_PLAN_HORIZON") {
			t.Errorf("%q: %v, want an error naming CAREHEX_PLAN_HORIZON", bad, err)
		}
	}
}
