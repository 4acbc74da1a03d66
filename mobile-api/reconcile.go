package mobileapi

import (
	"context"
	"time"

	"github.com/carehex/carehex"
)

// The phones' safety net for a lost notice is one pass per process, not a
// timer per waiting phone: 20,000 phones each re-reading every Reconcile
// would be 1,000 SQL reads a second doing nothing. Every Reconcile,
// RunReconcile lists the open offers (one indexed query, whatever the
// number of phones) and wakes, on this process's hub alone, the waiters of
// each provider holding one: a phone whose notice was lost re-reads and
// gets its offer. What else a lost notice carries reaches the phone anyway:
// a long poll re-reads when the phone polls again (at most MaxWait later),
// and a stream's writer re-checks the token before every offer it sends.
// While RunReconcile is not running (tests, tools), each long poll and
// offer stream keeps its own Reconcile timer, as before.

// reconcileBatch bounds the open offers one pass wakes for, soonest expiry
// first; the rest are woken by the next pass (a city has some hundreds
// open at its busiest).
const reconcileBatch = 1000

// reconcileHorizon reaches past the expiry of every open offer.
const reconcileHorizon = 24 * time.Hour

// RunReconcile wakes, every Reconcile until ctx is done, the local waiters
// of every provider holding an open offer, through local (the process's
// hub: the other replicas run their own pass). It returns ctx's error; its
// caller (carehex serve) owns the goroutine.
func (s *Server) RunReconcile(ctx context.Context, local carehex.Publisher) error {
	s.central.Store(true)
	defer s.central.Store(false)
	t := time.NewTicker(s.cfg.Reconcile)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := s.reconcile(ctx, local); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "mobile.reconcile", "err", err)
		}
	}
}

// reconcile is one pass of RunReconcile.
func (s *Server) reconcile(ctx context.Context, local carehex.Publisher) error {
	now := s.now()
	open, err := s.store.DueOffers(ctx, now.Add(reconcileHorizon), reconcileBatch)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(open))
	notices := make([]carehex.Notice, 0, len(open))
	for _, o := range open {
		if o.ExpireTime.After(now) && !seen[o.ProviderID] {
			seen[o.ProviderID] = true
			notices = append(notices, providerNotice(o.ProviderID))
		}
	}
	return local.Publish(ctx, notices...)
}

// ownReconcile is a waiter's own reconcile timer, when no process-wide
// pass runs (nil channel otherwise), and its stop func.
func (s *Server) ownReconcile() (<-chan time.Time, func()) {
	if s.central.Load() {
		return nil, func() {}
	}
	t := time.NewTicker(s.cfg.Reconcile)
	return t.C, t.Stop
}
