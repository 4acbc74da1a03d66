package dispatch

import (
	"context"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// AssignPlanned commits a rostered planned visit, request requestID, to
// provider providerID in [start, end), through the same fence and SQL
// overlap check as an offer's accept or a hand assignment, so planned and
// on-demand work can never double-book a carer (invariant 1). The token
// comes from the provider's claim counter in Redis (LiveStore.Fence),
// above the last one SQL committed; the provider need not be on shift or
// online, since the visit is days ahead. A provider holding a live offer
// is refused (ECONFLICT) until it is answered: our newer token would make
// that offer's accept lose.
func (e *Engine) AssignPlanned(ctx context.Context, requestID, providerID string, start, end time.Time, actor, reason string) (*carehex.ServiceRequest, *carehex.Visit, error) {
	j, err := e.load(ctx, requestID)
	if err != nil {
		return nil, nil, err
	}
	if _, err := e.assignable(ctx, j, providerID); err != nil {
		return nil, nil, err
	}
	floor, err := e.d.Store.ProviderFence(ctx, providerID)
	if err != nil {
		return nil, nil, err
	}
	rctx, cancel := e.redisCtx(ctx)
	tok, err := e.live.Fence(rctx, providerID, uint64(max(floor, 0)))
	cancel()
	if err != nil {
		return nil, nil, err
	}
	if reason = strings.TrimSpace(reason); reason == "" {
		reason = "rostered"
	}
	if actor == "" {
		actor = Actor
	}
	req, v, err := e.d.Store.AssignRequest(ctx, carehex.Assignment{RequestID: requestID, ProviderID: providerID,
		Fence: int64(tok), Start: start, End: end, Actor: actor, Reason: reason})
	if err != nil {
		return nil, nil, err
	}
	e.withdraw(ctx, requestID, "", "rostered to a carer")
	e.log.Info("dispatch.assigned_planned", "request", requestID, "provider", providerID, "visit", v.ID, "fence", tok)
	return req, v, nil
}
