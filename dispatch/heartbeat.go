package dispatch

import (
	"context"
	"errors"

	"github.com/carehex/carehex"
)

// Heartbeat records a provider phone's report in the live availability and
// returns the provider's status afterwards. It also repairs what the live
// state may have lost, so the phone needs nothing but its next heartbeat:
//
//   - A provider the live state does not know (their first heartbeat, or
//     Redis was restarted) is introduced with the roster's skills, if the
//     roster has them active; an inactive provider is refused (EFORBIDDEN).
//   - A provider shown busy whose visits are over had their Finish lost (to
//     a Redis outage or a replica's death): FreeIfDone frees them, and the
//     status the heartbeat then leaves is returned. A failed repair does not
//     fail the heartbeat, which counted; the next one tries again.
func (e *Engine) Heartbeat(ctx context.Context, hb carehex.Heartbeat) (carehex.LiveStatus, error) {
	st, err := e.beat(ctx, hb)
	if errors.Is(err, carehex.ErrNoLiveState) {
		var p *carehex.Provider
		if p, err = e.d.Store.Provider(ctx, hb.ProviderID); err == nil {
			if !p.Active {
				return "", carehex.Errorf(carehex.EFORBIDDEN, "", "provider is not active on the roster")
			}
			hb.Skills = p.Skills
			if st, err = e.beat(ctx, hb); err == nil && st == carehex.LiveAvailable {
				e.freed() // a newcomer: requests that found nobody may have someone now
			}
		}
	}
	if err != nil || st != carehex.LiveBusy {
		return st, err
	}
	freed, err := e.FreeIfDone(ctx, hb.ProviderID)
	switch {
	case err != nil:
		e.log.WarnContext(ctx, "dispatch.heartbeat_free", "provider", hb.ProviderID, "err", err)
		return st, nil
	case freed:
		return e.beat(ctx, hb)
	}
	return st, nil
}

// beat is one heartbeat call to the live store, bounded like every other.
func (e *Engine) beat(ctx context.Context, hb carehex.Heartbeat) (carehex.LiveStatus, error) {
	rctx, cancel := e.redisCtx(ctx)
	defer cancel()
	return e.live.Heartbeat(rctx, hb)
}
