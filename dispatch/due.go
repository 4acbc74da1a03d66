package dispatch

import (
	"context"
	"time"
)

// The engine's timed work is driven by the data, not by a short timer: each
// pass (Tick) notes when the next thing it saw falls due, and Run sleeps
// until the soonest of them or the reconcile, whichever comes first:
//
//   - the soonest open offer's expiry plus the grace (expireDue reads it in
//     the same query that lists the offers due now);
//   - an offer this engine just made (dispatch) expiring before then;
//   - a waiting request's deadline alert, or a scheduled request coming
//     within ScheduleLead of its window (dispatchWaiting);
//   - a request that found nobody free, at the end of its backoff
//     (foundNobody), or at once when a provider is freed while some rest
//     (freed);
//   - Redis rebuilt after a loss (recoverLive), or the sweep releasing a
//     dead replica's claims: at once.
//
// An idle city therefore costs one pass per reconcile (two SQL queries),
// whatever the number of phones.

// retryAfter is when a failed pass (SQL or Redis down) is tried again, and
// the next pass when a batch came back full (there is more to do).
const retryAfter = time.Second

// minGap keeps a pass that finds something due at once from spinning.
const minGap = 50 * time.Millisecond

// dueAt asks for a pass at t, unless one is due sooner already.
func (e *Engine) dueAt(t time.Time) {
	e.mu.Lock()
	sooner := e.due.IsZero() || t.Before(e.due)
	if sooner {
		e.due = t
	}
	e.mu.Unlock()
	if sooner {
		select {
		case e.sooner <- struct{}{}:
		default:
		}
	}
}

// resetDue starts a pass: with nothing else due, the next is a reconcile away.
func (e *Engine) resetDue(reconcile time.Duration) {
	e.mu.Lock()
	e.due = e.now().Add(reconcile)
	e.mu.Unlock()
}

// untilDue is how long Run sleeps before the next pass.
func (e *Engine) untilDue() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.due.IsZero() {
		return time.Duration(e.reconcile.Load())
	}
	return max(e.due.Sub(e.now()), minGap)
}

// horizon is how far ahead a pass looks for what falls due: the reconcile
// Run was given (none when Tick is called alone).
func (e *Engine) horizon() time.Duration { return time.Duration(e.reconcile.Load()) }

// checkLive is Run's frequent check, on Redis alone: rebuild the zone if
// Redis lost it (that reads SQL, once per loss), and release the claims of
// replicas that died. Either may free providers for the waiting requests,
// and says so through dueAt.
func (e *Engine) checkLive(ctx context.Context) error {
	if err := e.recoverLive(ctx); err != nil {
		return err
	}
	return e.sweep(ctx)
}
