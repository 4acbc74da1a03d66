package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// Page sizes of the audit trail.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// CreateUser saves a console account; a taken username is ECONFLICT.
func (s *DB) CreateUser(ctx context.Context, u *carehex.User) error {
	if u == nil {
		return carehex.Errorf(carehex.EINVALID, "user", "user is required")
	}
	u.Username = carehex.Trimmed(u.Username)
	if u.Username == "" || len(u.Username) > carehex.MaxNameLen {
		return carehex.Errorf(carehex.EINVALID, "username", "username must be 1 to %d characters", carehex.MaxNameLen)
	}
	if _, err := carehex.ParseRole(string(u.Role)); err != nil {
		return err
	}
	if u.PasswordHash == "" {
		return carehex.Errorf(carehex.EINVALID, "password", "password hash is required")
	}
	u.Area = carehex.Trimmed(u.Area)
	if u.Area != "" && u.Role != carehex.RoleSupervisor {
		return carehex.Errorf(carehex.EINVALID, "area", "only a supervisor account can be limited to an area")
	}
	if err := carehex.ValidateText("area", u.Area, carehex.MaxNameLen, carehex.SingleLine); err != nil {
		return err
	}
	u.OrgID = carehex.Trimmed(u.OrgID)
	switch {
	case u.Role.OrgRole() && u.OrgID == "":
		return carehex.Errorf(carehex.EINVALID, "org_id", "an %s account needs its organisation", u.Role)
	case !u.Role.OrgRole() && u.OrgID != "":
		return carehex.Errorf(carehex.EINVALID, "org_id", "only org_dispatcher and org_admin accounts belong to an organisation")
	}
	now := s.stamp()
	id := carehex.NewID("usr")
	err := s.inTx(ctx, "create user", func(tx *sql.Tx) error {
		// ON CONFLICT instead of catching the unique violation: it reads the
		// same on both databases and leaves a PostgreSQL transaction usable.
		if u.OrgID != "" {
			var one int
			err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM organisations WHERE id = ?`), u.OrgID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return carehex.Errorf(carehex.ENOTFOUND, "org_id", "no organisation %q", u.OrgID)
			}
			if err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO users (id, username, role, password_hash, create_time, area, org_id)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING`),
			id, u.Username, string(u.Role), u.PasswordHash, micros(now), u.Area, u.OrgID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return carehex.Errorf(carehex.ECONFLICT, "username", "username %q is taken", u.Username)
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "user.create", ObjectType: "user", ObjectID: id,
			Detail: "role=" + string(u.Role) + orgDetail(u.OrgID)})
	})
	if err != nil {
		return err
	}
	u.ID, u.CreateTime = id, now
	return nil
}

// UserByUsername returns a console account.
func (s *DB) UserByUsername(ctx context.Context, username string) (*carehex.User, error) {
	var (
		u           carehex.User
		role        string
		t, disabled int64
	)
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT id, username, role, password_hash, create_time, disabled, org_id
		FROM users WHERE username = ?`), carehex.Trimmed(username)).Scan(&u.ID, &u.Username, &role, &u.PasswordHash, &t, &disabled, &u.OrgID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "username", "no user %q", username)
	}
	if err != nil {
		return nil, s.wrap(err, "read user")
	}
	u.Role, u.CreateTime, u.Disabled = carehex.Role(role), fromMicros(t), disabled != 0
	return &u, nil
}

// CreateToken stores the hash of a new token for p.
func (s *DB) CreateToken(ctx context.Context, tokenHash string, p carehex.Principal, expires time.Time) error {
	switch {
	case tokenHash == "":
		return carehex.Errorf(carehex.EINVALID, "token", "token hash is required")
	case p.Subject == "":
		return carehex.Errorf(carehex.EINVALID, "subject", "token subject is required")
	case p.Kind != carehex.KindUser && p.Kind != carehex.KindProvider && p.Kind != carehex.KindFamily:
		return carehex.Errorf(carehex.EINVALID, "kind", "unknown principal kind %q", p.Kind)
	}
	now := s.stamp()
	return s.inTx(ctx, "create token", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO tokens
			(token_hash, kind, subject, role, name, expires, revoked, create_time) VALUES (?, ?, ?, ?, ?, ?, 0, ?)`),
			tokenHash, string(p.Kind), p.Subject, string(p.Role), p.Name, micros(expires), micros(now)); err != nil {
			return err
		}
		// The hash is not recorded: the audit trail says who got access, not how.
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "token.create", ObjectType: string(p.Kind),
			ObjectID: p.Subject, Detail: "expires=" + expires.UTC().Format(time.RFC3339)})
	})
}

// errBadToken is the one answer for a missing, expired or revoked token, so a
// caller learns nothing about which.
var errBadToken = carehex.Errorf(carehex.EUNAUTHENTICATED, "", "token is not valid")

