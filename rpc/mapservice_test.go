package rpc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/geo"
	"github.com/carehex/carehex/rpc"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// mapServer is the test server's store and tokens behind an API with map
// settings; the replayed Tianditu answers with file.
func mapServer(t *testing.T, ts *testServer, settings rpc.MapSettings) pb.MapService {
	t.Helper()
	srv := httptest.NewServer((&rpc.Server{Store: ts.Store, Clock: ts.Clock, Map: settings}).Handler())
	t.Cleanup(srv.Close)
	return pb.NewMapServiceJSONClient(srv.URL, srv.Client())
}

func tianditu(t *testing.T, file string) *geo.Tianditu {
	t.Helper()
	body, err := os.ReadFile("../geo/testdata/tianditu/" + file)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	t.Cleanup(srv.Close)
	return &geo.Tianditu{Key: "the-district-key", BaseURL: srv.URL, Region: "淄博市"}
}

func TestMapConfig(t *testing.T) {
	ts := newServer(t, sqlite)
	plain := mapServer(t, ts, rpc.MapSettings{})
	cfg, err := plain.GetMapConfig(ts.ctx(t, carehex.RoleSupervisor), &pb.GetMapConfigRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Geocoder != "map" || cfg.TileUrl != "" || cfg.BoundariesGeojson != "" || len(cfg.Landmarks) != 0 {
		t.Errorf("unconfigured map = %v", cfg)
	}

	b, err := os.ReadFile("../web/e2e/testdata/boundaries.geojson")
	if err != nil {
		t.Fatal(err)
	}
	areas, err := geo.ParseAreas(b)
	if err != nil {
		t.Fatal(err)
	}
	gj, _ := areas.GeoJSON()
	full := mapServer(t, ts, rpc.MapSettings{
		TileURL: "https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=x&x={x}&y={y}&l={z}", TileAttribution: "天地图", TileSubdomains: "01234567",
		Boundaries: string(gj), BoundariesSource: areas.Source,
		Landmarks: []geo.Landmark{{Name: "张店区", DivisionCode: "370303", Location: carehex.LatLng{Lat: 36.807, Lng: 118.017}}},
		Geocoder:  tianditu(t, "found.json"), GeocoderName: "tianditu",
	})
	cfg, err = full.GetMapConfig(ts.ctx(t, carehex.RoleOperator), &pb.GetMapConfigRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Geocoder != "tianditu" || cfg.TileSubdomains != "01234567" || !strings.Contains(cfg.BoundariesGeojson, "测试街道") ||
		len(cfg.Landmarks) != 1 || cfg.Landmarks[0].Location.Lat != 36.807 || cfg.BoundariesSource == "" {
		t.Errorf("configured map = %v", cfg)
	}
	_, err = full.GetMapConfig(context.Background(), &pb.GetMapConfigRequest{})
	wantCode(t, err, twirp.Unauthenticated, "")
}

func TestGeocodeAddress(t *testing.T) {
	ts := newServer(t, sqlite)
	maps := mapServer(t, ts, rpc.MapSettings{Geocoder: tianditu(t, "found.json"), GeocoderName: "tianditu"})
	op := ts.ctx(t, carehex.RoleOperator)
	got, err := maps.GeocodeAddress(op, &pb.GeocodeAddressRequest{Address: " 张店区华光路56号 "})
	if err != nil {
		t.Fatal(err)
	}
	if got.Geocoder != "tianditu" || len(got.Places) != 1 || got.Places[0].Location.Lat != 36.81321 || got.Places[0].Level != "门址" {
		t.Errorf("GeocodeAddress = %v", got)
	}

	// Who may ask: operators and admins; supervisors oversee, phones and
	// family members have the mobile API, strangers nothing.
	_, err = maps.GeocodeAddress(ts.ctx(t, carehex.RoleAdmin), &pb.GeocodeAddressRequest{Address: "张店区"})
	if err != nil {
		t.Errorf("admin: %v", err)
	}
	_, err = maps.GeocodeAddress(ts.ctx(t, carehex.RoleSupervisor), &pb.GeocodeAddressRequest{Address: "张店区"})
	wantCode(t, err, twirp.PermissionDenied, "")
	for _, kind := range []carehex.PrincipalKind{carehex.KindProvider, carehex.KindFamily} {
		tok, err := auth.Issue(context.Background(), ts.Store, carehex.Principal{Kind: kind, Subject: "x_1"}, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		_, err = maps.GeocodeAddress(as(t, tok), &pb.GeocodeAddressRequest{Address: "张店区"})
		wantCode(t, err, twirp.PermissionDenied, "")
	}
	_, err = maps.GeocodeAddress(context.Background(), &pb.GeocodeAddressRequest{Address: "张店区"})
	wantCode(t, err, twirp.Unauthenticated, "")

	for _, bad := range []string{"", "  ", strings.Repeat("路", 201), "两行\n地址"} {
		_, err = maps.GeocodeAddress(op, &pb.GeocodeAddressRequest{Address: bad})
		wantCode(t, err, twirp.InvalidArgument, "address")
	}

	// The service refusing the key: unavailable, the key nowhere in the answer.
	broken := mapServer(t, ts, rpc.MapSettings{Geocoder: tianditu(t, "bad-key.json"), GeocoderName: "tianditu"})
	_, err = broken.GeocodeAddress(op, &pb.GeocodeAddressRequest{Address: "张店区"})
	te := wantCode(t, err, twirp.Unavailable, "")
	if strings.Contains(te.Msg(), "the-district-key") {
		t.Errorf("the key reached the console: %v", te)
	}

	// No geocoder configured: nothing found, the console offers the map.
	none := mapServer(t, ts, rpc.MapSettings{})
	got, err = none.GeocodeAddress(op, &pb.GeocodeAddressRequest{Address: "张店区华光路56号"})
	if err != nil || got.Geocoder != "map" || len(got.Places) != 0 {
		t.Errorf("map only: %v, %v", got, err)
	}
	var te2 twirp.Error
	if errors.As(err, &te2) {
		t.Errorf("map only: %v", te2)
	}
}
