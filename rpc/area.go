package rpc

import (
	"context"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// areaMethods are the calls a supervisor limited to one district
// (carehex.Principal.Area) may make, each with how it is held to the area:
// records outside it are dropped from lists, and asking for one by ID is
// refused as forbidden. Every other method (the audit trail, the dispatch
// map, providers, alerts, candidates, …) covers the whole city and is
// refused to such an account: the table fails closed, so a method added
// later is out of reach until someone decides how it is scoped.
var areaMethods = map[string]func(s *Server, ctx context.Context, area string, req, resp any) (any, error){
	"AuthService/Logout":              passArea,
	"AccountService/ListSessions":     passArea,
	"AccountService/EndSession":       passArea,
	"AccountService/EndAllSessions":   passArea,
	"CatalogService/ListServiceTypes": passArea,
	// The dashboard holds the caller to her area itself (supervise.go dashScope).
	"SuperviseService/GetDashboard":         passArea,
	"SuperviseService/ListDashboardRecords": passArea,
	"SuperviseService/ListDashboardAreas":   passArea,

	"ResidentService/GetResident": func(s *Server, ctx context.Context, area string, _, resp any) (any, error) {
		r := resp.(*pb.GetResidentResponse)
		if !carehex.InArea(area, r.GetResident().GetDistrict(), r.GetResident().GetStreet()) {
			return nil, outsideArea("id", area)
		}
		return r, nil
	},
	"ResidentService/SearchResidents": func(s *Server, ctx context.Context, area string, _, resp any) (any, error) {
		r := resp.(*pb.SearchResidentsResponse)
		kept := r.Residents[:0]
		for _, x := range r.Residents {
			if carehex.InArea(area, x.GetDistrict(), x.GetStreet()) {
				kept = append(kept, x)
			}
		}
		r.Residents = kept
		return r, nil
	},
	"ResidentService/ListFamilyMembers": func(s *Server, ctx context.Context, area string, req, resp any) (any, error) {
		return resp, s.residentInArea(ctx, area, "resident_id", req.(*pb.ListFamilyMembersRequest).GetResidentId())
	},
	"IntakeService/GetServiceRequest": func(s *Server, ctx context.Context, area string, _, resp any) (any, error) {
		r := resp.(*pb.GetServiceRequestResponse)
		return r, s.residentInArea(ctx, area, "id", r.GetRequest().GetResidentId())
	},
	"IntakeService/ListServiceRequests": func(s *Server, ctx context.Context, area string, _, resp any) (any, error) {
		r := resp.(*pb.ListServiceRequestsResponse)
		in := map[string]bool{}
		kept := r.Requests[:0]
		for _, x := range r.Requests {
			ok, seen := in[x.GetResidentId()]
			if !seen {
				ok = s.residentInArea(ctx, area, "", x.GetResidentId()) == nil
				in[x.GetResidentId()] = ok
			}
			if ok {
				kept = append(kept, x)
			}
		}
		r.Requests = kept
		return r, nil
	},
	"IntakeService/ListRequestEvents": func(s *Server, ctx context.Context, area string, req, resp any) (any, error) {
		q, err := s.Store.ServiceRequest(ctx, req.(*pb.ListRequestEventsRequest).GetRequestId())
		if err != nil {
			return nil, err
		}
		return resp, s.residentInArea(ctx, area, "request_id", q.ResidentID)
	},
}

func passArea(_ *Server, _ context.Context, _ string, _, resp any) (any, error) { return resp, nil }

func outsideArea(field, area string) error {
	return carehex.Errorf(carehex.EFORBIDDEN, field, "this account sees only %s", area)
}

// residentInArea refuses a resident who does not live in area.
func (s *Server) residentInArea(ctx context.Context, area, field, residentID string) error {
	r, err := s.Store.Resident(ctx, residentID)
	if err != nil {
		return err
	}
	if !carehex.InArea(area, r.District, r.Street) {
		return outsideArea(field, area)
	}
	return nil
}

// areaScope is the interceptor that holds an area-scoped supervisor to her
// district (areaMethods). Accounts without an area pass untouched. It runs
// after the method, so a refused call has done only reading; the methods
// it allows change nothing.
func (s *Server) areaScope(next twirp.Method) twirp.Method {
	return func(ctx context.Context, req any) (any, error) {
		p, ok := carehex.PrincipalFrom(ctx)
		if !ok || p.Area == "" {
			return next(ctx, req)
		}
		svc, _ := twirp.ServiceName(ctx)
		m, _ := twirp.MethodName(ctx)
		method := svc + "/" + m // unqualified, as Access spells it
		scope := areaMethods[method]
		if scope == nil {
			return nil, carehex.Errorf(carehex.EFORBIDDEN, "", "%s covers the whole city; this account sees only %s", method, p.Area)
		}
		resp, err := next(ctx, req)
		if err != nil {
			return nil, err
		}
		return scope(s, ctx, p.Area, req, resp)
	}
}
