package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/carehex/carehex"
)

const callSelect = `SELECT call_id, caller, extension, recording_ref, status, start_time, update_time FROM calls`

func scanCall(sc interface{ Scan(...any) error }) (*carehex.Call, error) {
	var c carehex.Call
	var start, upd int64
	if err := sc.Scan(&c.CallID, &c.Caller, &c.Extension, &c.RecordingRef, &c.Status, &start, &upd); err != nil {
		return nil, err
	}
	c.StartTime, c.UpdateTime = fromMicros(start), fromMicros(upd)
	return &c, nil
}

// RecordCallEvent appends a PBX event and folds it into its call, in one
// transaction. Fields an event leaves empty keep their earlier value (the
// recording is often named only at hangup), and a hung-up call stays hung
// up whatever arrives late.
func (s *DB) RecordCallEvent(ctx context.Context, e *carehex.CallEvent) (*carehex.Call, error) {
	if e == nil {
		return nil, carehex.Errorf(carehex.EINVALID, "event", "event is required")
	}
	e.CallID, e.Caller, e.Extension, e.RecordingRef = carehex.Trimmed(e.CallID), carehex.Trimmed(e.Caller),
		carehex.Trimmed(e.Extension), carehex.Trimmed(e.RecordingRef)
	if err := e.Validate(); err != nil {
		return nil, err
	}
	now := s.stamp()
	e.Time = now
	var out *carehex.Call
	err := s.inTx(ctx, "record call event", func(tx *sql.Tx) error {
		c, err := scanCall(tx.QueryRowContext(ctx, s.rebind(callSelect+` WHERE call_id = ?`), e.CallID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			c = &carehex.Call{CallID: e.CallID, Caller: e.Caller, Extension: e.Extension, RecordingRef: e.RecordingRef,
				Status: e.Event, StartTime: now, UpdateTime: now}
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO calls
				(call_id, caller, extension, recording_ref, status, start_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)`),
				c.CallID, c.Caller, c.Extension, c.RecordingRef, c.Status, micros(now), micros(now)); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			keep := func(old *string, v string) {
				if v != "" {
					*old = v
				}
			}
			keep(&c.Caller, e.Caller)
			keep(&c.Extension, e.Extension)
			keep(&c.RecordingRef, e.RecordingRef)
			if c.Status != carehex.CallHangup {
				c.Status = e.Event
			}
			c.UpdateTime = now
			if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE calls SET caller = ?, extension = ?, recording_ref = ?,
				status = ?, update_time = ? WHERE call_id = ?`),
				c.Caller, c.Extension, c.RecordingRef, c.Status, micros(now), c.CallID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO call_events
			(id, call_id, event, caller, extension, recording_ref, time) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			carehex.NewID("cev"), e.CallID, e.Event, e.Caller, e.Extension, e.RecordingRef, micros(now)); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out.Extension != "" {
		// The console at that extension re-reads its call (the screen pop).
		s.publish(ctx, carehex.Notice{Topic: carehex.TopicCall, ID: out.Extension})
	}
	return out, nil
}

// Call returns one call.
func (s *DB) Call(ctx context.Context, callID string) (*carehex.Call, error) {
	c, err := scanCall(s.db.QueryRowContext(ctx, s.rebind(callSelect+` WHERE call_id = ?`), callID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "call_id", "no call %q", callID)
	}
	if err != nil {
		return nil, s.wrap(err, "read call")
	}
	return c, nil
}

// ActiveCall returns the newest call at extension that has not hung up.
func (s *DB) ActiveCall(ctx context.Context, extension string) (*carehex.Call, error) {
	since := s.stamp().Add(-carehex.CallStaleAfter)
	c, err := scanCall(s.db.QueryRowContext(ctx, s.rebind(callSelect+` WHERE extension = ? AND start_time > ?
		AND status <> ? ORDER BY start_time DESC, call_id DESC LIMIT 1`), extension, micros(since), carehex.CallHangup))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "extension", "no active call at extension %q", extension)
	}
	if err != nil {
		return nil, s.wrap(err, "read active call")
	}
	return c, nil
}
