package mobileapi

import (
	"math"
	"net/http"
	"strings"

	"github.com/carehex/carehex"
)

// The phone's position reports: the heartbeat route, and the checks of a
// position fix that visit events share. What a heartbeat does to the live
// state (introducing a provider, repairing a lost free) is the engine's
// (dispatch.Engine.Heartbeat).

// maxAccuracyM bounds a reported accuracy; beyond it a fix says nothing.
const maxAccuracyM = 100_000

// position checks a body's lat/lng pair, naming the missing or bad field.
func position(lat, lng *float64) (carehex.LatLng, error) {
	switch {
	case lat == nil:
		return carehex.LatLng{}, carehex.Errorf(carehex.EINVALID, "lat", "lat is required")
	case lng == nil:
		return carehex.LatLng{}, carehex.Errorf(carehex.EINVALID, "lng", "lng is required")
	}
	p := carehex.LatLng{Lat: *lat, Lng: *lng}
	if err := p.Validate("location"); err != nil {
		return p, carehex.Errorf(carehex.EINVALID, fieldOf(err), "%s", carehex.ErrorMessage(err))
	}
	return p, nil
}

// fieldOf turns LatLng.Validate's "location.lat" into the body's "lat".
func fieldOf(err error) string {
	f := carehex.ErrorField(err)
	if _, after, ok := strings.Cut(f, "."); ok {
		return after
	}
	return "lat"
}

// accuracy checks a reported accuracy; none given is 0.
func accuracy(a *float64) (float64, error) {
	if a == nil {
		return 0, nil
	}
	if *a < 0 || *a > maxAccuracyM || math.IsNaN(*a) {
		return 0, carehex.Errorf(carehex.EINVALID, "accuracy_m", "accuracy_m must be between 0 and %d", maxAccuracyM)
	}
	return *a, nil
}

type heartbeatIn struct {
	Lat       *float64 `json:"lat"`
	Lng       *float64 `json:"lng"`
	AccuracyM *float64 `json:"accuracy_m"`
	Available *bool    `json:"available"`
}

// heartbeat: POST /m/v1/heartbeat {lat, lng, accuracy_m, available}.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	var in heartbeatIn
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	pos, err := position(in.Lat, in.Lng)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	acc, err := accuracy(in.AccuracyM)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Available == nil {
		s.fail(w, r, carehex.Errorf(carehex.EINVALID, "available", "available is required (true to receive offers)"))
		return
	}
	hb := carehex.Heartbeat{ProviderID: subject(r), Position: pos, AccuracyM: acc, Available: *in.Available}
	st, err := s.engine.Heartbeat(r.Context(), hb)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"status": string(st)})
}
