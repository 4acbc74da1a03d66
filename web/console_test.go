package web

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

var importFrom = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^"';]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"`)

// TestConsoleModulesResolve: the console is ES modules with no build step,
// so every import must name a file the binary embeds; a typo would only
// show as a blank page in the browser. The phone app's modules are held to
// the same (phone.js imports queue.js).
func TestConsoleModulesResolve(t *testing.T) {
	js, err := fs.Glob(files, "static/console/*.js")
	if err != nil || len(js) == 0 {
		t.Fatalf("no console modules: %v", err)
	}
	phone, err := fs.Glob(files, "static/phone/*.js")
	if err != nil || len(phone) == 0 {
		t.Fatalf("no phone modules: %v", err)
	}
	js = append(js, phone...)
	n := 0
	for _, f := range js {
		b, _ := fs.ReadFile(files, f)
		for _, m := range importFrom.FindAllStringSubmatch(string(b), -1) {
			n++
			spec := m[1] + m[2]
			target := path.Join("static", spec)
			if !strings.HasPrefix(spec, "/") {
				target = path.Join(path.Dir(f), spec)
			}
			if _, err := fs.Stat(files, target); err != nil {
				t.Errorf("%s imports %q: %v", f, spec, err)
			}
		}
	}
	if n < len(js) {
		t.Errorf("found %d imports in %d modules; the pattern is broken", n, len(js))
	}
}

// TestConsoleUsesGeneratedClient: the console reaches the API only through
// static/gen/carehex.js, never with a fetch of its own.
func TestConsoleUsesGeneratedClient(t *testing.T) {
	js, _ := fs.Glob(files, "static/console/*.js")
	for _, f := range js {
		b, _ := fs.ReadFile(files, f)
		if strings.Contains(string(b), "fetch(") || strings.Contains(string(b), "/twirp/") {
			t.Errorf("%s calls the API by hand; use the generated client", f)
		}
	}
	if _, err := fs.Stat(files, "static/gen/carehex.js"); err != nil {
		t.Errorf("generated client missing (make generate): %v", err)
	}
}
