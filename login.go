package carehex

import (
	"context"
	"time"
)

// LoginPolicy is how many wrong passwords a username and a client address
// may send before logins from them are refused for a while. Guessing is
// bounded per username (a targeted account) and per address (one client
// trying many usernames); each lockout is twice as long as the one before,
// so a patient attacker gets exponentially fewer guesses per day.
type LoginPolicy struct {
	// MaxFailures wrong passwords for one username within Window are
	// answered as usual; the next attempt is refused until the lockout ends.
	MaxFailures int
	// MaxAddrFailures is the same limit for one client address, over all
	// usernames: higher, since an office may share one address.
	MaxAddrFailures int
	// Window is how far back failures count.
	Window time.Duration
	// Lockout is the first lockout's length; each next one (before a
	// successful login or an unlock) doubles, up to MaxLockout.
	Lockout    time.Duration
	MaxLockout time.Duration
}

// DefaultLoginPolicy returns the defaults: 10 wrong passwords per username
// (100 per address) in 15 minutes, then 15 minutes locked, doubling to a day.
func DefaultLoginPolicy() LoginPolicy {
	return LoginPolicy{MaxFailures: 10, MaxAddrFailures: 100, Window: 15 * time.Minute,
		Lockout: 15 * time.Minute, MaxLockout: 24 * time.Hour}
}

// Validate names the first bad setting.
func (p LoginPolicy) Validate() error {
	switch {
	case p.MaxFailures < 1:
		return Errorf(EINVALID, "MaxFailures", "login policy: MaxFailures must be at least 1")
	case p.MaxAddrFailures < 1:
		return Errorf(EINVALID, "MaxAddrFailures", "login policy: MaxAddrFailures must be at least 1")
	case p.Window <= 0:
		return Errorf(EINVALID, "Window", "login policy: Window must be positive")
	case p.Lockout <= 0 || p.MaxLockout < p.Lockout:
		return Errorf(EINVALID, "Lockout", "login policy: Lockout must be positive and no more than MaxLockout")
	}
	return nil
}

// LoginThrottle is the failure count of one throttle key ("user:NAME" or
// "addr:IP").
type LoginThrottle struct {
	Key         string
	Failures    int       // wrong passwords since WindowStart
	WindowStart time.Time // first failure counted
	LockedUntil time.Time // zero or past: not locked
	Lockouts    int       // lockouts since the last success or unlock
}

// Fail is t after one more wrong password at now, max being the key's limit:
// failures older than the window are forgotten, and reaching max starts a
// lockout of Lockout·2^(lockouts so far), capped at MaxLockout.
func (p LoginPolicy) Fail(t LoginThrottle, now time.Time, max int) LoginThrottle {
	if t.WindowStart.IsZero() || now.Sub(t.WindowStart) >= p.Window {
		t.Failures, t.WindowStart = 0, now
	}
	t.Failures++
	if t.Failures >= max {
		d := p.Lockout
		for i := 0; i < t.Lockouts && d < p.MaxLockout; i++ {
			d *= 2
		}
		d = min(d, p.MaxLockout)
		t.LockedUntil, t.Lockouts = now.Add(d), t.Lockouts+1
		t.Failures, t.WindowStart = 0, time.Time{}
	}
	return t
}

// Throttle keys: one per username, one per client address.
func UserThrottleKey(username string) string { return "user:" + username }
func AddrThrottleKey(addr string) string     { return "addr:" + addr }

// LoginAttempt is one login try, as the throttle and the audit trail see it.
type LoginAttempt struct {
	Username string
	Addr     string // client address (IP), as the edge determined it
	Time     time.Time
}

// Session is one console session (token) of a user, named by an ID that is
// not the token.
type Session struct {
	ID         string
	UserID     string
	CreateTime time.Time
	ExpireTime time.Time
}

// SessionID names the session of a token by its hash: "ses_" and the
// hash's first 16 hex digits. Stable, unique in practice (64 bits), and no
// help in forging the token.
func SessionID(tokenHash string) string {
	if len(tokenHash) < 16 {
		return "ses_" + tokenHash
	}
	return "ses_" + tokenHash[:16]
}

// AccessStore keeps what lets people in and what withdraws access: the login
// throttle, disabled accounts, sessions and family links.
type AccessStore interface {
	// LoginLockedUntil returns when the latest active lockout among keys
	// ends; zero when none is active at now.
	LoginLockedUntil(ctx context.Context, keys []string, now time.Time) (time.Time, error)
	// LoginFailed counts a wrong password against the attempt's username
	// and address under p, audits it, and returns the lockout end it started
	// (zero if none).
	LoginFailed(ctx context.Context, a LoginAttempt, p LoginPolicy) (time.Time, error)
	// LoginRefused audits an attempt refused because of a lockout until until.
	LoginRefused(ctx context.Context, a LoginAttempt, until time.Time) error
	// LoginSucceeded forgets the username's failures and lockouts.
	LoginSucceeded(ctx context.Context, username string) error
	// UnlockLogin ends the lockout of a throttle key and forgets its
	// failures; it reports whether there was anything to clear.
	UnlockLogin(ctx context.Context, key string) (bool, error)
	// SetUserDisabled disables (revoking every token at once) or re-enables
	// an account.
	SetUserDisabled(ctx context.Context, username string, disabled bool) (*User, error)
	// UserSessions lists a user's unexpired, unrevoked sessions, newest first.
	UserSessions(ctx context.Context, userID string, now time.Time) ([]*Session, error)
	// EndSession revokes one session of a user.
	EndSession(ctx context.Context, userID, sessionID string) error
	// UnlinkFamilyMember removes a family link and revokes its tokens.
	UnlinkFamilyMember(ctx context.Context, id string) (*FamilyMember, error)
}
