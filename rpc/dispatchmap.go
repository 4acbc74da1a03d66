package rpc

import (
	"cmp"
	"context"
	"slices"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// openStatuses are the requests the map shows: not yet finished.
var openStatuses = []carehex.Status{carehex.StatusPending, carehex.StatusOffered,
	carehex.StatusAssigned, carehex.StatusEnRoute, carehex.StatusInProgress}

// GetDispatchMap counts providers' bases and open requests' homes per H3
// cell and returns each cell with its outline, so the browser draws hexagons
// without an H3 library of its own.
func (s dispatchService) GetDispatchMap(ctx context.Context, req *pb.GetDispatchMapRequest) (*pb.GetDispatchMapResponse, error) {
	res := int(req.Resolution)
	if res == 0 {
		res = geo.IndexRes
	}
	if res < 5 || res > geo.ResidentRes {
		return nil, carehex.Errorf(carehex.EINVALID, "resolution", "resolution must be between 5 and %d, got %d", geo.ResidentRes, res)
	}
	cells := map[carehex.Cell]*pb.MapCell{}
	at := func(p carehex.LatLng) (*pb.MapCell, error) {
		c, err := geo.CellOf(p, res)
		if err != nil {
			return nil, err
		}
		if cells[c] == nil {
			cells[c] = &pb.MapCell{Cell: geo.String(c)}
		}
		return cells[c], nil
	}

	ps, err := s.Store.Providers(ctx, 1000)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if !p.Active {
			continue
		}
		if mc, err := at(p.Home); err == nil {
			mc.ProviderCount++
		}
	}
	rs, err := s.Store.ServiceRequests(ctx, carehex.RequestFilter{Statuses: openStatuses, Limit: 500})
	if err != nil {
		return nil, err
	}
	homes := map[string]carehex.LatLng{}
	for _, r := range rs {
		home, ok := homes[r.ResidentID]
		if !ok {
			who, err := s.Store.Resident(ctx, r.ResidentID)
			if err != nil {
				return nil, err
			}
			home, homes[r.ResidentID] = who.Location, who.Location
		}
		if mc, err := at(home); err == nil {
			mc.RequestCount++
		}
	}

	out := &pb.GetDispatchMapResponse{Resolution: int32(res)}
	for c, mc := range cells {
		b, err := geo.Boundary(c)
		if err != nil {
			return nil, err
		}
		for _, v := range b {
			mc.Boundary = append(mc.Boundary, latLngToPB(v))
		}
		out.Cells = append(out.Cells, mc)
	}
	slices.SortFunc(out.Cells, func(a, b *pb.MapCell) int { return cmp.Compare(a.Cell, b.Cell) })
	return out, nil
}
