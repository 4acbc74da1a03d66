package sqlstore

import (
	"cmp"
	"context"
	"slices"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

// openStatuses are the requests the dispatch map counts: not yet finished.
var openStatuses = []carehex.Status{carehex.StatusPending, carehex.StatusOffered,
	carehex.StatusAssigned, carehex.StatusEnRoute, carehex.StatusInProgress}

// DispatchMap counts active providers' bases and open requests' homes per
// H3 cell of resolution res. One query groups them by position (a city has
// far fewer distinct homes than residents asking), and each position goes
// to its cell here: H3 cells do not nest exactly, so a cell at res is
// computed from the point, not from the stored finer cell.
func (s *DB) DispatchMap(ctx context.Context, res int) ([]carehex.CellCount, error) {
	if res < 0 || res > 15 {
		return nil, carehex.Errorf(carehex.EINVALID, "resolution", "resolution must be between 0 and 15, got %d", res)
	}
	args := []any{1}
	for _, status := range statusStrings(openStatuses) {
		args = append(args, status)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`
		SELECT 'p', lat, lng, COUNT(*) FROM providers WHERE active = ? GROUP BY lat, lng
		UNION ALL
		SELECT 'r', r.lat, r.lng, COUNT(*) FROM service_requests q JOIN residents r ON r.id = q.resident_id
		WHERE q.status IN (`+placeholders(len(openStatuses))+`) GROUP BY r.lat, r.lng`), args...)
	if err != nil {
		return nil, s.wrap(err, "count dispatch map")
	}
	defer rows.Close()
	cells := map[carehex.Cell]*carehex.CellCount{}
	for rows.Next() {
		var (
			kind string
			at   carehex.LatLng
			n    int
		)
		if err := rows.Scan(&kind, &at.Lat, &at.Lng, &n); err != nil {
			return nil, s.wrap(err, "count dispatch map")
		}
		c, err := geo.CellOf(at, res)
		if err != nil {
			return nil, carehex.Internal(err, "dispatch map cell")
		}
		cc := cells[c]
		if cc == nil {
			cc = &carehex.CellCount{Cell: c}
			cells[c] = cc
		}
		if kind == "p" {
			cc.Providers += n
		} else {
			cc.Requests += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "count dispatch map")
	}
	out := make([]carehex.CellCount, 0, len(cells))
	for _, cc := range cells {
		out = append(out, *cc)
	}
	slices.SortFunc(out, func(a, b carehex.CellCount) int { return cmp.Compare(a.Cell, b.Cell) })
	return out, nil
}
