// Package rpc implements the Twirp services of carehex.v1 (the .proto files
// and generated code live in rpc/carehex/v1) and the HTTP edge in front of
// them: authentication, the role table, body limits and request decoding,
// error mapping, logging and metrics.
package rpc

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twitchtv/twirp"
)

// Store is what the services need of the system of record. One
// *sqlstore.DB implements it.
type Store interface {
	carehex.ResidentStore
	carehex.RequestStore
	carehex.ProviderStore
	carehex.AuthStore
	carehex.AccessStore
	carehex.AuditStore
	carehex.Catalog
	carehex.OfferStore
	carehex.AlertStore
	carehex.DispatchMapStore
	carehex.CallStore
	carehex.ResidentDeactivator
	carehex.PersonalReadStore
	carehex.RequestNoter
	carehex.NameStore
	carehex.PlanStore
	carehex.OrganisationStore
	carehex.OrgScopeStore
	statementReader
	carehex.RouteStore // two-tier dispatch (route.go)
	// The roster view (rosterview.go) reads carers' days and check-ins.
	ProviderDayVisits(ctx context.Context, providerID string, from, to time.Time) ([]*carehex.Visit, error)
	VisitEvents(ctx context.Context, visitID string) ([]*carehex.VisitEvent, error)
	carehex.DashStore
}

// Server holds the dependencies of every service.
type Server struct {
	Store  Store
	Clock  carehex.Clock
	Logger *slog.Logger
	// Dispatch is the matching engine (*dispatch.Engine, wired in by the
	// binary); nil answers dispatch calls unavailable.
	Dispatch carehex.Dispatcher
	// Planner is planned care's engine (*plan.Planner); nil answers
	// RunRoster unavailable and leaves plan changes to the background job.
	Planner Planner
	// Metrics registers the RPC metrics; nil means no metrics.
	Metrics prometheus.Registerer
	// Logins holds the login throttle's policy and the bounded password
	// hashing; zero values are the defaults (see auth.Logins).
	LoginPolicy carehex.LoginPolicy
	Hasher      *auth.Hasher
	// FamilyTTL is a family token's lifetime; zero is carehex.FamilyTTL.
	FamilyTTL time.Duration
	// TrustForwardedFor takes the client address of the login throttle
	// from X-Forwarded-For's last entry, for a server behind one trusted
	// proxy; otherwise it is the connection's address.
	TrustForwardedFor bool
	// ReadPolicy is the bulk-access limit on reading residents' personal
	// data; zero values are carehex.DefaultReadPolicy's.
	ReadPolicy carehex.ReadPolicy
	// Map is the console map's basemap, boundaries and geocoder (mapservice.go).
	Map MapSettings
	// Router is two-tier dispatch's engine (*dispatch.Engine; route.go);
	// nil answers its re-route and assignment calls unavailable.
	Router carehex.OrgRouter
	// Fraud is the flags' review and the photo evidence (fraud.go).
	Fraud Fraud
	// Cards is the district's service-card key (CAREHEX_CARD_KEY); nil:
	// the one kept in the database (finance.go).
	Cards *carehex.CardKey
	// Dash is the supervisor dashboard's targets and freshness (supervise.go); nil is the defaults.
	Dash *Dashboard
}

func (s *Server) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC()
	}
	return s.Clock().UTC()
}

// Handler returns the Twirp services mounted under /twirp/, behind the edge
// that authenticates each call and checks the caller's role.
func (s *Server) Handler() http.Handler {
	tel := newTelemetry(s.Logger, s.Metrics)
	opts := []any{twirp.WithServerHooks(tel.hooks()), twirp.WithServerInterceptors(s.mapErrors, s.areaScope, s.orgGuard),
		twirp.WithServerPathPrefix("/twirp")}
	mux := http.NewServeMux()
	for _, h := range []pb.TwirpServer{
		pb.NewAuthServiceServer(authService{s}, opts...),
		pb.NewResidentServiceServer(residentService{s}, opts...),
		pb.NewCatalogServiceServer(catalogService{s}, opts...),
		pb.NewProviderServiceServer(providerService{s}, opts...),
		pb.NewIntakeServiceServer(intakeService{s}, opts...),
		pb.NewAuditServiceServer(auditService{s}, opts...),
		pb.NewDispatchServiceServer(dispatchService{s}, opts...),
		pb.NewAccountServiceServer(accountService{s}, opts...),
		pb.NewMapServiceServer(mapService{s}, opts...),
		pb.NewPlanServiceServer(planService{s}, opts...),
		pb.NewFinanceServiceServer(financeService{s}, opts...),
		pb.NewOrganisationServiceServer(organisationService{s}, opts...),
		pb.NewOrgDispatchServiceServer(routeService{s}, opts...),
		pb.NewRosterViewServiceServer(rosterViewService{s}, opts...),
		pb.NewFraudServiceServer(fraudService{s}, opts...),
		pb.NewPlanCareServiceServer(planCareService{s}, opts...),
		pb.NewQualityServiceServer(qualityService{s}, opts...),
		pb.NewSuperviseServiceServer(superviseService{s}, opts...),
	} {
		mux.Handle(h.PathPrefix(), h)
	}
	mux.Handle("/", badRoute(tel))
	return s.edge(mux, tel)
}
