package geo_test

import (
	"math"
	"math/rand"
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

func TestRingsMakeTheDisk(t *testing.T) {
	for _, res := range []int{7, 8, 9} {
		c, err := geo.CellOf(zibo, res)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k <= 6; k++ {
			disk, err := geo.Disk(c, k)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[carehex.Cell]int{}
			for j := 0; j <= k; j++ {
				ring, err := geo.Ring(c, j)
				if err != nil {
					t.Fatal(err)
				}
				if want := max(1, 6*j); len(ring) != want {
					t.Errorf("res %d: ring %d has %d cells, want %d", res, j, len(ring), want)
				}
				for _, rc := range ring {
					seen[rc]++
				}
			}
			if len(seen) != len(disk) {
				t.Errorf("res %d k %d: rings hold %d cells, disk %d", res, k, len(seen), len(disk))
			}
			for _, dc := range disk {
				if seen[dc] != 1 {
					t.Errorf("res %d k %d: disk cell %s is in %d rings", res, k, geo.String(dc), seen[dc])
				}
			}
		}
	}
	if _, err := geo.Ring(1, -1); carehex.ErrorCode(err) != carehex.EINVALID {
		t.Errorf("Ring(k=-1) = %v, want invalid", err)
	}
}

// destination returns the point d metres from p on the given bearing.
func destination(p carehex.LatLng, d, bearing float64) carehex.LatLng {
	const r = 6371007.180918475
	lat1, lng1 := p.Lat*math.Pi/180, p.Lng*math.Pi/180
	a := d / r
	lat2 := math.Asin(math.Sin(lat1)*math.Cos(a) + math.Cos(lat1)*math.Sin(a)*math.Cos(bearing))
	lng2 := lng1 + math.Atan2(math.Sin(bearing)*math.Sin(a)*math.Cos(lat1), math.Cos(a)-math.Sin(lat1)*math.Sin(lat2))
	return carehex.LatLng{Lat: lat2 * 180 / math.Pi, Lng: math.Remainder(lng2*180/math.Pi, 360)}
}

// TestCoverRadius is the property the candidate search relies on to stop
// early: from any point p of a cell, everything within
// CoverRadiusM(cell, k) - |p - centre| lies in the disk of k rings.
func TestCoverRadius(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	places := []struct {
		name string
		at   func() carehex.LatLng
	}{
		{"zibo", func() carehex.LatLng {
			return carehex.LatLng{Lat: 36.8 + (rng.Float64()-0.5)*0.3, Lng: 118.05 + (rng.Float64()-0.5)*0.3}
		}},
		{"anywhere", func() carehex.LatLng {
			return carehex.LatLng{Lat: (rng.Float64()*2 - 1) * 80, Lng: (rng.Float64()*2 - 1) * 179}
		}},
	}
	for _, pl := range places {
		t.Run(pl.name, func(t *testing.T) {
			for i := 0; i < 150; i++ {
				p := pl.at()
				res := 7 + i%3
				c, err := geo.CellOf(p, res)
				if err != nil {
					t.Fatal(err)
				}
				centre, _ := geo.Center(c)
				off := geo.DistanceM(p, centre)
				k := i % 5
				reach, err := geo.CoverRadiusM(c, k)
				if err != nil {
					t.Fatal(err)
				}
				edge, _ := geo.EdgeLengthM(res)
				if reach < (1.5*float64(k)+0.5)*edge*0.7 {
					t.Fatalf("res %d k %d: reach %.0f m is implausibly small (edge %.0f m)", res, k, reach, edge)
				}
				disk, _ := geo.Disk(c, k)
				in := map[carehex.Cell]bool{}
				for _, dc := range disk {
					in[dc] = true
				}
				for j := 0; j < 40; j++ {
					d := (reach - off) * math.Sqrt(rng.Float64())
					if d <= 0 {
						break
					}
					q := destination(p, d, rng.Float64()*2*math.Pi)
					qc, err := geo.CellOf(q, res)
					if err != nil {
						t.Fatal(err)
					}
					if !in[qc] {
						t.Fatalf("res %d k %d: point %.0f m from %v (reach %.0f, offset %.0f) is outside the disk", res, k, d, p, reach, off)
					}
				}
			}
		})
	}
}

func TestFastDistance(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 1000; i++ {
		a := carehex.LatLng{Lat: (rng.Float64()*2 - 1) * 89, Lng: (rng.Float64()*2 - 1) * 180}
		b := carehex.LatLng{Lat: a.Lat + (rng.Float64()-0.5)*0.5, Lng: a.Lng + (rng.Float64()-0.5)*0.5}
		if i%10 == 0 {
			b = carehex.LatLng{Lat: (rng.Float64()*2 - 1) * 89, Lng: (rng.Float64()*2 - 1) * 180}
		}
		want, got := geo.DistanceM(a, b), geo.FastDistanceM(a, b)
		if math.Abs(got-want) > 1e-6*want+1e-6 {
			t.Fatalf("FastDistanceM(%v, %v) = %f, DistanceM = %f", a, b, got, want)
		}
	}
}

func TestDistanceFrom(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for i := 0; i < 20000; i++ {
		a := carehex.LatLng{Lat: (rng.Float64()*2 - 1) * 80, Lng: (rng.Float64()*2 - 1) * 180}
		limit, tol := 10_000.0, 0.05
		if i%2 == 1 {
			a.Lat *= 70.0 / 80
			limit, tol = 50_000, 1.2
		}
		b := destination(a, rng.Float64()*limit, rng.Float64()*2*math.Pi)
		want, got := geo.DistanceM(a, b), geo.DistanceFrom(a)(b)
		if math.Abs(got-want) > tol {
			t.Fatalf("DistanceFrom(%v)(%v) = %f, DistanceM = %f", a, b, got, want)
		}
	}
}

func TestAreaM2(t *testing.T) {
	tests := []struct {
		res      int
		min, max float64
	}{{7, 5.0e6, 5.3e6}, {8, 0.72e6, 0.75e6}, {9, 0.10e6, 0.11e6}}
	for _, tt := range tests {
		a, err := geo.AreaM2(tt.res)
		if err != nil || a < tt.min || a > tt.max {
			t.Errorf("AreaM2(%d) = %g, %v", tt.res, a, err)
		}
	}
	if _, err := geo.AreaM2(16); err == nil {
		t.Error("AreaM2(16) succeeded")
	}
}

func BenchmarkCoverRadius(b *testing.B) {
	c, _ := geo.CellOf(zibo, geo.IndexRes)
	for b.Loop() {
		if _, err := geo.CoverRadiusM(c, 3); err != nil {
			b.Fatal(err)
		}
	}
}
