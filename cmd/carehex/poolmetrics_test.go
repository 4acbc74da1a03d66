package main

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPoolMetrics: /metrics shows the database pools, SQLite's reads and
// its one writer apart, so a call queued for a connection is visible to
// whoever watches the server (go_sql_wait_count_total).
func TestPoolMetrics(t *testing.T) {
	st := testStack(t, "", "poolmetrics")
	rec := httptest.NewRecorder()
	st.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`go_sql_wait_count_total{db_name="reads"}`,
		`go_sql_wait_count_total{db_name="writer"}`,
		`go_sql_max_open_connections{db_name="writer"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
