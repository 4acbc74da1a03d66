package carehex

import (
	"context"
	"time"
)

// Provider is a care worker on the roster.
type Provider struct {
	ID        string
	Name      string
	Phone     string
	Gender    Gender
	Skills    []string // the same strings as ServiceType.RequiredSkill
	Languages []string
	// Organisation is the employer's name as typed; OrgID is the
	// organisation the provider belongs to (DefaultOrganisationID until
	// moved). A new provider whose Organisation names a known
	// organisation joins it.
	Organisation string
	OrgID        string
	Home         LatLng // base location, used until the phone reports a position
	Cell         Cell   // H3 cell of Home at geo.ResidentRes
	Active       bool
	CreateTime   time.Time
}

// Validate checks a provider record before it is saved.
func (p *Provider) Validate() error {
	if err := requireText("name", p.Name, MaxNameLen); err != nil {
		return err
	}
	if err := ValidatePhone("phone", p.Phone); err != nil {
		return err
	}
	if len(p.Skills) == 0 {
		return Errorf(EINVALID, "skills", "skills must list at least one skill")
	}
	for _, s := range p.Skills {
		if err := requireText("skills", s, MaxNameLen); err != nil {
			return err
		}
	}
	if err := ValidateText("organisation", p.Organisation, MaxTextLen, SingleLine); err != nil {
		return err
	}
	if err := validGender("gender", p.Gender); err != nil {
		return err
	}
	return p.Home.Validate("location")
}

// ProviderFilter selects providers for the console's roster: a substring
// of the name or phone number, a skill, a page.
type ProviderFilter struct {
	Query           string
	Skill           string
	Offset, Limit   int
	IncludeInactive bool
	OrgID           string // only the carers of this organisation; "" is all
}

// Validate checks a filter the console sent.
func (f *ProviderFilter) Validate() error {
	if err := ValidateText("query", f.Query, MaxNameLen, SingleLine); err != nil {
		return err
	}
	if err := ValidateText("skill", f.Skill, MaxNameLen, SingleLine); err != nil {
		return err
	}
	if f.Offset < 0 {
		return Errorf(EINVALID, "offset", "offset must not be negative, got %d", f.Offset)
	}
	return nil
}

// MaxDeactivateReasonLen bounds why a provider left the roster.
const MaxDeactivateReasonLen = 500

// ProviderStore keeps the roster.
type ProviderStore interface {
	CreateProvider(ctx context.Context, p *Provider) error
	Provider(ctx context.Context, id string) (*Provider, error)
	Providers(ctx context.Context, limit int) ([]*Provider, error)
	// SearchProviders lists the providers f selects, in the order they
	// joined, and how many match in all.
	SearchProviders(ctx context.Context, f ProviderFilter) ([]*Provider, int, error)
	// UpdateProvider replaces the record of provider p.ID (name, phone,
	// gender, skills, languages, organisation name, home); the ID, the
	// organisation it belongs to, active and the creation time stay.
	UpdateProvider(ctx context.Context, p *Provider) error
	// DeactivateProvider takes a provider off the roster with a reason;
	// deactivating one already inactive changes nothing.
	DeactivateProvider(ctx context.Context, id, reason string) (*Provider, error)
	// ProvidersByID reads the named providers with their skills in one
	// query, in no particular order; IDs not on the roster are left out.
	ProvidersByID(ctx context.Context, ids []string) ([]*Provider, error)
}
