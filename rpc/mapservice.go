package rpc

import (
	"context"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// MapSettings are the console map's settings, fixed at start
// (cmd/carehex: CAREHEX_TILE_URL, CAREHEX_BOUNDARIES_FILE,
// CAREHEX_TIANDITU_KEY).
type MapSettings struct {
	TileURL, TileAttribution, TileSubdomains string
	// Boundaries is the GeoJSON the map draws (geo.Areas.GeoJSON), empty
	// for none; BoundariesSource names its dataset and licence.
	Boundaries, BoundariesSource string
	Landmarks                    []geo.Landmark
	// Geocoder looks addresses up; nil is geo.MapOnly. GeocoderName is
	// what the console is told ("tianditu"), "map" for none.
	Geocoder     geo.Geocoder
	GeocoderName string
}

type mapService struct{ *Server }

func (s mapService) geocoder() (geo.Geocoder, string) {
	if s.Map.Geocoder == nil || s.Map.GeocoderName == "" {
		return geo.MapOnly{}, "map"
	}
	return s.Map.Geocoder, s.Map.GeocoderName
}

// GetMapConfig tells the console how to draw its basemap.
func (s mapService) GetMapConfig(ctx context.Context, _ *pb.GetMapConfigRequest) (*pb.GetMapConfigResponse, error) {
	_, name := s.geocoder()
	out := &pb.GetMapConfigResponse{
		TileUrl: s.Map.TileURL, TileAttribution: s.Map.TileAttribution, TileSubdomains: s.Map.TileSubdomains,
		BoundariesGeojson: s.Map.Boundaries, BoundariesSource: s.Map.BoundariesSource, Geocoder: name,
	}
	for _, l := range s.Map.Landmarks {
		out.Landmarks = append(out.Landmarks, &pb.Landmark{Name: l.Name, NameEn: l.NameEN, DivisionCode: l.DivisionCode, Location: latLngToPB(l.Location)})
	}
	return out, nil
}

// GeocodeAddress looks a typed address up with the configured geocoder.
// The geocoder's own failures are logged with their cause and reach the
// operator as unavailable: the map is always there to place the point.
func (s mapService) GeocodeAddress(ctx context.Context, req *pb.GeocodeAddressRequest) (*pb.GeocodeAddressResponse, error) {
	g, name := s.geocoder()
	places, err := g.Geocode(ctx, carehex.Trimmed(req.Address))
	if err != nil {
		if carehex.ErrorCode(err) == carehex.EUNAVAILABLE && s.Logger != nil {
			s.Logger.WarnContext(ctx, "geocode.unavailable", "geocoder", name, "err", err)
		}
		return nil, err
	}
	out := &pb.GeocodeAddressResponse{Geocoder: name}
	for _, p := range places {
		out.Places = append(out.Places, &pb.GeocodedPlace{Address: p.Address, Location: latLngToPB(p.Location), Level: p.Level, Score: int32(p.Score)})
	}
	return out, nil
}
