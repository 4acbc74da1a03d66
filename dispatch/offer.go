package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/carehex/carehex"
)

// Dispatch offers a waiting request to the best candidates it can claim: the
// top one for routine work, the top FanOut at once for an emergency (topping
// up when one of them declined). It returns the offers it made, none when
// there is nothing to do: the request already holds its offers, a scheduled
// request is not yet due, or every candidate was claimed by someone else
// meanwhile (the next Tick tries again). When nobody qualifies within the
// class's maximum radius it raises AlertNoCandidates and leaves the request
// pending, since providers come online all day. ECONFLICT when the request
// is not waiting for a provider.
func (e *Engine) Dispatch(ctx context.Context, requestID string) ([]*carehex.Offer, error) {
	return e.dispatchOnce(ctx, requestID, func() (*job, error) { return e.load(ctx, requestID) })
}

// DispatchNew is Dispatch of a request its caller has just created, with the
// resident and service type the create read: they are not read again. A
// new request has no offers yet; if another dispatcher (the notice-driven
// pass, another replica) offered a routine one meanwhile, recording ours
// fails in SQL and the claims are released (see Dispatch). A request offered
// to several providers at once (an emergency's fan-out) may be topped up
// while offered, so for it the offers are read: a second full fan-out
// would otherwise pass.
func (e *Engine) DispatchNew(ctx context.Context, n *carehex.NewRequest) ([]*carehex.Offer, error) {
	if n == nil || n.Request == nil || n.Resident == nil || n.ServiceType == nil {
		return nil, carehex.Errorf(carehex.EINVALID, "request", "a new request with its resident and service type is required")
	}
	return e.dispatchOnce(ctx, n.Request.ID, func() (*job, error) {
		class := classOf(n.Request, n.ServiceType)
		j := &job{req: n.Request, svc: n.ServiceType, res: n.Resident, class: class, cc: e.cfg.Class(class)}
		if j.cc.FanOut > 1 {
			req, err := e.d.Store.ServiceRequest(ctx, j.req.ID)
			if err != nil {
				return nil, err
			}
			if j.offers, err = e.d.Store.RequestOffers(ctx, j.req.ID); err != nil {
				return nil, err
			}
			j.req = req
		}
		return j, nil
	})
}

// dispatchOnce runs one dispatch of a request at a time in this process
// (Decline and Tick may both try); other replicas are held off by SQL.
func (e *Engine) dispatchOnce(ctx context.Context, requestID string, load func() (*job, error)) ([]*carehex.Offer, error) {
	e.mu.Lock()
	if e.inflight[requestID] {
		e.mu.Unlock()
		return nil, nil
	}
	e.inflight[requestID] = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.inflight, requestID)
		e.mu.Unlock()
	}()
	j, err := load()
	if err != nil {
		return nil, err
	}
	return e.dispatch(ctx, j)
}

