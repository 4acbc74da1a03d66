package rpc

import (
	"context"
	"time"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

type dispatchService struct{ *Server }

// errNoDispatcher answers dispatch calls on a server built without Redis.
var errNoDispatcher = carehex.Errorf(carehex.EUNAVAILABLE, "", "dispatch is not running on this server")

func (s dispatchService) ListCandidates(ctx context.Context, req *pb.ListCandidatesRequest) (*pb.ListCandidatesResponse, error) {
	if err := requireID("request_id", req.RequestId); err != nil {
		return nil, err
	}
	if s.Dispatch == nil {
		return nil, errNoDispatcher
	}
	rank, max := s.Dispatch.Rank, limit(req.Limit, 10, 50)
	if req.ListAll {
		// Every qualified provider within the radius: the operator reads
		// the whole list before reaching for the telephone.
		rank, max = s.Dispatch.Qualified, limit(req.Limit, 50, 200)
	}
	cs, err := rank(ctx, req.RequestId)
	if err != nil {
		return nil, err
	}
	out := &pb.ListCandidatesResponse{}
	for i, c := range cs {
		if i == max {
			break
		}
		pc := &pb.Candidate{ProviderId: c.ProviderID, ProviderName: c.Name, DistanceM: c.DistanceM,
			EtaS: int32(c.ETA / time.Second), Score: c.Score, Rankable: c.Rankable || !req.ListAll,
			State: availabilityToPB[c.Status], LastSeenTime: ts(c.LastSeen), Declined: c.Declined, NoAnswer: c.NoAnswer,
			Stale: c.Stale, Blocked: c.Blocked, OfferedThis: c.OfferedThis}
		if !req.ListAll {
			pc.State = pb.AvailabilityState_AVAILABILITY_STATE_ONLINE
		}
		for _, f := range c.Factors {
			pc.Factors = append(pc.Factors, &pb.RankFactor{Name: f.Name, Value: f.Value, Weight: f.Weight, Contribution: f.Contribution})
		}
		out.Candidates = append(out.Candidates, pc)
	}
	return out, nil
}

func (s dispatchService) AssignProvider(ctx context.Context, req *pb.AssignProviderRequest) (*pb.AssignProviderResponse, error) {
	if err := requireID("request_id", req.RequestId); err != nil {
		return nil, err
	}
	if err := requireID("provider_id", req.ProviderId); err != nil {
		return nil, err
	}
	if s.Dispatch == nil {
		return nil, errNoDispatcher
	}
	reason := carehex.Trimmed(req.Reason)
	if reason == "" {
		reason = "assigned by operator"
	}
	assign := s.Dispatch.Assign
	if req.Phoned {
		// The history says the operator rang the provider first.
		reason, assign = carehex.AssignedByPhone+": "+reason, s.Dispatch.AssignByPhone
	}
	if err := carehex.ValidateText("reason", reason, carehex.MaxTextLen, carehex.MultiLine); err != nil {
		return nil, err
	}
	p, _ := carehex.PrincipalFrom(ctx)
	r, v, err := assign(ctx, req.RequestId, req.ProviderId, p.Actor(), reason)
	if err != nil {
		return nil, err
	}
	return &pb.AssignProviderResponse{Request: requestToPB(r), VisitId: v.ID}, nil
}

func (s dispatchService) ListRequestOffers(ctx context.Context, req *pb.ListRequestOffersRequest) (*pb.ListRequestOffersResponse, error) {
	if err := requireID("request_id", req.RequestId); err != nil {
		return nil, err
	}
	os, err := s.Store.RequestOffers(ctx, req.RequestId)
	if err != nil {
		return nil, err
	}
	offers, err := s.describeOffers(ctx, os)
	if err != nil {
		return nil, err
	}
	return &pb.ListRequestOffersResponse{Offers: offers}, nil
}

func (s dispatchService) ListAlerts(ctx context.Context, req *pb.ListAlertsRequest) (*pb.ListAlertsResponse, error) {
	n := limit(req.Limit, 100, 500)
	var (
		as  []*carehex.Alert
		err error
	)
	if org, scoped := orgScope(ctx); scoped {
		as, err = s.Store.OrgAlerts(ctx, org, req.OpenOnly, n) // an organisation account sees its own (rpc/org.go)
	} else {
		as, err = s.Store.Alerts(ctx, req.OpenOnly, n)
	}
	if err != nil {
		return nil, err
	}
	out := &pb.ListAlertsResponse{}
	for _, a := range as {
		out.Alerts = append(out.Alerts, alertToPB(a))
	}
	return out, nil
}

func (s dispatchService) AcknowledgeAlert(ctx context.Context, req *pb.AcknowledgeAlertRequest) (*pb.AcknowledgeAlertResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	p, _ := carehex.PrincipalFrom(ctx)
	a, err := s.Store.AcknowledgeAlert(ctx, req.Id, p.Actor())
	if err != nil {
		return nil, err
	}
	return &pb.AcknowledgeAlertResponse{Alert: alertToPB(a)}, nil
}

func (s dispatchService) MarkUnfilled(ctx context.Context, req *pb.MarkUnfilledRequest) (*pb.MarkUnfilledResponse, error) {
	if err := requireID("request_id", req.RequestId); err != nil {
		return nil, err
	}
	reason := carehex.Trimmed(req.Reason)
	if reason == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "reason", "reason is required to give up on a request")
	}
	r, err := s.transition(ctx, req.RequestId, carehex.StatusUnfilled, reason)
	if err != nil {
		return nil, err
	}
	return &pb.MarkUnfilledResponse{Request: requestToPB(r)}, nil
}

