package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

var _ carehex.StatementStore = (*DB)(nil)

// Rows per INSERT of statement lines: 17 values a row stays far below
// PostgreSQL's 65535 parameters.
const statementBatch = 500

// SaveStatement replaces the open statement of (s.OrgID, s.Month) with s,
// lines and held visits together; ECONFLICT naming "month" when that
// month's statement is closed, and nothing changes.
func (s *DB) SaveStatement(ctx context.Context, st *carehex.Statement) error {
	if st == nil {
		return carehex.Errorf(carehex.EINVALID, "statement", "statement is required")
	}
	if _, err := carehex.ParseMonth("month", st.Month); err != nil {
		return err
	}
	if st.OrgID == "" {
		return carehex.Errorf(carehex.EINVALID, "org_id", "org_id is required")
	}
	st.Sum() // the totals are the lines' sums, whatever the caller set
	now := s.stamp()
	err := s.inTx(ctx, "save statement", func(tx *sql.Tx) error {
		var id, status string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT id, status FROM statements WHERE org_id = ? AND month = ?`),
			st.OrgID, st.Month).Scan(&id, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id = carehex.NewID("stm")
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO statements (id, org_id, month, status, total_fen, subsidy_fen,
				copay_fen, update_time) VALUES (?, ?, ?, 'open', ?, ?, ?, ?)`),
				id, st.OrgID, st.Month, st.TotalFen, st.SubsidyFen, st.CopayFen, micros(now)); err != nil {
				return err
			}
		case err != nil:
			return err
		case status == string(carehex.StatementClosed):
			return carehex.Errorf(carehex.ECONFLICT, "month", "the statement of %s for %s is closed; corrections go on a later month", st.OrgID, st.Month)
		default:
			for _, q := range []string{`DELETE FROM statement_lines WHERE statement_id = ?`, `DELETE FROM statement_held WHERE statement_id = ?`} {
				if _, err := tx.ExecContext(ctx, s.rebind(q), id); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE statements SET total_fen = ?, subsidy_fen = ?, copay_fen = ?,
				update_time = ? WHERE id = ?`), st.TotalFen, st.SubsidyFen, st.CopayFen, micros(now), id); err != nil {
				return err
			}
		}
		for i := 0; i < len(st.Lines); i += statementBatch {
			part := st.Lines[i:min(i+statementBatch, len(st.Lines))]
			args := make([]any, 0, 16*len(part))
			for j, l := range part {
				args = append(args, id, i+j, l.VisitID, l.ResidentID, l.ServiceCode, l.ContractID, micros(l.ServiceTime),
					string(l.Unit), l.Units, l.PriceFen, l.ChargeFen, l.SubsidyFen, l.CopayFen, boolInt(l.Capped),
					l.Verification, l.AdjustsMonth)
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO statement_lines (statement_id, position, visit_id, resident_id,
				service_code, contract_id, service_time, unit, units, price_fen, charge_fen, subsidy_fen, copay_fen, capped,
				verification, adjusts_month) VALUES `+repeatRow("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", len(part))), args...); err != nil {
				return err
			}
		}
		for i := 0; i < len(st.Held); i += statementBatch {
			part := st.Held[i:min(i+statementBatch, len(st.Held))]
			args := make([]any, 0, 7*len(part))
			for j, h := range part {
				args = append(args, id, i+j, h.VisitID, h.ResidentID, h.ServiceCode, micros(h.FinishTime), h.Reason)
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO statement_held (statement_id, position, visit_id, resident_id,
				service_code, finish_time, reason) VALUES `+repeatRow("(?, ?, ?, ?, ?, ?, ?)", len(part))), args...); err != nil {
				return err
			}
		}
		st.ID = id
		return nil
	})
	if err != nil {
		return err
	}
	st.Status, st.UpdateTime = carehex.StatementOpen, now
	return nil
}

// CloseStatement fixes the statement of (orgID, month): its rows are marked
// closed (the triggers of migration 17 refuse any later change), its digest
// is computed from what is stored and written to the audit trail in the same
// transaction. Closing a closed statement returns it unchanged.
func (s *DB) CloseStatement(ctx context.Context, orgID, month string) (*carehex.Statement, error) {
	var out *carehex.Statement
	err := s.inTx(ctx, "close statement", func(tx *sql.Tx) error {
		st, err := s.readStatement(ctx, tx, orgID, month)
		if err != nil {
			return err
		}
		if st.Status == carehex.StatementClosed {
			out = st
			return nil
		}
		now := s.stamp()
		st.Digest = st.ComputeDigest()
		for _, q := range []string{`UPDATE statement_lines SET closed = 1 WHERE statement_id = ?`,
			`UPDATE statement_held SET closed = 1 WHERE statement_id = ?`} {
			if _, err := tx.ExecContext(ctx, s.rebind(q), st.ID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE statements SET status = 'closed', digest = ?, close_time = ?,
			update_time = ? WHERE id = ?`), st.Digest, micros(now), micros(now), st.ID); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"org_id": st.OrgID, "month": st.Month, "digest": st.Digest,
			"lines": len(st.Lines), "held_back": len(st.Held), "total_fen": st.TotalFen, "subsidy_fen": st.SubsidyFen,
			"copay_fen": st.CopayFen})
		if err := s.audit(ctx, tx, &carehex.AuditRecord{Time: now, Action: "statement.close", ObjectType: "statement",
			ObjectID: st.ID, Detail: string(detail)}); err != nil {
			return err
		}
		st.Status, st.CloseTime, st.UpdateTime = carehex.StatementClosed, now, now
		out = st
		return nil
	})
	return out, err
}