func (e *Engine) dispatch(ctx context.Context, j *job) ([]*carehex.Offer, error) {
	if j.req.Status != carehex.StatusPending && j.req.Status != carehex.StatusOffered {
		return nil, carehex.Errorf(carehex.ECONFLICT, "request_id", "request %s is %s, not waiting for a provider", j.req.ID, j.req.Status)
	}
	now := e.now()
	if !e.dueForDispatch(j.req, now) {
		return nil, nil
	}
	if e.viaOrg(j) {
		org, err := e.routed(ctx, j, now)
		if err != nil || org == "" {
			return nil, err // the organisation's dispatcher assigns
		}
		j.onlyOrg = org // its auto-dispatch: offers to its own carers only
	}
	open := 0
	for _, o := range j.offers {
		if o.Status == carehex.OfferOpen {
			open++
		}
	}
	need := j.cc.FanOut - open
	if need <= 0 || j.req.Status == carehex.StatusOffered && j.class != carehex.ClassEmergency {
		return nil, nil
	}

	ranked, err := e.rank(ctx, j, now)
	if err != nil {
		return nil, err
	}
	if len(ranked) == 0 {
		e.foundNobody(j.req.ID, now)
		if open == 0 {
			e.raise(ctx, j.req.ID, carehex.AlertNoCandidates, fmt.Sprintf("no available provider with skill %q within %.0f km",
				j.svc.RequiredSkill, j.cc.MaxRadiusM/1000), carehex.Msg(carehex.MsgNoProviderNearby, "service_code", j.req.ServiceCode,
				"skill", j.svc.RequiredSkill, "radius_m", int64(j.cc.MaxRadiusM)))
		}
		return nil, nil
	}

	// Claim in rank order; a provider someone else claimed a moment ago
	// (or who went offline) is simply skipped.
	var (
		claims []carehex.Claim
		offers []*carehex.Offer
	)
	for _, c := range ranked {
		if len(claims) == need {
			break
		}
		rctx, cancel := e.redisCtx(ctx)
		cl, err := e.live.Claim(rctx, carehex.ClaimRequest{ProviderID: c.ProviderID, RequestID: j.req.ID,
			TTL: e.cfg.OfferTTL, MaxAge: e.cfg.HeartbeatMaxAge})
		cancel()
		switch carehex.ErrorCode(err) {
		case "":
			claims = append(claims, cl)
			offers = append(offers, &carehex.Offer{RequestID: j.req.ID, ProviderID: c.ProviderID, ServiceCode: j.req.ServiceCode,
				Fence: int64(cl.Token), DistanceM: c.DistanceM, ExpireTime: cl.Deadline})
		case carehex.ECONFLICT, carehex.ENOTFOUND:
			continue
		default:
			e.releaseUnrecorded(ctx, j.req.ID, claims)
			return nil, err
		}
	}
	if len(claims) == 0 {
		e.foundNobody(j.req.ID, now)
		return nil, nil
	}
	e.foundSomeone(j.req.ID)
	if err := e.d.Store.CreateOffers(ctx, offers, Actor); err != nil {
		// Another replica offered or assigned the request first, or an
		// operator cancelled it: our claims must not keep the providers.
		e.releaseUnrecorded(ctx, j.req.ID, claims)
		if carehex.ErrorCode(err) == carehex.ECONFLICT {
			e.log.Debug("dispatch.lost_race", "request", j.req.ID, "err", err)
			return nil, nil
		}
		return nil, err
	}
	e.dueAt(offers[0].ExpireTime.Add(e.cfg.ExpiryGrace)) // their expiry is Run's to do (due.go)
	for _, o := range offers {
		e.log.Info("dispatch.offered", "request", j.req.ID, "offer", o.ID, "provider", o.ProviderID, "fence", o.Fence,
			"distance_m", int(o.DistanceM))
	}
	return offers, nil
}

// releaseUnrecorded releases the claims that no offer in SQL carries. A claim
// is not ours alone when Redis handed the same live claim (same token) to
// another replica dispatching the same request, and that replica recorded
// it: releasing it would free a provider who holds a real offer. When SQL
// cannot tell, the claims are left for the sweep, which frees them after
// their deadline.
//
// It runs when recording failed, often because the caller's context ended
// (the operator's client hung up on a create under load): it must still
// run then, or every such claim keeps a provider off the map until the
// sweep, and under load that is how providers run out. So it does not end
// with ctx, only after a few Redis timeouts of its own.
func (e *Engine) releaseUnrecorded(ctx context.Context, requestID string, claims []carehex.Claim) {
	if len(claims) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*e.cfg.RedisTimeout)
	defer cancel()
	recorded, err := e.d.Store.RequestOffers(ctx, requestID)
	if err != nil {
		e.log.Warn("dispatch.release", "request", requestID, "err", err)
		return
	}
	for _, cl := range claims {
		if !slices.ContainsFunc(recorded, func(o *carehex.Offer) bool {
			return o.ProviderID == cl.ProviderID && o.Fence == int64(cl.Token)
		}) {
			e.release(ctx, cl.ProviderID, int64(cl.Token))
		}
	}
}

// release frees a provider whose offer ended without a visit. A failure is
// logged only: the claim's deadline passes and the sweep frees them.
func (e *Engine) release(ctx context.Context, providerID string, fence int64) {
	rctx, cancel := e.redisCtx(ctx)
	defer cancel()
	if _, err := e.live.Release(rctx, providerID, uint64(fence)); err != nil {
		e.log.Warn("dispatch.release", "provider", providerID, "fence", fence, "err", err)
		return
	}
	e.freed()
}

