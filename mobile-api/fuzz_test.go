package mobileapi_test

import (
	"encoding/json"
	"net/url"
	"testing"

	mobileapi "github.com/carehex/carehex/mobile-api"
)

// FuzzMobileHandlers posts fuzzed bodies (and path IDs) to every route with
// valid tokens: no input may panic a handler or earn a 5xx, and every answer
// is JSON.
func FuzzMobileHandlers(f *testing.F) {
	seeds := []string{
		`{"lat":36.8,"lng":118.05,"accuracy_m":10,"available":true}`,
		`{"reason":"too far"}`,
		`{"event_id":"e1","type":"arrive","lat":36.8,"lng":118.05,"accuracy_m":5,"device_time":"2026-03-02T01:05:00Z","note":"ok"}`,
		`{"event_id":"e2","type":"complete","lat":36.8,"lng":118.05,"device_time":"2026-03-02T00:05:00Z"}`,
		`{"lat":1e400}`, `null`, `[]`, `{"event_id":"","type":null}`, "\x00", `{"note":"\ud800"}`,
	}
	for i, s := range seeds {
		for r := 0; r < 8; r++ {
			f.Add(uint8(r+i), "id", []byte(s))
		}
	}
	// One environment for the whole run: the routes' state is part of what
	// is fuzzed.
	e := newEnv(f, "", func(c *mobileapi.Config) { c.RatePerSecond, c.Burst = 1e6, 1e6 })
	_, tok := e.provider("王芳")
	_, visitID := e.assigned(tok)
	f.Fuzz(func(t *testing.T, route uint8, id string, body []byte) {
		e.t = t
		if id == "" || len(id) > 200 {
			id = visitID
		}
		pid := url.PathEscape(id)
		var method, path, token string
		switch route % 9 {
		case 0:
			method, path, token = "POST", "/m/v1/heartbeat", tok
		case 1:
			method, path, token = "GET", "/m/v1/offers?wait=0", tok
		case 2:
			method, path, token = "POST", "/m/v1/offers/"+pid+"/accept", tok
		case 3:
			method, path, token = "POST", "/m/v1/offers/"+pid+"/decline", tok
		case 4:
			method, path, token = "GET", "/m/v1/visits", tok
		case 5:
			method, path, token = "POST", "/m/v1/visits/"+visitID+"/events", tok
		case 6:
			method, path, token = "POST", "/m/v1/visits/"+pid+"/events", tok
		case 7:
			method, path, token = "GET", "/m/v1/family/visits", e.family
		case 8:
			method, path, token = "GET", "/m/v1/family/requests/"+pid, e.family
		}
		r := e.do(method, path, token, string(body))
		if r.status >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, r.status, r.raw)
		}
		if !json.Valid([]byte(r.raw)) {
			t.Fatalf("%s %s: answer is not JSON: %q", method, path, r.raw)
		}
	})
}
