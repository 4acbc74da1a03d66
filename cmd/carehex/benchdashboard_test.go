package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// TestDemoHistoryAndBenchDashboard seeds a small city with two days of
// history, then benchmarks the dashboard over it: the bench's last line is
// one JSON object whose request count is the history's.
func TestDemoHistoryAndBenchDashboard(t *testing.T) {
	dir := t.TempDir()
	env := func(string) string { return "" }
	var out, errOut strings.Builder
	err := run(context.Background(), []string{"demo", "seed", "--data", dir, "--residents", "300", "--providers", "20",
		"--history", "2d", "--per-day", "40"}, env, strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("demo seed --history: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "over 2 days") {
		t.Fatalf("demo seed --history said:\n%s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"bench", "dashboard", "--data", dir, "--days", "3", "--runs", "1"}, env,
		strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("bench dashboard: %v\n%s", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var got struct {
		Requests int64              `json:"requests"`
		City     map[string]float64 `json:"city_ms"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out.String())
	}
	if got.Requests < 40 || len(got.City) != len(carehex.DashPanels)+1 {
		t.Errorf("bench over the history: %+v", got)
	}
	out.Reset()
	if err := run(context.Background(), []string{"dashboard", "rebuild", "--data", dir, "--days", "3"}, env,
		strings.NewReader(""), &out, &errOut); err != nil || !strings.Contains(out.String(), "rebuilt") {
		t.Fatalf("dashboard rebuild: %v\n%s", err, out.String())
	}
	// Bad input names the setting and writes nothing.
	for _, args := range [][]string{{"--history", "2h"}, {"--history", "3d", "--per-day", "0"}, {"--history", "3d", "--history-end", "soon"}} {
		err := run(context.Background(), append([]string{"demo", "seed", "--data", t.TempDir()}, args...), env, strings.NewReader(""), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "--") {
			t.Errorf("demo seed %v: %v", args, err)
		}
	}
}

func TestParseDashTargets(t *testing.T) {
	got, err := parseDashTargets("emergency=2m/20m, soon=10m/90m")
	if err != nil || got.Accept[carehex.UrgencyEmergency] != 2*time.Minute || got.Arrive[carehex.UrgencySoon] != 90*time.Minute ||
		got.Accept[carehex.UrgencyScheduled] != carehex.DefaultDashTargets().Accept[carehex.UrgencyScheduled] {
		t.Errorf("parseDashTargets = %+v, %v", got, err)
	}
	for _, bad := range []string{"urgent=1m/2m", "soon=1m", "soon=-1m/2m", "soon=x/2m"} {
		if _, err := parseDashTargets(bad); err == nil {
			t.Errorf("parseDashTargets(%q) accepted", bad)
		}
	}
	c := defaultDashConfig(func(k string) string { return map[string]string{"CAREHEX_DASHBOARD_REFRESH": "0s"}[k] })
	if err := c.validate(); err == nil || !strings.Contains(err.Error(), "CAREHEX_DASHBOARD_REFRESH") {
		t.Errorf("a zero refresh: %v", err)
	}
}
