package carehex

import "context"

// What an organisation account sees (issue 12). An org_dispatcher or
// org_admin (Role.OrgRole) is held to its organisation: its requests are
// those offered to or visited by its carers, or routed to it; its carers
// are the providers whose OrgID it is; its alerts are those of its
// requests; its statements are its own. A resident's details are its
// business only while one of its carers holds a live visit for her (or a
// live request of hers is routed to it), and no longer once the job ends.
// One store answers each of these questions once (sqlstore/orgscope.go),
// and rpc/org.go applies them to every call such an account may make.

// OrgScopeStore answers what belongs to an organisation.
type OrgScopeStore interface {
	// RequestOfOrg reports whether request requestID is the organisation's.
	RequestOfOrg(ctx context.Context, orgID, requestID string) (bool, error)
	// RequestsHeldByOrg returns which of the requests the organisation
	// holds now: live, and with a live visit of one of its carers or
	// routed to it.
	RequestsHeldByOrg(ctx context.Context, orgID string, requestIDs []string) (map[string]bool, error)
	// ResidentHeldByOrg reports whether the organisation holds a live
	// request of the resident.
	ResidentHeldByOrg(ctx context.Context, orgID, residentID string) (bool, error)
	// OrgAlerts lists the alerts of the organisation's requests, newest first.
	OrgAlerts(ctx context.Context, orgID string, openOnly bool, limit int) ([]*Alert, error)
	// AlertHeldByOrg reports whether alert alertID is about a request the
	// organisation holds now (RequestsHeldByOrg): only those are its to
	// acknowledge; an alert about a request merely offered to its carer
	// stays the platform's. ENOTFOUND when there is no such alert.
	AlertHeldByOrg(ctx context.Context, orgID, alertID string) (bool, error)
	// OrgStatements lists the organisation's statements (headers only),
	// newest month first.
	OrgStatements(ctx context.Context, orgID string) ([]*Statement, error)
	// UpdateOrganisation replaces an organisation's name, kind, area,
	// contact and active flag; its ID and creation time stay.
	UpdateOrganisation(ctx context.Context, o *Organisation) error
}
