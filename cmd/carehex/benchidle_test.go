package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchIdle runs the real binary's `bench idle` on a few phones: it
// starts its own `carehex serve` child, and its last line must be the JSON
// object with every key issue 14 names, every phone offered once; once
// with a connection per phone (HTTP/1.1), once with the phones as HTTP/2
// streams over two cleartext connections (h2c, as through a load balancer)
// and the server's CPU profile taken. Timing is not asserted: that is what
// the command is for.
func TestBenchIdle(t *testing.T) {
	bin := buildBinary(t)
	profile := filepath.Join(t.TempDir(), "idle.pprof")
	for _, tc := range []struct {
		name      string
		args      []string
		transport string
	}{
		{"http1", nil, "http/1.1"},
		{"h2c", []string{"--conns", "2", "--cpuprofile", profile}, "h2c, 2 connections"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"bench", "idle", "--phones", "20", "--duration", "3s"}, tc.args...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("bench idle: %v\nstderr:\n%s", err, stderr.String())
			}
			t.Logf("stdout:\n%s", stdout.String())
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			var got map[string]any
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
				t.Fatalf("last line is not one JSON object: %v\n%s", err, lines[len(lines)-1])
			}
			for _, k := range []string{"bench", "phones", "duration_s", "server_cpu_cores", "server_rss_mb", "wakeup_p50_ms", "wakeup_p99_ms"} {
				if _, ok := got[k]; !ok {
					t.Errorf("JSON line lacks %q", k)
				}
			}
			if got["bench"] != "idle" || got["phones"] != 20.0 || got["duration_s"] != 3.0 {
				t.Errorf("bench, phones, duration_s = %v, %v, %v; want idle, 20, 3", got["bench"], got["phones"], got["duration_s"])
			}
			if got["offered"] != 20.0 || got["errors"] != 0.0 || got["long_polls"] != 10.0 || got["streams"] != 10.0 {
				t.Errorf("offered %v, errors %v, long polls %v, streams %v; want every one of 20 phones offered once, no error, half each way",
					got["offered"], got["errors"], got["long_polls"], got["streams"])
			}
			if rss, _ := got["server_rss_mb"].(float64); rss <= 0 {
				t.Errorf("server_rss_mb = %v; the child's /metrics was not read", got["server_rss_mb"])
			}
			if tr, _ := got["transport"].(string); !strings.HasPrefix(tr, tc.transport) {
				t.Errorf("transport %q, want %q…", tr, tc.transport)
			}
		})
	}
	if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
		t.Errorf("--cpuprofile wrote nothing: %v", err)
	}
}

func TestBenchIdleRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--phones", "1"}, "--phones"},
		{[]string{"--phones", "100000"}, "--phones"},
		{[]string{"--duration", "10ms"}, "--duration"},
		{[]string{"--offer-wait", "0s"}, "--offer-wait"},
		{[]string{"--conns", "-1"}, "--conns"},
		{[]string{"--phones", "10", "--conns", "11"}, "--conns"},
		{[]string{"--addr", "127.0.0.1:8080"}, "--addr"},
		{[]string{"--addr", "http://127.0.0.1:8080"}, "--username"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"bench", "idle"}, tc.args...), func(string) string { return "" }, nil, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench idle %v: %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
}

func TestParseProcessMetrics(t *testing.T) {
	text := `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.34
go_goroutines 42
process_resident_memory_bytes 1.2345678e+08
`
	cpu, rss, err := parseProcessMetrics(strings.NewReader(text))
	if err != nil || cpu != 12.34 || rss != 1.2345678e+08 {
		t.Fatalf("parseProcessMetrics = %v, %v, %v", cpu, rss, err)
	}
	if _, _, err := parseProcessMetrics(strings.NewReader("go_goroutines 42\n")); err == nil {
		t.Fatal("metrics without the process figures: no error")
	}
	if _, _, err := parseProcessMetrics(strings.NewReader("process_cpu_seconds_total x\nprocess_resident_memory_bytes 1\n")); err == nil {
		t.Fatal("a figure that is not a number: no error")
	}
}
