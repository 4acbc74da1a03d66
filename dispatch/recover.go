package dispatch

import (
	"context"
	"time"

	"github.com/carehex/carehex"
)

// Redis holds only what can be rebuilt (invariant 3). When it has lost the
// zone (a restart without persistence, a flush, a failover to an empty
// replica), the engine rebuilds it from the system of record before it
// claims anything:
//
//   - the offers open at the loss lost their claims with it: they are
//     closed as expired, their requests return to pending and are offered
//     again (to other providers: the rule against repeats holds);
//   - every active provider on the roster gets its live state back, offline
//     until its phone's next heartbeat (Redis no longer knows who is out
//     there), or busy when a visit holds it now;
//   - each provider's fencing token starts above the highest token SQL has
//     seen for it, committed (VisitStore.ProviderFences) or in an offer open
//     at the loss, so no new claim can carry a token an old one used.
//
// Two replicas rebuilding at once is harmless: closing an offer twice is a
// conflict one of them ignores, and Rebuild keeps state already there.

// rosterLimit is how many due offers one rebuild pass closes at a time;
// maxRoster is the largest roster ProviderStore.Providers lists in one call
// (a city has 2,000 to 20,000 providers).
const (
	rosterLimit = 1000
	maxRoster   = 100_000
)

// outstandingHorizon reaches past the expiry of every open offer, so that
// DueOffers lists all of them.
const outstandingHorizon = 24 * time.Hour

func (e *Engine) recoverLive(ctx context.Context) error {
	rctx, cancel := e.redisCtx(ctx)
	lost, err := e.live.Lost(rctx)
	cancel()
	if err != nil || !lost {
		return err
	}
	detected := e.now()
	e.log.Warn("dispatch.redis_lost", "zone", e.live.Zone())

	floors := map[string]int64{}
	for range 20 { // bounded: offers made after the loss keep appearing
		due, err := e.d.Store.DueOffers(ctx, detected.Add(outstandingHorizon), rosterLimit)
		if err != nil {
			return err
		}
		closed := 0
		for _, o := range due {
			if o.CreateTime.After(detected) {
				continue // made by a replica that rebuilt already; its claim is real
			}
			floors[o.ProviderID] = max(floors[o.ProviderID], o.Fence)
			if _, err := e.d.Store.CloseOffer(ctx, o.ID, carehex.OfferExpired,
				"live availability was lost (Redis restart); the request is offered again", Actor); ignoreConflict(err) != nil {
				return err
			}
			closed++
		}
		if len(due) < rosterLimit || closed == 0 {
			break
		}
	}

	roster, err := e.d.Store.Providers(ctx, maxRoster)
	if err != nil {
		return err
	}
	if len(roster) == maxRoster {
		e.log.Warn("dispatch.rebuild", "err", "roster has at least 100,000 providers; the rest register on their next heartbeat")
	}
	fences, err := e.d.Store.ProviderFences(ctx)
	if err != nil {
		return err
	}
	visits, err := e.d.Store.LiveVisits(ctx)
	if err != nil {
		return err
	}
	live := map[string][]*carehex.Visit{} // each provider's newest first
	for _, v := range visits {
		live[v.ProviderID] = append(live[v.ProviderID], v)
	}
	now := e.now()
	snaps := make([]carehex.LiveSnapshot, 0, len(roster))
	for _, p := range roster {
		if !p.Active || len(p.Skills) == 0 {
			continue
		}
		s := carehex.LiveSnapshot{ProviderID: p.ID, Skills: p.Skills, Position: p.Home, Status: carehex.LiveOffline}
		token := max(fences[p.ID], floors[p.ID])
		for _, v := range live[p.ID] {
			if v.Status != carehex.StatusAssigned || !v.PlannedStart.After(now.Add(e.cfg.CommitAhead)) {
				s.Status, s.RequestID = carehex.LiveBusy, v.RequestID
				token = max(token, v.Fence)
				break
			}
		}
		s.Token = uint64(max(token, 0))
		snaps = append(snaps, s)
	}
	rctx, cancel = context.WithTimeout(ctx, 10*e.cfg.RedisTimeout) // a whole roster, in pipelines
	defer cancel()
	n, err := e.live.Rebuild(rctx, snaps)
	if err != nil {
		return err
	}
	e.log.Info("dispatch.rebuilt", "zone", e.live.Zone(), "providers", len(snaps), "created", n, "offers_closed", len(floors) > 0)
	e.dueAt(e.now()) // the requests whose offers were closed wait for a pass
	return nil
}