// Statement returns the statement of (orgID, month) with its lines and
// held visits in order.
func (s *DB) Statement(ctx context.Context, orgID, month string) (*carehex.Statement, error) {
	st, err := s.readStatement(ctx, s.db, orgID, month)
	return st, s.wrap(err, "read statement")
}

// Statements lists the statements of a month (headers only), by
// organisation.
func (s *DB) Statements(ctx context.Context, month string) ([]*carehex.Statement, error) {
	return queryAll(ctx, s, "list statements", scanStatement, s.rebind(statementSelect+` WHERE month = ? ORDER BY org_id`), month)
}

const statementSelect = `SELECT id, org_id, month, status, total_fen, subsidy_fen, copay_fen, digest, close_time, update_time
	FROM statements`

func scanStatement(sc interface{ Scan(...any) error }) (*carehex.Statement, error) {
	var (
		st             carehex.Statement
		status         string
		closeT, update int64
	)
	if err := sc.Scan(&st.ID, &st.OrgID, &st.Month, &status, &st.TotalFen, &st.SubsidyFen, &st.CopayFen, &st.Digest,
		&closeT, &update); err != nil {
		return nil, err
	}
	st.Status, st.CloseTime, st.UpdateTime = carehex.StatementStatus(status), fromMicros(closeT), fromMicros(update)
	st.Lines, st.Held = []*carehex.StatementLine{}, []*carehex.HeldVisit{}
	return &st, nil
}

func (s *DB) readStatement(ctx context.Context, q querier, orgID, month string) (*carehex.Statement, error) {
	st, err := scanStatement(q.QueryRowContext(ctx, s.rebind(statementSelect+` WHERE org_id = ? AND month = ?`), orgID, month))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "month", "no statement of %q for %q", orgID, month)
	}
	if err != nil {
		return nil, err
	}
	lines, err := s.queryLines(ctx, q, `WHERE statement_id = ? ORDER BY position`, st.ID)
	if err != nil {
		return nil, err
	}
	st.Lines = append(st.Lines, lines...)
	hrows, err := q.QueryContext(ctx, s.rebind(`SELECT visit_id, resident_id, service_code, finish_time, reason
		FROM statement_held WHERE statement_id = ? ORDER BY position`), st.ID)
	if err != nil {
		return nil, err
	}
	defer hrows.Close()
	for hrows.Next() {
		var (
			h carehex.HeldVisit
			t int64
		)
		if err := hrows.Scan(&h.VisitID, &h.ResidentID, &h.ServiceCode, &t, &h.Reason); err != nil {
			return nil, err
		}
		h.FinishTime = fromMicros(t)
		st.Held = append(st.Held, &h)
	}
	return st, hrows.Err()
}

const lineSelect = `SELECT visit_id, resident_id, service_code, contract_id, service_time, unit,
	units, price_fen, charge_fen, subsidy_fen, copay_fen, capped, verification, adjusts_month FROM statement_lines `

