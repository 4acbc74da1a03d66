package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// lastJSON decodes the last line of out, which simulate promises is one
// JSON object.
func lastJSON(t *testing.T, out string, v any) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	if err := json.Unmarshal([]byte(last), v); err != nil {
		t.Fatalf("last line is not one JSON object: %v\n%s", err, out)
	}
}

// simEnv is the environment of the simulate tests: the embedded defaults
// (SQLite in a fresh directory, in-process Redis) unless the caller set
// CAREHEX_REDIS_URL, which only makes it faster.
func simEnv(k string) string {
	switch k {
	case "CAREHEX_REDIS_URL":
		return os.Getenv(k)
	case "CAREHEX_LOG_LEVEL":
		return "error"
	}
	return ""
}

// smallDay is the small preset's simulated day, played once per test run
// into a kept data directory (removed by TestMain) and shared by the tests
// that read it afterwards (settlement, open data).
var smallDay struct {
	once   sync.Once
	dir    string
	stdout string
	err    error
}

// simulatedDay returns the data directory of the small preset's day and
// simulate's output, playing the day on the first call.
func simulatedDay(t *testing.T) (dir, stdout string) {
	t.Helper()
	smallDay.once.Do(func() {
		if smallDay.dir, smallDay.err = os.MkdirTemp("", "carehex-day-"); smallDay.err != nil {
			return
		}
		var out, errOut bytes.Buffer
		report := filepath.Join(smallDay.dir, "report")
		smallDay.err = run(context.Background(), []string{"simulate", "--preset", "small", "--data", filepath.Join(smallDay.dir, "data"),
			"--out", report, "--map", ""}, simEnv, strings.NewReader(""), &out, &errOut)
		smallDay.stdout = out.String()
		if smallDay.err != nil {
			smallDay.stdout += "\nstderr:\n" + errOut.String()
		}
	})
	if smallDay.err != nil {
		t.Fatalf("simulate: %v\nstdout:\n%s", smallDay.err, smallDay.stdout)
	}
	return filepath.Join(smallDay.dir, "data"), smallDay.stdout
}

