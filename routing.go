package carehex

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Two-tier dispatch (issue 12). A service is dispatched either directly
// (offers to carers, as always) or via an organisation: the platform routes
// the request to one contracted organisation, whose dispatcher assigns one
// of its own carers within a deadline, or lets the offer engine run among
// its carers only (auto-dispatch). Which services go via an organisation is
// a setting (CAREHEX_DISPATCH_VIA_ORG); emergencies always go direct.

// Route is one routing of a request to an organisation. A request has at
// most one open route (EndTime zero) at a time; re-routing ends it and opens
// the next, Attempt one higher.
type Route struct {
	ID        string
	RequestID string
	OrgID     string
	OrgName   string
	Attempt   int       // 1 for the first organisation asked
	RouteTime time.Time // when it was routed
	// DueTime is when the organisation should have assigned a carer (the
	// urgency class's organisation deadline); past it the operator is
	// alerted (LateTime set once, by one replica).
	DueTime   time.Time
	LateTime  time.Time
	EndTime   time.Time
	EndReason string // RouteAssigned, RouteRerouted, …
	Actor     string
	// Ranking is the explanation: every organisation considered, in rank
	// order, with why it qualified or not. The first eligible one is OrgID.
	Ranking []OrgCandidate
}

// Why a route ended.
const (
	RouteAssigned = "assigned" // a carer was assigned (by the organisation, its auto-dispatch, or the platform)
	RouteRerouted = "rerouted" // sent to the next organisation
)

// Factor names of an organisation's ranking (OrgCandidate.Factors).
const (
	FactorArea       = "service_area"   // value 1: the area covers the resident's district or street (or is the whole district)
	FactorContract   = "contract"       // value 1: an active contract covers the service now
	FactorFreeCarers = "free_carers"    // value: its carers with the skill online and free within reach
	FactorOpenOrders = "open_orders"    // value: requests routed to it and not yet assigned
	FactorCapacity   = "capacity"       // value: free carers minus open orders
	FactorTriedUsed  = "tried_before"   // value 1: this request was routed to it before (not asked again)
	FactorLastRouted = "last_routed_mn" // value: minutes since it was last routed a request (rotation; -1 never)
)

// OrgCandidate is one organisation as the router saw it.
type OrgCandidate struct {
	OrgID    string
	Name     string
	Eligible bool   // serves the area, holds a contract, not tried before
	Why      string // the first failed filter's factor name when not eligible
	Factors  []Factor
	Contract string // the covering contract's ID
}

// Serves reports whether an organisation's service area covers the
// resident: an empty area is the whole district; otherwise one of its
// names is the resident's district or street.
func (o *Organisation) Serves(r *Resident) bool {
	if len(o.Area) == 0 {
		return true
	}
	return slices.ContainsFunc(o.Area, func(a string) bool {
		a = strings.TrimSpace(a)
		return a != "" && (a == strings.TrimSpace(r.District) || a == strings.TrimSpace(r.Street))
	})
}

// OrgLoad is what the router counts per organisation: its requests still
// waiting for its dispatcher, and when it was last routed one.
type OrgLoad struct {
	Open int
	Last time.Time
}

// RouteStore keeps the routes of requests to organisations, and each
// organisation's auto-dispatch switch.
type RouteStore interface {
	// CreateRoute records r as the request's open route, with a "routed"
	// event in the request's history and an audit record, in one
	// transaction. replaces is the open route it ends (re-routing), or ""
	// for the first. ECONFLICT when the request has another open route
	// (another replica routed it first), replaces is no longer open, or
	// the request is not waiting for a provider.
	CreateRoute(ctx context.Context, r *Route, replaces string) error
	// OpenRoute returns the request's open route; ENOTFOUND if none.
	OpenRoute(ctx context.Context, requestID string) (*Route, error)
	// RequestRoutes lists every route of a request, first first.
	RequestRoutes(ctx context.Context, requestID string) ([]*Route, error)
	// OrgRoutes lists the open routes of an organisation whose requests
	// still wait for a carer: its dispatcher's queue, oldest first.
	OrgRoutes(ctx context.Context, orgID string, limit int) ([]*Route, error)
	// DueRoutes lists open routes not yet marked late whose request still
	// waits, by due time, up to those due before before.
	DueRoutes(ctx context.Context, before time.Time, limit int) ([]*Route, error)
	// MarkRouteLate sets a route's LateTime once; false when it was set
	// already or the route ended (another replica got there first).
	MarkRouteLate(ctx context.Context, routeID string) (bool, error)
	// EndRoute ends the request's open route, if any, with reason.
	EndRoute(ctx context.Context, requestID, reason, actor string) error
	// OrgLoads counts, per organisation, its open routes of waiting
	// requests and its last route time.
	OrgLoads(ctx context.Context) (map[string]OrgLoad, error)
	// SetOrgAutoDispatch turns an organisation's auto-dispatch on or off.
	SetOrgAutoDispatch(ctx context.Context, orgID string, on bool, actor string) error
	// OrgAutoDispatch reports whether an organisation's auto-dispatch is on.
	OrgAutoDispatch(ctx context.Context, orgID string) (bool, error)
}

// OrgRouter is the two-tier dispatch as the services use it (the
// *dispatch.Engine).
type OrgRouter interface {
	// RankOrgs explains where the request would be routed now.
	RankOrgs(ctx context.Context, requestID string) ([]OrgCandidate, error)
	// Reroute sends a routed request to the next organisation.
	Reroute(ctx context.Context, requestID, actor, reason string) (*Route, error)
	// AssignForOrg assigns a carer of organisation orgID to a request
	// routed to it; another organisation's request or carer is not found.
	AssignForOrg(ctx context.Context, orgID, requestID, providerID, actor, reason string) (*ServiceRequest, *Visit, error)
}

// Event type and alert kinds of two-tier dispatch.
const (
	EventRouted         = "routed"          // reason: the organisation's name
	AlertOrgSlow        = "org_slow"        // the organisation did not assign within its deadline
	AlertNoOrganisation = "no_organisation" // no organisation can take the request
)
