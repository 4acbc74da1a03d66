// Package geo owns the H3 grid: it is the only importer of h3-go. Cells leave
// this package as carehex.Cell, so the rest of carehex never sees h3 types.
package geo

import (
	"fmt"
	"strconv"

	"github.com/carehex/carehex"
	"github.com/uber/h3-go/v4"
)

// Resolutions used by carehex.
const (
	// ResidentRes (9): hexagons of about 201 m edge and 0.105 km² — about one
	// residential compound (小区); the home's cell is stored at this resolution.
	ResidentRes = 9
	// IndexRes (8): hexagons of about 531 m edge and 0.737 km² (h3 v4
	// figures). The availability index keeps this and the next finer
	// resolution: a 1–3 km search covers 19–127 res-8 cells, and in dense
	// areas the res-9 sets hold a fifth as many providers each
	// (providers/keys.go and docs/PERFORMANCE.md give the figures).
	IndexRes = 8
)

// CellOf returns the H3 cell of p at resolution res.
func CellOf(p carehex.LatLng, res int) (carehex.Cell, error) {
	if err := p.Validate("location"); err != nil {
		return 0, err
	}
	c, err := h3.LatLngToCell(h3.LatLng{Lat: p.Lat, Lng: p.Lng}, res)
	if err != nil {
		return 0, carehex.Errorf(carehex.EINVALID, "location", "location cannot be indexed: %v", err)
	}
	return carehex.Cell(c), nil
}

// Center returns the centre of a cell.
func Center(c carehex.Cell) (carehex.LatLng, error) {
	ll, err := h3.CellToLatLng(h3.Cell(c))
	if err != nil {
		return carehex.LatLng{}, carehex.Errorf(carehex.EINVALID, "cell", "not a valid H3 cell: %v", err)
	}
	return carehex.LatLng{Lat: ll.Lat, Lng: ll.Lng}, nil
}

// Boundary returns the outline of a cell, counter-clockwise.
func Boundary(c carehex.Cell) ([]carehex.LatLng, error) {
	if !h3.Cell(c).IsValid() {
		return nil, carehex.Errorf(carehex.EINVALID, "cell", "not a valid H3 cell: %x", uint64(c))
	}
	b, err := h3.CellToBoundary(h3.Cell(c))
	if err != nil {
		return nil, carehex.Errorf(carehex.EINVALID, "cell", "not a valid H3 cell: %v", err)
	}
	out := make([]carehex.LatLng, len(b))
	for i, v := range b {
		out[i] = carehex.LatLng{Lat: v.Lat, Lng: v.Lng}
	}
	return out, nil
}

// Disk returns the cells within k rings of origin, origin first.
func Disk(origin carehex.Cell, k int) ([]carehex.Cell, error) {
	cs, err := h3.GridDisk(h3.Cell(origin), k)
	if err != nil {
		return nil, carehex.Errorf(carehex.EINVALID, "cell", "grid disk: %v", err)
	}
	out := make([]carehex.Cell, len(cs))
	for i, c := range cs {
		out[i] = carehex.Cell(c)
	}
	return out, nil
}

// DistanceM is the great-circle distance between two positions, in metres.
func DistanceM(a, b carehex.LatLng) float64 {
	return h3.GreatCircleDistanceM(h3.LatLng{Lat: a.Lat, Lng: a.Lng}, h3.LatLng{Lat: b.Lat, Lng: b.Lng})
}

// String renders a cell as the usual lower-case hex H3 index.
func String(c carehex.Cell) string { return strconv.FormatUint(uint64(c), 16) }

// Parse reads a hex H3 index, refusing anything that is not a valid cell.
func Parse(s string) (carehex.Cell, error) {
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil || !h3.Cell(v).IsValid() {
		return 0, carehex.Errorf(carehex.EINVALID, "h3_cell", "%q is not a valid H3 cell", s)
	}
	return carehex.Cell(v), nil
}

// EdgeLengthM is the average hexagon edge length at res, in metres.
func EdgeLengthM(res int) (float64, error) {
	m, err := h3.HexagonEdgeLengthAvgM(res)
	if err != nil {
		return 0, fmt.Errorf("geo: edge length at resolution %d: %w", res, err)
	}
	return m, nil
}

// Parent returns the cell at the coarser resolution res that contains c
// (c itself when res is c's own resolution).
func Parent(c carehex.Cell, res int) (carehex.Cell, error) {
	p, err := h3.Cell(c).Parent(res)
	if err != nil {
		return 0, carehex.Errorf(carehex.EINVALID, "res", "no parent of cell %x at resolution %d: %v", uint64(c), res, err)
	}
	return carehex.Cell(p), nil
}

// Resolution returns the resolution of c.
func Resolution(c carehex.Cell) int { return h3.Cell(c).Resolution() }
