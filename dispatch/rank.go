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

// job is a request with everything matching needs to know about it.
type job struct {
	req    *carehex.ServiceRequest
	svc    *carehex.ServiceType
	res    *carehex.Resident
	class  carehex.UrgencyClass
	cc     ClassConfig
	offers []*carehex.Offer // every offer made of the request so far
	// onlyOrg: only this organisation's carers may be offered it (its
	// auto-dispatch of a request routed to it; orgroute.go)
	onlyOrg string
}

func (e *Engine) load(ctx context.Context, requestID string) (*job, error) {
	req, err := e.d.Store.ServiceRequest(ctx, requestID)
	if err != nil {
		return nil, err
	}
	svc, err := e.d.Store.ServiceType(ctx, req.ServiceCode)
	if err != nil {
		return nil, err
	}
	res, err := e.d.Store.Resident(ctx, req.ResidentID)
	if err != nil {
		return nil, err
	}
	offers, err := e.d.Store.RequestOffers(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	class := classOf(req, svc)
	return &job{req: req, svc: svc, res: res, class: class, cc: e.cfg.Class(class), offers: offers}, nil
}

// classOf is the urgency class a request is dispatched by: its service
// type's, except that an emergency call is an emergency whatever the
// service, and that the request's own timing wins over the type's: a
// booked window makes it scheduled (a meal for tomorrow noon is not due in
// 15 minutes), and "soon" for a type normally booked ahead means now.
func classOf(r *carehex.ServiceRequest, svc *carehex.ServiceType) carehex.UrgencyClass {
	switch {
	case r.Urgency == carehex.UrgencyEmergency || svc.UrgencyClass == carehex.ClassEmergency && r.Urgency != carehex.UrgencyScheduled:
		return carehex.ClassEmergency
	case r.Urgency == carehex.UrgencyScheduled:
		return carehex.ClassScheduled
	default:
		return carehex.ClassSoon
	}
}

// dueForDispatch reports whether a request is to be offered at now: at once,
// or a lead time before its window, and not after the window has closed.
func (e *Engine) dueForDispatch(r *carehex.ServiceRequest, now time.Time) bool {
	if r.Urgency != carehex.UrgencyScheduled {
		return true
	}
	return !now.Before(r.WindowStart.Add(-e.cfg.ScheduleLead)) && now.Before(r.WindowEnd)
}

// deadline is when an unaccepted request becomes an operator alert.
func (e *Engine) deadline(r *carehex.ServiceRequest, class carehex.UrgencyClass) time.Time {
	cc := e.cfg.Class(class)
	if class == carehex.ClassScheduled && !r.WindowStart.IsZero() {
		return r.WindowStart.Add(cc.Deadline)
	}
	return r.CreateTime.Add(cc.Deadline)
}

func (e *Engine) unacceptedMessage(r *carehex.ServiceRequest, class carehex.UrgencyClass, due time.Time) (string, carehex.Message) {
	if class == carehex.ClassScheduled && !r.WindowStart.IsZero() {
		return fmt.Sprintf("nobody has accepted the %s visit booked for %s", r.ServiceCode,
				r.WindowStart.In(e.cfg.DayZone).Format("2006-01-02 15:04")),
			carehex.Msg(carehex.MsgScheduledUnaccepted, "service_code", r.ServiceCode, "window_start_time", r.WindowStart.UTC().Format(time.RFC3339))
	}
	deadline := e.cfg.Class(class).Deadline
	code := carehex.MsgRequestUnaccepted
	if class == carehex.ClassEmergency {
		code = carehex.MsgEmergencyUnaccepted
	}
	return fmt.Sprintf("nobody accepted the %s %s request within %s", class, r.ServiceCode, deadline),
		carehex.Msg(code, "service_code", r.ServiceCode, "after_s", int64(deadline/time.Second))
}

// slot is when the visit would take place if assigned at now: at once, or
// at the window's start if that is later, for the service's usual length.
func slot(r *carehex.ServiceRequest, svc *carehex.ServiceType, now time.Time) (start, end time.Time) {
	start = now
	if r.Urgency == carehex.UrgencyScheduled && r.WindowStart.After(now) {
		start = r.WindowStart
	}
	d := svc.DefaultDuration
	if d <= 0 {
		d = time.Hour // a catalogue entry without a length still blocks the provider for a while
	}
	return start, start.Add(d)
}

// Rank returns the providers the engine would offer request requestID to
// now, best first, each with its score and the factors behind it: what the
// operator console shows. It claims nothing. Providers already offered the
// request, blocked by the resident, busy, offline or stale are not listed.
func (e *Engine) Rank(ctx context.Context, requestID string) ([]carehex.Candidate, error) {
	j, err := e.load(ctx, requestID)
	if err != nil {
		return nil, err
	}
	return e.rank(ctx, j, e.now())
}

// rank applies the hard filters and the soft ranking.
//
// Hard filters: Redis returns only providers with the skill who are
// available (not offline, offered or busy), whose last heartbeat is fresh,
// and who are not excluded (blocked by the resident, or offered this request
// before, whatever came of it). The roster then drops providers who are
// inactive or lack the skill on record, and then those with working hours
// who are off shift at the request's start (onShift; not for emergencies).
//
// The search starts at the class's start radius and doubles it, up to the
// maximum, until Enough providers qualify: a nearby helper is not passed
// over for a marginally better one across town, but a sparse suburb still
// finds someone.
func (e *Engine) rank(ctx context.Context, j *job, now time.Time) ([]carehex.Candidate, error) {
	exclude := slices.Clone(j.res.Preferences.BlockedProviderIDs)
	for _, o := range j.offers {
		exclude = append(exclude, o.ProviderID)
	}
	roster := map[string]*carehex.Provider{}
	var found []carehex.LiveCandidate
	for r := j.cc.StartRadiusM; ; r = min(2*r, j.cc.MaxRadiusM) {
		rctx, cancel := e.redisCtx(ctx)
		cs, err := e.live.Candidates(rctx, carehex.LiveQuery{Origin: j.res.Location, Skill: j.svc.RequiredSkill,
			MaxRadiusM: r, Want: j.cc.Want, Exclude: exclude, Now: now, MaxAge: e.cfg.HeartbeatMaxAge})
		cancel()
		if err != nil {
			return nil, err
		}
		if err := e.readRoster(ctx, roster, cs); err != nil {
			return nil, err
		}
		found = found[:0]
		for _, c := range cs {
			p := roster[c.ProviderID]
			if p == nil || !p.Active || !slices.Contains(p.Skills, j.svc.RequiredSkill) || j.onlyOrg != "" && p.OrgID != j.onlyOrg {
				exclude = append(exclude, c.ProviderID) // do not let them take a place in the next, wider search
				continue
			}
			found = append(found, c)
		}
		if len(found) >= j.cc.Enough || r >= j.cc.MaxRadiusM {
			break
		}
	}
	if len(found) == 0 {
		return nil, nil
	}

	served, err := e.servedBefore(ctx, j)
	if err != nil {
		return nil, err
	}
	start, _ := slot(j.req, j.svc, now)
	found, hours, err := e.onShift(ctx, j, found, start)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	ids := make([]string, len(found))
	for i, c := range found {
		ids[i] = c.ProviderID
	}
	today, err := e.visitsOn(ctx, ids, start)
	if err != nil {
		return nil, err
	}
	out := make([]carehex.Candidate, 0, len(found))
	for _, c := range found {
		p := roster[c.ProviderID]
		out = append(out, e.score(j, p, c.DistanceM, e.eta(c.DistanceM, hours[p.ID]), served[p.ID], today[p.ID]))
	}
	slices.SortFunc(out, func(a, b carehex.Candidate) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.DistanceM, b.DistanceM); c != 0 {
			return c
		}
		return strings.Compare(a.ProviderID, b.ProviderID)
	})
	return out, nil
}

