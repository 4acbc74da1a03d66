package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/rpc"
)

// dashConfig is the supervisor dashboard's settings.
type dashConfig struct {
	// Refresh is how often every replica runs the rollups' catch-up
	// (CAREHEX_DASHBOARD_REFRESH, default 1m); a dashboard asked for
	// also runs it when the last pass is over 5 s old.
	Refresh time.Duration
	// Targets per urgency class (CAREHEX_DASHBOARD_TARGETS), e.g.
	// "emergency=3m/30m,soon=15m/2h,scheduled=4h/30m": time to accept /
	// time to arrive (a scheduled request's from its window's start).
	Targets carehex.DashTargets

	refreshText, targetsText string
}

func defaultDashConfig(getenv func(string) string) dashConfig {
	return dashConfig{Refresh: time.Minute, Targets: carehex.DefaultDashTargets(),
		refreshText: getenv("CAREHEX_DASHBOARD_REFRESH"), targetsText: getenv("CAREHEX_DASHBOARD_TARGETS")}
}

func (c *dashConfig) validate() error {
	if c.refreshText != "" {
		d, err := time.ParseDuration(c.refreshText)
		if err != nil || d < time.Second || d > time.Hour {
			return fmt.Errorf("CAREHEX_DASHBOARD_REFRESH %q must be a duration from 1s to 1h, e.g. 1m", c.refreshText)
		}
		c.Refresh = d
	}
	if c.targetsText == "" {
		return nil
	}
	t, err := parseDashTargets(c.targetsText)
	if err != nil {
		return fmt.Errorf("CAREHEX_DASHBOARD_TARGETS %q: %w; e.g. emergency=3m/30m,soon=15m/2h,scheduled=4h/30m", c.targetsText, err)
	}
	c.Targets = t
	return nil
}

func (c *dashConfig) targets() carehex.DashTargets {
	if c.Targets.Accept == nil {
		return carehex.DefaultDashTargets()
	}
	return c.Targets
}

// parseDashTargets reads "class=accept/arrive,…" over the defaults.
func parseDashTargets(s string) (carehex.DashTargets, error) {
	t := carehex.DefaultDashTargets()
	for _, part := range strings.Split(s, ",") {
		class, durs, ok := strings.Cut(strings.TrimSpace(part), "=")
		u := carehex.Urgency(class)
		if !ok || (u != carehex.UrgencyEmergency && u != carehex.UrgencySoon && u != carehex.UrgencyScheduled) {
			return t, fmt.Errorf("%q is not class=accept/arrive with class emergency, soon or scheduled", part)
		}
		a, b, ok := strings.Cut(durs, "/")
		accept, err1 := time.ParseDuration(a)
		arrive, err2 := time.ParseDuration(b)
		if !ok || err1 != nil || err2 != nil || accept <= 0 || arrive <= 0 {
			return t, fmt.Errorf("%q needs two positive durations, accept/arrive", part)
		}
		t.Accept[u], t.Arrive[u] = accept, arrive
	}
	return t, nil
}

// runDashboard keeps the dashboard's rollups up to date: the catch-up
// every period, on every replica (it is idempotent; replicas take turns
// per day), until ctx ends. A failed pass is logged and retried.
func runDashboard(ctx context.Context, d *rpc.Dashboard, store carehex.DashStore, clock carehex.Clock, every time.Duration, log *slog.Logger) error {
	if every <= 0 {
		every = time.Minute
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := d.Refresh(ctx, store, clock()); err != nil && ctx.Err() == nil {
			log.Warn("dashboard.refresh", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
