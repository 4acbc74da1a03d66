package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/carehex/carehex"
)

var _ carehex.AccessStore = (*DB)(nil)

// anonymous is the actor of records about logins that did not succeed.
const anonymous = "anonymous"

// LoginLockedUntil returns when the latest active lockout among keys ends.
func (s *DB) LoginLockedUntil(ctx context.Context, keys []string, now time.Time) (time.Time, error) {
	if len(keys) == 0 {
		return time.Time{}, nil
	}
	args := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		args = append(args, k)
	}
	args = append(args, micros(now))
	var until sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT MAX(locked_until) FROM login_throttle
		WHERE key IN (`+placeholders(len(keys))+`) AND locked_until > ?`), args...).Scan(&until)
	if err != nil {
		return time.Time{}, s.wrap(err, "read login throttle")
	}
	if !until.Valid {
		return time.Time{}, nil
	}
	return fromMicros(until.Int64), nil
}

// LoginFailed counts one wrong password against the username and the
// address, and audits it (and the lockout it starts) in the same transaction.
func (s *DB) LoginFailed(ctx context.Context, a carehex.LoginAttempt, p carehex.LoginPolicy) (time.Time, error) {
	if err := p.Validate(); err != nil {
		return time.Time{}, err
	}
	if a.Username == "" {
		return time.Time{}, carehex.Errorf(carehex.EINVALID, "username", "username is required")
	}
	now := precise(a.Time)
	if now.IsZero() {
		now = s.stamp()
	}
	type limit struct {
		key string
		max int
	}
	limits := []limit{{carehex.UserThrottleKey(a.Username), p.MaxFailures}}
	if a.Addr != "" {
		limits = append(limits, limit{carehex.AddrThrottleKey(a.Addr), p.MaxAddrFailures})
	}
	// PostgreSQL: the row lock makes concurrent failures on one key count
	// one after the other; SQLite's immediate transaction already does.
	lockRow := ""
	if s.dialect == DialectPostgres {
		lockRow = " FOR UPDATE"
	}
	var until time.Time
	err := s.inTx(ctx, "record login failure", func(tx *sql.Tx) error {
		for _, l := range limits {
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO login_throttle (key, update_time) VALUES (?, ?)
				ON CONFLICT (key) DO NOTHING`), l.key, micros(now)); err != nil {
				return err
			}
			var (
				t                   = carehex.LoginThrottle{Key: l.key}
				windowStart, locked int64
			)
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT failures, window_start, locked_until, lockouts
				FROM login_throttle WHERE key = ?`+lockRow), l.key).Scan(&t.Failures, &windowStart, &locked, &t.Lockouts); err != nil {
				return err
			}
			t.WindowStart, t.LockedUntil = fromMicros(windowStart), fromMicros(locked)
			before := t.LockedUntil
			t = p.Fail(t, now, l.max)
			if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE login_throttle SET failures = ?, window_start = ?,
				locked_until = ?, lockouts = ?, update_time = ? WHERE key = ?`),
				t.Failures, micros(t.WindowStart), micros(t.LockedUntil), t.Lockouts, micros(now), l.key); err != nil {
				return err
			}
			if t.LockedUntil.Equal(before) {
				continue
			}
			if t.LockedUntil.After(until) {
				until = t.LockedUntil
			}
			if err := s.audit(ctx, tx, &carehex.AuditRecord{Time: now, Actor: anonymous, Action: "login.lockout",
				ObjectType: "login", ObjectID: l.key,
				Detail: fmt.Sprintf("username=%q addr=%s until=%s", a.Username, a.Addr, t.LockedUntil.Format(time.RFC3339))}); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Time: now, Actor: anonymous, Action: "login.fail",
			ObjectType: "login", ObjectID: carehex.UserThrottleKey(a.Username),
			Detail: fmt.Sprintf("username=%q addr=%s", a.Username, a.Addr)})
	})
	if err != nil {
		return time.Time{}, err
	}
	return until, nil
}

// LoginRefused audits an attempt refused during a lockout.
func (s *DB) LoginRefused(ctx context.Context, a carehex.LoginAttempt, until time.Time) error {
	return s.inTx(ctx, "audit refused login", func(tx *sql.Tx) error {
		return s.audit(ctx, tx, &carehex.AuditRecord{Time: a.Time, Actor: anonymous, Action: "login.locked",
			ObjectType: "login", ObjectID: carehex.UserThrottleKey(a.Username),
			Detail: fmt.Sprintf("username=%q addr=%s until=%s", a.Username, a.Addr, until.UTC().Format(time.RFC3339))})
	})
}

// LoginSucceeded forgets the username's failures and lockouts. The address
// keeps its count: one good account must not reset a guesser's address.
func (s *DB) LoginSucceeded(ctx context.Context, username string) error {
	_, err := s.w.ExecContext(ctx, s.rebind(`DELETE FROM login_throttle WHERE key = ?`), carehex.UserThrottleKey(username))
	return s.wrap(err, "reset login throttle")
}

