package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

func TestTileOrigin(t *testing.T) {
	good := map[string]string{
		"https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY": "https://*.tianditu.gov.cn",
		"http://tiles.zibo.example/osm/{z}/{x}/{y}.png":                                                      "http://tiles.zibo.example",
		"https://{s}.tile.example.org:8443/{z}/{x}/{y}.png":                                                  "https://*.tile.example.org:8443",
	}
	for tmpl, want := range good {
		if got, err := tileOrigin(tmpl); err != nil || got != want {
			t.Errorf("tileOrigin(%q) = %q, %v; want %q", tmpl, got, err, want)
		}
	}
	for _, bad := range []string{
		"tiles.example.org/{z}/{x}/{y}.png", "ftp://tiles.example.org/{z}/{x}/{y}", "https://tiles.example.org/{z}/{x}.png",
		"https://tiles.{s}.example.org/{z}/{x}/{y}", "https:///{z}/{x}/{y}", "https://a;script-src *;/{z}/{x}/{y}",
	} {
		if got, err := tileOrigin(bad); err == nil || !strings.Contains(err.Error(), "CAREHEX_TILE_URL") {
			t.Errorf("tileOrigin(%q) = %q, %v; want an error naming CAREHEX_TILE_URL", bad, got, err)
		}
	}
}

func TestMapConfig(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	m := defaultMapConfig(env(map[string]string{
		"CAREHEX_TILE_URL":        "https://t{s}.tianditu.gov.cn/vec_w/wmts?l={z}&x={x}&y={y}&tk=k",
		"CAREHEX_BOUNDARIES_FILE": "../../web/e2e/testdata/boundaries.geojson",
		"CAREHEX_TIANDITU_KEY":    "k",
	}))
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	s, err := m.settings()
	if err != nil {
		t.Fatal(err)
	}
	if s.TileSubdomains != "01234567" || !strings.Contains(s.TileAttribution, "天地图") || s.GeocoderName != "tianditu" ||
		!strings.Contains(s.Boundaries, "测试街道") || len(s.Landmarks) != 8 {
		t.Errorf("settings = %+v", s)
	}
	none := defaultMapConfig(env(nil))
	if err := none.validate(); err != nil {
		t.Fatal(err)
	}
	if s, _ := none.settings(); s.Geocoder != nil || s.Boundaries != "" || s.TileURL != "" || none.GeocodeRegion != "淄博市" {
		t.Errorf("default settings = %+v", s)
	}

	dir := t.TempDir()
	broken := filepath.Join(dir, "b.geojson")
	if err := os.WriteFile(broken, []byte(`{"type":"FeatureCollection","features":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, kv := range map[string]map[string]string{
		"missing file": {"CAREHEX_BOUNDARIES_FILE": filepath.Join(dir, "nope.geojson")},
		"empty file":   {"CAREHEX_BOUNDARIES_FILE": broken},
		"bad tiles":    {"CAREHEX_TILE_URL": "tiles.example.org"},
		"bad geocoder": {"CAREHEX_TIANDITU_URL": "api.tianditu.gov.cn"},
	} {
		m := defaultMapConfig(env(kv))
		if err := m.validate(); err == nil || !strings.Contains(err.Error(), "CAREHEX_") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The wired stack serves the map settings and lets the pages load the
// configured tiles, and only those.
func TestStackMap(t *testing.T) {
	found, err := os.ReadFile("../../geo/testdata/tianditu/found.json")
	if err != nil {
		t.Fatal(err)
	}
	var asked string
	tianditu := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.URL.Query().Get("ds")
		_, _ = w.Write(found)
	}))
	defer tianditu.Close()
	cfg := defaultConfig(func(k string) string {
		return map[string]string{
			"CAREHEX_TILE_URL":        "https://t{s}.tianditu.gov.cn/vec_w/wmts?l={z}&x={x}&y={y}&tk=k",
			"CAREHEX_BOUNDARIES_FILE": "../../web/e2e/testdata/boundaries.geojson",
			"CAREHEX_TIANDITU_KEY":    "k",
			"CAREHEX_TIANDITU_URL":    tianditu.URL,
		}[k]
	})
	cfg.DataDir = t.TempDir()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	st, err := newStack(context.Background(), &cfg, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.API.Map.TileURL == "" || !strings.Contains(st.API.Map.Boundaries, "测试街道") || len(st.API.Map.Landmarks) == 0 {
		t.Errorf("map settings = %+v", st.API.Map)
	}
	rec := httptest.NewRecorder()
	st.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "img-src 'self' data: https://*.tianditu.gov.cn;") || !strings.Contains(csp, "connect-src 'self';") {
		t.Errorf("CSP = %q", csp)
	}

	// An operator's console geocodes through the configured Tianditu.
	ctx := context.Background()
	u := &carehex.User{Username: "op", Role: carehex.RoleOperator, PasswordHash: "x"}
	if err := st.Store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Issue(ctx, st.Store, carehex.Principal{Kind: carehex.KindUser, Subject: u.ID, Role: u.Role, Name: u.Username}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(st.Handler)
	defer srv.Close()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+tok)
	octx, _ := twirp.WithHTTPRequestHeaders(ctx, h)
	got, err := pb.NewMapServiceJSONClient(srv.URL, srv.Client()).GeocodeAddress(octx, &pb.GeocodeAddressRequest{Address: "张店区华光路56号"})
	if err != nil || got.Geocoder != "tianditu" || len(got.Places) != 1 || got.Places[0].Location.Lng != 118.05389 {
		t.Fatalf("GeocodeAddress = %v, %v", got, err)
	}
	if asked != `{"keyWord":"淄博市张店区华光路56号"}` {
		t.Errorf("asked Tianditu for %s", asked)
	}
}
