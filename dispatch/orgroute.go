package dispatch

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// Two-tier dispatch (issue 12; carehex.Route). A service named in
// Config.Via goes to an organisation first: dispatch routes the request to
// the best organisation (rankOrgs), and then, until its dispatcher assigns
// one of its carers (AssignForOrg), makes no offers, unless the
// organisation turned auto-dispatch on, when the offer engine runs as
// usual among that organisation's carers only. Emergencies always go
// direct.
//
// The organisation's deadline is a time in the data (Route.DueTime), and
// Run wakes for it as it does for an offer's expiry (due.go): the replica
// that routed asks for a pass at the deadline; every pass lists the routes
// falling due within the reconcile (one query), so another replica takes
// over if that one died. Past the deadline one replica (MarkRouteLate
// decides which) alerts the operator and, with AutoReroute, sends the
// request to the next organisation.

// OrgRouting is which services are dispatched via an organisation, and how.
type OrgRouting struct {
	// Services names what goes via an organisation: catalogue categories
	// (daily_life), required skills (cleaning, bathing) or service codes
	// (DL-BATH-HOME). Empty: everything is dispatched directly.
	Services []string
	// Soon and Scheduled are how long an organisation has, from routing,
	// to assign a carer before the operator is alerted.
	Soon, Scheduled time.Duration
	// AutoReroute sends a request whose organisation missed its deadline
	// to the next one by itself; otherwise the operator decides.
	AutoReroute bool
}

// Routes is what two-tier dispatch needs of the system of record besides
// Store: the organisations and their contracts, and the routes.
type Routes interface {
	carehex.RouteStore
	carehex.OrganisationStore
}

// ParseViaOrg splits CAREHEX_DISPATCH_VIA_ORG's comma-separated list.
func ParseViaOrg(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func (o *OrgRouting) validate() error {
	if len(o.Services) == 0 {
		return nil
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"via.soon", o.Soon}, {"via.scheduled", o.Scheduled}} {
		if d.v < 10*time.Second || d.v > 24*time.Hour {
			return carehex.Errorf(carehex.EINVALID, d.name, "dispatch: %s (an organisation's deadline) must be between 10s and 24h, got %s", d.name, d.v)
		}
	}
	return nil
}

// Check holds Services against the catalogue: each must name a category,
// a skill or a service code, and none may be an emergency one
// (emergencies are always dispatched directly). The binary calls it at
// start, once the catalogue is loaded.
func (o *OrgRouting) Check(types []*carehex.ServiceType) error {
	for _, s := range o.Services {
		known := false
		for _, t := range types {
			if s == string(t.Category) || s == t.RequiredSkill || s == t.Code {
				known = true
				if s == string(carehex.CategoryEmergency) || s == t.Code && t.UrgencyClass == carehex.ClassEmergency {
					return carehex.Errorf(carehex.EINVALID, "via", "dispatch via organisation: %q is an emergency service; emergencies are always dispatched directly", s)
				}
			}
		}
		if !known {
			return carehex.Errorf(carehex.EINVALID, "via", "dispatch via organisation: %q is not a service category, skill or service code of the catalogue", s)
		}
	}
	return nil
}

// viaOrg reports whether job j goes to an organisation.
func (e *Engine) viaOrg(j *job) bool {
	v := e.cfg.Via.Services
	if len(v) == 0 || e.d.Routes == nil || j.class == carehex.ClassEmergency {
		return false
	}
	return slices.Contains(v, j.svc.Code) || slices.Contains(v, string(j.svc.Category)) || slices.Contains(v, j.svc.RequiredSkill)
}

func (e *Engine) orgDeadline(class carehex.UrgencyClass) time.Duration {
	if class == carehex.ClassScheduled {
		return e.cfg.Via.Scheduled
	}
	return e.cfg.Via.Soon
}

