package mobileapi_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	mobileapi "github.com/carehex/carehex/mobile-api"
	"github.com/carehex/carehex/providers"
)

// backends: the embedded SQLite file and PostgreSQL.
var backends = []struct {
	name string
	dsn  func(testing.TB) string
}{
	{"sqlite", func(testing.TB) string { return "" }},
	{"postgres", testenv.PostgresURL},
}

// openStream opens path as an SSE stream with token and returns its lines.
func (e *env) openStream(ctx context.Context, path, token string) (*bufio.Scanner, func()) {
	e.t.Helper()
	hreq, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	hreq.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(hreq)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("stream %s: %d", path, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() { // the opening comment: the stream is up
		e.t.Fatalf("stream %s ended at once: %v", path, sc.Err())
	}
	return sc, func() { resp.Body.Close() }
}

// A phone's open offer stream stops at its token's revocation: the offer
// made after it is not delivered, and the stream ends within 1 s (the
// revocation's notice wakes it; the reconcile is 20 s).
func TestRevokedDeviceStreamEnds(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := newEnv(t, be.dsn(t)) // the default 20 s reconcile: only the revocation's notice can end it in time
			p, tok := e.provider("王芳")
			e.heartbeat(tok, at(zibo, 300))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sc, done := e.openStream(ctx, "/m/v1/offers/stream", tok)
			defer done()

			// Revoke the tokens only (not GoOffline), so the provider is still
			// offerable and an offer is made: the stream must not deliver it.
			if err := e.db.RevokeTokensOf(ctx, carehex.KindProvider, p.ID); err != nil {
				t.Fatal(err)
			}
			revoked := time.Now()
			req := e.request("meal_delivery")
			if offers, err := e.eng.Dispatch(ctx, req.ID); err != nil || len(offers) != 1 {
				t.Fatalf("Dispatch: %v, %d offers", err, len(offers))
			}
			ended := make(chan []string, 1)
			go func() {
				var lines []string
				for sc.Scan() {
					lines = append(lines, sc.Text())
				}
				ended <- lines
			}()
			select {
			case lines := <-ended:
				t.Logf("stream ended %v after revocation", time.Since(revoked).Round(time.Millisecond))
				if got := strings.Join(lines, "\n"); strings.Contains(got, req.ID) {
					t.Fatalf("offer delivered after revocation:\n%s", got)
				}
			case <-time.After(time.Second):
				t.Fatal("stream still open 1 s after revocation")
			}
			e.do("GET", "/m/v1/offers", tok, nil).want(t, http.StatusUnauthorized)
		})
	}
}

// GoOffline (what RevokeDeviceTokens calls) takes the provider out of the
// live index at once and withdraws the offer it holds.
func TestGoOffline(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := newEnv(t, be.dsn(t))
			ctx := context.Background()
			p, tok := e.provider("王芳")
			e.heartbeat(tok, at(zibo, 300))
			req := e.request("meal_delivery")
			offers, err := e.eng.Dispatch(ctx, req.ID)
			if err != nil || len(offers) != 1 {
				t.Fatalf("Dispatch: %v, %d offers", err, len(offers))
			}
			if err := e.eng.GoOffline(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.live.Live(ctx, p.ID); !errors.Is(err, providers.ErrUnknownProvider) {
				t.Errorf("live state after GoOffline: %v", err)
			}
			o, err := e.db.Offer(ctx, offers[0].ID)
			if err != nil || o.Status != carehex.OfferWithdrawn {
				t.Errorf("offer after GoOffline: %+v, %v; want withdrawn", o, err)
			}
			// Nobody else is free: the request waits for the next candidate, not for the revoked phone.
			if again, err := e.eng.Dispatch(ctx, req.ID); err == nil && len(again) > 0 {
				t.Errorf("offered again after GoOffline: %+v", again[0])
			}
			if err := e.eng.GoOffline(ctx, p.ID); err != nil {
				t.Errorf("second GoOffline: %v", err)
			}
		})
	}
}

// A family member renews their token before it ends; the old one stops, and
// an unlinked member's token and stream stop at once.
func TestFamilyTokenRenewAndUnlink(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := newEnv(t, be.dsn(t), func(c *mobileapi.Config) { c.FamilyTTL = 48 * time.Hour })
			r := e.do("POST", "/m/v1/family/token", e.family, nil).want(t, http.StatusOK)
			renewed, _ := r.body["token"].(string)
			exp, err := time.Parse(time.RFC3339, get(r.body, "expire_time").(string))
			if !strings.HasPrefix(renewed, "chf_") || err != nil || !exp.Equal(e.clock.Now().Add(48*time.Hour).Truncate(time.Second)) {
				t.Fatalf("renewal answered %s", r.raw)
			}
			e.do("GET", "/m/v1/family/visits", e.family, nil).want(t, http.StatusUnauthorized)
			e.do("GET", "/m/v1/family/visits", renewed, nil).want(t, http.StatusOK)
			e.clock.Advance(48*time.Hour + time.Second)
			e.do("GET", "/m/v1/family/visits", renewed, nil).want(t, http.StatusUnauthorized)
			e.clock.Advance(-48*time.Hour - time.Second)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sc, done := e.openStream(ctx, "/m/v1/family/stream", renewed)
			defer done()
			ms, err := e.db.FamilyMembers(ctx, e.res.ID)
			if err != nil || len(ms) != 1 {
				t.Fatalf("FamilyMembers: %v, %v", ms, err)
			}
			if _, err := e.db.UnlinkFamilyMember(opCtx(), ms[0].ID); err != nil {
				t.Fatal(err)
			}
			e.do("GET", "/m/v1/family/visits", renewed, nil).want(t, http.StatusUnauthorized)
			e.do("POST", "/m/v1/family/token", renewed, nil).want(t, http.StatusUnauthorized)
			// A change to the resident's requests is not streamed to the unlinked member.
			req := e.request("meal_delivery")
			for sc.Scan() {
				if strings.Contains(sc.Text(), req.ID) {
					t.Fatalf("unlinked member's stream delivered %s", sc.Text())
				}
			}
		})
	}
}
