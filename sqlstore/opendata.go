package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/carehex/carehex"
)

var _ carehex.OpenDataStore = (*DB)(nil)

// OpenDataRecords reads the requests created in [from, to) with their
// resident's home cell, the service's category and the times of their first
// assignment and arrival (from the request's own events); see
// carehex.OpenDataStore.
func (s *DB) OpenDataRecords(ctx context.Context, from, to time.Time) ([]carehex.OpenDataRecord, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT r.resident_id, res.cell, st.category, r.create_time,
		(SELECT MIN(e.time) FROM request_events e WHERE e.request_id = r.id AND e.to_status = ?),
		(SELECT MIN(e.time) FROM request_events e WHERE e.request_id = r.id AND e.to_status = ?)
		FROM service_requests r
		JOIN residents res ON res.id = r.resident_id
		JOIN service_types st ON st.code = r.service_code
		WHERE r.create_time >= ? AND r.create_time < ?
		ORDER BY r.create_time, r.id`),
		string(carehex.StatusAssigned), string(carehex.StatusInProgress), micros(from), micros(to))
	if err != nil {
		return nil, s.wrap(err, "open data records")
	}
	defer rows.Close()
	var out []carehex.OpenDataRecord
	for rows.Next() {
		var (
			r              carehex.OpenDataRecord
			cell, created  int64
			accept, arrive sql.NullInt64
		)
		if err := rows.Scan(&r.ResidentID, &cell, &r.Category, &created, &accept, &arrive); err != nil {
			return nil, s.wrap(err, "open data records")
		}
		r.Cell, r.CreateTime = carehex.Cell(cell), fromMicros(created)
		r.AcceptS, r.ArriveS = -1, -1
		if accept.Valid {
			r.Filled = true
			r.AcceptS = float64(accept.Int64-created) / 1e6
		}
		if arrive.Valid {
			r.ArriveS = float64(arrive.Int64-created) / 1e6
		}
		out = append(out, r)
	}
	return out, s.wrap(rows.Err(), "open data records")
}