// routed makes sure job j is routed (routing it now if it is not) and
// returns the organisation whose carers may be offered it: its own, when
// it runs auto-dispatch; "" when the organisation's dispatcher assigns by
// hand, or the request could not be routed.
func (e *Engine) routed(ctx context.Context, j *job, now time.Time) (string, error) {
	rt, err := e.d.Routes.OpenRoute(ctx, j.req.ID)
	switch carehex.ErrorCode(err) {
	case "":
	case carehex.ENOTFOUND:
		if rt, err = e.route(ctx, j, now, nil, Actor); err != nil || rt == nil {
			if carehex.ErrorCode(err) == carehex.ECONFLICT {
				return "", nil // another replica routed it; its auto-dispatch is the next pass's
			}
			return "", err
		}
	default:
		return "", err
	}
	auto, err := e.d.Routes.OrgAutoDispatch(ctx, rt.OrgID)
	if err != nil || !auto {
		return "", err
	}
	return rt.OrgID, nil
}

// route sends job j to the best organisation not yet tried, replacing
// route open (nil for the first). With none left, the first routing
// raises AlertNoOrganisation and returns nil; a re-route returns
// ECONFLICT saying so.
func (e *Engine) route(ctx context.Context, j *job, now time.Time, open *carehex.Route, actor string) (*carehex.Route, error) {
	ranked, err := e.rankOrgs(ctx, j, now)
	if err != nil {
		return nil, err
	}
	if len(ranked) == 0 || !ranked[0].Eligible {
		if open != nil {
			return nil, carehex.Errorf(carehex.ECONFLICT, "request_id", "no other organisation can take request %s", j.req.ID).
				With(carehex.MsgNoOrganisation, "service_code", j.req.ServiceCode)
		}
		e.foundNobody(j.req.ID, now)
		e.raise(ctx, j.req.ID, carehex.AlertNoOrganisation, fmt.Sprintf("no contracted organisation serves %s for this resident", j.req.ServiceCode),
			carehex.Msg(carehex.MsgNoOrganisation, "service_code", j.req.ServiceCode))
		return nil, nil
	}
	r := &carehex.Route{RequestID: j.req.ID, OrgID: ranked[0].OrgID, RouteTime: now, DueTime: now.Add(e.orgDeadline(j.class)),
		Actor: actor, Ranking: ranked}
	replaces := ""
	if open != nil {
		replaces = open.ID
	}
	if err := e.d.Routes.CreateRoute(ctx, r, replaces); err != nil {
		return nil, err
	}
	e.dueAt(r.DueTime)
	e.log.Info("dispatch.routed", "request", j.req.ID, "org", r.OrgID, "attempt", r.Attempt, "due", r.DueTime)
	return r, nil
}

// RankOrgs explains where request requestID would be routed now: every
// active organisation, the eligible first, best first (see rankOrgs).
func (e *Engine) RankOrgs(ctx context.Context, requestID string) ([]carehex.OrgCandidate, error) {
	if e.d.Routes == nil {
		return nil, errNoRouting
	}
	j, err := e.load(ctx, requestID)
	if err != nil {
		return nil, err
	}
	return e.rankOrgs(ctx, j, e.now())
}

var errNoRouting = carehex.Errorf(carehex.EUNAVAILABLE, "", "dispatch via organisations is not configured on this server")

