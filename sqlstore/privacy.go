package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

var _ carehex.PersonalReadStore = (*DB)(nil)

// NotePersonalReads records that actor read the residents at at: one row per
// account and resident holding the latest read, so counting distinct
// residents in a window is an index range. Rows older than a day are pruned
// on the way, so the table holds about a day of each active account.
func (s *DB) NotePersonalReads(ctx context.Context, actor string, residentIDs []string, at time.Time) error {
	if strings.TrimSpace(actor) == "" {
		return carehex.Errorf(carehex.EINVALID, "actor", "actor is required")
	}
	ids := dedupe(residentIDs)
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, "note personal reads", func(tx *sql.Tx) error {
		args := make([]any, 0, 3*len(ids))
		for _, id := range ids {
			args = append(args, actor, id, micros(at))
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO personal_reads (actor, resident_id, time) VALUES `+
			repeatRow("(?, ?, ?)", len(ids))+` ON CONFLICT (actor, resident_id) DO UPDATE SET time = excluded.time
			WHERE excluded.time > personal_reads.time`), args...); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM personal_reads WHERE actor = ? AND time < ?`),
			actor, micros(at.Add(-24*time.Hour)))
		return err
	})
}

// PersonalReads counts the distinct residents actor read since since, and
// when the oldest of those reads was.
func (s *DB) PersonalReads(ctx context.Context, actor string, since time.Time) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*), MIN(time) FROM personal_reads WHERE actor = ? AND time >= ?`),
		actor, micros(since)).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, s.wrap(err, "count personal reads")
	}
	return n, fromMicros(oldest.Int64), nil
}

// RaiseAccessAlert adds a, with an audit record in the trail, unless an
// unacknowledged alert of the same kind about the same actor is open; the
// partial unique index decides between replicas.
func (s *DB) RaiseAccessAlert(ctx context.Context, a *carehex.AccessAlert) (bool, error) {
	if a == nil || strings.TrimSpace(a.Actor) == "" {
		return false, carehex.Errorf(carehex.EINVALID, "actor", "an access alert names an actor")
	}
	if a.Kind != carehex.AlertBulkAccess {
		return false, carehex.Errorf(carehex.EINVALID, "kind", "unknown access alert kind %q", a.Kind)
	}
	n := *a
	n.ID, n.CreateTime, n.AckTime, n.AckBy = carehex.NewID("aal"), s.stamp(), time.Time{}, ""
	created := false
	err := s.inTx(ctx, "raise access alert", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO access_alerts (id, actor, kind, residents, window_start, create_time)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (actor, kind) WHERE ack_time = 0 DO NOTHING`),
			n.ID, n.Actor, n.Kind, n.Residents, micros(n.WindowStart), micros(n.CreateTime))
		if err != nil {
			return err
		}
		if c, err := res.RowsAffected(); err != nil || c == 0 {
			return err
		}
		created = true
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: "system:privacy", Action: "privacy.bulk_access",
			ObjectType: "account", ObjectID: n.Actor,
			Detail: fmt.Sprintf("alert=%s residents=%d since=%s", n.ID, n.Residents, n.WindowStart.UTC().Format(time.RFC3339))})
	})
	if err != nil {
		return false, err
	}
	if created {
		*a = n
	}
	return created, nil
}

// AccessAlerts lists access alerts, newest first; only unacknowledged ones if
// openOnly. limit defaults to 100, at most 500.
func (s *DB) AccessAlerts(ctx context.Context, openOnly bool, limit int) ([]*carehex.AccessAlert, error) {
	q := `SELECT id, actor, kind, residents, window_start, create_time, ack_time, ack_by FROM access_alerts`
	if openOnly {
		q += ` WHERE ack_time = 0`
	}
	q += ` ORDER BY create_time DESC, id DESC LIMIT ?`
	return queryAll(ctx, s, "list access alerts", func(sc interface{ Scan(...any) error }) (*carehex.AccessAlert, error) {
		var a carehex.AccessAlert
		var ws, ct, at int64
		err := sc.Scan(&a.ID, &a.Actor, &a.Kind, &a.Residents, &ws, &ct, &at, &a.AckBy)
		a.WindowStart, a.CreateTime, a.AckTime = fromMicros(ws), fromMicros(ct), fromMicros(at)
		return &a, err
	}, s.rebind(q), clampLimit(limit, 100, 500))
}
