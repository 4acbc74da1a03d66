package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/carehex/carehex"
)

// SyncCatalog makes the service_types table match the catalogue loaded from
// the embedded data file, in one transaction. Types missing from types are
// retired rather than deleted: old requests still name them, new ones may not.
func (s *DB) SyncCatalog(ctx context.Context, types []*carehex.ServiceType) error {
	seen := make(map[string]bool, len(types))
	for i, t := range types {
		switch {
		case t == nil || carehex.Trimmed(t.Code) == "":
			return carehex.Errorf(carehex.EINVALID, "code", "service type %d has no code", i)
		case seen[t.Code]:
			return carehex.Errorf(carehex.EINVALID, "code", "service type %q appears twice", t.Code)
		}
		seen[t.Code] = true
	}
	return s.inTx(ctx, "sync catalogue", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE service_types SET retired = 1`); err != nil {
			return err
		}
		for i, t := range types {
			_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO service_types
				(code, category, name_zh, name_en, required_skill, default_duration_s, urgency_class, position, retired)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
				ON CONFLICT (code) DO UPDATE SET category = excluded.category, name_zh = excluded.name_zh,
					name_en = excluded.name_en, required_skill = excluded.required_skill,
					default_duration_s = excluded.default_duration_s, urgency_class = excluded.urgency_class,
					position = excluded.position, retired = 0`),
				t.Code, string(t.Category), t.NameZH, t.NameEN, t.RequiredSkill,
				int64(t.DefaultDuration/time.Second), string(t.UrgencyClass), i)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

const serviceTypeSelect = `SELECT code, category, name_zh, name_en, required_skill, default_duration_s, urgency_class
	FROM service_types`

func scanServiceType(sc interface{ Scan(...any) error }) (*carehex.ServiceType, error) {
	var (
		t               carehex.ServiceType
		category, class string
		dur             int64
	)
	if err := sc.Scan(&t.Code, &category, &t.NameZH, &t.NameEN, &t.RequiredSkill, &dur, &class); err != nil {
		return nil, err
	}
	t.Category, t.UrgencyClass, t.DefaultDuration = carehex.Category(category), carehex.UrgencyClass(class),
		time.Duration(dur)*time.Second
	return &t, nil
}

// ServiceTypes lists the current catalogue in catalogue order.
func (s *DB) ServiceTypes(ctx context.Context) ([]*carehex.ServiceType, error) {
	return queryAll(ctx, s, "list service types", scanServiceType, serviceTypeSelect+` WHERE retired = 0 ORDER BY position, code`)
}

// ServiceType returns one type of the current catalogue.
func (s *DB) ServiceType(ctx context.Context, code string) (*carehex.ServiceType, error) {
	t, err := scanServiceType(s.db.QueryRowContext(ctx, s.rebind(serviceTypeSelect+` WHERE code = ? AND retired = 0`), code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "service_code", "no service type %q", code)
	}
	if err != nil {
		return nil, s.wrap(err, "read service type")
	}
	return t, nil
}