// settle brings Redis in line with a visit SQL committed under offer o's
// claim: busy when the visit is the provider's job now; free for other work
// when it is booked further ahead (SQL keeps its slot), so that accepting
// tomorrow's bath does not take them off the map until then.
func (e *Engine) settle(ctx context.Context, o *carehex.Offer, v *carehex.Visit) {
	e.settleClaim(ctx, o.ProviderID, o.Fence, v)
}

func (e *Engine) settleClaim(ctx context.Context, providerID string, fence int64, v *carehex.Visit) {
	if v.PlannedStart.After(e.now().Add(e.cfg.CommitAhead)) {
		e.release(ctx, providerID, fence)
		return
	}
	rctx, cancel := e.redisCtx(ctx)
	defer cancel()
	ok, err := e.live.Commit(rctx, providerID, uint64(fence))
	switch {
	case err != nil:
		e.log.Warn("dispatch.commit", "provider", providerID, "visit", v.ID, "err", err)
	case !ok:
		// The claim lapsed (swept, or Redis restarted) before the commit.
		// SQL holds the visit all the same and refuses overlapping work;
		// Redis shows the provider free until their next claim.
		e.log.Warn("dispatch.commit", "provider", providerID, "visit", v.ID, "err", "claim no longer current")
	}
}

// FreeIfDone frees a provider whom Redis still shows busy with a visit that
// is over (completed, no-show, cancelled): the mobile API calls it when a
// visit ends, and on a busy provider's heartbeat, so a Finish lost to a
// Redis outage or a replica's death is made good by the next heartbeat. It
// does nothing while the busy claim's visit, or any visit due now (within
// CommitAhead), is still live, and reports whether it freed them.
func (e *Engine) FreeIfDone(ctx context.Context, providerID string) (bool, error) {
	rctx, cancel := e.redisCtx(ctx)
	l, err := e.live.Live(rctx, providerID)
	cancel()
	switch {
	case errors.Is(err, carehex.ErrNoLiveState):
		return false, nil // nothing in Redis to free
	case err != nil:
		return false, err
	case l.Status != carehex.LiveBusy:
		return false, nil
	}
	visits, err := e.d.Store.ProviderVisits(ctx, providerID, true)
	if err != nil {
		return false, err
	}
	horizon := e.now().Add(e.cfg.CommitAhead)
	for _, v := range visits {
		if uint64(v.Fence) == l.Token || !v.PlannedStart.After(horizon) {
			return false, nil
		}
	}
	rctx, cancel = e.redisCtx(ctx)
	defer cancel()
	ok, err := e.live.Finish(rctx, providerID, l.Token) // false if claimed anew meanwhile
	if ok {
		e.freed()
	}
	return ok, err
}

// ownOffer returns offer offerID if it is providerID's. A provider sees only
// its own offers: someone else's is "not found", not "forbidden", so offer
// IDs cannot be probed.
func (e *Engine) ownOffer(ctx context.Context, providerID, offerID string) (*carehex.Offer, error) {
	o, err := e.d.Store.Offer(ctx, offerID)
	if err != nil {
		return nil, err
	}
	if o.ProviderID != providerID {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "offer_id", "no offer %q", offerID)
	}
	return o, nil
}

// Offers lists a provider's open offers, oldest first.
func (e *Engine) Offers(ctx context.Context, providerID string) ([]*carehex.Offer, error) {
	return e.d.Store.OpenOffers(ctx, providerID, e.now())
}