func (s *DB) queryLines(ctx context.Context, q querier, where string, args ...any) ([]*carehex.StatementLine, error) {
	rows, err := q.QueryContext(ctx, s.rebind(lineSelect+where), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*carehex.StatementLine
	for rows.Next() {
		var (
			l         carehex.StatementLine
			t, capped int64
			unit      string
		)
		if err := rows.Scan(&l.VisitID, &l.ResidentID, &l.ServiceCode, &l.ContractID, &t, &unit, &l.Units, &l.PriceFen,
			&l.ChargeFen, &l.SubsidyFen, &l.CopayFen, &capped, &l.Verification, &l.AdjustsMonth); err != nil {
			return nil, err
		}
		l.ServiceTime, l.Unit, l.Capped = fromMicros(t), carehex.Unit(unit), capped != 0
		out = append(out, &l)
	}
	return out, rows.Err()
}

// SettledLines lists the lines for visits that finished in [from, to) on
// statements of other months than exceptMonth: what earlier months have
// already paid, which adjustments are capped and subsidised against.
func (s *DB) SettledLines(ctx context.Context, from, to time.Time, exceptMonth string) ([]*carehex.StatementLine, error) {
	out, err := s.queryLines(ctx, s.db, `WHERE service_time >= ? AND service_time < ? AND statement_id IN
		(SELECT id FROM statements WHERE month <> ?) ORDER BY service_time, visit_id`, micros(from), micros(to), exceptMonth)
	return out, s.wrap(err, "list settled lines")
}

// ReviewVisit records an operator's ruling on a visit's EVV exceptions,
// with its audit record. Rulings are appended; the newest counts.
func (s *DB) ReviewVisit(ctx context.Context, r *carehex.EVVReview) error {
	if r == nil {
		return carehex.Errorf(carehex.EINVALID, "review", "review is required")
	}
	r.Reason = carehex.Trimmed(r.Reason)
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Actor == "" {
		r.Actor = actorOf(ctx)
	}
	r.Time = s.stamp()
	return s.inTx(ctx, "review visit", func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT status FROM visits WHERE id = ?`), r.VisitID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "visit_id", "no visit %q", r.VisitID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO evv_reviews (id, visit_id, decision, reason, actor, time)
			VALUES (?, ?, ?, ?, ?, ?)`), carehex.NewID("evr"), r.VisitID, string(r.Decision), r.Reason, r.Actor, micros(r.Time)); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Actor: r.Actor, Time: r.Time, Action: "visit.evv_" + string(r.Decision),
			ObjectType: "visit", ObjectID: r.VisitID, Detail: r.Reason})
	})
}

// settleVisitSelect reads completed visits as settlement sees them: the
// request's resident and service, the provider's organisation, the arrival
// and completion events with their exceptions, and the newest EVV ruling.
const settleVisitSelect = `SELECT v.id, v.request_id, r.resident_id, v.provider_id, p.org_id, r.service_code, v.finish_time,
	COALESCE(a.device_time, 0), COALESCE(a.verified, 0),
	COALESCE(c.device_time, 0),
	COALESCE((SELECT decision FROM evv_reviews e WHERE e.visit_id = v.id ORDER BY e.time DESC, e.id DESC LIMIT 1), '')
	FROM visits v
	JOIN service_requests r ON r.id = v.request_id
	JOIN providers p ON p.id = v.provider_id
	LEFT JOIN visit_events a ON a.visit_id = v.id AND a.type = 'arrive'
	LEFT JOIN visit_events c ON c.visit_id = v.id AND c.type = 'complete'`

// SettleVisits lists the visits completed in [from, to), by finish time.
func (s *DB) SettleVisits(ctx context.Context, from, to time.Time) ([]*carehex.SettleVisit, error) {
	vs, err := queryAll(ctx, s, "list visits to settle", scanSettleVisit, s.rebind(settleVisitSelect+
		` WHERE v.status = 'completed' AND v.finish_time >= ? AND v.finish_time < ? ORDER BY v.finish_time, v.id`),
		micros(from), micros(to))
	if err != nil {
		return nil, err
	}
	return vs, s.loadExceptions(ctx, vs)
}

// LateVisits lists the visits held back on a closed statement of a month
// before month and on no statement line of another month than month since:
// the candidates for adjustment lines on month's statement.
func (s *DB) LateVisits(ctx context.Context, month string) ([]*carehex.SettleVisit, error) {
	vs, err := queryAll(ctx, s, "list late visits", scanSettleVisit, s.rebind(settleVisitSelect+`
		WHERE v.id IN (SELECT h.visit_id FROM statement_held h JOIN statements hs ON hs.id = h.statement_id
			WHERE hs.status = 'closed' AND hs.month < ?)
		AND NOT EXISTS (SELECT 1 FROM statement_lines l JOIN statements ls ON ls.id = l.statement_id
			WHERE l.visit_id = v.id AND ls.month <> ?)
		AND v.status = 'completed'
		ORDER BY v.finish_time, v.id`), month, month)
	if err != nil {
		return nil, err
	}
	return vs, s.loadExceptions(ctx, vs)
}

