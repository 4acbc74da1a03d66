package rpc

import (
	"context"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// Two-tier dispatch (issue 12; dispatch/orgroute.go): the routes are read
// from the store, re-routing and assignment go through Server.Router.

type routeService struct{ *Server }

var errNoRouting = carehex.Errorf(carehex.EUNAVAILABLE, "", "dispatch via organisations is not running on this server")

// orgOf is the organisation a call acts for: an organisation account's
// own (org_id, if given, must be it), or, for platform staff, org_id.
func orgOf(ctx context.Context, orgID string) (string, error) {
	if own, scoped := orgScope(ctx); scoped {
		if orgID != "" && orgID != own {
			return "", outsideOrg("org_id")
		}
		return own, nil
	}
	return orgID, requireID("org_id", orgID)
}

func (s routeService) ListOrgQueue(ctx context.Context, req *pb.ListOrgQueueRequest) (*pb.ListOrgQueueResponse, error) {
	org, err := orgOf(ctx, req.OrgId)
	if err != nil {
		return nil, err
	}
	routes, err := s.Store.OrgRoutes(ctx, org, limit(req.Limit, 100, 500))
	if err != nil {
		return nil, err
	}
	auto, err := s.Store.OrgAutoDispatch(ctx, org)
	if err != nil {
		return nil, err
	}
	out := &pb.ListOrgQueueResponse{AutoDispatch: auto}
	own := ""
	if _, scoped := orgScope(ctx); scoped {
		own = org
	}
	for _, r := range routes {
		q, err := s.Store.ServiceRequest(ctx, r.RequestID)
		if err != nil {
			return nil, err
		}
		pr := routeToPB(r, own)
		pr.ServiceCode, pr.Urgency = q.ServiceCode, urgencyToPB[q.Urgency]
		out.Routes = append(out.Routes, pr)
	}
	return out, nil
}

func (s routeService) AssignOrgCarer(ctx context.Context, req *pb.AssignOrgCarerRequest) (*pb.AssignOrgCarerResponse, error) {
	if err := requireID("request_id", req.RequestId); err != nil {
		return nil, err
	}
	if err := requireID("provider_id", req.ProviderId); err != nil {
		return nil, err
	}
	reason := carehex.Trimmed(req.Reason)
	if err := carehex.ValidateText("reason", reason, carehex.MaxTextLen, carehex.MultiLine); err != nil {
		return nil, err
	}
	org, scoped := orgScope(ctx)
	if !scoped {
		// The role table admits organisation accounts only; this holds
		// even if it were widened by mistake.
		return nil, carehex.Errorf(carehex.EFORBIDDEN, "", "only an organisation's dispatcher assigns its own carers")
	}
	if s.Router == nil {
		return nil, errNoRouting
	}
	p, _ := carehex.PrincipalFrom(ctx)
	r, v, err := s.Router.AssignForOrg(ctx, org, req.RequestId, req.ProviderId, p.Actor(), reason)
	if err != nil {
		return nil, err
	}
	return &pb.AssignOrgCarerResponse{Request: requestToPB(r), VisitId: v.ID}, nil
}

func (s routeService) SetOrgAutoDispatch(ctx context.Context, req *pb.SetOrgAutoDispatchRequest) (*pb.SetOrgAutoDispatchResponse, error) {
	org, err := orgOf(ctx, req.OrgId)
	if err != nil {
		return nil, err
	}
	p, _ := carehex.PrincipalFrom(ctx)
	if err := s.Store.SetOrgAutoDispatch(ctx, org, req.Enabled, p.Actor()); err != nil {
		return nil, err
	}
	return &pb.SetOrgAutoDispatchResponse{Enabled: req.Enabled}, nil
}

func (s routeService) ListRequestRoutes(ctx context.Context, req *pb.ListRequestRoutesRequest) (*pb.ListRequestRoutesResponse, error) {
	if err := requireID("request_id", req.RequestId); err != nil {
		return nil, err
	}
	routes, err := s.Store.RequestRoutes(ctx, req.RequestId)
	if err != nil {
		return nil, err
	}
	org, scoped := orgScope(ctx)
	out := &pb.ListRequestRoutesResponse{}
	for _, r := range routes {
		if scoped && r.OrgID != org {
			continue // another organisation's routing of it is none of its business
		}
		out.Routes = append(out.Routes, routeToPB(r, org))
	}
	return out, nil
}

func (s routeService) RerouteRequest(ctx context.Context, req *pb.RerouteRequestRequest) (*pb.RerouteRequestResponse, error) {
	if err := requireID("request_id", req.RequestId); err != nil {
		return nil, err
	}
	reason := carehex.Trimmed(req.Reason)
	if err := carehex.ValidateText("reason", reason, carehex.MaxTextLen, carehex.MultiLine); err != nil {
		return nil, err
	}
	if s.Router == nil {
		return nil, errNoRouting
	}
	p, _ := carehex.PrincipalFrom(ctx)
	r, err := s.Router.Reroute(ctx, req.RequestId, p.Actor(), reason)
	if err != nil {
		return nil, err
	}
	return &pb.RerouteRequestResponse{Route: routeToPB(r, "")}, nil
}

// routeToPB converts a route; for an organisation account (org set) the
// ranking keeps only that organisation's own entry.
func routeToPB(r *carehex.Route, org string) *pb.OrgRoute {
	out := &pb.OrgRoute{Id: r.ID, RequestId: r.RequestID, OrgId: r.OrgID, OrgName: r.OrgName, Attempt: int32(r.Attempt),
		RouteTime: ts(r.RouteTime), DueTime: ts(r.DueTime), LateTime: ts(r.LateTime), EndTime: ts(r.EndTime), EndReason: r.EndReason}
	for _, c := range r.Ranking {
		if org != "" && c.OrgID != org {
			continue
		}
		pc := &pb.OrgCandidate{OrgId: c.OrgID, Name: c.Name, Eligible: c.Eligible, Why: c.Why}
		for _, f := range c.Factors {
			pc.Factors = append(pc.Factors, &pb.RankFactor{Name: f.Name, Value: f.Value, Weight: f.Weight, Contribution: f.Contribution})
		}
		out.Ranking = append(out.Ranking, pc)
	}
	return out
}
