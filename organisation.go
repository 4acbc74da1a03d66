package carehex

import (
	"context"
	"time"
)

// Organisations and their contracts: the district does not employ carers, it
// contracts service organisations (服务商) and pays them for verified visits.
// Every carer belongs to one organisation. What an organisation is paid is
// data, not code: the unit, the price in fen, the rounding of hours and the
// caps are fields of a contract the district signs, so that a district that
// pays 40 元 a visit and one that pays 65 元 an hour capped at 45 元 a day run
// the same program.

// OrgKind is what sort of body an organisation is.
type OrgKind string

const (
	OrgContractor       OrgKind = "contractor"        // home-care company (服务商)
	OrgCommunityCentre  OrgKind = "community_centre"  // community service centre (社区服务中心)
	OrgVolunteerStation OrgKind = "volunteer_station" // volunteer station (志愿服务站)
)

// Valid reports whether k is one of the kinds.
func (k OrgKind) Valid() bool {
	return k == OrgContractor || k == OrgCommunityCentre || k == OrgVolunteerStation
}

// DefaultOrganisationID is the organisation every provider belongs to until
// it is moved: the migration puts the providers that existed before
// organisations did there, so "every carer belongs to one" holds from the
// first day.
const DefaultOrganisationID = "org_default"

// Organisation is a service organisation under contract with the district.
type Organisation struct {
	ID   string
	Name string
	Kind OrgKind
	// Area is where it serves: districts or streets by name, as the
	// district's contract lists them; empty means the whole district.
	Area       []string
	Contact    string // a contact person and phone, free text
	Active     bool
	CreateTime time.Time
}

// Validate checks an organisation before it is saved.
func (o *Organisation) Validate() error {
	if err := requireText("name", o.Name, MaxNameLen); err != nil {
		return err
	}
	if !o.Kind.Valid() {
		return Errorf(EINVALID, "kind", "kind must be contractor, community_centre or volunteer_station, got %q", o.Kind)
	}
	for _, a := range o.Area {
		if err := requireText("area", a, MaxNameLen); err != nil {
			return err
		}
	}
	if !validText(o.Contact) {
		return Errorf(EINVALID, "contact", "contact is not valid UTF-8 text")
	}
	return nil
}

// Unit is what a contract's price is per.
type Unit string

const (
	UnitVisit Unit = "visit" // a price per completed visit
	UnitHour  Unit = "hour"  // a price per hour of verified duration, rounded by the contract's rule
)

// Rounding is how verified minutes are rounded to the contract's step.
type Rounding string

const (
	RoundUp      Rounding = "up"      // any started step counts
	RoundDown    Rounding = "down"    // only completed steps count
	RoundNearest Rounding = "nearest" // half a step or more counts
)

// Contract is what the district pays an organisation for a set of services
// over a period. Caps bound the charge per resident: the day cap per service
// day, the month cap per calendar month; zero means no cap.
type Contract struct {
	ID       string
	OrgID    string
	Services []string // service codes the contract covers
	Unit     Unit
	PriceFen int64 // per visit, or per hour
	// RoundStep and Rounding turn a verified duration into billable
	// minutes (UnitHour only): e.g. 30 minutes, up.
	RoundStep   time.Duration
	Rounding    Rounding
	DayCapFen   int64
	MonthCapFen int64
	ValidFrom   time.Time // inclusive
	ValidTo     time.Time // exclusive; zero means open-ended
	// RequiresCardScan: a visit is payable only with the resident's
	// service card scanned at arrival and at completion, or an operator's
	// approval (card.go).
	RequiresCardScan bool
}

// MaxPriceFen bounds prices and caps (1,000,000 元) so that a charge times
// units never overflows int64 however long a visit lasts.
const MaxPriceFen = 100_000_000

// Validate checks a contract before it is saved.
func (c *Contract) Validate() error {
	if c.OrgID == "" {
		return Errorf(EINVALID, "org_id", "org_id is required")
	}
	if len(c.Services) == 0 {
		return Errorf(EINVALID, "services", "services must list at least one service code")
	}
	for _, s := range c.Services {
		if err := requireText("services", s, MaxNameLen); err != nil {
			return err
		}
	}
	switch c.Unit {
	case UnitVisit:
	case UnitHour:
		if c.RoundStep < time.Minute || c.RoundStep > 24*time.Hour || c.RoundStep%time.Minute != 0 {
			return Errorf(EINVALID, "round_step", "round_step must be whole minutes between 1 and 1440")
		}
		if c.Rounding != RoundUp && c.Rounding != RoundDown && c.Rounding != RoundNearest {
			return Errorf(EINVALID, "rounding", "rounding must be up, down or nearest, got %q", c.Rounding)
		}
	default:
		return Errorf(EINVALID, "unit", "unit must be visit or hour, got %q", c.Unit)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"price_fen", c.PriceFen}, {"day_cap_fen", c.DayCapFen}, {"month_cap_fen", c.MonthCapFen}} {
		if f.v < 0 || f.v > MaxPriceFen {
			return Errorf(EINVALID, f.name, "%s must be between 0 and %d fen", f.name, int64(MaxPriceFen))
		}
	}
	if c.ValidFrom.IsZero() {
		return Errorf(EINVALID, "valid_from", "valid_from is required")
	}
	if !c.ValidTo.IsZero() && !c.ValidTo.After(c.ValidFrom) {
		return Errorf(EINVALID, "valid_to", "valid_to must be after valid_from")
	}
	return nil
}

// Covers reports whether the contract pays for service code at time t.
func (c *Contract) Covers(code string, t time.Time) bool {
	if t.Before(c.ValidFrom) || (!c.ValidTo.IsZero() && !t.Before(c.ValidTo)) {
		return false
	}
	for _, s := range c.Services {
		if s == code {
			return true
		}
	}
	return false
}

// Units is what a visit of duration d is billed as: 1 per visit, or the
// billable minutes of an hourly contract (d rounded to the step by the
// rule). A negative duration counts as zero.
func (c *Contract) Units(d time.Duration) int64 {
	if c.Unit == UnitVisit {
		return 1
	}
	if d < 0 {
		d = 0
	}
	step := int64(c.RoundStep / time.Minute)
	if step <= 0 {
		step = 1
	}
	secs := int64(d / time.Second)
	stepS := step * 60
	n := secs / stepS
	rem := secs % stepS
	switch c.Rounding {
	case RoundUp:
		if rem > 0 {
			n++
		}
	case RoundNearest:
		if 2*rem >= stepS {
			n++
		}
	}
	return n * step
}

// Charge is the price of units before caps: PriceFen per visit, or
// PriceFen × minutes / 60 for hourly contracts, the fraction of a fen
// rounded half up (the only place a fen is rounded in a charge).
func (c *Contract) Charge(units int64) int64 {
	if c.Unit == UnitVisit {
		return c.PriceFen * units
	}
	return (c.PriceFen*units + 30) / 60
}

// OrganisationStore keeps organisations and their contracts.
type OrganisationStore interface {
	CreateOrganisation(ctx context.Context, o *Organisation) error
	Organisation(ctx context.Context, id string) (*Organisation, error)
	Organisations(ctx context.Context) ([]*Organisation, error)
	CreateContract(ctx context.Context, c *Contract) error
	Contracts(ctx context.Context, orgID string) ([]*Contract, error)
	// SetProviderOrganisation moves a provider to an organisation.
	SetProviderOrganisation(ctx context.Context, providerID, orgID string) error
}