// rankOrgs ranks the active organisations for job j. Hard filters: the
// service area covers the resident's district or street, a contract
// covers the service at the visit's start, and the request was not routed
// to it before. Then capacity: an organisation with more of its carers
// with the skill online and free within the class's radius than requests
// waiting in its queue comes before one without. Among equals (both with
// spare capacity, or both without) the rotation decides: the one routed a
// request least recently first, so work is shared in turn rather than
// always going to the biggest. Every figure is recorded in the route.
func (e *Engine) rankOrgs(ctx context.Context, j *job, now time.Time) ([]carehex.OrgCandidate, error) {
	orgs, err := e.d.Routes.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	loads, err := e.d.Routes.OrgLoads(ctx)
	if err != nil {
		return nil, err
	}
	routes, err := e.d.Routes.RequestRoutes(ctx, j.req.ID)
	if err != nil {
		return nil, err
	}
	tried := map[string]bool{}
	for _, r := range routes {
		tried[r.OrgID] = true
	}
	rctx, cancel := e.redisCtx(ctx)
	cs, err := e.live.Candidates(rctx, carehex.LiveQuery{Origin: j.res.Location, Skill: j.svc.RequiredSkill, MaxRadiusM: j.cc.MaxRadiusM,
		Want: 100, Exclude: j.res.Preferences.BlockedProviderIDs, Now: now, MaxAge: e.cfg.HeartbeatMaxAge})
	cancel()
	if err != nil {
		return nil, err
	}
	roster := map[string]*carehex.Provider{}
	if err := e.readRoster(ctx, roster, cs); err != nil {
		return nil, err
	}
	free := map[string]int{}
	for _, c := range cs {
		if p := roster[c.ProviderID]; p != nil && p.Active && slices.Contains(p.Skills, j.svc.RequiredSkill) {
			free[p.OrgID]++
		}
	}
	start, _ := slot(j.req, j.svc, now)
	b := func(ok bool) float64 {
		if ok {
			return 1
		}
		return 0
	}
	type ranked struct {
		carehex.OrgCandidate
		spare bool
		last  time.Time
	}
	var out []ranked
	for _, o := range orgs {
		if !o.Active {
			continue
		}
		contracts, err := e.d.Routes.Contracts(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		c := carehex.OrgCandidate{OrgID: o.ID, Name: o.Name}
		for _, k := range contracts {
			if k.Covers(j.req.ServiceCode, start) {
				c.Contract = k.ID
				break
			}
		}
		l := loads[o.ID]
		lastMin := -1.0
		if !l.Last.IsZero() {
			lastMin = round2(now.Sub(l.Last).Minutes())
		}
		area := o.Serves(j.res)
		c.Factors = []carehex.Factor{
			{Name: carehex.FactorArea, Value: b(area)},
			{Name: carehex.FactorContract, Value: b(c.Contract != "")},
			{Name: carehex.FactorTriedUsed, Value: b(tried[o.ID])},
			{Name: carehex.FactorFreeCarers, Value: float64(free[o.ID])},
			{Name: carehex.FactorOpenOrders, Value: float64(l.Open)},
			{Name: carehex.FactorCapacity, Value: float64(free[o.ID] - l.Open)},
			{Name: carehex.FactorLastRouted, Value: lastMin},
		}
		switch {
		case !area:
			c.Why = carehex.FactorArea
		case c.Contract == "":
			c.Why = carehex.FactorContract
		case tried[o.ID]:
			c.Why = carehex.FactorTriedUsed
		default:
			c.Eligible = true
		}
		out = append(out, ranked{OrgCandidate: c, spare: free[o.ID] > l.Open, last: l.Last})
	}
	slices.SortFunc(out, func(a, b ranked) int {
		switch {
		case a.Eligible != b.Eligible:
			return -cmp.Compare(b2i(a.Eligible), b2i(b.Eligible))
		case a.spare != b.spare:
			return -cmp.Compare(b2i(a.spare), b2i(b.spare))
		}
		if c := a.last.Compare(b.last); c != 0 {
			return c // never routed (zero) first, then least recently
		}
		return strings.Compare(a.OrgID, b.OrgID)
	})
	res := make([]carehex.OrgCandidate, len(out))
	for i, r := range out {
		res[i] = r.OrgCandidate
	}
	return res, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Reroute sends a routed request to the next organisation (see rankOrgs):
// the operator's answer to a slow organisation, or the engine's own with
// AutoReroute. The previous organisation's open offers (auto-dispatch) are
// withdrawn. ECONFLICT when the request is not routed, no longer waits,
// or no other organisation can take it.
func (e *Engine) Reroute(ctx context.Context, requestID, actor, reason string) (*carehex.Route, error) {
	if e.d.Routes == nil {
		return nil, errNoRouting
	}
	j, err := e.load(ctx, requestID)
	if err != nil {
		return nil, err
	}
	if j.req.Status != carehex.StatusPending && j.req.Status != carehex.StatusOffered {
		return nil, carehex.Errorf(carehex.ECONFLICT, "request_id", "request %s is %s, not waiting for a provider", j.req.ID, j.req.Status).
			With(carehex.MsgNotAssignable, "status", j.req.Status)
	}
	open, err := e.d.Routes.OpenRoute(ctx, requestID)
	if carehex.ErrorCode(err) == carehex.ENOTFOUND {
		return nil, carehex.Errorf(carehex.ECONFLICT, "request_id", "request %s is not routed to an organisation", requestID)
	}
	if err != nil {
		return nil, err
	}
	if actor == "" {
		actor = Actor
	}
	r, err := e.route(ctx, j, e.now(), open, actor)
	if err != nil {
		return nil, err
	}
	if n := e.withdraw(ctx, requestID, "", carehex.ReasonUnavailable); n > 0 {
		e.log.Info("dispatch.reroute_withdrew", "request", requestID, "offers", n)
	}
	e.log.Info("dispatch.rerouted", "request", requestID, "from", open.OrgID, "to", r.OrgID, "actor", actor, "reason", reason)
	return r, nil
}

// AssignForOrg is an organisation's dispatcher assigning one of its own
// carers to a request routed to it, through the same fenced claim as an
// operator's assignment (so a carer is never booked twice). A request not
// routed to orgID, or a carer of another organisation, is "not found": an
// organisation cannot probe another's IDs.
func (e *Engine) AssignForOrg(ctx context.Context, orgID, requestID, providerID, actor, reason string) (*carehex.ServiceRequest, *carehex.Visit, error) {
	if e.d.Routes == nil {
		return nil, nil, errNoRouting
	}
	rt, err := e.d.Routes.OpenRoute(ctx, requestID)
	if carehex.ErrorCode(err) == carehex.ENOTFOUND || err == nil && rt.OrgID != orgID {
		return nil, nil, carehex.Errorf(carehex.ENOTFOUND, "request_id", "no request %q is routed to your organisation", requestID)
	}
	if err != nil {
		return nil, nil, err
	}
	p, err := e.d.Store.Provider(ctx, providerID)
	if carehex.ErrorCode(err) == carehex.ENOTFOUND || err == nil && p.OrgID != orgID {
		return nil, nil, carehex.Errorf(carehex.ENOTFOUND, "provider_id", "no carer %q in your organisation", providerID)
	}
	if err != nil {
		return nil, nil, err
	}
	if strings.TrimSpace(reason) == "" {
		reason = carehex.MsgAssignedByOrg
	}
	return e.assign(ctx, requestID, providerID, actor, reason, true)
}

// routeDone ends a request's route once a carer is assigned to it, so it
// leaves its organisation's queue and load. A failure is only logged:
// the queue and the deadline look at the request's status as well.
func (e *Engine) routeDone(ctx context.Context, requestID, actor string) {
	if e.d.Routes == nil {
		return
	}
	if err := e.d.Routes.EndRoute(ctx, requestID, carehex.RouteAssigned, actor); err != nil {
		e.log.Warn("dispatch.route_end", "request", requestID, "err", err)
	}
}

// routesDue alerts on the routes whose organisation missed its deadline
// (and re-routes them, with AutoReroute), and notes when the next falls
// due within the horizon.
func (e *Engine) routesDue(ctx context.Context) error {
	if e.d.Routes == nil {
		return nil
	}
	now := e.now()
	due, err := e.d.Routes.DueRoutes(ctx, now.Add(e.horizon()), e.cfg.Batch)
	if err != nil {
		return err
	}
	for _, r := range due {
		if r.DueTime.After(now) {
			e.dueAt(r.DueTime)
			return nil // listed by due time: the rest are later still
		}
		if ok, err := e.d.Routes.MarkRouteLate(ctx, r.ID); err != nil || !ok {
			if err != nil {
				e.log.Warn("dispatch.route_late", "route", r.ID, "err", err)
			}
			continue // another replica has it
		}
		after := r.DueTime.Sub(r.RouteTime).Round(time.Second)
		words := carehex.Msg(carehex.MsgOrgSlow, "org", r.OrgName, "after_s", int64(after/time.Second))
		if _, err := e.d.Store.RaiseAlert(ctx, &carehex.Alert{RequestID: r.RequestID, Kind: carehex.AlertOrgSlow,
			Message: fmt.Sprintf("organisation %s has not assigned a carer within %s", r.OrgName, after), Code: words.Code, Params: words.Params}); err != nil {
			e.log.Warn("dispatch.alert", "request", r.RequestID, "kind", carehex.AlertOrgSlow, "err", err)
		}
		e.log.Info("dispatch.org_slow", "request", r.RequestID, "org", r.OrgID)
		if e.cfg.Via.AutoReroute {
			if _, err := e.Reroute(ctx, r.RequestID, Actor, "deadline passed"); err != nil {
				e.log.Info("dispatch.reroute", "request", r.RequestID, "err", err)
			}
		}
	}
	if len(due) == e.cfg.Batch {
		e.dueAt(now.Add(minGap))
	}
	return nil
}
