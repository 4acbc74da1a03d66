package carehex_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

// north returns the point m metres north of p.
func north(p carehex.LatLng, m float64) carehex.LatLng {
	return carehex.LatLng{Lat: p.Lat + m/carehex.EarthRadiusM*180/math.Pi, Lng: p.Lng}
}

var home = carehex.LatLng{Lat: 36.80, Lng: 118.05}

// TestDistanceM: the root's haversine agrees with the H3 library's
// great-circle distance, which the rules used before they moved here.
func TestDistanceM(t *testing.T) {
	for _, b := range []carehex.LatLng{home, north(home, 1), north(home, 150), {Lat: 36.81, Lng: 118.07},
		{Lat: 39.90, Lng: 116.40}, {Lat: -33.86, Lng: 151.21}} {
		got, want := carehex.DistanceM(home, b), geo.DistanceM(home, b)
		if math.Abs(got-want) > 1e-6*math.Max(1, want) {
			t.Errorf("DistanceM(%v, %v) = %.6f, H3 says %.6f", home, b, got, want)
		}
		if back := carehex.DistanceM(b, home); math.Abs(back-got) > 1e-9*math.Max(1, got) {
			t.Errorf("DistanceM is not symmetric: %.9f vs %.9f", got, back)
		}
	}
	if d := carehex.DistanceM(home, north(home, 1000)); math.Abs(d-1000) > 1e-6 {
		t.Errorf("1000 m north measured %.9f m", d)
	}
}

// TestEVVJudge pins each edge of the geofence and far check-out rules: the
// accuracy widens a fence by at most its own radius.
func TestEVVJudge(t *testing.T) {
	r := carehex.EVVRules{GeofenceM: 150, CheckoutFarM: 500}
	for _, c := range []struct {
		name     string
		typ      carehex.VisitEventType
		distM    float64
		accM     float64
		verified bool
		exc      []string
	}{
		{"arrive at the door", carehex.VisitArrive, 0, 5, true, nil},
		{"arrive just inside the fence", carehex.VisitArrive, 149, 0, true, nil},
		{"arrive just outside, exact fix", carehex.VisitArrive, 151, 0, false, []string{carehex.ExceptionOutsideGeofence}},
		{"arrive outside, widened by accuracy", carehex.VisitArrive, 240, 100, true, nil},
		{"accuracy widens by at most the radius", carehex.VisitArrive, 310, 5000, false, []string{carehex.ExceptionOutsideGeofence}},
		{"accuracy capped, still inside", carehex.VisitArrive, 290, 5000, true, nil},
		{"depart far away is not an exception", carehex.VisitDepart, 3000, 10, false, nil},
		{"no-show away is not an exception", carehex.VisitNoShow, 3000, 10, false, nil},
		{"complete at home", carehex.VisitComplete, 20, 10, true, nil},
		{"complete outside the fence, near", carehex.VisitComplete, 400, 0, false, nil},
		{"complete just past far", carehex.VisitComplete, 510, 0, false, []string{carehex.ExceptionCheckoutFar}},
		{"complete far, widened by accuracy", carehex.VisitComplete, 900, 450, false, nil},
		{"complete far, accuracy capped", carehex.VisitComplete, 1010, 9000, false, []string{carehex.ExceptionCheckoutFar}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, exc := r.Judge(c.typ, north(home, c.distM), c.accM, home)
			if v != c.verified || !slices.Equal(exc, c.exc) {
				t.Errorf("Judge(%s at %g m ± %g) = %v %v, want %v %v", c.typ, c.distM, c.accM, v, exc, c.verified, c.exc)
			}
		})
	}
}

// TestShortVisit: half the service's default duration is the minimum; a
// service without a duration has none.
func TestShortVisit(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	hour := carehex.RulesFor(&carehex.ServiceType{DefaultDuration: time.Hour})
	if hour.MinDuration != 30*time.Minute {
		t.Fatalf("RulesFor(1h).MinDuration = %s, want 30m", hour.MinDuration)
	}
	for _, c := range []struct {
		name  string
		rules carehex.VisitEventRules
		took  time.Duration
		short bool
	}{
		{"well under half", hour, 5 * time.Minute, true},
		{"just under half", hour, 30*time.Minute - time.Second, true},
		{"exactly half", hour, 30 * time.Minute, false},
		{"full length", hour, time.Hour, false},
		{"no minimum", carehex.RulesFor(nil), time.Second, false},
		{"zero-duration service", carehex.RulesFor(&carehex.ServiceType{}), 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.rules.ShortVisit(t0, t0.Add(c.took)); got != c.short {
				t.Errorf("ShortVisit(%s, min %s) = %v, want %v", c.took, c.rules.MinDuration, got, c.short)
			}
		})
	}
}
