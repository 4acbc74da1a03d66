package web

import (
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/carehex/carehex/catalog"
)

var update = flag.Bool("update", false, "rewrite static/phone/services.js from catalog/services.csv")

// servicesJS is the catalogue's names as the phone and family pages read
// them: the mobile API sends only a service_code.
func servicesJS(t *testing.T) string {
	t.Helper()
	types, err := catalog.Load()
	if err != nil {
		t.Fatalf("catalog.Load() = %v", err)
	}
	var b strings.Builder
	b.WriteString("// Generated from catalog/services.csv by `go test ./web -run TestServiceNames -update`; do not edit.\n")
	b.WriteString("// The mobile API sends only a service_code; these are its Chinese and English names.\n")
	b.WriteString("export const SERVICES = {\n")
	for _, st := range types {
		fmt.Fprintf(&b, "  %q: [%q, %q],\n", st.Code, st.NameZH, st.NameEN)
	}
	b.WriteString("};\n")
	return b.String()
}

// TestServiceNames keeps the pages' copy of the catalogue's names in step
// with the catalogue.
func TestServiceNames(t *testing.T) {
	const path = "static/phone/services.js"
	want := servicesJS(t)
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s differs from catalog/services.csv; run: go test ./web -run TestServiceNames -update", path)
	}
}

var scriptTag = regexp.MustCompile(`(?i)<script\b[^>]*>`)

// TestPagesObeyCSP: the Content-Security-Policy refuses inline scripts,
// styles and handlers, so a page that has them is broken in the browser.
// A missing favicon link makes the browser ask for /favicon.ico, a 404 in
// the console.
func TestPagesObeyCSP(t *testing.T) {
	bad := map[string]*regexp.Regexp{
		"inline script":   regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]`),
		"style element":   regexp.MustCompile(`(?i)<style\b`),
		"style attribute": regexp.MustCompile(`(?i)\sstyle\s*=`),
		"inline handler":  regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		"javascript: URL": regexp.MustCompile(`(?i)javascript:`),
		"remote resource": regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`),
	}
	err := fs.WalkDir(files, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		b, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		page := string(b)
		for what, re := range bad {
			if m := re.FindString(page); m != "" {
				t.Errorf("%s: %s %q", path, what, m)
			}
		}
		for _, tag := range scriptTag.FindAllString(page, -1) {
			if !strings.Contains(tag, "src=") {
				t.Errorf("%s: script without src %q", path, tag)
			}
		}
		if !strings.Contains(page, `rel="icon"`) {
			t.Errorf(`%s: no <link rel="icon">; the browser will ask for /favicon.ico`, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPageContract: the browser tests find the pages' parts by data-testid;
// each must be in the page's HTML or made by its scripts.
func TestPageContract(t *testing.T) {
	for _, tt := range []struct {
		dir string
		ids []string
	}{
		{"phone", []string{"device-token", "sign-in", "go-available", "availability", "offer", "countdown", "accept",
			"decline", "job", "address", "maps-link", "checklist", "depart", "arrive", "complete", "job-status",
			"pending-events"}},
		{"family", []string{"family-token", "sign-in", "visit", "visit-status"}},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			var all strings.Builder
			entries, err := fs.ReadDir(files, "static/"+tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				b, err := fs.ReadFile(files, "static/"+tt.dir+"/"+e.Name())
				if err != nil {
					t.Fatal(err)
				}
				all.Write(b)
			}
			for _, id := range tt.ids {
				re := regexp.MustCompile(`data-testid"?\s*[:=]\s*"` + regexp.QuoteMeta(id) + `"`)
				if !re.MatchString(all.String()) {
					t.Errorf("/%s/: no data-testid %q", tt.dir, id)
				}
			}
		})
	}
}

// TestPagesServed: each app answers at its folder with the CSP set.
func TestPagesServed(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, path := range []string{"/", "/phone/", "/family/", "/phone/phone.js", "/phone/services.js", "/family/family.js"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, res.StatusCode)
		}
		if res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", path)
		}
	}
}
