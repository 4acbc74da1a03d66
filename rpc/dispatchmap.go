package rpc

import (
	"context"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// GetDispatchMap returns the store's count of providers' bases and open
// requests' homes per H3 cell, each cell with its outline, so the browser
// draws hexagons without an H3 library of its own.
func (s dispatchService) GetDispatchMap(ctx context.Context, req *pb.GetDispatchMapRequest) (*pb.GetDispatchMapResponse, error) {
	res := int(req.Resolution)
	if res == 0 {
		res = geo.IndexRes
	}
	if res < 5 || res > geo.ResidentRes {
		return nil, carehex.Errorf(carehex.EINVALID, "resolution", "resolution must be between 5 and %d, got %d", geo.ResidentRes, res)
	}
	counts, err := s.Store.DispatchMap(ctx, res)
	if err != nil {
		return nil, err
	}
	out := &pb.GetDispatchMapResponse{Resolution: int32(res), Cells: make([]*pb.MapCell, 0, len(counts))}
	for _, cc := range counts { // in cell order, so the answer is stable
		b, err := geo.Boundary(cc.Cell)
		if err != nil {
			return nil, err
		}
		mc := &pb.MapCell{Cell: geo.String(cc.Cell), ProviderCount: int32(cc.Providers), RequestCount: int32(cc.Requests)}
		for _, v := range b {
			mc.Boundary = append(mc.Boundary, latLngToPB(v))
		}
		out.Cells = append(out.Cells, mc)
	}
	return out, nil
}
