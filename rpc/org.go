package rpc

import (
	"context"
	"slices"
	"strings"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// orgScope says whether the caller is an organisation account (org_dispatcher
// or org_admin) and, if so, its organisation: a handler that returns or
// changes requests, carers, visits, alerts or statements keeps to orgID
// when scoped. Platform accounts are not scoped. An organisation role
// without an organisation never gets this far (sqlstore.TokenPrincipal
// refuses its token), so scoped always comes with a non-empty orgID.
func orgScope(ctx context.Context) (orgID string, scoped bool) {
	p, ok := carehex.PrincipalFrom(ctx)
	if !ok || !p.Role.OrgRole() {
		return "", false
	}
	return p.OrgID, true
}

// orgRule is how one method is held to the caller's organisation: who of
// the two organisation roles may call it, a check before it runs (the IDs
// it names must be the organisation's; a write refused here has changed
// nothing), and a filter of its answer. A rule with neither keeps to the
// organisation inside the handler (orgScope), or touches nothing of any
// organisation (Logout, the catalogue).
type orgRule struct {
	roles  []carehex.Role
	before func(s *Server, ctx context.Context, org string, req any) error
	after  func(s *Server, ctx context.Context, org string, resp any) (any, error)
}

var (
	orgBoth       = []carehex.Role{carehex.RoleOrgDispatcher, carehex.RoleOrgAdmin}
	orgDispatcher = []carehex.Role{carehex.RoleOrgDispatcher}
	orgAdmin      = []carehex.Role{carehex.RoleOrgAdmin}
)

// orgMethods is the role table of the organisation roles, as Access is the
// platform's: a method missing here is refused to them (fail closed), so an
// RPC added later stays out of their reach until someone decides how it is
// scoped. Everything of the platform (residents at large, intake,
// organisations and contracts, users, funding, the catalogue's writes, the
// audit trail, the city map, planned care) is absent on purpose.
var orgMethods = map[string]orgRule{
	"AuthService/Logout":              {roles: orgBoth},
	"AccountService/ListSessions":     {roles: orgBoth}, // each checks a non-admin names only herself
	"AccountService/EndSession":       {roles: orgBoth},
	"AccountService/EndAllSessions":   {roles: orgBoth},
	"CatalogService/ListServiceTypes": {roles: orgBoth},
	"MapService/GetMapConfig":         {roles: orgBoth},

	// Its requests (and their visits): listed by the store's rule
	// (RequestFilter.OrgID, set by the handler), read one by one only if
	// its own; another organisation's carers and a job it no longer holds
	// are masked.
	"IntakeService/ListServiceRequests": {roles: orgBoth, after: func(s *Server, ctx context.Context, org string, resp any) (any, error) {
		r := resp.(*pb.ListServiceRequestsResponse)
		return r, s.maskForOrg(ctx, org, r.Requests)
	}},
	"IntakeService/GetServiceRequest": {roles: orgBoth,
		before: func(s *Server, ctx context.Context, org string, req any) error {
			return s.requestOfOrg(ctx, org, "id", req.(*pb.GetServiceRequestRequest).GetId())
		},
		after: func(s *Server, ctx context.Context, org string, resp any) (any, error) {
			r := resp.(*pb.GetServiceRequestResponse)
			if err := s.maskForOrg(ctx, org, []*pb.ServiceRequest{r.GetRequest()}); err != nil {
				return nil, err
			}
			return r, s.maskEvents(ctx, org, r.Events)
		}},
	"IntakeService/ListRequestEvents": {roles: orgBoth,
		before: func(s *Server, ctx context.Context, org string, req any) error {
			return s.requestOfOrg(ctx, org, "request_id", req.(*pb.ListRequestEventsRequest).GetRequestId())
		},
		after: func(s *Server, ctx context.Context, org string, resp any) (any, error) {
			r := resp.(*pb.ListRequestEventsResponse)
			return r, s.maskEvents(ctx, org, r.Events)
		}},
	"DispatchService/ListRequestOffers": {roles: orgBoth,
		before: func(s *Server, ctx context.Context, org string, req any) error {
			return s.requestOfOrg(ctx, org, "request_id", req.(*pb.ListRequestOffersRequest).GetRequestId())
		},
		after: func(s *Server, ctx context.Context, org string, resp any) (any, error) {
			r := resp.(*pb.ListRequestOffersResponse)
			mine, err := s.carersOfOrg(ctx, org, func(yield func(string)) {
				for _, o := range r.Offers {
					yield(o.GetProviderId())
				}
			})
			r.Offers = slices.DeleteFunc(r.Offers, func(o *pb.Offer) bool { return !mine[o.GetProviderId()] })
			return r, err
		}},

	// Its queue: the dispatcher ranks and assigns its own carers only.
	"DispatchService/ListCandidates": {roles: orgDispatcher,
		before: func(s *Server, ctx context.Context, org string, req any) error {
			q := req.(*pb.ListCandidatesRequest)
			// Every qualified carer, then only its own: ranked among the
			// whole city, its carers might all fall below the cut.
			q.ListAll = true
			return s.requestOfOrg(ctx, org, "request_id", q.GetRequestId())
		},
		after: func(s *Server, ctx context.Context, org string, resp any) (any, error) {
			r := resp.(*pb.ListCandidatesResponse)
			mine, err := s.carersOfOrg(ctx, org, func(yield func(string)) {
				for _, c := range r.Candidates {
					yield(c.GetProviderId())
				}
			})
			r.Candidates = slices.DeleteFunc(r.Candidates, func(c *pb.Candidate) bool { return !mine[c.GetProviderId()] })
			return r, err
		}},
	"DispatchService/AssignProvider": {roles: orgDispatcher, before: func(s *Server, ctx context.Context, org string, req any) error {
		q := req.(*pb.AssignProviderRequest)
		if err := s.requestOfOrg(ctx, org, "request_id", q.GetRequestId()); err != nil {
			return err
		}
		return s.carerOfOrg(ctx, org, "provider_id", q.GetProviderId())
	}},
	// Its alerts: listed by the store's rule (OrgAlerts, by the handler);
	// acknowledged only for jobs it holds.
	"DispatchService/ListAlerts": {roles: orgBoth},
	"DispatchService/AcknowledgeAlert": {roles: orgDispatcher, before: func(s *Server, ctx context.Context, org string, req any) error {
		id := req.(*pb.AcknowledgeAlertRequest).GetId()
		if err := requireID("id", id); err != nil {
			return err
		}
		ok, err := s.Store.AlertHeldByOrg(ctx, org, id)
		if err == nil && !ok {
			err = outsideOrg("id")
		}
		return err
	}},

	// Its carers: the organisation's administrator keeps its roster; the
	// dispatcher reads it. A carer created here joins the organisation
	// (the handler sets it).
	"ProviderService/ListProviders":  {roles: orgBoth},
	"ProviderService/CreateProvider": {roles: orgAdmin},
	"ProviderService/GetProvider": {roles: orgBoth, before: func(s *Server, ctx context.Context, org string, req any) error {
		return s.carerOfOrg(ctx, org, "id", req.(*pb.GetProviderRequest).GetId())
	}},
	"ProviderService/UpdateProvider": {roles: orgAdmin, before: func(s *Server, ctx context.Context, org string, req any) error {
		return s.carerOfOrg(ctx, org, "id", req.(*pb.UpdateProviderRequest).GetId())
	}},
	"ProviderService/DeactivateProvider": {roles: orgAdmin, before: func(s *Server, ctx context.Context, org string, req any) error {
		return s.carerOfOrg(ctx, org, "provider_id", req.(*pb.DeactivateProviderRequest).GetProviderId())
	}},
	"ProviderService/IssueDeviceToken": {roles: orgAdmin, before: func(s *Server, ctx context.Context, org string, req any) error {
		return s.carerOfOrg(ctx, org, "provider_id", req.(*pb.IssueDeviceTokenRequest).GetProviderId())
	}},
	"ProviderService/RevokeDeviceTokens": {roles: orgAdmin, before: func(s *Server, ctx context.Context, org string, req any) error {
		return s.carerOfOrg(ctx, org, "provider_id", req.(*pb.RevokeDeviceTokensRequest).GetProviderId())
	}},

	// A resident only while one of its carers holds a live job for her;
	// her identity number is never its business.
	"ResidentService/GetResident": {roles: orgBoth,
		before: func(s *Server, ctx context.Context, org string, req any) error {
			id := req.(*pb.GetResidentRequest).GetId()
			if err := requireID("id", id); err != nil {
				return err
			}
			ok, err := s.Store.ResidentHeldByOrg(ctx, org, id)
			if err == nil && !ok {
				err = outsideOrg("id")
			}
			return err
		},
		after: func(_ *Server, _ context.Context, _ string, resp any) (any, error) {
			r := resp.(*pb.GetResidentResponse)
			r.GetResident().IdNumber = ""
			return r, nil
		}},

	// Itself, its contracts and its statements; never another's.
	"OrganisationService/ListOrganisations": {roles: orgBoth, after: func(_ *Server, _ context.Context, org string, resp any) (any, error) {
		r := resp.(*pb.ListOrganisationsResponse)
		r.Organisations = slices.DeleteFunc(r.Organisations, func(o *pb.Organisation) bool { return o.GetId() != org })
		return r, nil
	}},
	"OrganisationService/GetOrganisation": {roles: orgBoth, before: func(_ *Server, _ context.Context, org string, req any) error {
		return ownOrg(org, "id", req.(*pb.GetOrganisationRequest).GetId())
	}},
	"OrganisationService/ListContracts": {roles: orgBoth, before: func(_ *Server, _ context.Context, org string, req any) error {
		return ownOrg(org, "org_id", req.(*pb.ListContractsRequest).GetOrgId())
	}},
	"OrganisationService/ListStatements": {roles: orgBoth, before: func(_ *Server, _ context.Context, org string, req any) error {
		q := req.(*pb.ListStatementsRequest)
		if q.OrgId == "" {
			q.OrgId = org // a month's statements: its own only
		}
		return ownOrg(org, "org_id", q.OrgId)
	}},
	"OrganisationService/GetStatement": {roles: orgBoth, before: func(_ *Server, _ context.Context, org string, req any) error {
		return ownOrg(org, "org_id", req.(*pb.GetStatementRequest).GetOrgId())
	}},

	// Two-tier dispatch (route.go): its queue of requests routed to it, its
	// auto-dispatch switch, and its dispatcher assigning its own carers; the
	// handlers keep to its organisation (orgScope) besides these checks.
	"OrgDispatchService/ListOrgQueue": {roles: orgBoth, before: func(_ *Server, _ context.Context, org string, req any) error {
		if id := req.(*pb.ListOrgQueueRequest).GetOrgId(); id != "" {
			return ownOrg(org, "org_id", id)
		}
		return nil
	}},
	"OrgDispatchService/SetOrgAutoDispatch": {roles: orgBoth, before: func(_ *Server, _ context.Context, org string, req any) error {
		if id := req.(*pb.SetOrgAutoDispatchRequest).GetOrgId(); id != "" {
			return ownOrg(org, "org_id", id)
		}
		return nil
	}},
	"OrgDispatchService/ListRequestRoutes": {roles: orgBoth, before: func(s *Server, ctx context.Context, org string, req any) error {
		return s.requestOfOrg(ctx, org, "request_id", req.(*pb.ListRequestRoutesRequest).GetRequestId())
	}},
	// The supervisor's dashboard, its organisation's slice (supervise.go),
	// for its administrator only: the panels with a per-organisation
	// dimension (EVV exceptions by organisation, carers' workload) cut to
	// it and its carers; the city's panels refused; drill-downs held to
	// its organisation's visits. No area picker: the city's areas are not
	// its business.
	"SuperviseService/GetDashboard": {roles: orgAdmin,
		before: func(_ *Server, _ context.Context, _ string, req any) error {
			q := req.(*pb.GetDashboardRequest)
			if len(q.Panels) == 0 {
				q.Panels = orgPanels
			}
			for _, p := range q.Panels {
				if !slices.Contains(orgPanels, p) {
					return carehex.Errorf(carehex.EFORBIDDEN, "panels", "panel %q is the district's; an organisation sees %s", p, strings.Join(orgPanels, ", "))
				}
			}
			return nil
		},
		after: func(s *Server, ctx context.Context, org string, resp any) (any, error) {
			r := resp.(*pb.GetDashboardResponse)
			r.Organisations = slices.DeleteFunc(r.Organisations, func(o *pb.OrganisationFigure) bool { return o.GetOrgId() != org })
			if r.CarerSpread == nil {
				return r, nil
			}
			mine, err := s.carersOfOrg(ctx, org, func(yield func(string)) {
				for _, c := range r.Carers {
					yield(c.GetProviderId())
				}
			})
			r.Carers = slices.DeleteFunc(r.Carers, func(c *pb.CarerFigure) bool { return !mine[c.GetProviderId()] })
			cs := make([]carehex.DashCarer, 0, len(r.Carers))
			for _, c := range r.Carers {
				cs = append(cs, carehex.DashCarer{ProviderID: c.ProviderId, Visits: c.Visits, WorkS: c.WorkS, TravelM: c.TravelM})
			}
			r.CarerSpread = spread(cs)
			return r, err
		}},
	"SuperviseService/ListDashboardRecords": {roles: orgAdmin, before: func(s *Server, ctx context.Context, org string, req any) error {
		q := req.(*pb.ListDashboardRecordsRequest)
		if q.OrgId != "" && q.OrgId != org {
			return outsideOrg("org_id")
		}
		q.OrgId = org // only visits its carers completed
		if q.ProviderId != "" {
			return s.carerOfOrg(ctx, org, "provider_id", q.ProviderId)
		}
		return nil
	}},
	"OrgDispatchService/AssignOrgCarer": {roles: orgDispatcher, before: func(s *Server, ctx context.Context, org string, req any) error {
		q := req.(*pb.AssignOrgCarerRequest)
		if err := s.requestOfOrg(ctx, org, "request_id", q.GetRequestId()); err != nil {
			return err
		}
		return s.carerOfOrg(ctx, org, "provider_id", q.GetProviderId())
	}},
}

// orgPanels are the dashboard's panels with a per-organisation dimension.
var orgPanels = []string{string(carehex.PanelOrgs), string(carehex.PanelCarers)}

// RoleMay reports whether role may call method ("Service/Method"): the
// platform roles by Access, the organisation roles by their own table.
func RoleMay(method string, role carehex.Role) bool {
	if role.OrgRole() {
		return slices.Contains(orgMethods[method].roles, role)
	}
	return slices.Contains(Access[method], role)
}

// OrgMethods lists the methods open to an organisation role, for the tests
// that must try each of them across organisations.
func OrgMethods() []string {
	out := make([]string, 0, len(orgMethods))
	for m := range orgMethods {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

func outsideOrg(field string) error {
	return carehex.Errorf(carehex.EFORBIDDEN, field, "this account sees only its own organisation's records")
}

// ownOrg refuses any organisation but the caller's own.
func ownOrg(org, field, id string) error {
	if err := requireID(field, id); err != nil {
		return err
	}
	if id != org {
		return outsideOrg(field)
	}
	return nil
}

// requestOfOrg refuses a request that is not the organisation's; an
// unknown one reads the same, so IDs cannot be probed.
func (s *Server) requestOfOrg(ctx context.Context, org, field, id string) error {
	if err := requireID(field, id); err != nil {
		return err
	}
	ok, err := s.Store.RequestOfOrg(ctx, org, id)
	if err == nil && !ok {
		err = outsideOrg(field)
	}
	return err
}

// carerOfOrg refuses a provider of another organisation, or none.
func (s *Server) carerOfOrg(ctx context.Context, org, field, id string) error {
	if err := requireID(field, id); err != nil {
		return err
	}
	p, err := s.Store.Provider(ctx, id)
	if carehex.ErrorCode(err) == carehex.ENOTFOUND || (err == nil && p.OrgID != org) {
		return outsideOrg(field)
	}
	return err
}

// carersOfOrg returns which of the providers ids yields are the organisation's.
func (s *Server) carersOfOrg(ctx context.Context, org string, ids func(yield func(string))) (map[string]bool, error) {
	var list []string
	ids(func(id string) {
		if id != "" && !slices.Contains(list, id) {
			list = append(list, id)
		}
	})
	ps, err := s.Store.ProvidersByID(ctx, list)
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, p := range ps {
		if p.OrgID == org {
			mine[p.ID] = true
		}
	}
	return mine, nil
}

// maskForOrg blanks what an organisation may not see of its requests:
// another organisation's carer, and, once the job is no longer its own,
// the caller's notes and the call's references.
func (s *Server) maskForOrg(ctx context.Context, org string, rs []*pb.ServiceRequest) error {
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		ids = append(ids, r.GetId())
	}
	held, err := s.Store.RequestsHeldByOrg(ctx, org, ids)
	if err != nil {
		return err
	}
	mine, err := s.carersOfOrg(ctx, org, func(yield func(string)) {
		for _, r := range rs {
			yield(r.GetProviderId())
		}
	})
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r == nil {
			continue
		}
		if !mine[r.ProviderId] {
			r.ProviderId, r.ProviderName, r.ProviderPhone = "", "", ""
		}
		if !held[r.Id] {
			r.Notes, r.CallId, r.RecordingRef = "", "", ""
		}
	}
	return nil
}

// maskEvents blanks another organisation's carers in a request's history:
// the carer an event names and a carer who acted.
func (s *Server) maskEvents(ctx context.Context, org string, es []*pb.RequestEvent) error {
	actorCarer := func(e *pb.RequestEvent) string {
		id, _ := strings.CutPrefix(e.GetActor(), string(carehex.KindProvider)+":")
		if id == e.GetActor() {
			return ""
		}
		return id
	}
	mine, err := s.carersOfOrg(ctx, org, func(yield func(string)) {
		for _, e := range es {
			yield(e.GetProviderId())
			yield(actorCarer(e))
		}
	})
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.ProviderId != "" && !mine[e.ProviderId] {
			e.ProviderId, e.ProviderName = "", ""
		}
		if id := actorCarer(e); id != "" && !mine[id] {
			e.Actor, e.ActorName = "", ""
		}
	}
	return nil
}

// orgGuard is the interceptor that holds an organisation account to its
// organisation (orgMethods). Platform accounts pass untouched.
func (s *Server) orgGuard(next twirp.Method) twirp.Method {
	return func(ctx context.Context, req any) (any, error) {
		org, scoped := orgScope(ctx)
		if !scoped {
			return next(ctx, req)
		}
		svc, _ := twirp.ServiceName(ctx)
		m, _ := twirp.MethodName(ctx)
		rule, ok := orgMethods[svc+"/"+m]
		if !ok {
			// allowed() refused it already; this is the second lock.
			return nil, outsideOrg("")
		}
		if rule.before != nil {
			if err := rule.before(s, ctx, org, req); err != nil {
				return nil, err
			}
		}
		resp, err := next(ctx, req)
		if err != nil || rule.after == nil {
			return resp, err
		}
		return rule.after(s, ctx, org, resp)
	}
}