// MissedVisits lists the visits completed in [from, to) that are on no
// statement at all, neither as a line nor held back: visits whose month
// was closed before they completed (a phone that synced late), or whose
// month was never settled. Settlement keeps those of closed months as
// adjustment candidates.
func (s *DB) MissedVisits(ctx context.Context, from, to time.Time) ([]*carehex.SettleVisit, error) {
	vs, err := queryAll(ctx, s, "list missed visits", scanSettleVisit, s.rebind(settleVisitSelect+`
		WHERE v.status = 'completed' AND v.finish_time >= ? AND v.finish_time < ?
		AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.visit_id = v.id)
		AND NOT EXISTS (SELECT 1 FROM statement_held h WHERE h.visit_id = v.id)
		ORDER BY v.finish_time, v.id`), micros(from), micros(to))
	if err != nil {
		return nil, err
	}
	return vs, s.loadExceptions(ctx, vs)
}

// SettledLater names the visits completed in [from, to) that a statement
// of a later month than month carries: as an adjustment line, or held back
// because they completed after their own month closed.
func (s *DB) SettledLater(ctx context.Context, from, to time.Time, month string) (map[string]bool, error) {
	ids, err := queryAll(ctx, s, "list visits settled later", func(sc interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, s.rebind(`SELECT l.visit_id FROM statement_lines l JOIN statements st ON st.id = l.statement_id
		WHERE l.adjusts_month <> '' AND l.service_time >= ? AND l.service_time < ? AND st.month > ?
		UNION SELECT h.visit_id FROM statement_held h JOIN statements st ON st.id = h.statement_id
		WHERE h.finish_time >= ? AND h.finish_time < ? AND st.month > ?`),
		micros(from), micros(to), month, micros(from), micros(to), month)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// ClosedStatements lists the closed (organisation, month) pairs.
func (s *DB) ClosedStatements(ctx context.Context) (map[[2]string]bool, error) {
	pairs, err := queryAll(ctx, s, "list closed statements", func(sc interface{ Scan(...any) error }) ([2]string, error) {
		var p [2]string
		return p, sc.Scan(&p[0], &p[1])
	}, `SELECT org_id, month FROM statements WHERE status = 'closed'`)
	if err != nil {
		return nil, err
	}
	out := make(map[[2]string]bool, len(pairs))
	for _, p := range pairs {
		out[p] = true
	}
	return out, nil
}

func scanSettleVisit(sc interface{ Scan(...any) error }) (*carehex.SettleVisit, error) {
	var (
		v                        carehex.SettleVisit
		finish, arrive, complete int64
		verified                 int64
		review                   string
	)
	if err := sc.Scan(&v.VisitID, &v.RequestID, &v.ResidentID, &v.ProviderID, &v.OrgID, &v.ServiceCode, &finish,
		&arrive, &verified, &complete, &review); err != nil {
		return nil, err
	}
	v.FinishTime, v.Arrive, v.Complete = fromMicros(finish), fromMicros(arrive), fromMicros(complete)
	v.ArriveVerified, v.Review = verified != 0, carehex.EVVDecision(review)
	return &v, nil
}

// loadExceptions fills in the EVV exceptions of vs's events, a chunk of
// visits per query.
func (s *DB) loadExceptions(ctx context.Context, vs []*carehex.SettleVisit) error {
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
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT visit_id, exception FROM visit_events
			WHERE exception <> '' AND visit_id IN (`+placeholders(len(part))+`) ORDER BY visit_id, device_time`), args...)
		if err != nil {
			return s.wrap(err, "read visit exceptions")
		}
		for rows.Next() {
			var id, exc string
			if err := rows.Scan(&id, &exc); err != nil {
				rows.Close()
				return s.wrap(err, "read visit exceptions")
			}
			byID[id].Exceptions = append(byID[id].Exceptions, strings.Fields(exc)...)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return s.wrap(err, "read visit exceptions")
		}
	}
	if err := s.loadFraudHolds(ctx, vs); err != nil { // fraud.go
		return err
	}
	return s.loadCardScans(ctx, vs)
}
