// Package dispatch is carehex's matching engine: it finds the providers who
// can serve a waiting request, ranks them with an explanation an operator can
// read, offers the request (to one provider at a time, or to several at once
// for an emergency), turns an acceptance or an operator's choice into a
// visit, and runs the background work that keeps dispatch moving: expiring
// unanswered offers, releasing claims whose holder died, raising alerts when
// nobody accepts, and rebuilding the live availability after Redis lost it.
//
// It owns no state of its own. Redis (package providers) decides fast who may
// be offered a job: a claim reserves a provider and hands out a fencing
// token. The system of record decides last: the offer is recorded under that
// token, and VisitStore.AssignRequest commits an assignment only with a token
// newer than any it has seen and only into free time, so a claim from a
// paused replica or from before a Redis restart loses (invariant 1). Every
// step is safe to run on several replicas at once: losers of a race get
// ECONFLICT from SQL and undo their Redis claims.
package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carehex/carehex"
)

// Actor names the dispatcher in events and audit records.
const Actor = "system:dispatch"

// Store is what the engine needs of the system of record. One
// *sqlstore.DB implements it.
type Store interface {
	carehex.RequestStore
	carehex.ResidentStore
	carehex.ProviderStore
	carehex.Catalog
	carehex.VisitStore
	carehex.OfferStore
	carehex.AlertStore
	// WorkingHoursOf: on-demand work honours carers' working hours too.
	WorkingHoursOf(ctx context.Context, providerIDs []string) (map[string]*carehex.WorkingHours, error)
}

// Deps is what the engine works with: the system of record, the live
// availability of one dispatch zone, a clock and a logger.
type Deps struct {
	Store Store
	Live  carehex.LiveStore
	Clock carehex.Clock // default time.Now; share it with Live's in tests
	Log   *slog.Logger  // default: discard
	// Notices wakes Run when a request may need a provider
	// (carehex.DispatchNotice: created, or back to pending), so that it
	// is dispatched at once; Run's timer pass is then only the safety net.
	// nil: Run dispatches on its timer alone.
	Notices carehex.Subscriber
	// Routes is what two-tier dispatch reads and writes (orgroute.go);
	// required when Config.Via names services. *sqlstore.DB implements it.
	Routes Routes
}

// The engine is the dispatcher the operator's services call.
var _ carehex.Dispatcher = (*Engine)(nil)

// Engine matches requests to providers. It is safe for concurrent use, and
// any number of engines (replicas) may share one database and one Redis.
type Engine struct {
	cfg  Config
	d    Deps
	now  carehex.Clock
	log  *slog.Logger
	live carehex.LiveStore

	mu         sync.Mutex
	inflight   map[string]bool        // requests this engine is dispatching now
	alerted    map[alertKey]time.Time // when this engine last raised an alert
	quiet      map[string]quiet       // requests resting after finding nobody free (backoff.go)
	freedCount uint64                 // providers this engine freed, ever (backoff.go)
	due        time.Time              // when Run's next pass is due (due.go)

	sooner    chan struct{} // due moved earlier: Run resets its timer
	reconcile atomic.Int64  // Run's reconcile, a time.Duration; 0 before Run
}

type alertKey struct{ requestID, kind string }

// New returns an engine. It validates cfg and does no I/O.
func New(cfg Config, d Deps) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case d.Store == nil:
		return nil, carehex.Errorf(carehex.EINVALID, "deps", "dispatch: the store is required")
	case d.Live == nil:
		return nil, carehex.Errorf(carehex.EINVALID, "deps", "dispatch: the live availability store is required")
	case len(cfg.Via.Services) > 0 && d.Routes == nil:
		return nil, carehex.Errorf(carehex.EINVALID, "deps", "dispatch: dispatch via organisations needs the routes store")
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, d: d, now: d.Clock, log: d.Log, live: d.Live,
		inflight: map[string]bool{}, alerted: map[alertKey]time.Time{}, quiet: map[string]quiet{},
		sooner: make(chan struct{}, 1)}, nil
}

// Config returns the engine's settings.
func (e *Engine) Config() Config { return e.cfg }

// redisCtx returns ctx bounded for one call to the live store, so a Redis
// outage surfaces as EUNAVAILABLE within RedisTimeout instead of holding the
// caller.
func (e *Engine) redisCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.cfg.RedisTimeout)
}

