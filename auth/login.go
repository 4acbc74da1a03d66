package auth

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/carehex/carehex"
	"golang.org/x/crypto/bcrypt"
)

// Hasher bounds how many bcrypt comparisons run at once. bcrypt is meant to
// be slow, so a flood of logins left unbounded takes every core and starves
// dispatch, the phones and /healthz; bounded, the flood queues behind the
// slots (each waiter giving up with its request's context) and nothing else
// waits.
type Hasher struct{ slots chan struct{} }

// NewHasher returns a Hasher running at most n comparisons at once.
func NewHasher(n int) *Hasher {
	return &Hasher{slots: make(chan struct{}, max(n, 1))}
}

// DefaultHashConcurrency is half the cores, at least one: the other half
// stays free for everything else.
func DefaultHashConcurrency() int { return max(runtime.GOMAXPROCS(0)/2, 1) }

// Compare reports whether password matches hash, waiting for a free slot
// first; a cancelled ctx while waiting is the only error.
func (h *Hasher) Compare(ctx context.Context, hash, password string) (bool, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return false, carehex.Errorf(carehex.EUNAVAILABLE, "", "login queue is full, retry")
	}
	defer func() { <-h.slots }()
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil, nil
}

// LoginStore is what a login reads and writes.
type LoginStore interface {
	carehex.AuthStore
	carehex.AccessStore
}

// Logins checks console passwords under the login throttle.
type Logins struct {
	Store  LoginStore
	Policy carehex.LoginPolicy // zero: carehex.DefaultLoginPolicy()
	Hasher *Hasher             // nil: one of DefaultHashConcurrency slots, shared by the process
	Log    *slog.Logger        // nil: discard
	TTL    time.Duration       // session lifetime; zero: carehex.SessionTTL
}

var defaultHasher = NewHasher(DefaultHashConcurrency())

// ErrLocked is the answer while a lockout lasts, whatever the password.
func errLocked(wait time.Duration) error {
	return &carehex.Error{Code: carehex.ETOOMANY, Message: "too many failed logins; try again later",
		RetryAfter: max(wait, time.Millisecond)}
}

// Login checks a username and password from the client address addr at now
// and starts a console session. A username or address under lockout is
// refused before any hashing, even with the right password; a wrong
// password is counted against both and audited.
func (l *Logins) Login(ctx context.Context, now time.Time, username, password, addr string) (token string, u *carehex.User, expires time.Time, err error) {
	if len(username) > carehex.MaxNameLen {
		// No account has a longer name; refused before it reaches the
		// throttle table or the audit trail.
		return "", nil, time.Time{}, carehex.Errorf(carehex.EINVALID, "username", "username must be at most %d characters", carehex.MaxNameLen)
	}
	policy, hasher, log := l.Policy, l.Hasher, l.Log
	if policy == (carehex.LoginPolicy{}) {
		policy = carehex.DefaultLoginPolicy()
	}
	if hasher == nil {
		hasher = defaultHasher
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	attempt := carehex.LoginAttempt{Username: username, Addr: addr, Time: now}
	keys := []string{carehex.UserThrottleKey(username)}
	if addr != "" {
		keys = append(keys, carehex.AddrThrottleKey(addr))
	}
	until, err := l.Store.LoginLockedUntil(ctx, keys, now)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	if !until.IsZero() {
		log.WarnContext(ctx, "login.locked", "username", username, "addr", addr, "until", until)
		if err := l.Store.LoginRefused(ctx, attempt, until); err != nil {
			return "", nil, time.Time{}, err
		}
		return "", nil, time.Time{}, errLocked(until.Sub(now))
	}

	u, err = l.Store.UserByUsername(ctx, username)
	hash := ""
	switch {
	case carehex.ErrorCode(err) == carehex.ENOTFOUND:
		hash = string(dummyHash) // as slow as a wrong password: no hint the user exists
	case err != nil:
		return "", nil, time.Time{}, err
	default:
		hash = u.PasswordHash
	}
	ok, err := hasher.Compare(ctx, hash, password)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	if !ok || u == nil {
		log.WarnContext(ctx, "login.fail", "username", username, "addr", addr)
		if _, err := l.Store.LoginFailed(ctx, attempt, policy); err != nil {
			return "", nil, time.Time{}, err
		}
		return "", nil, time.Time{}, ErrBadLogin
	}
	if u.Disabled {
		log.WarnContext(ctx, "login.disabled", "username", username, "addr", addr)
		return "", nil, time.Time{}, carehex.Errorf(carehex.EFORBIDDEN, "", "this account is disabled; ask an administrator").With(carehex.MsgAccountDisabled)
	}
	if err := l.Store.LoginSucceeded(ctx, username); err != nil {
		return "", nil, time.Time{}, err
	}
	ttl := l.TTL
	if ttl <= 0 {
		ttl = carehex.SessionTTL
	}
	p := carehex.Principal{Kind: carehex.KindUser, Subject: u.ID, Role: u.Role, Name: u.Username}
	expires = now.Add(ttl)
	token, err = Issue(ctx, l.Store, p, expires)
	return token, u, expires, err
}
