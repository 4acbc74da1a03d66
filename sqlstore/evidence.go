package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/carehex/carehex"
	"github.com/pressly/goose/v3"
)

var _ carehex.EvidenceStore = (*DB)(nil)

// AddVisitPhoto appends a photo record to its visit, with an audit record
// carrying the hash (visit.photo), in one transaction. The visit must be
// the provider's and not cancelled. Nothing is replaced: a retake is
// another row.
func (s *DB) AddVisitPhoto(ctx context.Context, p *carehex.Photo) error {
	switch {
	case p == nil:
		return carehex.Errorf(carehex.EINVALID, "photo", "photo is required")
	case !p.Stage.Valid():
		return carehex.Errorf(carehex.EINVALID, "stage", "stage must be arrive or complete, got %q", p.Stage)
	case !carehex.ValidSHA256(p.SHA256):
		return carehex.Errorf(carehex.EINVALID, "sha256", "sha256 must be 64 lower-case hex digits")
	}
	return s.inTx(ctx, "add visit photo", func(tx *sql.Tx) error {
		var provider, status string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT provider_id, status FROM visits WHERE id = ?`), p.VisitID).Scan(&provider, &status)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && provider != p.ProviderID) {
			return carehex.Errorf(carehex.ENOTFOUND, "id", "no visit %q", p.VisitID)
		}
		if err != nil {
			return err
		}
		if status == string(carehex.StatusCancelled) {
			return carehex.Errorf(carehex.ECONFLICT, "id", "visit %s was cancelled; it takes no evidence", p.VisitID)
		}
		var n int64
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM visit_photos WHERE visit_id = ?`), p.VisitID).Scan(&n); err != nil {
			return err
		}
		p.ID, p.CreateTime = carehex.NewID("pho"), s.stamp()
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO visit_photos (id, visit_id, position, provider_id, stage, sha256,
			content_type, size_bytes, width, height, create_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			p.ID, p.VisitID, n, p.ProviderID, string(p.Stage), p.SHA256, p.ContentType, p.SizeBytes, p.Width, p.Height,
			micros(p.CreateTime)); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"photo_id": p.ID, "stage": p.Stage, "sha256": p.SHA256,
			"content_type": p.ContentType, "size_bytes": p.SizeBytes})
		return s.audit(ctx, tx, &carehex.AuditRecord{Time: p.CreateTime, Action: "visit.photo", ObjectType: "visit",
			ObjectID: p.VisitID, Detail: string(detail)})
	})
}

// VisitPhotos lists a visit's photos in the order they were added.
func (s *DB) VisitPhotos(ctx context.Context, visitID string) ([]*carehex.Photo, error) {
	return queryAll(ctx, s, "list visit photos", func(sc interface{ Scan(...any) error }) (*carehex.Photo, error) {
		var (
			p      carehex.Photo
			stage  string
			create int64
		)
		if err := sc.Scan(&p.ID, &p.VisitID, &p.ProviderID, &stage, &p.SHA256, &p.ContentType, &p.SizeBytes, &p.Width,
			&p.Height, &create); err != nil {
			return nil, err
		}
		p.Stage, p.CreateTime = carehex.PhotoStage(stage), fromMicros(create)
		return &p, nil
	}, s.rebind(`SELECT id, visit_id, provider_id, stage, sha256, content_type, size_bytes, width, height, create_time
		FROM visit_photos WHERE visit_id = ? ORDER BY position`), visitID)
}

// PhotoRequired reports whether the contract that would pay for the visit
// (its carer's organisation's, covering its service) requires photos.
func (s *DB) PhotoRequired(ctx context.Context, visitID string) (bool, error) {
	type c struct {
		services string
		from, to int64
		require  int64
	}
	var code string
	var start int64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT r.service_code, v.planned_start FROM visits v
		JOIN service_requests r ON r.id = v.request_id WHERE v.id = ?`), visitID).Scan(&code, &start)
	if errors.Is(err, sql.ErrNoRows) {
		return false, carehex.Errorf(carehex.ENOTFOUND, "id", "no visit %q", visitID)
	}
	if err != nil {
		return false, s.wrap(err, "read visit for photos")
	}
	cs, err := queryAll(ctx, s, "read contracts for photos", func(sc interface{ Scan(...any) error }) (c, error) {
		var x c
		return x, sc.Scan(&x.services, &x.from, &x.to, &x.require)
	}, s.rebind(`SELECT k.services, k.valid_from, k.valid_to, k.require_photos FROM contracts k
		JOIN providers p ON p.org_id = k.org_id JOIN visits v ON v.provider_id = p.id WHERE v.id = ?`), visitID)
	if err != nil {
		return false, err
	}
	for _, x := range cs {
		var services []string
		_ = json.Unmarshal([]byte(x.services), &services)
		k := carehex.Contract{Services: services, ValidFrom: fromMicros(x.from), ValidTo: fromMicros(x.to)}
		if x.require != 0 && k.Covers(code, fromMicros(start)) {
			return true, nil
		}
	}
	return false, nil
}

// evidenceGuard is migration 44: triggers that refuse to change or remove
// a photo record, so that evidence stays append-only even against a
// hand-typed UPDATE. A Go migration because trigger syntax differs.
func evidenceGuard(dialect string) *goose.Migration {
	up := []string{
		`CREATE TRIGGER visit_photos_no_update BEFORE UPDATE ON visit_photos
			BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END`,
		`CREATE TRIGGER visit_photos_no_delete BEFORE DELETE ON visit_photos
			BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END`,
	}
	down := []string{`DROP TRIGGER visit_photos_no_update`, `DROP TRIGGER visit_photos_no_delete`}
	if dialect == DialectPostgres {
		up = []string{
			`CREATE FUNCTION refuse_evidence_change() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				RAISE EXCEPTION 'evidence is append-only' USING ERRCODE = 'check_violation';
			END $$`,
			`CREATE TRIGGER visit_photos_append_only BEFORE UPDATE OR DELETE ON visit_photos
				FOR EACH ROW EXECUTE FUNCTION refuse_evidence_change()`,
		}
		down = []string{`DROP TRIGGER visit_photos_append_only ON visit_photos`, `DROP FUNCTION refuse_evidence_change()`}
	}
	run := func(stmts []string) *goose.GoFunc {
		return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			for _, q := range stmts {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		}}
	}
	return goose.NewGoMigration(44, run(up), run(down))
}
