package mobileapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	mobileapi "github.com/carehex/carehex/mobile-api"
)

// TestStrictKeys: encoding/json matches keys case-insensitively and lets the
// last of two equal keys win; the mobile API refuses both with a 400 naming
// the key, and records nothing.
func TestStrictKeys(t *testing.T) {
	e := newEnv(t, "")
	_, tok := e.provider("李师傅")
	_, visitID := e.assigned(tok)
	now := e.clock.Now().Format(time.RFC3339)
	tests := []struct {
		name, path, body, field string
	}{
		{"heartbeat key in another case", "/m/v1/heartbeat", `{"Lat":36.8,"lng":118.05,"accuracy_m":10,"available":true}`, "Lat"},
		{"heartbeat key twice", "/m/v1/heartbeat", `{"lat":36.8,"lng":118.05,"lat":0,"accuracy_m":10,"available":true}`, "lat"},
		{"heartbeat upper-case key", "/m/v1/heartbeat", `{"lat":36.8,"lng":118.05,"ACCURACY_M":10,"available":true}`, "ACCURACY_M"},
		{"event type in another case", "/m/v1/visits/" + visitID + "/events",
			`{"event_id":"e1","Type":"arrive","lat":36.8,"lng":118.05,"accuracy_m":10,"device_time":"` + now + `"}`, "Type"},
		{"event id twice", "/m/v1/visits/" + visitID + "/events",
			`{"event_id":"e1","type":"arrive","lat":36.8,"lng":118.05,"accuracy_m":10,"device_time":"` + now + `","event_id":"e2"}`, "event_id"},
		{"unknown key still unknown", "/m/v1/visits/" + visitID + "/events",
			`{"event_id":"e1","type":"arrive","lat":36.8,"lng":118.05,"accuracy_m":10,"device_time":"` + now + `","colour":"red"}`, "colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", tt.path, tok, tt.body).want(t, http.StatusBadRequest)
			if r.errField() != tt.field {
				t.Errorf("field %q, want %q: %s", r.errField(), tt.field, r.raw)
			}
		})
	}
	evs, err := e.db.VisitEvents(context.Background(), visitID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 {
		t.Errorf("refused events were recorded: %d", len(evs))
	}
	// The exact spelling still works.
	e.do("POST", "/m/v1/visits/"+visitID+"/events", tok,
		`{"event_id":"e1","type":"arrive","lat":36.8,"lng":118.05,"accuracy_m":10,"device_time":"`+now+`"}`).want(t, http.StatusCreated)
}

// TestNoStoreMobile checks that every mobile answer, served or refused,
// tells caches to keep nothing.
func TestNoStoreMobile(t *testing.T) {
	e := newEnv(t, "")
	_, tok := e.provider("李师傅")
	for _, c := range []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/m/v1/visits", tok, http.StatusOK},
		{"GET", "/m/v1/family/visits", e.family, http.StatusOK},
		{"GET", "/m/v1/visits", "", http.StatusUnauthorized},
		{"GET", "/m/v1/nowhere", tok, http.StatusNotFound},
	} {
		r := e.do(c.method, c.path, c.token, nil).want(t, c.status)
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", c.method, c.path, got)
		}
	}
}

// logLines collects a logger's JSON lines.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *logLines) Write(p []byte) (int, error) {
	var m map[string]any
	if err := json.Unmarshal(p, &m); err == nil {
		l.mu.Lock()
		l.lines = append(l.lines, m)
		l.mu.Unlock()
	}
	return len(p), nil
}

func (l *logLines) named(msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, m := range l.lines {
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// withLog serves e's API again with its log at the default level (info)
// going to the returned lines.
func withLog(t *testing.T, e *env, edit func(*mobileapi.Config)) *logLines {
	t.Helper()
	lines := &logLines{}
	cfg := mobileapi.DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	s, err := mobileapi.New(cfg, mobileapi.Deps{Store: e.db, Engine: e.eng, Live: e.live, Notices: e.hub, Clock: e.clock.Now,
		Log: slog.New(slog.NewJSONHandler(lines, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	return lines
}

// TestFloodsAreLogged: rate-limit hits and open streams leave info lines,
// at most one per token (for 429s) or in all (for streams) per minute.
func TestFloodsAreLogged(t *testing.T) {
	e := newEnv(t, "")
	lines := withLog(t, e, func(c *mobileapi.Config) { c.RatePerSecond, c.Burst = 1, 3 })
	_, tok := e.provider("李师傅")

	limited := 0
	for range 50 {
		if r := e.do("GET", "/m/v1/visits", tok, nil); r.status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 47 {
		t.Fatalf("%d of 50 calls limited, want 47 (burst 3, clock stopped)", limited)
	}
	if got := lines.named("mobile.rate_limited"); len(got) != 1 {
		t.Fatalf("%d rate-limit lines for 47 refusals in one minute, want 1", len(got))
	}
	if strings.Contains(lines.named("mobile.rate_limited")[0]["token"].(string), tok) {
		t.Errorf("the log line holds the token")
	}
	e.clock.Advance(61 * time.Second) // refills the bucket too
	for range 10 {
		e.do("GET", "/m/v1/visits", tok, nil)
	}
	got := lines.named("mobile.rate_limited")
	if len(got) != 2 || got[1]["more_since_last_line"] != float64(46) {
		t.Fatalf("after a minute: lines %v, want a second one counting the 46 not logged", got)
	}

	// Streams: the first open stream is logged with the count; more within
	// the minute are not; the next after a minute carries the count again.
	_, tok2 := e.provider("王师傅")
	open := func() context.CancelFunc {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/m/v1/offers/stream", nil)
		req.Header.Set("Authorization", "Bearer "+tok2)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream: %d", resp.StatusCode)
		}
		// The first line means the handler runs, so the stream is counted.
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return cancel
	}
	var cancels []context.CancelFunc
	for range 3 {
		cancels = append(cancels, open())
	}
	if got := lines.named("mobile.streams"); len(got) != 1 || got[0]["open"] != float64(1) {
		t.Fatalf("stream lines %v, want one saying 1 open", got)
	}
	e.clock.Advance(61 * time.Second)
	cancels = append(cancels, open())
	if got := lines.named("mobile.streams"); len(got) != 2 || got[1]["open"] != float64(4) {
		t.Fatalf("stream lines %v, want a second saying 4 open", got)
	}
	for _, c := range cancels {
		c()
	}
}
