package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/carehex/carehex/internal/testenv"
)

// TestBenchLoad runs `carehex bench load` briefly on each backend and checks
// that it drove the server without an error and reported every figure on
// its last line. Timing is not asserted: that is what the command is for.
func TestBenchLoad(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra func(t *testing.T) []string
	}{
		{"sqlite+inprocess-redis", func(*testing.T) []string { return nil }},
		{"postgres+redis-server", func(t *testing.T) []string {
			return []string{"--backend", "postgres", "--database-url", testenv.PostgresURL(t), "--redis-url", testenv.RedisURL(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A gentle rate: the test checks the machinery, not the speed,
			// and must pass on a busy shared machine too.
			args := append([]string{"bench", "load", "--rate", "10", "--duration", "3s", "--drain", "2s",
				"--residents", "300", "--providers", "60", "--visit-share", "0.2"}, tc.extra(t)...)
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), args, func(string) string { return "" }, nil, &stdout, &stderr); err != nil {
				t.Fatalf("bench load: %v\nstderr:\n%s", err, stderr.String())
			}
			t.Logf("stdout:\n%s", stdout.String())
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			var rep struct {
				Bench string           `json:"bench"`
				Runs  []map[string]any `json:"runs"`
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
				t.Fatalf("last line is not the JSON report: %v\n%s", err, lines[len(lines)-1])
			}
			if rep.Bench != "load" || len(rep.Runs) != 2 {
				t.Fatalf("report has bench %q and %d runs, want load and 2 (twirp, nethttp)", rep.Bench, len(rep.Runs))
			}
			for _, r := range rep.Runs {
				for _, k := range []string{"backend", "transport", "rate", "duration_s", "requests", "errors",
					"create_p50_ms", "create_p99_ms", "offer_p50_ms", "offer_p99_ms", "errors_by_code", "created", "pool_waits", "pool_wait_ms"} {
					if _, ok := r[k]; !ok {
						t.Errorf("run %v/%v lacks %q", r["backend"], r["transport"], k)
					}
				}
				if n, _ := r["requests"].(float64); n <= 0 {
					t.Errorf("run %v/%v: requests = %v, want > 0", r["backend"], r["transport"], r["requests"])
				}
				if n, _ := r["created"].(float64); n <= 0 {
					t.Errorf("run %v/%v: created = %v, want > 0", r["backend"], r["transport"], r["created"])
				}
				if n, _ := r["errors"].(float64); n != 0 {
					t.Errorf("run %v/%v: %v errors %v", r["backend"], r["transport"], r["errors"], r["errors_by_code"])
				}
			}
		})
	}
}

// TestBenchLoadFlags: a bad flag is refused before anything starts, with a
// message naming it.
func TestBenchLoadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "0"}, "--rate"},
		{[]string{"--rate", "abc"}, "-rate"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--duration", "ten"}, "-duration"},
		{[]string{"--transport", "grpc"}, "--transport"},
		{[]string{"--backend", "mysql"}, "--backend"},
		{[]string{"--backend", "postgres"}, "--database-url"},
		{[]string{"--database-url", "mysql://x"}, "--database-url"},
		{[]string{"--redis-url", "http://x"}, "--redis-url"},
		{[]string{"--residents", "1"}, "--residents"},
		{[]string{"--providers", "0"}, "--providers"},
		{[]string{"--visit-share", "1.5"}, "--visit-share"},
		{[]string{"--drain", "-1s"}, "--drain"},
		{[]string{"extra"}, "extra"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"bench", "load"}, tc.args...), func(string) string { return "" }, nil, &stdout, &stderr)
			if err == nil {
				t.Fatal("accepted")
			}
			if msg := err.Error() + stderr.String(); !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q (stderr %q) does not name %s", err, stderr.String(), tc.want)
			}
		})
	}
}
