package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/carehex/carehex"
)

var _ carehex.CardStore = (*DB)(nil)

// RecordCardScan appends a service-card scan, accepted or refused, with
// its audit record in the same transaction: "visit.card_scan" when the
// card was the visit's resident's, "visit.card_refused" when not.
func (s *DB) RecordCardScan(ctx context.Context, c *carehex.CardScan) error {
	if c == nil {
		return carehex.Errorf(carehex.EINVALID, "scan", "scan is required")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = carehex.NewID("crd")
	}
	c.Time = s.stamp()
	action := "visit.card_scan"
	if c.Result != carehex.CardOK {
		action = "visit.card_refused"
	}
	detail, _ := json.Marshal(map[string]string{"stage": string(c.Stage), "method": string(c.Method), "result": c.Result,
		"provider_id": c.ProviderID})
	return s.inTx(ctx, "record card scan", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO card_scans (id, visit_id, provider_id, resident_id, stage,
			method, result, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), c.ID, c.VisitID, c.ProviderID, c.ResidentID,
			string(c.Stage), string(c.Method), c.Result, micros(c.Time)); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Time: c.Time, Action: action, ObjectType: "visit", ObjectID: c.VisitID,
			Detail: string(detail)})
	})
}

// CardScans lists a visit's card scans, oldest first.
func (s *DB) CardScans(ctx context.Context, visitID string) ([]*carehex.CardScan, error) {
	return queryAll(ctx, s, "list card scans", func(sc interface{ Scan(...any) error }) (*carehex.CardScan, error) {
		var (
			c             carehex.CardScan
			stage, method string
			t             int64
		)
		if err := sc.Scan(&c.ID, &c.VisitID, &c.ProviderID, &c.ResidentID, &stage, &method, &c.Result, &t); err != nil {
			return nil, err
		}
		c.Stage, c.Method, c.Time = carehex.VisitEventType(stage), carehex.CardMethod(method), fromMicros(t)
		return &c, nil
	}, s.rebind(`SELECT id, visit_id, provider_id, resident_id, stage, method, result, time FROM card_scans
		WHERE visit_id = ? ORDER BY time, id`), visitID)
}

// CardKeyMaterial returns the card key kept in the database, creating it
// on first use; replicas racing to create it all read the one that won.
func (s *DB) CardKeyMaterial(ctx context.Context) ([]byte, error) {
	raw := make([]byte, 32)
	rand.Read(raw) // never fails (crypto/rand)
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO card_key (id, key) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`),
		base64.StdEncoding.EncodeToString(raw)); err != nil {
		return nil, s.wrap(err, "store card key")
	}
	var key string
	if err := s.db.QueryRowContext(ctx, `SELECT key FROM card_key WHERE id = 1`).Scan(&key); err != nil {
		return nil, s.wrap(err, "read card key")
	}
	b, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return nil, carehex.Internal(err, "card key")
	}
	return b, nil
}

// VisitNeedsCard reports whether the contract that pays visitID's service
// at t (its carer's organisation's) requires card scans.
func (s *DB) VisitNeedsCard(ctx context.Context, visitID string, t time.Time) (bool, error) {
	var org, code string
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT p.org_id, r.service_code FROM visits v
		JOIN providers p ON p.id = v.provider_id JOIN service_requests r ON r.id = v.request_id WHERE v.id = ?`),
		visitID).Scan(&org, &code)
	if errors.Is(err, sql.ErrNoRows) {
		return false, carehex.Errorf(carehex.ENOTFOUND, "visit_id", "no visit %q", visitID)
	}
	if err != nil {
		return false, s.wrap(err, "read visit's contract")
	}
	cs, err := s.Contracts(ctx, org)
	if err != nil {
		return false, err
	}
	c := carehex.ContractFor(cs, code, t)
	return c != nil && c.RequiresCardScan, nil
}

// loadCardScans marks which of vs had their card accepted at arrival and
// at completion, a chunk of visits per query.
func (s *DB) loadCardScans(ctx context.Context, vs []*carehex.SettleVisit) error {
	byID := make(map[string]*carehex.SettleVisit, len(vs))
	for _, v := range vs {
		byID[v.VisitID] = v
	}
	for i := 0; i < len(vs); i += statementBatch {
		part := vs[i:min(i+statementBatch, len(vs))]
		args := make([]any, len(part))
		for j, v := range part {
			args[j] = v.VisitID
		}
		type hit struct{ visit, stage string }
		hits, err := queryAll(ctx, s, "read card scans", func(sc interface{ Scan(...any) error }) (hit, error) {
			var h hit
			return h, sc.Scan(&h.visit, &h.stage)
		}, s.rebind(`SELECT DISTINCT visit_id, stage FROM card_scans WHERE result = 'ok' AND visit_id IN (`+
			placeholders(len(part))+`)`), args...)
		if err != nil {
			return err
		}
		for _, h := range hits {
			switch carehex.VisitEventType(h.stage) {
			case carehex.VisitArrive:
				byID[h.visit].CardArrive = true
			case carehex.VisitComplete:
				byID[h.visit].CardComplete = true
			}
		}
	}
	return nil
}

// ResidentSettleVisits lists one resident's visits completed in [from,
// to) as settlement sees them: what the intake's allowance figure settles.
func (s *DB) ResidentSettleVisits(ctx context.Context, residentID string, from, to time.Time) ([]*carehex.SettleVisit, error) {
	vs, err := queryAll(ctx, s, "list the resident's visits to settle", scanSettleVisit, s.rebind(settleVisitSelect+
		` WHERE r.resident_id = ? AND v.status = 'completed' AND v.finish_time >= ? AND v.finish_time < ?
		ORDER BY v.finish_time, v.id`), residentID, micros(from), micros(to))
	if err != nil {
		return nil, err
	}
	return vs, s.loadExceptions(ctx, vs)
}

// ServedResidentIDs lists the residents the hotline serves (not
// deactivated), by ID: whose cards `carehex card print --all` prints.
func (s *DB) ServedResidentIDs(ctx context.Context) ([]string, error) {
	return queryAll(ctx, s, "list served residents", func(sc interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, `SELECT id FROM residents WHERE deactivate_reason = '' ORDER BY id`)
}
