package carehex

import (
	"math"
	"time"
)

// Electronic visit verification (EVV): the rules that judge where and how
// long a provider was at a home, from what the phone reports. They are pure
// functions of the reports and the thresholds, so the phone API, the store
// and any later audit apply the same rule and a table test pins each edge.

// EarthRadiusM is the mean Earth radius H3 uses for great-circle distances,
// so DistanceM agrees with the grid's own measure.
const EarthRadiusM = 6371007.180918475

// DistanceM is the great-circle (haversine) distance between a and b in
// metres.
func DistanceM(a, b LatLng) float64 {
	const rad = math.Pi / 180
	la1, la2 := a.Lat*rad, b.Lat*rad
	sinLat := math.Sin((la2 - la1) / 2)
	sinLng := math.Sin((b.Lng - a.Lng) * rad / 2)
	h := sinLat*sinLat + math.Cos(la1)*math.Cos(la2)*sinLng*sinLng
	return 2 * math.Atan2(math.Sqrt(h), math.Sqrt(1-h)) * EarthRadiusM
}

// EVVRules are the distance thresholds of visit verification.
type EVVRules struct {
	// GeofenceM is the radius around the home inside which a check-in is
	// verified. The fix's reported accuracy widens it, by at most the same
	// radius: a phone that says it is unsure by 2 km cannot check in from
	// anywhere in town.
	GeofenceM float64
	// CheckoutFarM: a check-out further than this from the home (widened by
	// the accuracy the same way) is an exception.
	CheckoutFarM float64
}

// Judge checks one event's position against the home. Every event is
// verified or not by the geofence; an arrival outside it is accepted but
// flagged (the provider may be at the door of a new building the map does
// not know), and a check-out far from home is flagged too. It returns the
// exceptions in a fresh slice, nil when there are none.
func (r EVVRules) Judge(t VisitEventType, pos LatLng, accuracyM float64, home LatLng) (verified bool, exceptions []string) {
	d := DistanceM(pos, home)
	verified = d <= r.GeofenceM+math.Min(accuracyM, r.GeofenceM)
	switch t {
	case VisitArrive:
		if !verified {
			exceptions = append(exceptions, ExceptionOutsideGeofence)
		}
	case VisitComplete:
		if d > r.CheckoutFarM+math.Min(accuracyM, r.CheckoutFarM) {
			exceptions = append(exceptions, ExceptionCheckoutFar)
		}
	}
	return verified, exceptions
}

// RulesFor returns the duration rules of visits of service st: a visit
// completed in less than half the service's default duration is short.
func RulesFor(st *ServiceType) VisitEventRules {
	if st == nil {
		return VisitEventRules{}
	}
	return VisitEventRules{MinDuration: st.DefaultDuration / 2}
}

// ShortVisit reports whether a visit checked in at arrive and out at
// complete (device times) was shorter than the rules allow. No minimum
// (MinDuration 0) means no visit is short.
func (r VisitEventRules) ShortVisit(arrive, complete time.Time) bool {
	return r.MinDuration > 0 && complete.Sub(arrive) < r.MinDuration
}
