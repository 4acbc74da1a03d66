package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchRoster runs `carehex bench roster` on a small city and checks
// the last line: every key issue 11 names, figures that add up, and no
// breach of a hard constraint.
func TestBenchRoster(t *testing.T) {
	args := []string{"bench", "roster", "--providers", "50", "--visits", "400", "--days", "7", "--time-limit", "2s"}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, nil, &stdout, &stderr); err != nil {
		t.Fatalf("bench roster: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("stdout:\n%s", stdout.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var rep map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatalf("last line is not one JSON object: %v\n%s", err, lines[len(lines)-1])
	}
	for _, k := range []string{"bench", "providers", "visits", "assigned", "assigned_share", "km_per_visit",
		"greedy_km_per_visit", "continuity", "violations", "seconds"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	num := func(k string) float64 { f, _ := rep[k].(float64); return f }
	if rep["bench"] != "roster" || num("providers") != 50 || num("visits") != 400 {
		t.Errorf("bench %v providers %v visits %v, want roster 50 400", rep["bench"], rep["providers"], rep["visits"])
	}
	if num("violations") != 0 {
		t.Errorf("violations = %v, want 0", rep["violations"])
	}
	if a := num("assigned"); a <= 0 || a > 400 || num("assigned_share") != float64(int(a*10000/400+0.5))/10000 {
		t.Errorf("assigned %v, share %v", rep["assigned"], rep["assigned_share"])
	}
	if num("km_per_visit") <= 0 || num("greedy_km_per_visit") <= 0 || num("continuity") <= 0 || num("continuity") > 1 {
		t.Errorf("figures out of range: %v", rep)
	}
}

func TestBenchRosterBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--providers", "0"}, {"--visits", "-1"}, {"--days", "40"}, {"--time-limit", "0s"}, {"--continuity-m", "-5"}, {"stray"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), append([]string{"bench", "roster"}, args...), func(string) string { return "" }, nil, &stdout, &stderr); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
