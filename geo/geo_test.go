package geo_test

import (
	"math"
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

// Zhangdian district, Zibo.
var zibo = carehex.LatLng{Lat: 36.80, Lng: 118.05}

func TestCellOf(t *testing.T) {
	tests := []struct {
		name    string
		p       carehex.LatLng
		wantErr string // field named by the error, "" for success
	}{
		{"zibo", zibo, ""},
		{"lat 91", carehex.LatLng{Lat: 91, Lng: 118}, "location.lat"},
		{"lng -181", carehex.LatLng{Lat: 36, Lng: -181}, "location.lng"},
		{"nan", carehex.LatLng{Lat: math.NaN(), Lng: 118}, "location"},
		{"zero", carehex.LatLng{}, "location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := geo.CellOf(tt.p, geo.ResidentRes)
			if tt.wantErr != "" {
				if carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != tt.wantErr {
					t.Fatalf("CellOf(%v) = %v, %v; want invalid %s", tt.p, c, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			back, err := geo.Parse(geo.String(c))
			if err != nil || back != c {
				t.Fatalf("Parse(String(%v)) = %v, %v", c, back, err)
			}
			center, err := geo.Center(c)
			if err != nil {
				t.Fatal(err)
			}
			// A res-9 cell's centre is within one edge length (~201 m) and a bit of p.
			if d := geo.DistanceM(center, tt.p); d > 250 {
				t.Fatalf("centre of %s is %.0f m from the point", geo.String(c), d)
			}
		})
	}
}

func TestDiskRings(t *testing.T) {
	c, err := geo.CellOf(zibo, geo.IndexRes)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range []int{1, 7, 19, 37} {
		cs, err := geo.Disk(c, k)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != want {
			t.Errorf("Disk(k=%d) has %d cells, want %d", k, len(cs), want)
		}
	}
}

func FuzzParse(f *testing.F) {
	c, _ := geo.CellOf(zibo, geo.ResidentRes)
	for _, s := range []string{geo.String(c), "", "zz", "ffffffffffffffff", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := geo.Parse(s)
		if err != nil {
			return
		}
		if _, err := geo.Center(c); err != nil {
			t.Fatalf("Parse accepted %q but Center fails: %v", s, err)
		}
	})
}

func FuzzCellOf(f *testing.F) {
	f.Add(36.8, 118.05)
	f.Add(91.0, 0.0)
	f.Add(-90.0, 180.0)
	f.Fuzz(func(t *testing.T, lat, lng float64) {
		c, err := geo.CellOf(carehex.LatLng{Lat: lat, Lng: lng}, geo.ResidentRes)
		if err != nil {
			return
		}
		if _, err := geo.Center(c); err != nil {
			t.Fatalf("CellOf(%g,%g) gave a cell Center rejects: %v", lat, lng, err)
		}
	})
}

func TestBoundary(t *testing.T) {
	for _, res := range []int{geo.IndexRes, geo.ResidentRes} {
		c, err := geo.CellOf(zibo, res)
		if err != nil {
			t.Fatal(err)
		}
		b, err := geo.Boundary(c)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 6 {
			t.Errorf("res %d: %d vertices, want 6", res, len(b))
		}
		centre, _ := geo.Center(c)
		edge, _ := geo.EdgeLengthM(res)
		for _, v := range b {
			// A vertex lies about one edge from the centre; H3 cells are
			// distorted, so allow a wide margin around the average edge.
			if d := geo.DistanceM(centre, v); d < edge*0.6 || d > edge*1.4 {
				t.Errorf("res %d: vertex %v is %.0f m from the centre, edge %.0f m", res, v, d, edge)
			}
		}
	}
	if _, err := geo.Boundary(0); err == nil {
		t.Error("geo.Boundary(0) succeeded")
	}
}