// Run does the background work until ctx is done and returns ctx's error.
// Its caller (carehex serve) owns the goroutine it runs in. Nothing in it
// asks SQL on a short timer (docs/RELIABILITY.md "Every loop"):
//
//   - a carehex.DispatchNotice (Deps.Notices: a request created, or back
//     to pending) dispatches the waiting requests at once;
//   - Tick runs when the data says something falls due (due.go): the
//     soonest open offer's expiry, a request's deadline alert, a backoff
//     ending, a provider freed; and at the latest every reconcile, the
//     safety net for what another replica should have done and did not
//     (it died, or its notice was lost);
//   - every Config.LiveCheck, Redis alone is asked whether it lost the
//     zone (then it is rebuilt from SQL and the waiting are dispatched) and
//     for claims whose holder died.
//
// A failed pass is logged and tried again within a second: dispatch
// degrades, it does not stop.
func (e *Engine) Run(ctx context.Context, reconcile time.Duration) error {
	if reconcile <= 0 {
		return carehex.Errorf(carehex.EINVALID, "interval", "dispatch: reconcile interval must be positive")
	}
	e.reconcile.Store(int64(reconcile))
	var wake <-chan struct{}
	if e.d.Notices != nil {
		var cancel func()
		wake, cancel = e.d.Notices.Subscribe(carehex.DispatchNotice)
		defer cancel()
	}
	live := time.NewTicker(min(e.cfg.LiveCheck, reconcile))
	defer live.Stop()
	pass := time.NewTimer(0)
	defer pass.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-pass.C:
			e.resetDue(reconcile)
			if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("dispatch.tick", "err", err)
				e.dueAt(e.now().Add(retryAfter))
			}
			pass.Reset(e.untilDue())
		case <-e.sooner:
			pass.Reset(e.untilDue())
		case <-wake:
			if err := e.DispatchWaiting(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("dispatch.wake", "err", err)
				e.dueAt(e.now().Add(retryAfter))
			}
		case <-live.C:
			if err := e.checkLive(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("dispatch.live", "err", err)
				e.dueAt(e.now().Add(retryAfter))
			}
		}
	}
}

// DispatchWaiting is the dispatching step of Tick alone: what Run does when
// woken by a notice. The expiry and sweep steps are left to the timer; they
// are not what a new request waits for. Nothing is claimed while the live
// state needs rebuilding (recoverLive, as in Tick).
func (e *Engine) DispatchWaiting(ctx context.Context) error {
	recoverErr := e.recoverLive(ctx)
	return errors.Join(recoverErr, e.dispatchWaiting(ctx, recoverErr == nil))
}

// Tick does one pass of the background work. Several replicas may tick at
// the same time; each step is decided in SQL or by an atomic Redis script,
// so their work overlaps harmlessly. In order:
//
//  1. When Redis has lost the zone, rebuild it from SQL first, so no claim is
//     made against an empty store with tokens SQL has already seen.
//  2. Close offers past their expiry (and grace) and release their claims;
//     the request returns to pending.
//  3. Sweep Redis claims whose holder died before recording or ending them.
//  4. Dispatch waiting requests, soonest due first, and raise an alert for
//     each one past its urgency class's deadline.
//
// It returns the errors it met, joined; a step that fails does not stop the
// steps that do not depend on it. While the live state cannot be checked or
// rebuilt, nothing is claimed: offers still expire and alerts are still
// raised, from SQL alone.
func (e *Engine) Tick(ctx context.Context) error {
	var errs []error
	recoverErr := e.recoverLive(ctx)
	if recoverErr != nil {
		errs = append(errs, recoverErr)
	}
	if err := e.expireDue(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := e.routesDue(ctx); err != nil {
		errs = append(errs, err)
	}
	if recoverErr == nil {
		if err := e.sweep(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := e.dispatchWaiting(ctx, recoverErr == nil); err != nil {
		errs = append(errs, err)
	}
	e.pruneAlerted()
	e.pruneQuiet(e.now())
	return errors.Join(errs...)
}

// expireDue closes the offers nobody answered in time, and notes when the
// next open offer falls due (within the horizon) in the same query.
func (e *Engine) expireDue(ctx context.Context) error {
	now := e.now()
	cutoff := now.Add(-e.cfg.ExpiryGrace)
	due, err := e.d.Store.DueOffers(ctx, cutoff.Add(e.horizon()), e.cfg.Batch)
	if err != nil {
		return err
	}
	for _, o := range due {
		if !o.ExpireTime.Before(cutoff) {
			e.dueAt(o.ExpireTime.Add(e.cfg.ExpiryGrace))
			return nil // listed by expiry: the rest are later still
		}
		if err := e.expire(ctx, o); err != nil {
			e.log.Warn("dispatch.expire", "offer", o.ID, "err", err)
		}
	}
	if len(due) == e.cfg.Batch {
		e.dueAt(now.Add(minGap)) // a full batch: more are due
	}
	return nil
}

// expire closes one due offer. An offer whose provider got the request
// anyway was accepted by a replica that stopped between the SQL commit and
// recording the offer: it is recorded as accepted now, not expired.
func (e *Engine) expire(ctx context.Context, o *carehex.Offer) error {
	req, err := e.d.Store.ServiceRequest(ctx, o.RequestID)
	if err != nil {
		return err
	}
	if req.ProviderID == o.ProviderID && req.VisitID != "" {
		if _, err := e.d.Store.CloseOffer(ctx, o.ID, carehex.OfferAccepted, "accepted; recorded after the accepting replica stopped", Actor); err != nil {
			return ignoreConflict(err)
		}
		v, err := e.d.Store.Visit(ctx, req.VisitID)
		if err != nil {
			return err
		}
		e.settle(ctx, o, v)
		return nil
	}
	if _, err := e.d.Store.CloseOffer(ctx, o.ID, carehex.OfferExpired, "no answer within "+e.cfg.OfferTTL.String(), Actor); err != nil {
		return ignoreConflict(err) // another replica closed it first
	}
	e.release(ctx, o.ProviderID, o.Fence)
	e.log.Info("dispatch.expired", "offer", o.ID, "request", o.RequestID, "provider", o.ProviderID)
	return nil
}

// sweep releases Redis claims whose holder died. Their offers, if they were
// recorded, are closed by expireDue (whose grace is shorter than the
// sweep's); a claim that never became an offer needs nothing in SQL.
func (e *Engine) sweep(ctx context.Context) error {
	rctx, cancel := e.redisCtx(ctx)
	defer cancel()
	out, err := e.live.Sweep(rctx)
	if len(out) > 0 {
		e.log.Info("dispatch.swept", "claims", len(out))
		e.freed()
	}
	return err
}

// dispatchWaiting dispatches the waiting requests of this tick with a few
// workers (unless claim is false), and raises the alerts of those past their
// deadline.
func (e *Engine) dispatchWaiting(ctx context.Context, claim bool) error {
	now := e.now()
	reqs, err := e.waiting(ctx, now)
	if err != nil {
		return err
	}
	if len(reqs) == e.cfg.Batch {
		e.dueAt(now.Add(retryAfter)) // a full batch: the rest wait for the next pass
	}
	types := map[string]*carehex.ServiceType{}
	var (
		wg      sync.WaitGroup
		work    = make(chan string)
		mu      sync.Mutex
		downErr error // Redis or SQL down: stop dispatching this tick
	)
	for range e.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				mu.Lock()
				stop := downErr != nil
				mu.Unlock()
				if stop {
					continue
				}
				if _, err := e.Dispatch(ctx, id); err != nil {
					switch carehex.ErrorCode(err) {
					case carehex.ECONFLICT, carehex.ENOTFOUND: // moved on meanwhile
					case carehex.EUNAVAILABLE:
						mu.Lock()
						downErr = err
						mu.Unlock()
					default:
						e.log.Warn("dispatch.request", "request", id, "err", err)
					}
				}
			}
		}()
	}
	for _, r := range reqs {
		svc := types[r.ServiceCode]
		if svc == nil {
			if svc, err = e.d.Store.ServiceType(ctx, r.ServiceCode); err != nil {
				e.log.Warn("dispatch.service_type", "request", r.ID, "err", err)
				continue
			}
			types[r.ServiceCode] = svc
		}
		class := classOf(r, svc)
		if due := e.deadline(r, class); !now.Before(due) {
			text, words := e.unacceptedMessage(r, class, due)
			e.raise(ctx, r.ID, carehex.AlertUnaccepted, text, words)
		} else {
			e.dueAt(due)
		}
		if !e.dueForDispatch(r, now) && now.Before(r.WindowStart) {
			e.dueAt(r.WindowStart.Add(-e.cfg.ScheduleLead))
		}
		// A routine request holding its offer waits for the answer or the
		// expiry; an offered emergency may need its fan-out topped up.
		if claim && e.dueForDispatch(r, now) && (r.Status == carehex.StatusPending || class == carehex.ClassEmergency) &&
			!e.resting(r.ID, now) {
			work <- r.ID
		}
	}
	close(work)
	wg.Wait()
	return downErr
}

