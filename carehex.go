// Package carehex holds the domain of a home elderly-care dispatch system:
// residents, the service catalogue, service requests and their state machine,
// providers, visits, events, the people who act on them, and the one error
// type every layer speaks. It imports only the standard library; each outside
// dependency (SQL, Redis, H3, Twirp) lives in its own package and speaks in
// these types.
package carehex

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"
)

// LatLng is a WGS-84 position in degrees.
type LatLng struct {
	Lat float64
	Lng float64
}

// Validate reports a bad coordinate as an invalid-argument error naming field.
func (p LatLng) Validate(field string) error {
	switch {
	case p.Lat != p.Lat || p.Lng != p.Lng: // NaN
		return Errorf(EINVALID, field, "%s is not a number", field).With(MsgInvalidLocation, "field", field)
	case p.Lat < -90 || p.Lat > 90:
		return Errorf(EINVALID, field+".lat", "%s.lat must be between -90 and 90, got %g", field, p.Lat).With(MsgInvalidLocation, "field", field)
	case p.Lng < -180 || p.Lng > 180:
		return Errorf(EINVALID, field+".lng", "%s.lng must be between -180 and 180, got %g", field, p.Lng).With(MsgInvalidLocation, "field", field)
	case p.Lat == 0 && p.Lng == 0:
		return Errorf(EINVALID, field, "%s is missing (0,0 is not a home address)", field).With(MsgRequired, "field", field)
	}
	return nil
}

// Cell is an H3 cell index. It crosses package borders as this plain type so
// that only package geo imports h3-go. The zero Cell means "not computed".
type Cell uint64

// Clock tells the time; tests inject a fake one.
type Clock func() time.Time

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random identifier with a readable prefix, such as
// "res_k3v…". IDs are random, not sequential, so one cannot be guessed from
// another.
func NewID(prefix string) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// Trimmed returns s with surrounding white space removed; input from phones
// and consoles often carries stray spaces.
func Trimmed(s string) string { return strings.TrimSpace(s) }
