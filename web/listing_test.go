package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"testing"
)

// TestNoDirectoryListings walks every folder of the embedded pages: one with
// an index.html serves that page; any other answers 404 rather than a
// listing of its files (vendor/ and gen/ were listed before). The files
// inside stay served.
func TestNoDirectoryListings(t *testing.T) {
	h := Handler()
	get := func(p string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		return rec
	}
	root, err := fs.Sub(files, "static")
	if err != nil {
		t.Fatal(err)
	}
	var dirs, listed int
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		dirs++
		_, statErr := fs.Stat(root, path.Join(p, "index.html"))
		hasIndex := statErr == nil
		urlPath := "/" + p + "/"
		if p == "." {
			urlPath = "/"
		}
		for _, u := range []string{urlPath, path.Clean(urlPath)} {
			rec := get(u)
			switch {
			case hasIndex && rec.Code != http.StatusOK && rec.Code != http.StatusMovedPermanently:
				t.Errorf("GET %s = %d, want the folder's index page", u, rec.Code)
			case !hasIndex && rec.Code != http.StatusNotFound:
				t.Errorf("GET %s = %d, want 404 (no listing); body starts %.80q", u, rec.Code, rec.Body.String())
			}
		}
		if !hasIndex {
			listed++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if listed == 0 {
		t.Fatalf("walked %d folders and none lacks an index page; the test checks nothing", dirs)
	}
	for _, u := range []string{"/vendor/", "/gen/", "/gen/carehex.js", "/index.html"} {
		rec := get(u)
		wantCode := http.StatusOK
		if u == "/vendor/" || u == "/gen/" {
			wantCode = http.StatusNotFound
		}
		if u == "/index.html" {
			wantCode = http.StatusMovedPermanently // the file server's canonical "/"
		}
		if rec.Code != wantCode {
			t.Errorf("GET %s = %d, want %d", u, rec.Code, wantCode)
		}
	}
}