func (e *Engine) waiting(ctx context.Context, now time.Time) ([]*carehex.ServiceRequest, error) {
	return e.d.Store.WaitingRequests(ctx, now.Add(e.cfg.ScheduleLead), e.cfg.Batch)
}

// raise adds an alert unless this engine raised (or found) the same one
// within RealertAfter: the store keeps one unacknowledged alert per request
// and kind, and this keeps an acknowledged one from coming straight back on
// the next tick.
func (e *Engine) raise(ctx context.Context, requestID, kind, msg string, words carehex.Message) {
	k := alertKey{requestID, kind}
	now := e.now()
	e.mu.Lock()
	last, seen := e.alerted[k]
	if seen && now.Sub(last) < e.cfg.RealertAfter {
		e.mu.Unlock()
		return
	}
	e.alerted[k] = now
	e.mu.Unlock()
	a := &carehex.Alert{RequestID: requestID, Kind: kind, Message: msg, Code: words.Code, Params: words.Params}
	created, err := e.d.Store.RaiseAlert(ctx, a)
	switch {
	case err != nil:
		e.mu.Lock()
		delete(e.alerted, k) // try again next tick
		e.mu.Unlock()
		e.log.Warn("dispatch.alert", "request", requestID, "kind", kind, "err", err)
	case created:
		e.log.Info("dispatch.alert", "request", requestID, "kind", kind, "alert", a.ID)
	}
}

func (e *Engine) pruneAlerted() {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, t := range e.alerted {
		if now.Sub(t) >= e.cfg.RealertAfter {
			delete(e.alerted, k)
		}
	}
}

// ignoreConflict drops ECONFLICT: the usual sign that another replica, or
// the provider, got there first.
func ignoreConflict(err error) error {
	if carehex.ErrorCode(err) == carehex.ECONFLICT {
		return nil
	}
	return err
}