// TokenPrincipal returns who a token hash stands for, if it is still good at now.
func (s *DB) TokenPrincipal(ctx context.Context, tokenHash string, now time.Time) (carehex.Principal, error) {
	var (
		p                carehex.Principal
		kind, role       string
		expires, revoked int64
	)
	// The area and organisation are read from the account, not the token,
	// so narrowing a supervisor's area applies to her open sessions at once.
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT t.kind, t.subject, t.role, t.name, t.expires, t.revoked,
			COALESCE(u.area, ''), COALESCE(u.org_id, '')
		FROM tokens t LEFT JOIN users u ON t.kind = 'user' AND u.id = t.subject WHERE t.token_hash = ?`), tokenHash).
		Scan(&kind, &p.Subject, &role, &p.Name, &expires, &revoked, &p.Area, &p.OrgID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return carehex.Principal{}, errBadToken
	case err != nil:
		return carehex.Principal{}, s.wrap(err, "read token")
	case revoked != 0 || expires <= now.UnixMicro():
		return carehex.Principal{}, errBadToken
	}
	p.Kind, p.Role = carehex.PrincipalKind(kind), carehex.Role(role)
	if p.Role.OrgRole() && p.OrgID == "" {
		// Fail closed: an organisation role without its organisation would
		// otherwise be scoped to nothing, which reads as everything.
		return carehex.Principal{}, errBadToken
	}
	return p, nil
}

func orgDetail(orgID string) string {
	if orgID == "" {
		return ""
	}
	return " org=" + orgID
}

// RevokeToken ends one token; revoking an unknown or revoked token is no error,
// so a retried logout succeeds.
func (s *DB) RevokeToken(ctx context.Context, tokenHash string) error {
	var kind, subject string
	err := s.inTx(ctx, "revoke token", func(tx *sql.Tx) error {
		kind, subject = "", ""
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT kind, subject FROM tokens WHERE token_hash = ? AND revoked = 0`),
			tokenHash).Scan(&kind, &subject)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE tokens SET revoked = 1 WHERE token_hash = ?`), tokenHash); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "token.revoke", ObjectType: kind, ObjectID: subject})
	})
	if err == nil {
		s.publishRevoked(ctx, carehex.PrincipalKind(kind), subject)
	}
	return err
}

// publishRevoked wakes the open long polls and streams of a principal whose
// tokens were revoked: they re-check their token when woken and end at once
// (a provider's wait on its provider notice). Family streams wait on their
// resident's notice; UnlinkFamilyMember publishes that one.
func (s *DB) publishRevoked(ctx context.Context, kind carehex.PrincipalKind, subject string) {
	if kind == carehex.KindProvider && subject != "" {
		s.publish(ctx, carehex.Notice{Topic: carehex.TopicProvider, ID: subject})
	}
}

// RevokeTokensOf ends every token of one principal, e.g. a lost phone's.
func (s *DB) RevokeTokensOf(ctx context.Context, kind carehex.PrincipalKind, subject string) error {
	revoked := false
	err := s.inTx(ctx, "revoke tokens", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE tokens SET revoked = 1 WHERE kind = ? AND subject = ? AND revoked = 0`),
			string(kind), subject)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		revoked = true
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "token.revoke_all", ObjectType: string(kind), ObjectID: subject})
	})
	if err == nil && revoked {
		s.publishRevoked(ctx, kind, subject)
	}
	return err
}

// Audit appends rec to the audit trail, setting its ID and, when zero, its time.
func (s *DB) Audit(ctx context.Context, rec *carehex.AuditRecord) error {
	if rec == nil || strings.TrimSpace(rec.Action) == "" {
		return carehex.Errorf(carehex.EINVALID, "action", "audit record needs an action")
	}
	return s.inTx(ctx, "audit", func(tx *sql.Tx) error { return s.audit(ctx, tx, rec) })
}

// AuditRecords reads the audit trail, newest first.
func (s *DB) AuditRecords(ctx context.Context, f carehex.AuditFilter) ([]*carehex.AuditRecord, error) {
	var (
		conds []string
		args  []any
	)
	if f.ObjectID != "" {
		conds, args = append(conds, "object_id = ?"), append(args, f.ObjectID)
	}
	if f.Actor != "" {
		conds, args = append(conds, "actor = ?"), append(args, f.Actor)
	}
	q := `SELECT id, time, actor, action, object_type, object_id, detail FROM audit_records`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	q += ` ORDER BY time DESC, id DESC LIMIT ?`
	args = append(args, clampLimit(f.Limit, defaultAuditLimit, maxAuditLimit))
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, s.wrap(err, "read audit records")
	}
	defer rows.Close()
	out := []*carehex.AuditRecord{}
	for rows.Next() {
		var r carehex.AuditRecord
		var t int64
		if err := rows.Scan(&r.ID, &t, &r.Actor, &r.Action, &r.ObjectType, &r.ObjectID, &r.Detail); err != nil {
			return nil, s.wrap(err, "read audit records")
		}
		r.Time = fromMicros(t)
		out = append(out, &r)
	}
	return out, s.wrap(rows.Err(), "read audit records")
}
