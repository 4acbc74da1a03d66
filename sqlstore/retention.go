package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

// ReduceVisitGPS reduces the raw GPS points of visit events received
// before cutoff to the verification summary: lat, lng and accuracy_m are
// cleared, and what stays is whether the point was inside the geofence
// (verified), the exceptions it raised and its distance from the home,
// rounded to 10 m. It returns how many events it reduced. Replicas may run
// it at once: each update is conditional on the row not yet being reduced,
// so running it twice changes nothing the second time.
func (s *DB) ReduceVisitGPS(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	for {
		var reduced, found int
		err := s.inTx(ctx, "reduce GPS points", func(tx *sql.Tx) error {
			var err error
			reduced, found, err = s.reduceGPS(ctx, tx, `e.receive_time < ? ORDER BY e.receive_time LIMIT 1000`, micros(cutoff))
			return err
		})
		n += reduced
		if err != nil || found == 0 {
			return n, err
		}
	}
}

// reduceGPS reduces the unreduced visit events matching where (over e, the
// event, and r, its request) inside tx: it returns how many it reduced and
// how many it found (more than reduced when another replica got there first).
func (s *DB) reduceGPS(ctx context.Context, tx *sql.Tx, where string, args ...any) (reduced, found int, err error) {
	type point struct {
		id                   string
		lat, lng, hlat, hlng float64
	}
	var batch []point
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT e.event_id, e.lat, e.lng, res.lat, res.lng
		FROM visit_events e JOIN visits v ON v.id = e.visit_id
		JOIN service_requests r ON r.id = v.request_id JOIN residents res ON res.id = r.resident_id
		WHERE e.gps_reduced = 0 AND `+where), args...)
	if err != nil {
		return 0, 0, err
	}
	for rows.Next() {
		var p point
		if err := rows.Scan(&p.id, &p.lat, &p.lng, &p.hlat, &p.hlng); err != nil {
			rows.Close()
			return 0, 0, err
		}
		batch = append(batch, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	done := 0
	for _, p := range batch {
		d := int(math.Round(geo.DistanceM(carehex.LatLng{Lat: p.lat, Lng: p.lng}, carehex.LatLng{Lat: p.hlat, Lng: p.hlng})/10) * 10)
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE visit_events SET lat = 0, lng = 0, accuracy_m = 0,
			distance_m = ?, gps_reduced = 1 WHERE event_id = ? AND gps_reduced = 0`), d, p.id)
		if err != nil {
			return 0, 0, err
		}
		if n, err := res.RowsAffected(); err == nil {
			done += int(n) // 0 when another replica reduced it first
		}
	}
	return done, len(batch), nil
}

// ErasableResidents returns the residents deactivated before cutoff whose
// personal data is not yet erased: the retention job erases them.
func (s *DB) ErasableResidents(ctx context.Context, cutoff time.Time) ([]string, error) {
	return queryAll(ctx, s, "erasable residents", func(sc interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, s.rebind(`SELECT id FROM residents WHERE deactivate_reason <> '' AND deactivate_time > 0
		AND deactivate_time < ? AND erase_time = 0 ORDER BY deactivate_time, id`), micros(cutoff))
}

// ErasedName is what an erased resident's record shows instead of a name.
const ErasedName = "已删除"

// EraseResident erases a deactivated resident's personal data, keeping the
// anonymised statistics: the record keeps its opaque ID, home cell (its
// position moves to the cell's centre), district and deactivation code,
// so requests and visits still count per cell and district; name, phone,
// ID number, address, birth year, gender, contacts, preferences, family
// members' names and phones, free-text notes of requests and visit events,
// raw GPS points, the search keys and the bulk-access log go. The trail is
// not touched (it holds IDs, codes and times, no personal data; see
// docs/PRIVACY.md); the erasure itself is appended to it as
// resident.erase. Erasing twice, or a resident still served, is refused.
func (s *DB) EraseResident(ctx context.Context, id string) error {
	if id == "" {
		return carehex.Errorf(carehex.EINVALID, "id", "id is required")
	}
	now := s.stamp()
	return s.inTx(ctx, "erase resident", func(tx *sql.Tx) error {
		var (
			reason string
			erased int64
			cell   int64
		)
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT deactivate_reason, erase_time, cell FROM residents WHERE id = ?`), id).
			Scan(&reason, &erased, &cell)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "id", "no resident %q", id)
		}
		if err != nil {
			return err
		}
		if reason == "" {
			return carehex.Errorf(carehex.ECONFLICT, "id", "resident %q is still served: deactivate her first", id)
		}
		if erased != 0 {
			return carehex.Errorf(carehex.ECONFLICT, "id", "resident %q is already erased", id)
		}
		// Her visits' points become the verification summary first, while
		// the home they are measured from is still on record.
		if _, _, err := s.reduceGPS(ctx, tx, `r.resident_id = ?`, id); err != nil {
			return err
		}
		centre, err := geo.Center(carehex.Cell(cell))
		if err != nil {
			return err
		}
		code, _, _ := strings.Cut(reason, ": ") // the code only: the operator's words may be about her health
		stmts := []struct {
			q    string
			args []any
		}{
			{`UPDATE residents SET name = ?, name_lc = '', phone = '', phone_rev = '', id_number = '', id_number_hash = '',
				gender = '', birth_year = 0, address = '', lat = ?, lng = ?, emergency_contacts = '[]', preferences = '{}',
				deactivate_reason = ?, erase_time = ?, update_time = ? WHERE id = ?`,
				[]any{ErasedName, centre.Lat, centre.Lng, code, micros(now), micros(now), id}},
			{`UPDATE family_members SET name = '', phone = '' WHERE resident_id = ?`, []any{id}},
			{`UPDATE service_requests SET notes = '' WHERE resident_id = ?`, []any{id}},
			{`UPDATE visit_events SET note = ''
				WHERE visit_id IN (SELECT v.id FROM visits v JOIN service_requests r ON r.id = v.request_id WHERE r.resident_id = ?)`, []any{id}},
			{`DELETE FROM personal_reads WHERE resident_id = ?`, []any{id}},
			// Callbacks and complaints (quality.go) keep their figures, not the words.
			{`UPDATE callbacks SET notes = '' WHERE resident_id = ?`, []any{id}},
			{`UPDATE complaints SET complainant_name = '', description = '', response = '', resolution = '' WHERE resident_id = ?`, []any{id}},
		}
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, s.rebind(st.q), st.args...); err != nil {
				return err
			}
		}
		if err := s.deleteSearchKeys(ctx, tx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "resident.erase", ObjectType: "resident", ObjectID: id, Detail: code})
	})
}