// Accept turns a provider's acceptance of an offer into a visit. SQL decides:
// AssignRequest commits only under the offer's fencing token and only into
// free time, so of several providers accepting an emergency at once exactly
// one wins, and an offer from before a Redis restart or from a paused
// replica cannot commit late. The winner's provider is marked busy and the
// request's other offers are withdrawn and their providers freed. A loser's
// offer is withdrawn (ECONFLICT). Accepting an offer already accepted
// returns its visit again: a phone on a weak network retries.
func (e *Engine) Accept(ctx context.Context, providerID, offerID string) (*carehex.Visit, error) {
	o, err := e.ownOffer(ctx, providerID, offerID)
	if err != nil {
		return nil, err
	}
	if o.Status == carehex.OfferAccepted {
		return e.acceptedVisit(ctx, o)
	}
	now := e.now()
	switch {
	case o.Status != carehex.OfferOpen:
		return nil, carehex.Errorf(carehex.ECONFLICT, "offer_id", "the offer was %s", o.Status).With(carehex.MsgOfferClosed, "status", o.Status)
	case !now.Before(o.ExpireTime):
		return nil, carehex.Errorf(carehex.ECONFLICT, "offer_id", "the offer expired").With(carehex.MsgOfferClosed, "status", carehex.OfferExpired)
	}
	req, err := e.d.Store.ServiceRequest(ctx, o.RequestID)
	if err != nil {
		return nil, err
	}
	svc, err := e.d.Store.ServiceType(ctx, req.ServiceCode)
	if err != nil {
		return nil, err
	}
	start, end := slot(req, svc, now)
	_, v, err := e.d.Store.AssignRequest(ctx, carehex.Assignment{RequestID: o.RequestID, ProviderID: providerID,
		Fence: o.Fence, Start: start, End: end, Actor: "provider:" + providerID, Reason: "offer accepted"})
	if carehex.ErrorCode(err) == carehex.ECONFLICT {
		// Someone else won, the request was cancelled, the claim is stale,
		// or the provider is booked at that time: this offer is over.
		if _, cerr := e.d.Store.CloseOffer(ctx, o.ID, carehex.OfferWithdrawn, carehex.ReasonUnavailable, Actor); cerr == nil {
			e.release(ctx, providerID, o.Fence)
			if _, derr := e.Dispatch(ctx, o.RequestID); ignoreConflict(derr) != nil {
				e.log.Warn("dispatch.redispatch", "request", o.RequestID, "err", derr)
			}
		}
		e.log.Info("dispatch.accept_lost", "offer", o.ID, "provider", providerID, "err", err)
		return nil, carehex.Errorf(carehex.ECONFLICT, "offer_id", "the job is no longer available: %s", carehex.ErrorMessage(err)).With(carehex.MsgJobGone)
	}
	if err != nil {
		return nil, err // the offer stays open; the phone may retry
	}
	if _, err := e.d.Store.CloseOffer(ctx, o.ID, carehex.OfferAccepted, "", "provider:"+providerID); err != nil {
		// A concurrent retry of this accept recorded it already; anything
		// else is left for expire, which recognises the visit.
		e.log.Debug("dispatch.accept_record", "offer", o.ID, "err", err)
	}
	e.settle(ctx, o, v)
	e.withdraw(ctx, o.RequestID, o.ID, carehex.ReasonTaken)
	e.routeDone(ctx, o.RequestID, "provider:"+providerID)
	e.log.Info("dispatch.accepted", "offer", o.ID, "request", o.RequestID, "provider", providerID, "visit", v.ID)
	return v, nil
}

// acceptedVisit returns the visit an accepted offer became.
func (e *Engine) acceptedVisit(ctx context.Context, o *carehex.Offer) (*carehex.Visit, error) {
	req, err := e.d.Store.ServiceRequest(ctx, o.RequestID)
	if err != nil {
		return nil, err
	}
	if req.ProviderID != o.ProviderID || req.VisitID == "" {
		return nil, carehex.Errorf(carehex.ECONFLICT, "offer_id", "the offer was accepted but the job has since moved on").With(carehex.MsgJobGone)
	}
	return e.d.Store.Visit(ctx, req.VisitID)
}

// withdraw closes a request's open offers, except keep, and frees their
// providers. It returns how many it closed.
func (e *Engine) withdraw(ctx context.Context, requestID, keep, reason string) int {
	offers, err := e.d.Store.RequestOffers(ctx, requestID)
	if err != nil {
		e.log.Warn("dispatch.withdraw", "request", requestID, "err", err)
		return 0
	}
	n := 0
	for _, o := range offers {
		if o.ID == keep || o.Status != carehex.OfferOpen {
			continue
		}
		if _, err := e.d.Store.CloseOffer(ctx, o.ID, carehex.OfferWithdrawn, reason, Actor); err != nil {
			if ignoreConflict(err) != nil {
				e.log.Warn("dispatch.withdraw", "offer", o.ID, "err", err)
			}
			continue
		}
		e.release(ctx, o.ProviderID, o.Fence)
		n++
	}
	return n
}

