package sqlstore

import (
	"context"
	"log/slog"

	"github.com/carehex/carehex"
)

// publisher is who the store tells about its changes, with the logger for
// when telling fails.
type publisher struct {
	p   carehex.Publisher
	log *slog.Logger
}

// SetPublisher makes the store publish a notice after every commit that
// changes what someone may be waiting for (carehex.Notice says who):
//
//   - offers written (CreateOffers, CloseOffer): the provider, the request
//     and the console; the resident too when a close moved the request;
//   - a request's status or history (CreateServiceRequest,
//     TransitionRequest, AssignRequest): the request, its resident, the
//     console, and the provider of its visit;
//   - a visit event or transition (RecordVisitEvent, TransitionVisit): the
//     request, its resident, the provider and the console; and
//     carehex.OutboxNotice when it wrote a family notification;
//   - a request created or back to pending (CreateServiceRequest,
//     TransitionRequest, CloseOffer): also carehex.DispatchNotice;
//   - an alert raised or acknowledged: the console;
//   - a provider's tokens revoked (RevokeToken, RevokeTokensOf): the
//     provider, so that its open long polls and streams end at once; a
//     family member unlinked: the resident, for the same reason.
//
// Notices go out after the commit, never inside the transaction (a waiter
// woken early would re-read the old state and sleep through the change), and
// a failed publish is logged, never returned: the write has committed and the
// reconcile catches the waiters up. Call it once, after Open and before the
// store is shared; nil p turns publishing off.
func (s *DB) SetPublisher(p carehex.Publisher, log *slog.Logger) {
	if p == nil {
		s.pub.Store(nil)
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.pub.Store(&publisher{p: p, log: log})
}

// publish tells the publisher, if any, about notices; see SetPublisher.
func (s *DB) publish(ctx context.Context, notices ...carehex.Notice) {
	pub := s.pub.Load()
	if pub == nil || len(notices) == 0 {
		return
	}
	// The caller's deadline was for the write, which is done; the notice
	// must not be lost because the caller hung up right after it.
	if err := pub.p.Publish(context.WithoutCancel(ctx), notices...); err != nil {
		pub.log.Warn("store.publish", "notices", len(notices), "err", err)
	}
}

// requestNotices are the notices of a change to a request: the request, its
// resident's family, the console board, and the provider when one holds it.
func requestNotices(requestID, residentID, providerID string) []carehex.Notice {
	ns := append(make([]carehex.Notice, 0, 4), carehex.Notice{Topic: carehex.TopicRequest, ID: requestID}, carehex.ConsoleNotice)
	if residentID != "" {
		ns = append(ns, carehex.Notice{Topic: carehex.TopicResident, ID: residentID})
	}
	if providerID != "" {
		ns = append(ns, carehex.Notice{Topic: carehex.TopicProvider, ID: providerID})
	}
	return ns
}
