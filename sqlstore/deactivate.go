package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/carehex/carehex"
)

// DeactivateResident stops serving a resident (moved away, deceased),
// keeping her record and history; reason comes from
// carehex.DeactivateReasonOf. She takes no new requests afterwards.
func (s *DB) DeactivateResident(ctx context.Context, id, reason string) (*carehex.Resident, error) {
	if id == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "id", "id is required")
	}
	if reason == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "reason_code", "reason_code is required")
	}
	now := s.stamp()
	var out *carehex.Resident
	err := s.inTx(ctx, "deactivate resident", func(tx *sql.Tx) error {
		var was string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT deactivate_reason FROM residents WHERE id = ?`), id).Scan(&was)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "id", "no resident %q", id)
		}
		if err != nil {
			return err
		}
		if was != "" {
			return carehex.Errorf(carehex.ECONFLICT, "id", "resident %q is already deactivated", id)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE residents SET deactivate_reason = ?, deactivate_time = ?,
			update_time = ? WHERE id = ?`), reason, micros(now), micros(now), id); err != nil {
			return err
		}
		// The code only: the operator's words may be about her health.
		code, _, _ := strings.Cut(reason, ": ")
		if err := s.audit(ctx, tx, &carehex.AuditRecord{Action: "resident.deactivate", ObjectType: "resident",
			ObjectID: id, Detail: code}); err != nil {
			return err
		}
		out, err = scanResident(tx.QueryRowContext(ctx, s.rebind(residentSelect+` WHERE id = ?`), id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// residentServed reads the resident a new request is for, refusing new work
// for a deactivated one, naming resident_id, the field the caller filled in.
func (s *DB) residentServed(ctx context.Context, q querier, id string) (*carehex.Resident, error) {
	r, err := scanResident(q.QueryRowContext(ctx, s.rebind(residentSelect+` WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "resident_id", "no resident %q", id)
	}
	if err != nil {
		return nil, err
	}
	if r.DeactivateReason != "" {
		return nil, carehex.Errorf(carehex.ECONFLICT, "resident_id", "resident %q is deactivated and takes no new requests", id)
	}
	return r, nil
}
