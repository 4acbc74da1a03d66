package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPublicSurface checks what the public address shows a stranger on the
// running binary: /metrics is not there but on its own listener, API answers
// carry Cache-Control: no-store, folders of the pages are not listed, and
// an unknown Twirp path answers Twirp's bad_route in JSON.
func TestPublicSurface(t *testing.T) {
	bin := buildBinary(t)
	srv := startServer(t, bin, nil, "--data", t.TempDir())
	if srv.metrics == "" {
		t.Fatal("the server printed no metrics address")
	}
	fetch := func(method, url string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, _ := fetch("GET", srv.url+"/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the public address = %d, want 404", resp.StatusCode)
	}
	if resp, body := fetch("GET", srv.metrics+"/metrics"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics on the metrics address = %d, want 200 with Go metrics", resp.StatusCode)
	}
	for _, c := range []struct {
		method, path string
		status       int
		noStore      bool
	}{
		{"POST", "/twirp/carehex.v1.CatalogService/ListServiceTypes", http.StatusUnauthorized, true},
		{"POST", "/twirp/carehex.v1.NoSuchService/Method", http.StatusNotFound, true},
		{"GET", "/m/v1/visits", http.StatusUnauthorized, true},
		{"GET", "/vendor/", http.StatusNotFound, false},
		{"GET", "/gen/", http.StatusNotFound, false},
		{"GET", "/console/", http.StatusOK, false},
	} {
		resp, body := fetch(c.method, srv.url+c.path)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s = %d, want %d: %.100s", c.method, c.path, resp.StatusCode, c.status, body)
		}
		if got := resp.Header.Get("Cache-Control"); c.noStore && got != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", c.method, c.path, got)
		}
		if strings.HasPrefix(c.path, "/twirp/") && !strings.Contains(body, `"code"`) {
			t.Errorf("%s %s: body %q is not a Twirp error", c.method, c.path, body)
		}
	}
}
