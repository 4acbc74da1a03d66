// Package web serves carehex's browser apps from files embedded in the
// binary: the operator console (/console/), the provider's phone app
// (/phone/) and the family page (/family/). Pages load nothing from outside
// the server (the Content-Security-Policy forbids it): the console talks to
// the Twirp API through the client generated from rpc/carehex/v1/*.proto
// (static/gen/), the phone and family pages to the mobile API (/m/v1/).
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

// csp allows only this server: no CDN, no inline script, and images
// (the map's tiles) from elsewhere only when the district configures its
// tile server (Options.ImageOrigins).
func csp(imageOrigins []string) string {
	img := strings.Join(append([]string{"'self'", "data:"}, imageOrigins...), " ")
	return "default-src 'self'; img-src " + img + "; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
}

// Options change what the pages may load.
type Options struct {
	// ImageOrigins may serve images, e.g. "https://*.tianditu.gov.cn" for
	// the map's tiles (CAREHEX_TILE_URL).
	ImageOrigins []string
}

// Handler serves the apps at /, /console/, /phone/ and /family/.
func Handler() http.Handler { return HandlerWith(Options{}) }

// HandlerWith is Handler with options.
func HandlerWith(o Options) http.Handler {
	policy := csp(o.ImageOrigins)
	root, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	serve := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// Pages change with the binary; the browser asks again each time.
		h.Set("Cache-Control", "no-cache")
		if isListing(root, r.URL.Path) {
			// A folder without an index page is not a page: listing
			// vendor/ or gen/ only tells a prober what is there.
			http.NotFound(w, r)
			return
		}
		serve.ServeHTTP(w, r)
	})
}

// isListing reports whether the file server would answer urlPath with a
// directory listing: the path names a directory that has no index.html.
func isListing(root fs.FS, urlPath string) bool {
	name := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if name == "" {
		name = "."
	}
	fi, err := fs.Stat(root, name)
	if err != nil || !fi.IsDir() {
		return false
	}
	_, err = fs.Stat(root, path.Join(name, "index.html"))
	return err != nil
}

// Messages returns the message catalogue the pages render codes with
// (static/messages.js); internal/msg reads the same file, so the server's
// Accept-Language answers and the pages say the same words.
func Messages() []byte {
	b, err := files.ReadFile("static/messages.js")
	if err != nil {
		panic(err) // embedded above
	}
	return b
}
