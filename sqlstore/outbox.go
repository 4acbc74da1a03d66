package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/carehex/carehex"
)

// The notification outbox: rows are written by the state changes they
// announce (see visitevent.go) and leased to a relay for delivery.

var _ carehex.Outbox = (*DB)(nil)

// ClaimNotifications leases due, undelivered notifications; see
// carehex.Outbox. Each lease is a conditional update, so of two relays
// claiming the same row one wins.
func (s *DB) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*carehex.Notification, error) {
	limit = clampLimit(limit, 100, 1000)
	due, err := queryAll(ctx, s, "due notifications", func(sc interface{ Scan(...any) error }) (*carehex.Notification, error) {
		var (
			n       carehex.Notification
			created int64
		)
		err := sc.Scan(&n.ID, &n.DedupeKey, &n.Kind, &n.RequestID, &n.ResidentID, &n.Payload, &n.Attempts, &created)
		n.CreateTime = fromMicros(created)
		return &n, err
	}, s.rebind(`SELECT id, dedupe_key, kind, request_id, resident_id, payload, attempts, create_time
		FROM outbox WHERE sent_time = 0 AND next_try_time <= ? ORDER BY next_try_time, id LIMIT ?`), micros(now), limit)
	if err != nil {
		return nil, err
	}
	out := due[:0]
	for _, n := range due {
		var res sql.Result
		res, err = s.w.ExecContext(ctx, s.rebind(`UPDATE outbox SET attempts = attempts + 1, next_try_time = ?
			WHERE id = ? AND sent_time = 0 AND next_try_time <= ?`), micros(now.Add(lease)), n.ID, micros(now))
		if err != nil {
			return nil, s.wrap(err, "claim notification")
		}
		if c, err := res.RowsAffected(); err != nil {
			return nil, s.wrap(err, "claim notification")
		} else if c == 1 {
			n.Attempts++
			out = append(out, n)
		}
	}
	return out, nil
}

// MarkNotificationSent records a delivery.
func (s *DB) MarkNotificationSent(ctx context.Context, id string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, s.rebind(`UPDATE outbox SET sent_time = ? WHERE id = ? AND sent_time = 0`), micros(at), id)
	return s.wrap(err, "mark notification sent")
}
