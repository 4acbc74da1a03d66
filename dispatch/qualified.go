package dispatch

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// Qualified lists every active provider with the request's skill within its
// class's maximum radius, whatever their live state: what the operator
// needs when automatic dispatch found nobody and the telephone is next.
// The providers Rank would offer the request to come first, by score, with
// their factors; then the rest, each saying why the dispatcher passes them
// by, most reachable first: holding this request's offer, online but
// already asked (no answer, then declined), offline or stale (a phone call
// may reach them), holding another offer, busy, and last those the
// resident asked not to be sent; nearest first within each.
//
// The distance is from the provider's last reported position, or from
// their home when the live state has none. Only providers whose home lies
// within twice the maximum radius are looked up in the live state (in one
// pipelined round trip), so one question does not read the whole city's
// roster from Redis.
func (e *Engine) Qualified(ctx context.Context, requestID string) ([]carehex.Candidate, error) {
	j, err := e.load(ctx, requestID)
	if err != nil {
		return nil, err
	}
	now := e.now()
	ranked, err := e.rank(ctx, j, now)
	if err != nil {
		return nil, err
	}
	out := make([]carehex.Candidate, 0, len(ranked))
	seen := map[string]bool{}
	for _, c := range ranked {
		c.Status, c.Rankable = carehex.LiveAvailable, true
		seen[c.ProviderID] = true
		out = append(out, c)
	}
	type asked struct{ declined, noAnswer, open bool }
	offers := map[string]*asked{}
	for _, o := range j.offers {
		a := offers[o.ProviderID]
		if a == nil {
			a = &asked{}
			offers[o.ProviderID] = a
		}
		switch o.Status {
		case carehex.OfferDeclined:
			a.declined = true
		case carehex.OfferExpired:
			a.noAnswer = true
		case carehex.OfferOpen:
			a.open = true
		}
	}
	roster, _, err := e.d.Store.SearchProviders(ctx, carehex.ProviderFilter{Skill: j.svc.RequiredSkill, Limit: maxRoster})
	if err != nil {
		return nil, err
	}
	origin := j.res.Location
	var near []*carehex.Provider
	for _, p := range roster {
		if !seen[p.ID] && (carehex.DistanceM(origin, p.Home) <= 2*j.cc.MaxRadiusM || offers[p.ID] != nil) {
			near = append(near, p)
		}
	}
	ids := make([]string, len(near))
	for i, p := range near {
		ids[i] = p.ID
	}
	rctx, cancel := e.redisCtx(ctx)
	lives, err := e.live.Lives(rctx, ids)
	cancel()
	if err != nil {
		return nil, err
	}
	hours, err := e.d.Store.WorkingHoursOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	var rest []carehex.Candidate
	for i, p := range near {
		c := carehex.Candidate{ProviderID: p.ID, Name: p.Name, Status: carehex.LiveOffline,
			Blocked: slices.Contains(j.res.Preferences.BlockedProviderIDs, p.ID)}
		pos := p.Home
		if l := lives[i]; l != nil {
			c.Status, c.LastSeen, c.Stale = l.Status, l.LastSeen, e.stale(l, now)
			if l.Position != (carehex.LatLng{}) {
				pos = l.Position
			}
		}
		c.DistanceM = carehex.DistanceM(origin, pos)
		if c.DistanceM > j.cc.MaxRadiusM {
			continue
		}
		c.ETA = e.eta(c.DistanceM, hours[p.ID]).Round(time.Second)
		if a := offers[p.ID]; a != nil {
			c.Declined, c.NoAnswer = a.declined, a.noAnswer
			c.OfferedThis = a.open && c.Status == carehex.LiveOffered
		}
		rest = append(rest, c)
	}
	slices.SortFunc(rest, func(a, b carehex.Candidate) int {
		if c := cmp.Compare(reachOrder(a), reachOrder(b)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.DistanceM, b.DistanceM); c != 0 {
			return c
		}
		return strings.Compare(a.ProviderID, b.ProviderID)
	})
	return append(out, rest...), nil
}

// reachOrder ranks a provider the dispatcher passes by: how likely a phone
// call gets them to the elder soon.
func reachOrder(c carehex.Candidate) int {
	switch {
	case c.Blocked:
		return 7
	case c.OfferedThis:
		return 0
	case c.Status == carehex.LiveAvailable && !c.Stale && !c.Declined:
		return 1 // online, asked before and did not answer
	case c.Status == carehex.LiveAvailable && !c.Stale:
		return 2 // online, declined this one
	case c.Status == carehex.LiveOffline || c.Stale:
		if c.Declined {
			return 4
		}
		return 3
	case c.Status == carehex.LiveOffered:
		return 5
	default: // busy
		return 6
	}
}

// stale: a provider not offline whose last heartbeat is too old for dispatch.
func (e *Engine) stale(l *carehex.LiveState, now time.Time) bool {
	return l.Status != carehex.LiveOffline && (l.LastSeen.IsZero() || now.Sub(l.LastSeen) > e.cfg.HeartbeatMaxAge)
}

// Availability returns the live state of each provider, in order, for the
// console's roster, read in one round trip; a provider the live state does
// not know is offline.
func (e *Engine) Availability(ctx context.Context, providerIDs []string) ([]carehex.Availability, error) {
	rctx, cancel := e.redisCtx(ctx)
	lives, err := e.live.Lives(rctx, providerIDs)
	cancel()
	if err != nil {
		return nil, err
	}
	now := e.now()
	out := make([]carehex.Availability, len(providerIDs))
	for i, id := range providerIDs {
		out[i] = carehex.Availability{ProviderID: id, Status: carehex.LiveOffline}
		if l := lives[i]; l != nil {
			out[i].Status, out[i].LastSeen, out[i].Stale = l.Status, l.LastSeen, e.stale(l, now)
		}
	}
	return out, nil
}
