package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchLoadAddr drives a running `carehex serve` (the real binary) with
// `bench load --addr`: the city is created through the server's API, the
// run has no error, and its CPU figures come from the server's /metrics.
func TestBenchLoadAddr(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	const pw = "load-addr-test-password"
	addUser(t, bin, nil, data, "bench-op", "operator", pw)
	srv := startServer(t, bin, []string{"CAREHEX_LOG_LEVEL=warn"}, "--data", data)

	args := []string{"bench", "load", "--addr", srv.url, "--metrics-url", srv.metrics, "--username", "bench-op", "--password", pw, "--rate", "5",
		"--duration", "3s", "--drain", "3s", "--residents", "100", "--providers", "30", "--visit-share", "0.2"}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, nil, &stdout, &stderr); err != nil {
		t.Fatalf("bench load --addr: %v\nstderr:\n%s", err, stderr.String())
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
	if rep.Bench != "load" || len(rep.Runs) != 1 {
		t.Fatalf("report has bench %q and %d runs, want load and 1 (twirp against the server)", rep.Bench, len(rep.Runs))
	}
	r := rep.Runs[0]
	if r["transport"] != "twirp" || r["cpu_source"] != "server /metrics" {
		t.Errorf("transport %v, cpu_source %v; want twirp and the server's /metrics", r["transport"], r["cpu_source"])
	}
	if n, _ := r["created"].(float64); n <= 0 {
		t.Errorf("created = %v, want > 0", r["created"])
	}
	if n, _ := r["errors"].(float64); n != 0 {
		t.Errorf("%v errors %v", r["errors"], r["errors_by_code"])
	}
}

// TestBenchLoadAddrFlags: with --addr, the flags about a server the bench
// would build are refused, naming them.
func TestBenchLoadAddrFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "127.0.0.1:8080", "--username", "u", "--password", "p"}, "--addr"},
		{[]string{"--addr", "http://127.0.0.1:1"}, "--username"},
		{[]string{"--addr", "http://127.0.0.1:1", "--backend", "sqlite"}, "--backend"},
		{[]string{"--addr", "http://127.0.0.1:1", "--redis-url", "redis://x"}, "--redis-url"},
		{[]string{"--addr", "http://127.0.0.1:1", "--transport", "nethttp"}, "--transport"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"bench", "load"}, tc.args...), func(string) string { return "" }, nil, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not name %s", err, tc.want)
			}
		})
	}
}
