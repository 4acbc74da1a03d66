package main

import (
	"fmt"
	"time"
)

// planEvery is how often each replica projects the care plans ahead; the
// projection is idempotent, so replicas need not take turns.
const planEvery = 10 * time.Minute

// validatePlan reads CAREHEX_PLAN_HORIZON: how far ahead plans are
// projected (default 14 days, the roster's usual fortnight).
func (c *Config) validatePlan() error {
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