// WithdrawOffers closes every open offer of a request and frees their
// providers at once, rather than letting them wait out the expiry: call it
// when an operator cancels the request or gives up on it. It returns how
// many it withdrew.
func (e *Engine) WithdrawOffers(ctx context.Context, requestID, reason string) (int, error) {
	if _, err := e.d.Store.ServiceRequest(ctx, requestID); err != nil {
		return 0, err
	}
	if strings.TrimSpace(reason) == "" {
		reason = carehex.ReasonByOperator
	}
	return e.withdraw(ctx, requestID, "", reason), nil
}

// Decline records a provider's refusal, frees the provider, and offers the
// request to the next candidate at once. The provider is never offered the
// same request again. ECONFLICT when the offer is no longer open.
func (e *Engine) Decline(ctx context.Context, providerID, offerID, reason string) error {
	o, err := e.ownOffer(ctx, providerID, offerID)
	if err != nil {
		return err
	}
	if _, err := e.d.Store.CloseOffer(ctx, o.ID, carehex.OfferDeclined, reason, "provider:"+providerID); err != nil {
		return err
	}
	e.release(ctx, providerID, o.Fence)
	e.log.Info("dispatch.declined", "offer", o.ID, "request", o.RequestID, "provider", providerID)
	// The refusal is recorded; finding the next provider is dispatch's
	// business and a failure of it is retried by the next Tick.
	if _, err := e.Dispatch(ctx, o.RequestID); ignoreConflict(err) != nil {
		e.log.Warn("dispatch.redispatch", "request", o.RequestID, "err", err)
	}
	return nil
}

// Assign assigns a request to a provider chosen by an operator, through the
// same claim as automatic dispatch: the provider must be available in Redis
// (not offline, stale, busy or holding another request's offer), and SQL
// commits the assignment only under the claim's fencing token and into free
// time, so a hand assignment can never double-book either. If the provider
// holds an open offer of this very request, that offer's claim is used and
// the offer is recorded as accepted. The request's other open offers are
// withdrawn once the assignment has committed; withdrawing them first would
// leave the request pending for a moment, free for another replica to
// offer it. reason goes into the request's history.
func (e *Engine) Assign(ctx context.Context, requestID, providerID, actor, reason string) (*carehex.ServiceRequest, *carehex.Visit, error) {
	return e.assign(ctx, requestID, providerID, actor, reason, false)
}

// AssignByPhone is Assign for a provider the operator rang and who agreed:
// one whose phone is offline or stale, or who let an offer expire, is
// claimed all the same (Redis still refuses one holding another request's
// live offer or busy with a visit, and SQL still refuses an overlapping
// visit). A provider the live state has never seen is registered from the
// roster first, offline, with the fencing floor SQL knows.
func (e *Engine) AssignByPhone(ctx context.Context, requestID, providerID, actor, reason string) (*carehex.ServiceRequest, *carehex.Visit, error) {
	return e.assign(ctx, requestID, providerID, actor, reason, true)
}

// SyncProvider applies an edited provider's skills to the live state (see
// carehex.Dispatcher); an inactive provider is left out of it.
func (e *Engine) SyncProvider(ctx context.Context, p *carehex.Provider) error {
	if !p.Active || len(p.Skills) == 0 {
		return nil
	}
	return e.register(ctx, p)
}

// register introduces a provider the live state does not know, offline at
// home, so a claim by telephone can reserve them; for one it knows, it only
// applies the roster's skills and fencing floor (providers' restore.lua).
func (e *Engine) register(ctx context.Context, p *carehex.Provider) error {
	fences, err := e.d.Store.ProviderFences(ctx)
	if err != nil {
		return err
	}
	rctx, cancel := e.redisCtx(ctx)
	defer cancel()
	_, err = e.live.Register(rctx, carehex.LiveSnapshot{ProviderID: p.ID, Skills: p.Skills, Position: p.Home,
		Status: carehex.LiveOffline, Token: uint64(max(fences[p.ID], 0))})
	return err
}