// UnlockLogin ends a key's lockout and forgets its failures.
func (s *DB) UnlockLogin(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, carehex.Errorf(carehex.EINVALID, "key", "throttle key is required")
	}
	var cleared bool
	err := s.inTx(ctx, "unlock login", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM login_throttle WHERE key = ?`), key)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		cleared = true
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "login.unlock", ObjectType: "login", ObjectID: key})
	})
	return cleared, err
}

// SetUserDisabled disables or re-enables an account. Disabling revokes every
// token of the account in the same transaction, so its sessions stop working
// at once; re-enabling restores none of them.
func (s *DB) SetUserDisabled(ctx context.Context, username string, disabled bool) (*carehex.User, error) {
	username = carehex.Trimmed(username)
	if username == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "username", "username is required")
	}
	var u *carehex.User
	err := s.inTx(ctx, "set user disabled", func(tx *sql.Tx) error {
		flag, action := 0, "user.enable"
		if disabled {
			flag, action = 1, "user.disable"
		}
		var id string
		err := tx.QueryRowContext(ctx, s.rebind(`UPDATE users SET disabled = ? WHERE username = ? RETURNING id`),
			flag, username).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "username", "no user %q", username)
		}
		if err != nil {
			return err
		}
		if disabled {
			if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE tokens SET revoked = 1 WHERE kind = ? AND subject = ? AND revoked = 0`),
				string(carehex.KindUser), id); err != nil {
				return err
			}
		}
		u = &carehex.User{ID: id, Username: username, Disabled: disabled}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: action, ObjectType: "user", ObjectID: id})
	})
	if err != nil {
		return nil, err
	}
	return s.UserByUsername(ctx, u.Username)
}

var sessionIDPattern = regexp.MustCompile(`^ses_[0-9a-f]{16}$`)

// UserSessions lists a user's live sessions, newest first.
func (s *DB) UserSessions(ctx context.Context, userID string, now time.Time) ([]*carehex.Session, error) {
	if userID == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "user_id", "user is required")
	}
	return queryAll(ctx, s, "read sessions", func(r interface{ Scan(...any) error }) (*carehex.Session, error) {
		var (
			hash             string
			created, expires int64
		)
		if err := r.Scan(&hash, &created, &expires); err != nil {
			return nil, err
		}
		return &carehex.Session{ID: carehex.SessionID(hash), UserID: userID, CreateTime: fromMicros(created), ExpireTime: fromMicros(expires)}, nil
	}, s.rebind(`SELECT token_hash, create_time, expires FROM tokens
		WHERE kind = ? AND subject = ? AND revoked = 0 AND expires > ? ORDER BY create_time DESC, token_hash`),
		string(carehex.KindUser), userID, micros(now))
}

// EndSession revokes one session of a user.
func (s *DB) EndSession(ctx context.Context, userID, id string) error {
	if !sessionIDPattern.MatchString(id) {
		return carehex.Errorf(carehex.EINVALID, "session_id", "session_id must look like ses_ and 16 hex digits")
	}
	// The hash prefix as a range, so the primary key index finds it on both
	// databases: every hex continuation sorts below prefix+"g".
	prefix := id[len("ses_"):]
	return s.inTx(ctx, "end session", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE tokens SET revoked = 1
			WHERE token_hash >= ? AND token_hash < ? AND kind = ? AND subject = ? AND revoked = 0`),
			prefix, prefix+"g", string(carehex.KindUser), userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return carehex.Errorf(carehex.ENOTFOUND, "session_id", "no open session %q", id)
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "session.end", ObjectType: "user", ObjectID: userID, Detail: id})
	})
}

// UnlinkFamilyMember removes a family link and revokes its tokens in one
// transaction: the next call with the member's token is refused. The link's
// name and phone go with it (they are kept for nothing else); the audit
// trail keeps that the link existed and who ended it.
func (s *DB) UnlinkFamilyMember(ctx context.Context, id string) (*carehex.FamilyMember, error) {
	if carehex.Trimmed(id) == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "family_member_id", "family_member_id is required")
	}
	m, err := s.FamilyMember(ctx, id)
	if carehex.ErrorCode(err) == carehex.ENOTFOUND {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "family_member_id", "no family member %q", id)
	}
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, "unlink family member", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM family_members WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 { // unlinked by someone else meanwhile
			return carehex.Errorf(carehex.ENOTFOUND, "family_member_id", "no family member %q", id)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE tokens SET revoked = 1 WHERE kind = ? AND subject = ? AND revoked = 0`),
			string(carehex.KindFamily), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "family.unlink", ObjectType: "resident", ObjectID: m.ResidentID,
			Detail: "family_member=" + id})
	})
	if err != nil {
		return nil, err
	}
	// The member's open family stream waits on the resident's notice; woken,
	// it re-checks its token and ends.
	s.publish(ctx, carehex.Notice{Topic: carehex.TopicResident, ID: m.ResidentID})
	return m, nil
}