func (s dispatchService) RetryDispatch(ctx context.Context, req *pb.RetryDispatchRequest) (*pb.RetryDispatchResponse, error) {
	if err := requireID("request_id", req.RequestId); err != nil {
		return nil, err
	}
	r, err := s.transition(ctx, req.RequestId, carehex.StatusPending, "dispatch retried by operator")
	if err != nil {
		return nil, err
	}
	return &pb.RetryDispatchResponse{Request: requestToPB(r)}, nil
}

// transition moves a request for an operator, then settles dispatch around
// the change: open offers are withdrawn when it leaves dispatch (so their
// providers are free at once, not when the offers expire), and a request
// back to pending is dispatched at once rather than at the next tick.
func (s *Server) transition(ctx context.Context, id string, to carehex.Status, reason string) (*carehex.ServiceRequest, error) {
	p, _ := carehex.PrincipalFrom(ctx)
	r, err := s.Store.TransitionRequest(ctx, id, to, p.Actor(), reason)
	if err != nil {
		return nil, err
	}
	s.afterChange(ctx, r, reason)
	return r, nil
}

// afterChange is best effort: the engine's background pass does the same
// work a moment later if this fails.
func (s *Server) afterChange(ctx context.Context, r *carehex.ServiceRequest, reason string) {
	if s.Dispatch == nil {
		return
	}
	var err error
	switch r.Status {
	case carehex.StatusPending:
		_, err = s.Dispatch.Dispatch(ctx, r.ID)
	case carehex.StatusCancelled, carehex.StatusUnfilled:
		_, err = s.Dispatch.WithdrawOffers(ctx, r.ID, reason)
		if err == nil && r.ProviderID != "" { // a cancelled visit frees its provider
			_, err = s.Dispatch.FreeIfDone(ctx, r.ProviderID)
		}
	}
	if err != nil && s.Logger != nil {
		s.Logger.WarnContext(ctx, "rpc.dispatch_after_change", "request", r.ID, "status", r.Status, "err", err)
	}
}

// dispatchNew offers a request just created, best effort like afterChange.
func (s *Server) dispatchNew(ctx context.Context, n *carehex.NewRequest) {
	if s.Dispatch == nil {
		return
	}
	if _, err := s.Dispatch.DispatchNew(ctx, n); err != nil && s.Logger != nil {
		s.Logger.WarnContext(ctx, "rpc.dispatch_after_change", "request", n.Request.ID, "status", n.Request.Status, "err", err)
	}
}

var offerStatuses = map[carehex.OfferStatus]pb.OfferStatus{
	carehex.OfferOpen:      pb.OfferStatus_OFFER_STATUS_OPEN,
	carehex.OfferAccepted:  pb.OfferStatus_OFFER_STATUS_ACCEPTED,
	carehex.OfferDeclined:  pb.OfferStatus_OFFER_STATUS_DECLINED,
	carehex.OfferExpired:   pb.OfferStatus_OFFER_STATUS_EXPIRED,
	carehex.OfferWithdrawn: pb.OfferStatus_OFFER_STATUS_WITHDRAWN,
}

func offerToPB(o *carehex.Offer) *pb.Offer {
	return &pb.Offer{Id: o.ID, RequestId: o.RequestID, ProviderId: o.ProviderID, ServiceCode: o.ServiceCode,
		DistanceM: o.DistanceM, Status: offerStatuses[o.Status], Reason: o.Reason,
		ExpireTime: ts(o.ExpireTime), CreateTime: ts(o.CreateTime), CloseTime: ts(o.CloseTime)}
}

// alertToPB carries the alert's code and parameters; an alert from before
// codes existed has its kind as its code (every kind is a message code).
func alertToPB(a *carehex.Alert) *pb.Alert {
	code := a.Code
	if code == "" {
		code = a.Kind
	}
	return &pb.Alert{Id: a.ID, RequestId: a.RequestID, VisitId: a.VisitID, Kind: a.Kind, Message: a.Message,
		CreateTime: ts(a.CreateTime), AckTime: ts(a.AckTime), AckBy: a.AckBy,
		Code: code, Params: a.Params, ResidentId: a.ResidentID, ResidentName: a.ResidentName, ServiceCode: a.ServiceCode,
		CloseReason: a.CloseReason}
}
