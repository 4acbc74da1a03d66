package mobileapi

import (
	"context"
	"sync"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
)

// tokenCache remembers, for at most three reconciles (a minute by
// default: longer than the phones' 30 s between calls, or it would never
// be hit), whose a provider's device token is, so that a phone's heartbeat (every 30 s) and the start of each
// long poll do not each read the token from SQL: with 20,000 phones online
// that read was most of the idle server's SQL.
//
// An entry is dropped the moment the provider's notice is published: a
// revocation publishes it (sqlstore's publishRevoked), and so does any change
// to their offers. So a revoked token stops working on this replica at once,
// and on the others as soon as the notice crosses Redis (when that notice is
// lost, at most three reconciles: docs/RELIABILITY.md). A long poll
// or stream woken by a notice re-checks its token in SQL, never here
// (recheck). TestRevokedDeviceStreamEnds revokes a token its heartbeat
// cached and is refused at once. Only provider tokens are kept; family and console tokens are
// few and always read.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]*cachedToken // by token hash
}

type cachedToken struct {
	p      carehex.Principal
	until  time.Time
	wake   <-chan struct{} // the provider's notice was published: drop
	cancel func()
}

// tokenTTLReconciles is how many reconciles a cached token is trusted.
const tokenTTLReconciles = 3

// maxCachedTokens bounds the cache (and its hub subscriptions): a province's
// phones, with room; past it, tokens are read from SQL as before.
const maxCachedTokens = 200_000

// authenticate is auth.Authenticate through the cache.
func (s *Server) authenticate(ctx context.Context, token string) (carehex.Principal, error) {
	hash := auth.HashToken(token)
	now := s.now()
	if p, ok := s.tokens.get(hash, now); ok {
		return p, nil
	}
	p, err := auth.Authenticate(ctx, s.store, now, token)
	if err == nil && p.Kind == carehex.KindProvider {
		s.tokens.put(hash, p, now, tokenTTLReconciles*s.cfg.Reconcile, s.notices)
	}
	return p, err
}

func (c *tokenCache) get(hash string, now time.Time) (carehex.Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[hash]
	if e == nil {
		return carehex.Principal{}, false
	}
	if e.stale(now) {
		e.cancel()
		delete(c.entries, hash)
		return carehex.Principal{}, false
	}
	return e.p, true
}

func (c *tokenCache) put(hash string, p carehex.Principal, now time.Time, ttl time.Duration, notices carehex.Subscriber) {
	// Subscribed before the entry is visible: a revocation published from
	// now on drops it. One published between the SQL read and this
	// subscription is the window every reader of a token has.
	wake, cancel := notices.Subscribe(providerNotice(p.Subject))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]*cachedToken)
	}
	if old := c.entries[hash]; old != nil {
		old.cancel()
	} else if len(c.entries) >= maxCachedTokens {
		for h, e := range c.entries {
			if e.stale(now) {
				e.cancel()
				delete(c.entries, h)
			}
		}
		if len(c.entries) >= maxCachedTokens {
			cancel()
			return
		}
	}
	// Spread like the long polls: tokens cached together (every phone's
	// first call after a restart) expire apart, not in one herd of reads.
	c.entries[hash] = &cachedToken{p: p, until: now.Add(spread(ttl)), wake: wake, cancel: cancel}
}

// stale: past its time, or the provider's notice came.
func (e *cachedToken) stale(now time.Time) bool {
	if !now.Before(e.until) {
		return true
	}
	select {
	case <-e.wake:
		return true
	default:
		return false
	}
}
