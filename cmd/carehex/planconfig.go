package main

import (
	"fmt"
	"time"
)

// planEvery is how often each replica projects the care plans ahead; the
// projection is idempotent, so replicas need not take turns.
const planEvery = 10 * time.Minute

// validatePlan reads CAREHEX_PLAN_HORIZON: how far ahead plans are
// projected (default 14 days, the roster's usual fortnight); and
// CAREHEX_PLAN_HANDOFF: how close to its start a changed planned visit goes
// to on-demand dispatch rather than the roster (default 2h).
func (c *Config) validatePlan() error {
	if c.planHandOffText != "" {
		d, err := time.ParseDuration(c.planHandOffText)
		if err != nil || d < time.Minute || d > 48*time.Hour {
			return fmt.Errorf("CAREHEX_PLAN_HANDOFF %q must be a duration from 1m to 48h, e.g. 2h (how close to its start a changed planned visit goes to on-demand dispatch)", c.planHandOffText)
		}
		c.PlanHandOff = d
	}
	if c.planHorizonText == "" {
		return nil
	}
	d, err := time.ParseDuration(c.planHorizonText)
	if err != nil || d < 24*time.Hour || d > 62*24*time.Hour {
		return fmt.Errorf("CAREHEX_PLAN_HORIZON %q must be a duration from 24h to 1488h (62 days), e.g. 336h", c.planHorizonText)
	}
	c.PlanHorizon = d
	return nil
}
