package mobileapi

import (
	"context"
	"net/http"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
)

// stillAuthorised re-checks the token a stream was opened with: a stream
// outlives the one check at its start, and a revoked device token or an
// unlinked family member must stop receiving at once. One lookup by the
// token's hash (the tokens table's primary key). Any failure ends the
// stream: the phone reconnects, and is checked afresh.
func (s *Server) stillAuthorised(ctx context.Context, r *http.Request) bool {
	return s.recheck(ctx, r) == nil
}

// recheck is stillAuthorised with the reason, for a long poll that answers
// with it.
func (s *Server) recheck(ctx context.Context, r *http.Request) error {
	token, err := auth.BearerToken(r.Header)
	if err != nil {
		return err
	}
	_, err = auth.Authenticate(ctx, s.store, s.now(), token)
	return err
}

// guarded wraps a stream's writer so that nothing more is written once the
// stream's token no longer holds.
func (s *Server) guarded(ctx context.Context, r *http.Request, write func(format string, args ...any) bool) func(format string, args ...any) bool {
	return func(format string, args ...any) bool {
		if !s.stillAuthorised(ctx, r) {
			s.log.InfoContext(ctx, "mobile.stream_revoked", "path", r.URL.Path)
			return false
		}
		return write(format, args...)
	}
}

// renewFamilyToken: POST /m/v1/family/token → {token, expire_time}. A
// family token lives FamilyTTL (30 days by default, not a year, so a lost
// phone's access runs out by itself); the family's phone renews it before
// then with this call, which issues a new token for the same link and
// revokes the one that made the call. An unlinked member cannot renew: their
// token was revoked with the link.
func (s *Server) renewFamilyToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, _ := carehex.PrincipalFrom(ctx)
	old, err := auth.BearerToken(r.Header)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.member(ctx, r); err != nil {
		s.fail(w, r, err)
		return
	}
	expires := s.now().Add(s.cfg.FamilyTTL).UTC()
	token, err := auth.Issue(ctx, s.store, p, expires)
	if err == nil {
		err = auth.Revoke(ctx, s.store, old)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"token": token, "expire_time": expires.Truncate(time.Second).Format(time.RFC3339)})
}
