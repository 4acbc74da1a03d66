package simulate

import (
	"cmp"
	"fmt"
	"html"
	"io"
	"math"
	"slices"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

// MapRes is the H3 resolution of the demand/supply map: about 1.4 km
// edge and 5 km², a neighbourhood.
const MapRes = 7

type cellStat struct {
	cell     carehex.Cell
	centre   carehex.LatLng
	demand   int     // requests from homes in the cell
	unfilled int     // of which nobody accepted
	supplyH  float64 // provider-hours online from homes in the cell
}

// Map writes an SVG map of demand against supply per H3 cell: each cell
// holding demand or supply is drawn as a hexagon (a regular one of the
// cell's size at its centre), coloured by requests per provider-hour
// online (green: plenty of supply, red: demand with little or none), with
// a dot for each cell where requests went unfilled.
func (r *Result) Map(w io.Writer) error {
	cells := map[carehex.Cell]*cellStat{}
	get := func(p carehex.LatLng) *cellStat {
		c, err := geo.CellOf(p, MapRes)
		if err != nil {
			return nil
		}
		s := cells[c]
		if s == nil {
			ctr, _ := geo.Center(c)
			s = &cellStat{cell: c, centre: ctr}
			cells[c] = s
		}
		return s
	}
	for _, q := range r.reqs {
		if s := get(r.world.Residents[q.call.Resident].Location); s != nil {
			s.demand++
			if q.accepted.IsZero() {
				s.unfilled++
			}
		}
	}
	lo, hi := r.cfg.Start.Seconds(), (r.cfg.End + r.cfg.Drain).Seconds()
	for _, sp := range r.world.Providers {
		h := 0.0
		for _, win := range sp.Online {
			h += math.Max(0, math.Min(win.EndS, hi)-math.Max(win.StartS, lo)) / 3600
		}
		if s := get(sp.P.Home); s != nil {
			s.supplyH += h
		}
	}
	list := make([]*cellStat, 0, len(cells))
	for _, s := range cells {
		list = append(list, s)
	}
	slices.SortFunc(list, func(a, b *cellStat) int { return cmp.Compare(a.cell, b.cell) })

	const width, height, pad = 900.0, 900.0, 40.0
	minLat, maxLat, minLng, maxLng := 90.0, -90.0, 180.0, -180.0
	for _, s := range list {
		minLat, maxLat = math.Min(minLat, s.centre.Lat), math.Max(maxLat, s.centre.Lat)
		minLng, maxLng = math.Min(minLng, s.centre.Lng), math.Max(maxLng, s.centre.Lng)
	}
	if len(list) == 0 {
		minLat, maxLat, minLng, maxLng = 36.7, 36.9, 117.9, 118.1
	}
	kx := math.Cos((minLat + maxLat) / 2 * math.Pi / 180) // degrees of longitude are shorter
	spanX, spanY := math.Max((maxLng-minLng)*kx, 0.02), math.Max(maxLat-minLat, 0.02)
	scale := math.Min((width-2*pad)/spanX, (height-2*pad-60)/spanY)
	px := func(p carehex.LatLng) (float64, float64) {
		return pad + (p.Lng-minLng)*kx*scale, pad + 60 + (maxLat-p.Lat)*scale
	}
	edgeM, err := geo.EdgeLengthM(MapRes)
	if err != nil {
		return err
	}
	rad := edgeM / 111320 * scale // pixels

	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="#fbfbf8"/>`+"\n")
	fmt.Fprintf(w, `<text x="%.0f" y="22" font-size="16">Demand against supply per H3 cell (res %d, ~%.1f km edge): %d requests, %d providers, seed %d</text>`+"\n",
		pad, MapRes, edgeM/1000, len(r.reqs), len(r.world.Providers), r.cfg.Seed)
	fmt.Fprintf(w, `<text x="%.0f" y="42" fill="#555">colour: requests per provider-hour online (green ≤ 0.05, yellow 0.25, red ≥ 1 or no supply); grey: supply only; black dot: unfilled requests (area ∝ count)</text>`+"\n", pad)
	for _, s := range list {
		x, y := px(s.centre)
		var pts []string
		for k := range 6 {
			a := math.Pi/6 + float64(k)*math.Pi/3
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x+rad*math.Cos(a), y+rad*math.Sin(a)))
		}
		fill := "#d9d9d9"
		if s.demand > 0 {
			ratio := float64(s.demand) / math.Max(s.supplyH, 1e-9)
			fill = ramp(ratio)
		}
		title := fmt.Sprintf("%s: %d requests, %d unfilled, %.1f provider-hours", geo.String(s.cell), s.demand, s.unfilled, s.supplyH)
		fmt.Fprintf(w, `<polygon points="%s %s %s %s %s %s" fill="%s" stroke="#fff" stroke-width="0.5"><title>%s</title></polygon>`+"\n",
			pts[0], pts[1], pts[2], pts[3], pts[4], pts[5], fill, html.EscapeString(title))
	}
	for _, s := range list {
		if s.unfilled > 0 {
			x, y := px(s.centre)
			fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="#000" fill-opacity="0.6"/>`+"\n", x, y, math.Min(rad, 1.5+1.5*math.Sqrt(float64(s.unfilled))))
		}
	}
	for _, d := range districtLabels() {
		x, y := px(d.at)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" fill="#223" text-anchor="middle" font-weight="bold">%s</text>`+"\n", x, y-rad-2, html.EscapeString(d.name))
	}
	_, err = fmt.Fprintln(w, "</svg>")
	return err
}

// ramp maps requests per provider-hour to a colour, log scale from green
// through yellow to red.
func ramp(ratio float64) string {
	t := (math.Log10(math.Max(ratio, 0.05)) - math.Log10(0.05)) / (0 - math.Log10(0.05)) // 0.05 → 0, 1 → 1
	t = math.Max(0, math.Min(1, t))
	var rr, gg float64
	if t < 0.5 {
		rr, gg = 2*t, 1
	} else {
		rr, gg = 1, 2*(1-t)
	}
	return fmt.Sprintf("#%02x%02x40", int(60+rr*195), int(60+gg*160))
}
