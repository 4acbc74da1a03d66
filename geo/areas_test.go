package geo

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/carehex/carehex"
)

func TestAreas(t *testing.T) {
	b, err := os.ReadFile("../web/e2e/testdata/boundaries.geojson")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAreas(b)
	if err != nil {
		t.Fatalf("ParseAreas: %v", err)
	}
	if len(a.Features) != 3 || a.Features[1].Level != "district" || a.Features[2].Level != "street" {
		t.Fatalf("features %+v", a.Features)
	}
	cases := []struct {
		p                carehex.LatLng
		district, street string
	}{
		{carehex.LatLng{Lat: 36.80, Lng: 118.00}, "测试西区", "测试街道"},
		{carehex.LatLng{Lat: 36.72, Lng: 117.95}, "测试西区", ""},
		{carehex.LatLng{Lat: 36.80, Lng: 118.15}, "测试东区", ""},
		{carehex.LatLng{Lat: 36.76, Lng: 118.11}, "", ""}, // in the east district's hole
		{carehex.LatLng{Lat: 37.50, Lng: 118.00}, "", ""},
	}
	for _, c := range cases {
		if d, s := a.Locate(c.p); d != c.district || s != c.street {
			t.Errorf("Locate(%v) = %q, %q; want %q, %q", c.p, d, s, c.district, c.street)
		}
	}
	out, err := a.GeoJSON()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseAreas(out)
	if err != nil || len(again.Features) != 3 || again.Features[2].Name != "测试街道" || again.Features[2].Code != "370391001" {
		t.Fatalf("round trip: %v %+v", err, again)
	}
	var generic map[string]any
	if json.Unmarshal(out, &generic) != nil {
		t.Error("GeoJSON() is not JSON")
	}
}

// Without a level, the name's ending tells: 镇, 乡 and 街道 are streets.
func TestGuessLevel(t *testing.T) {
	ring := `[[[118,36],[118.1,36],[118.1,36.1],[118,36]]]`
	a, err := ParseAreas([]byte(`{"type":"FeatureCollection","features":[` +
		`{"type":"Feature","properties":{"NAME":"湖田镇"},"geometry":{"type":"Polygon","coordinates":` + ring + `}},` +
		`{"type":"Feature","properties":{"name_zh":"高青县","adcode":370322},"geometry":{"type":"Polygon","coordinates":` + ring + `}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Features[0].Level != "street" || a.Features[1].Level != "district" || a.Features[1].Code != "370322" {
		t.Errorf("features %+v", a.Features)
	}
	if d, s := a.Locate(carehex.LatLng{Lat: 36.02, Lng: 118.05}); d != "高青县" || s != "湖田镇" {
		t.Errorf("Locate = %q, %q", d, s)
	}
}

func TestParseAreasRefusals(t *testing.T) {
	ring := `[[[118,36],[118.1,36],[118.1,36.1],[118,36]]]`
	cases := map[string]string{
		"not JSON":         `{`,
		"not a collection": `{"type":"Feature"}`,
		"empty":            `{"type":"FeatureCollection","features":[]}`,
		"no name":          `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":` + ring + `}}]}`,
		"a point":          `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"甲区"},"geometry":{"type":"Point","coordinates":[118,36]}}]}`,
		"bad level":        `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"甲区","level":"city"},"geometry":{"type":"Polygon","coordinates":` + ring + `}}]}`,
		"short ring":       `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"甲区"},"geometry":{"type":"Polygon","coordinates":[[[118,36],[118,36]]]}}]}`,
		"off the globe":    `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"甲区"},"geometry":{"type":"Polygon","coordinates":[[[118,36],[218,36],[118.1,36.1],[118,36]]]}}]}`,
		"no geometry":      `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"甲区"}}]}`,
	}
	for name, in := range cases {
		_, err := ParseAreas([]byte(in))
		if carehex.ErrorCode(err) != carehex.EINVALID || !strings.HasPrefix(carehex.ErrorMessage(err), "boundaries: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseAreas(f *testing.F) {
	b, _ := os.ReadFile("../web/e2e/testdata/boundaries.geojson")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAreas(b)
		if err != nil {
			return
		}
		a.Locate(carehex.LatLng{Lat: 36.8, Lng: 118})
		if _, err := a.GeoJSON(); err != nil {
			t.Fatal(err)
		}
	})
}