// score adds up the soft factors of one candidate.
// eta is the carer's journey at their travel mode's speed.
func (e *Engine) score(j *job, p *carehex.Provider, distanceM float64, eta time.Duration, servedBefore bool, visitsToday int) carehex.Candidate {
	w := e.cfg.Weights
	prefs := j.res.Preferences
	b := func(ok bool) float64 {
		if ok {
			return 1
		}
		return 0
	}
	factors := []carehex.Factor{
		{Name: carehex.FactorTravelTime, Value: round2(eta.Minutes()), Weight: w.TravelPerMinute},
		{Name: carehex.FactorContinuity, Value: b(servedBefore), Weight: w.Continuity},
		{Name: carehex.FactorPreferred, Value: b(slices.Contains(prefs.PreferredProviderIDs, p.ID)), Weight: w.Preferred},
		{Name: carehex.FactorGender, Value: b(prefs.PreferredProviderGender != "" && p.Gender == prefs.PreferredProviderGender), Weight: w.Gender},
		{Name: carehex.FactorLanguage, Value: b(speaks(p, prefs.Language)), Weight: w.Language},
		{Name: carehex.FactorFairShare, Value: float64(visitsToday), Weight: w.VisitToday},
	}
	c := carehex.Candidate{ProviderID: p.ID, Name: p.Name, DistanceM: distanceM, ETA: eta.Round(time.Second), Factors: factors}
	for i := range factors {
		factors[i].Contribution = round2(factors[i].Value * factors[i].Weight)
		c.Score += factors[i].Contribution
	}
	c.Score = round2(c.Score)
	return c
}

