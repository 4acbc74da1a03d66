package dispatch

import (
	"context"

	"github.com/carehex/carehex"
)

// GoOffline takes a provider out of dispatch at once, for a phone whose
// tokens were revoked: its live state leaves every index (so no pass offers
// it anything more), and each offer it still holds is withdrawn and its
// request offered to the next candidate, instead of waiting for the offer
// to expire unanswered. Its next heartbeat cannot bring it back: it has no
// token left to send one with.
func (e *Engine) GoOffline(ctx context.Context, providerID string) error {
	rctx, cancel := e.redisCtx(ctx)
	_, err := e.live.Remove(rctx, providerID)
	cancel()
	if err != nil {
		return err
	}
	open, err := e.d.Store.OpenOffers(ctx, providerID, e.now())
	if err != nil {
		return err
	}
	for _, o := range open {
		if _, err := e.d.Store.CloseOffer(ctx, o.ID, carehex.OfferWithdrawn, carehex.ReasonDeviceRevoked, Actor); ignoreConflict(err) != nil {
			return err
		}
		e.log.Info("dispatch.offline_withdrawn", "offer", o.ID, "request", o.RequestID, "provider", providerID)
		if _, err := e.Dispatch(ctx, o.RequestID); ignoreConflict(err) != nil {
			e.log.Warn("dispatch.redispatch", "request", o.RequestID, "err", err)
		}
	}
	return nil
}
