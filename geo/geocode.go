package geo

import (
	"context"

	"github.com/carehex/carehex"
)

// Place is one answer of a geocoder: where an address is, and how sure the
// geocoder is about it. Positions are WGS-84 (Tianditu answers in CGCS2000,
// which differs from WGS-84 by centimetres: the same numbers for a map).
type Place struct {
	Address  string         // the address as the geocoder understood it
	Location carehex.LatLng // WGS-84 / CGCS2000
	Level    string         // how precise, in the geocoder's words (e.g. 门址 house number, 道路 road, 区县 district)
	Score    int            // 0–100 where the geocoder gives one, else 0
}

// Geocoder turns a typed address into candidate positions, best first. No
// result is an empty list and a nil error; a geocoder that cannot be reached
// answers carehex.EUNAVAILABLE, so the operator falls back to placing the
// point on the map.
type Geocoder interface {
	Geocode(ctx context.Context, address string) ([]Place, error)
}

// MapOnly is the geocoder when no online service is configured: it never
// knows where an address is, and the console's map, which needs no network
// beyond this server, is where the operator places the home by a click.
type MapOnly struct{}

// Geocode finds nothing: the operator places the point on the map.
func (MapOnly) Geocode(ctx context.Context, address string) ([]Place, error) {
	if err := checkAddress(address); err != nil {
		return nil, err
	}
	return nil, nil
}

// MaxAddressLen bounds what is sent to a geocoder.
const MaxAddressLen = 200

func checkAddress(address string) error {
	if address == "" {
		return carehex.Errorf(carehex.EINVALID, "address", "address is required")
	}
	return carehex.ValidateText("address", address, MaxAddressLen, carehex.SingleLine)
}