// round2 keeps two decimals: the console shows the figures, and a score that
// prints as 7.000000001 explains nothing.
func round2(v float64) float64 {
	if v < 0 {
		return -float64(int64(-v*100+0.5)) / 100
	}
	return float64(int64(v*100+0.5)) / 100
}

func speaks(p *carehex.Provider, lang string) bool {
	lang = strings.TrimSpace(lang)
	if lang == "" {
		return false
	}
	for _, l := range p.Languages {
		if strings.EqualFold(strings.TrimSpace(l), lang) {
			return true
		}
	}
	return false
}

// readRoster reads the candidates not yet in cache from the roster, in one
// query; a provider Redis knows and the roster does not (removed since) is
// cached as nil.
func (e *Engine) readRoster(ctx context.Context, cache map[string]*carehex.Provider, cs []carehex.LiveCandidate) error {
	var ids []string
	for _, c := range cs {
		if _, ok := cache[c.ProviderID]; !ok {
			ids = append(ids, c.ProviderID)
			cache[c.ProviderID] = nil
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ps, err := e.d.Store.ProvidersByID(ctx, ids)
	if err != nil {
		return err
	}
	for _, p := range ps {
		cache[p.ID] = p
	}
	return nil
}

// servedBefore lists the providers who took on one of the resident's
// earlier requests (the newest 100): continuity of care.
func (e *Engine) servedBefore(ctx context.Context, j *job) (map[string]bool, error) {
	past, err := e.d.Store.ServiceRequests(ctx, carehex.RequestFilter{ResidentID: j.res.ID, Limit: 100,
		Statuses: []carehex.Status{carehex.StatusCompleted, carehex.StatusInProgress, carehex.StatusEnRoute, carehex.StatusAssigned}})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range past {
		if r.ID != j.req.ID && r.ProviderID != "" {
			out[r.ProviderID] = true
		}
	}
	return out, nil
}

// visitsOn counts each provider's visits (not cancelled) planned on the day
// of at, in the dispatch zone's time.
func (e *Engine) visitsOn(ctx context.Context, providerIDs []string, at time.Time) (map[string]int, error) {
	y, m, d := at.In(e.cfg.DayZone).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, e.cfg.DayZone)
	return e.d.Store.PlannedVisitCounts(ctx, providerIDs, from, from.AddDate(0, 0, 1))
}
