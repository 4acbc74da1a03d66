package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/carehex/carehex"
)

// orgRequestCond is the one definition of "request col is organisation
// orgID's" (carehex.OrgScopeStore): a visit of one of its carers, current
// or past, or an offer to one of them. Two-tier dispatch adds "routed to
// it" here, as a third branch of the OR.
func orgRequestCond(col, orgID string) (string, []any) {
	return `(` + col + ` IN (SELECT v.request_id FROM visits v JOIN providers p ON p.id = v.provider_id WHERE p.org_id = ?)
		OR ` + col + ` IN (SELECT o.request_id FROM offers o JOIN providers p ON p.id = o.provider_id WHERE p.org_id = ?))`,
		[]any{orgID, orgID}
}

// orgHeldCond is "request col is live and held by organisation orgID": a
// visit of one of its carers that is not over.
func orgHeldCond(col, orgID string) (string, []any) {
	return col + ` IN (SELECT v.request_id FROM visits v JOIN providers p ON p.id = v.provider_id
		WHERE p.org_id = ? AND v.status IN (?, ?, ?))`,
		[]any{orgID, string(carehex.StatusAssigned), string(carehex.StatusEnRoute), string(carehex.StatusInProgress)}
}

// RequestOfOrg reports whether the request is the organisation's.
func (s *DB) RequestOfOrg(ctx context.Context, orgID, requestID string) (bool, error) {
	c, args := orgRequestCond("id", orgID)
	return s.exists(ctx, "read request organisation", `SELECT 1 FROM service_requests WHERE id = ? AND `+c,
		append([]any{requestID}, args...)...)
}

// RequestsHeldByOrg returns which of the requests the organisation holds now.
func (s *DB) RequestsHeldByOrg(ctx context.Context, orgID string, requestIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(requestIDs); start += maxProvidersByID {
		ids := requestIDs[start:min(start+maxProvidersByID, len(requestIDs))]
		c, args := orgHeldCond("id", orgID)
		for _, id := range ids {
			args = append(args, id)
		}
		held, err := queryAll(ctx, s, "read held requests", func(sc interface{ Scan(...any) error }) (string, error) {
			var id string
			return id, sc.Scan(&id)
		}, s.rebind(`SELECT id FROM service_requests WHERE `+c+` AND id IN (`+placeholders(len(ids))+`)`), args...)
		if err != nil {
			return nil, err
		}
		for _, id := range held {
			out[id] = true
		}
	}
	return out, nil
}

// ResidentHeldByOrg reports whether the organisation holds a live request
// of the resident.
func (s *DB) ResidentHeldByOrg(ctx context.Context, orgID, residentID string) (bool, error) {
	c, args := orgHeldCond("id", orgID)
	return s.exists(ctx, "read held resident", `SELECT 1 FROM service_requests WHERE resident_id = ? AND `+c,
		append([]any{residentID}, args...)...)
}

// OrgAlerts lists the alerts of the organisation's requests, newest first.
func (s *DB) OrgAlerts(ctx context.Context, orgID string, openOnly bool, limit int) ([]*carehex.Alert, error) {
	c, args := orgRequestCond("a.request_id", orgID)
	q := alertSelect + ` WHERE ` + c
	if openOnly {
		q += ` AND a.ack_time = 0`
	}
	return queryAll(ctx, s, "list organisation alerts", scanAlert, s.rebind(q+` ORDER BY a.create_time DESC, a.id DESC LIMIT ?`),
		append(args, clampLimit(limit, defaultAlertLimit, maxAlertLimit))...)
}

// AlertHeldByOrg reports whether the alert is about a request the
// organisation holds now.
func (s *DB) AlertHeldByOrg(ctx context.Context, orgID, alertID string) (bool, error) {
	var requestID string
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT request_id FROM alerts WHERE id = ?`), alertID).Scan(&requestID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, carehex.Errorf(carehex.ENOTFOUND, "id", "no alert %q", alertID)
	}
	if err != nil {
		return false, s.wrap(err, "read alert")
	}
	held, err := s.RequestsHeldByOrg(ctx, orgID, []string{requestID})
	return held[requestID], err
}

// OrgStatements lists the organisation's statements, newest month first.
func (s *DB) OrgStatements(ctx context.Context, orgID string) ([]*carehex.Statement, error) {
	return queryAll(ctx, s, "list organisation statements", scanStatement,
		s.rebind(statementSelect+` WHERE org_id = ? ORDER BY month DESC`), orgID)
}

// UpdateOrganisation replaces an organisation's record, audited.
func (s *DB) UpdateOrganisation(ctx context.Context, o *carehex.Organisation) error {
	if o == nil {
		return carehex.Errorf(carehex.EINVALID, "organisation", "organisation is required")
	}
	o.Name = carehex.Trimmed(o.Name)
	if err := o.Validate(); err != nil {
		return err
	}
	area, _ := json.Marshal(nonNil(o.Area)) // a list of strings cannot fail to encode
	return s.inTx(ctx, "update organisation", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM organisations WHERE name = ? AND id <> ?`),
			o.Name, o.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return carehex.Errorf(carehex.ECONFLICT, "name", "an organisation named %q exists", o.Name)
		}
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE organisations SET name = ?, kind = ?, area = ?, contact = ?, active = ?
			WHERE id = ?`), o.Name, string(o.Kind), string(area), o.Contact, boolInt(o.Active), o.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return carehex.Errorf(carehex.ENOTFOUND, "id", "no organisation %q", o.ID)
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "organisation.update", ObjectType: "organisation", ObjectID: o.ID})
	})
}

// exists runs a query that selects a row or none.
func (s *DB) exists(ctx context.Context, what, q string, args ...any) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, s.rebind(q), args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.wrap(err, what)
	}
	return true, nil
}
