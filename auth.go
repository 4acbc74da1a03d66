package carehex

import (
	"context"
	"time"
)

// Role is what a console account may do.
type Role string

const (
	RoleOperator   Role = "operator"   // logs requests, manages residents
	RoleSupervisor Role = "supervisor" // reads everything, changes nothing
	RoleAdmin      Role = "admin"      // everything, including the roster
	// Organisation roles (issue 12): an account of one service organisation
	// (User.OrgID), held to that organisation's requests, carers, visits,
	// alerts and statements (rpc/org.go enforces it).
	RoleOrgDispatcher Role = "org_dispatcher" // assigns its organisation's queue to its carers
	RoleOrgAdmin      Role = "org_admin"      // manages its organisation's carers, reads its statements
)

// OrgRole reports whether r belongs to one organisation rather than the platform.
func (r Role) OrgRole() bool { return r == RoleOrgDispatcher || r == RoleOrgAdmin }

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleOperator, RoleSupervisor, RoleAdmin, RoleOrgDispatcher, RoleOrgAdmin:
		return r, nil
	}
	return "", Errorf(EINVALID, "role", "role must be operator, supervisor, admin, org_dispatcher or org_admin, got %q", s)
}

// User is a console account.
type User struct {
	ID           string
	Username     string
	Role         Role
	PasswordHash string
	CreateTime   time.Time
	Disabled     bool   // refused at login; its tokens were revoked when disabled
	Area         string // a supervisor's district or "district/street", "" for the whole city (Principal.Area)
	OrgID        string // an organisation role's organisation; "" for platform roles (Principal.OrgID)
}

// PrincipalKind says what kind of credential authenticated a call.
type PrincipalKind string

const (
	KindUser     PrincipalKind = "user"     // a console account
	KindProvider PrincipalKind = "provider" // a provider's phone (device token)
	KindFamily   PrincipalKind = "family"   // a family member's access token
)

// Principal is who is asking: the authenticated subject of a call.
type Principal struct {
	Kind    PrincipalKind
	Subject string // user, provider or family member ID
	Role    Role   // for KindUser only
	Name    string
	// Area, for a supervisor limited to one district or street, is that
	// district or "district/street" (carehex.InArea); "" is the whole city
	// (rpc/area.go enforces it).
	Area string
	// OrgID, for an organisation role (Role.OrgRole), is its organisation;
	// "" for platform accounts. Read from the account at every call, so a
	// moved account's open sessions follow it.
	OrgID string
}

// Actor names the principal in events and audit records, e.g. "user:usr_…".
func (p Principal) Actor() string { return string(p.Kind) + ":" + p.Subject }

type principalKey struct{}

// WithPrincipal returns a context carrying who is asking.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns who is asking, if the call was authenticated.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Token lifetimes.
const (
	SessionTTL = 12 * time.Hour       // a console shift
	DeviceTTL  = 180 * 24 * time.Hour // a provider's phone, revocable
	FamilyTTL  = 30 * 24 * time.Hour  // a family link's default; renewed by the phone before it ends
)

// AuthStore keeps accounts and tokens. Tokens are stored only as hashes.
type AuthStore interface {
	CreateUser(ctx context.Context, u *User) error
	UserByUsername(ctx context.Context, username string) (*User, error)
	// CreateToken stores the hash of a new token for principal p, valid until expires.
	CreateToken(ctx context.Context, tokenHash string, p Principal, expires time.Time) error
	// TokenPrincipal returns the principal of an unexpired, unrevoked token hash.
	TokenPrincipal(ctx context.Context, tokenHash string, now time.Time) (Principal, error)
	RevokeToken(ctx context.Context, tokenHash string) error
	// RevokeTokensOf revokes every token of a principal (e.g. a lost phone).
	RevokeTokensOf(ctx context.Context, kind PrincipalKind, subject string) error
}

// AuditRecord is one line of the audit trail: every state change and every
// read of a resident's personal data.
type AuditRecord struct {
	ID         string
	Time       time.Time
	Actor      string
	Action     string // e.g. "resident.read", "request.create"
	ObjectType string
	ObjectID   string
	Detail     string
}

// AuditFilter selects audit records.
type AuditFilter struct {
	ObjectID string
	Actor    string
	Limit    int
}

// AuditStore appends to and reads the audit trail.
type AuditStore interface {
	Audit(ctx context.Context, rec *AuditRecord) error
	AuditRecords(ctx context.Context, f AuditFilter) ([]*AuditRecord, error)
}
