package rpc_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/carehex/carehex"
	"github.com/twitchtv/twirp"
)

// TestNoStore checks that every Twirp answer, served, refused or unroutable,
// tells caches to keep nothing: the answers carry residents' personal data.
func TestNoStore(t *testing.T) {
	ts := newServer(t, sqlite)
	op := ts.Tokens[carehex.RoleOperator]
	calls := []struct {
		name, path, body, token string
		status                  int
	}{
		{"answered", "/twirp/carehex.v1.CatalogService/ListServiceTypes", `{}`, op, http.StatusOK},
		{"refused: no token", "/twirp/carehex.v1.CatalogService/ListServiceTypes", `{}`, "", http.StatusUnauthorized},
		{"refused: bad input", "/twirp/carehex.v1.IntakeService/GetServiceRequest", `{}`, op, http.StatusBadRequest},
		{"malformed", "/twirp/carehex.v1.IntakeService/GetServiceRequest", `{`, op, http.StatusBadRequest},
		{"unknown method", "/twirp/carehex.v1.IntakeService/Nope", `{}`, op, http.StatusNotFound},
		{"unknown service", "/twirp/carehex.v1.Nope/Nope", `{}`, op, http.StatusNotFound},
		{"other package", "/twirp/other.v1.Service/Method", `{}`, op, http.StatusNotFound},
		{"no service at all", "/twirp/", `{}`, "", http.StatusNotFound},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, ts.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			resp, err := ts.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if c.status == http.StatusNotFound {
				// Twirp clients read the JSON error; a plain-text 404 they
				// report as "internal".
				var e struct{ Code string }
				if err := json.Unmarshal(body, &e); err != nil || e.Code != string(twirp.BadRoute) {
					t.Errorf("body %q, want a Twirp bad_route error", body)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q, want JSON", ct)
				}
			}
		})
	}
}