func (e *Engine) assign(ctx context.Context, requestID, providerID, actor, reason string, byPhone bool) (*carehex.ServiceRequest, *carehex.Visit, error) {
	j, err := e.load(ctx, requestID)
	if err != nil {
		return nil, nil, err
	}
	if j.req.Status != carehex.StatusPending && j.req.Status != carehex.StatusOffered {
		return nil, nil, carehex.Errorf(carehex.ECONFLICT, "request_id", "request %s is %s; only a pending or offered request can be assigned",
			j.req.ID, j.req.Status).With(carehex.MsgNotAssignable, "status", j.req.Status)
	}
	p, err := e.assignable(ctx, j, providerID)
	if err != nil {
		return nil, nil, err
	}
	claim := func() (carehex.Claim, error) {
		rctx, cancel := e.redisCtx(ctx)
		defer cancel()
		return e.live.Claim(rctx, carehex.ClaimRequest{ProviderID: p.ID, RequestID: j.req.ID,
			TTL: e.cfg.OfferTTL, MaxAge: e.cfg.HeartbeatMaxAge, ByPhone: byPhone})
	}
	cl, err := claim()
	if byPhone && errors.Is(err, carehex.ErrNoLiveState) {
		if err = e.register(ctx, p); err == nil {
			cl, err = claim()
		}
	}
	if err != nil {
		return nil, nil, err
	}
	var own *carehex.Offer // the provider's open offer of this request, whose claim Claim returned
	for _, o := range j.offers {
		if o.Status == carehex.OfferOpen && o.ProviderID == p.ID && o.Fence == int64(cl.Token) {
			own = o
		}
	}
	if reason = strings.TrimSpace(reason); reason == "" {
		reason = "assigned by operator"
	}
	if actor == "" {
		actor = Actor
	}
	start, end := slot(j.req, j.svc, e.now())
	req, v, err := e.d.Store.AssignRequest(ctx, carehex.Assignment{RequestID: j.req.ID, ProviderID: p.ID,
		Fence: int64(cl.Token), Start: start, End: end, Actor: actor, Reason: reason})
	if err != nil {
		if own == nil {
			e.releaseUnrecorded(ctx, j.req.ID, []carehex.Claim{cl})
		}
		return nil, nil, err
	}
	keep := ""
	if own != nil {
		keep = own.ID
		if _, err := e.d.Store.CloseOffer(ctx, own.ID, carehex.OfferAccepted, reason, actor); err != nil {
			e.log.Debug("dispatch.assign_record", "offer", own.ID, "err", err)
		}
	}
	e.settleClaim(ctx, p.ID, int64(cl.Token), v)
	e.withdraw(ctx, j.req.ID, keep, carehex.ReasonTaken)
	e.routeDone(ctx, j.req.ID, actor)
	e.log.Info("dispatch.assigned", "request", j.req.ID, "provider", p.ID, "visit", v.ID, "actor", actor)
	return req, v, nil
}

// assignable checks that provider providerID may serve job j at all: on the
// roster, active, with the skill, not blocked by the resident.
func (e *Engine) assignable(ctx context.Context, j *job, providerID string) (*carehex.Provider, error) {
	p, err := e.d.Store.Provider(ctx, providerID)
	if carehex.ErrorCode(err) == carehex.ENOTFOUND {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "provider_id", "no provider %q", providerID)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case !p.Active:
		return nil, carehex.Errorf(carehex.ECONFLICT, "provider_id", "provider %s is not active", p.ID).With(carehex.MsgProviderInactive)
	case !slices.Contains(p.Skills, j.svc.RequiredSkill):
		return nil, carehex.Errorf(carehex.ECONFLICT, "provider_id", "provider %s lacks the skill %q this service needs", p.ID, j.svc.RequiredSkill).
			With(carehex.MsgProviderLacksSkill, "skill", j.svc.RequiredSkill)
	case slices.Contains(j.res.Preferences.BlockedProviderIDs, p.ID):
		return nil, carehex.Errorf(carehex.ECONFLICT, "provider_id", "the resident has asked not to be served by provider %s", p.ID).With(carehex.MsgProviderRefused)
	}
	return p, nil
}
