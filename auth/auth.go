// Package auth owns credentials: password hashing, the random bearer tokens
// of console sessions, provider phones and family members, and turning a
// bearer token into the carehex.Principal who is asking. Tokens are 256 random
// bits; only their SHA-256 is stored, so a copy of the database opens nothing.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLen is the shortest password accepted for a console account.
const MinPasswordLen = 10

// HashPassword returns the bcrypt hash of a password.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLen {
		return "", carehex.Errorf(carehex.EINVALID, "password", "password must be at least %d characters", MinPasswordLen)
	}
	if len(password) > 72 { // bcrypt's limit; longer input would be silently cut
		return "", carehex.Errorf(carehex.EINVALID, "password", "password must be at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", carehex.Internal(err, "hash password")
	}
	return string(h), nil
}

// dummyHash is compared against when the user does not exist, so a login
// takes as long for an unknown user as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("carehex-no-such-user"), bcrypt.DefaultCost)

// ErrBadLogin is the one answer to a wrong username or password: it does not
// say which was wrong.
var ErrBadLogin = carehex.Errorf(carehex.EUNAUTHENTICATED, "", "wrong username or password").With(carehex.MsgBadLogin)

// Issue creates a new token for p, stores its hash and returns the token.
func Issue(ctx context.Context, store carehex.AuthStore, p carehex.Principal, expires time.Time) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", carehex.Internal(err, "token entropy")
	}
	token := prefix(p.Kind) + base64.RawURLEncoding.EncodeToString(b[:])
	if err := store.CreateToken(ctx, HashToken(token), p, expires); err != nil {
		return "", err
	}
	return token, nil
}

// prefix makes a token's kind visible to a human reading a log or a support
// ticket, without revealing anything else.
func prefix(k carehex.PrincipalKind) string {
	switch k {
	case carehex.KindProvider:
		return "chd_" // device
	case carehex.KindFamily:
		return "chf_"
	default:
		return "chs_" // session
	}
}

// HashToken is how a token is stored and looked up.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ErrNoToken is the answer to a call without credentials.
var ErrNoToken = carehex.Errorf(carehex.EUNAUTHENTICATED, "", "missing bearer token: send Authorization: Bearer <token>")

// BearerToken returns the token of an "Authorization: Bearer …" header.
func BearerToken(h http.Header) (string, error) {
	v := h.Get("Authorization")
	if v == "" {
		return "", ErrNoToken
	}
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", carehex.Errorf(carehex.EUNAUTHENTICATED, "", "Authorization header must be: Bearer <token>")
	}
	return strings.TrimSpace(tok), nil
}

// Authenticate returns who holds token.
func Authenticate(ctx context.Context, store carehex.AuthStore, now time.Time, token string) (carehex.Principal, error) {
	if token == "" || len(token) > 200 {
		return carehex.Principal{}, carehex.Errorf(carehex.EUNAUTHENTICATED, "", "invalid or expired token").With(carehex.MsgTokenInvalid)
	}
	p, err := store.TokenPrincipal(ctx, HashToken(token), now)
	if err != nil {
		if carehex.ErrorCode(err) == carehex.EUNAUTHENTICATED || carehex.ErrorCode(err) == carehex.ENOTFOUND {
			return carehex.Principal{}, carehex.Errorf(carehex.EUNAUTHENTICATED, "", "invalid or expired token").With(carehex.MsgTokenInvalid)
		}
		return carehex.Principal{}, err
	}
	return p, nil
}

// Revoke ends the session or device token given.
func Revoke(ctx context.Context, store carehex.AuthStore, token string) error {
	if token == "" {
		return errors.New("auth: empty token")
	}
	return store.RevokeToken(ctx, HashToken(token))
}