// TestSimulateSmall plays the small preset against an in-process server on
// a simulated clock, then replays the recorded day through the matching
// policies, and checks the figures against invariants and sanity bounds.
func TestSimulateSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a simulated morning: a minute or more")
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"simulate", "--preset", "small", "--seed", "7", "--out", dir, "--record", "day.jsonl"},
		simEnv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("simulate: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var s struct {
		Requests       int     `json:"requests"`
		Matched        int     `json:"matched"`
		Completed      int     `json:"completed"`
		FillRate       float64 `json:"fill_rate"`
		AcceptP50S     float64 `json:"accept_p50_s"`
		AcceptP95S     float64 `json:"accept_p95_s"`
		ArriveP50S     float64 `json:"arrive_p50_s"`
		ArriveP95S     float64 `json:"arrive_p95_s"`
		KMPerVisit     float64 `json:"km_per_visit"`
		OffersPerMatch float64 `json:"offers_per_match"`
		DoubleBookings *int    `json:"double_bookings"`
		LostRequests   *int    `json:"lost_requests"`
		Providers      int     `json:"providers"`
		Clock          string  `json:"clock"`
	}
	lastJSON(t, stdout.String(), &s)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	t.Logf("summary: %s", lines[len(lines)-1])
	switch {
	case s.Requests <= 0:
		t.Errorf("requests = %d, want > 0", s.Requests)
	case s.FillRate <= 0 || s.FillRate > 1:
		t.Errorf("fill_rate = %v, want within (0, 1]", s.FillRate)
	case s.DoubleBookings == nil || *s.DoubleBookings != 0:
		t.Errorf("double_bookings = %v, want 0 (the invariant scan must run and find none)", s.DoubleBookings)
	case s.LostRequests == nil || *s.LostRequests != 0:
		t.Errorf("lost_requests = %v, want 0\n%s", s.LostRequests, stdout.String())
	}
	if s.Clock != "simulated" || s.Providers != 100 {
		t.Errorf("clock %q, providers %d: want the small preset on a simulated clock", s.Clock, s.Providers)
	}
	if s.Matched > s.Requests || s.Completed > s.Matched {
		t.Errorf("matched %d, completed %d of %d requests: out of order", s.Matched, s.Completed, s.Requests)
	}
	if s.AcceptP50S <= 0 || s.AcceptP50S > s.AcceptP95S || s.ArriveP50S > s.ArriveP95S {
		t.Errorf("percentiles out of order: accept %v/%v, arrive %v/%v", s.AcceptP50S, s.AcceptP95S, s.ArriveP50S, s.ArriveP95S)
	}
	// A provider accepts with the offer still open (45 s, plus a step of
	// the simulated clock), so the median acceptance is well inside a
	// minute and a half; arrival comes after acceptance.
	if s.AcceptP50S > 90 || s.ArriveP50S < s.AcceptP50S {
		t.Errorf("accept p50 %vs, arrive p50 %vs: implausible", s.AcceptP50S, s.ArriveP50S)
	}
	// Zhangdian is ~20 km across and the dispatcher searches at most 8 km.
	if s.KMPerVisit <= 0 || s.KMPerVisit > 15 {
		t.Errorf("km_per_visit = %v, want within (0, 15]", s.KMPerVisit)
	}
	if s.OffersPerMatch < 1 {
		t.Errorf("offers_per_match = %v: every match needs an offer", s.OffersPerMatch)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "simulate-map.svg"))
	if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("<polygon")) {
		t.Errorf("map: %v, %.80q", err, svg)
	}

	// The recorded day replays through the same command.
	stdout.Reset()
	err = run(context.Background(), []string{"simulate", "--replay", filepath.Join(dir, "day.jsonl"), "--compare"},
		simEnv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	var cmp struct {
		Policies []struct {
			Policy   string
			Requests int
			Served   int
		}
	}
	lastJSON(t, stdout.String(), &cmp)
	if len(cmp.Policies) != 4 {
		t.Fatalf("want live, greedy, batched and hindsight rows, got %+v", cmp.Policies)
	}
	live, hind := cmp.Policies[0], cmp.Policies[3]
	if live.Requests != s.Requests || live.Served != s.Matched {
		t.Errorf("recorded live row %+v does not match the run's %d requests, %d matched", live, s.Requests, s.Matched)
	}
	for _, p := range cmp.Policies[:3] {
		if p.Served > hind.Served {
			t.Errorf("%s served %d, more than the hindsight bound %d", p.Policy, p.Served, hind.Served)
		}
	}
}

func TestSimulateBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "huge"}, "--preset"},
		{[]string{"--residents", "0"}, "--residents"},
		{[]string{"--providers", "20001"}, "--providers"},
		{[]string{"--window", "10:00-09:00"}, "--window"},
		{[]string{"--window", "25:00-26:00"}, "--window"},
		{[]string{"--step", "0s"}, "--step"},
		{[]string{"--date", "tomorrow"}, "--date"},
		{[]string{"--requests", "3000000"}, "--requests"},
		{[]string{"--batch", "0s"}, "--batch"},
		{[]string{"--username", "x"}, "--addr"},
		{[]string{"--addr", "127.0.0.1:8080", "--username", "u", "--password", "p"}, "--addr"},
		{[]string{"--addr", "http://127.0.0.1:1"}, "--username"},
		{[]string{"--replay", "/nonexistent/day.jsonl"}, "--replay"},
		{[]string{"--replay", "x", "--preset", "small"}, "--replay"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--district", "Atlantis"}, "--district"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"simulate"}, tt.args...), simEnv, strings.NewReader(""), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestSimulateReplayBadFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "day.jsonl")
	if err := os.WriteFile(f, []byte("{\"kind\":\"meta\"}\n{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"simulate", "--replay", f}, simEnv, strings.NewReader(""), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want one naming line 2", err)
	}
}
