package carehex

import (
	"context"
	"time"
)

// Funding: who pays for a resident's care. A resident may hold a subsidy of
// a category the district defines (特困, 低保, 失能, 高龄80+, 独居 …) or be
// covered by an insurance scheme (长护险) whose fund pays a share. Either way
// the public part of a visit's charge is its share, limited by what is left
// of the month's allowance; the rest is the resident's co-pay. Shares are in
// basis points (1/10000) so that 90% is exact; money is integer fen.

// SubsidyCategory is one row of the district's table of subsidy categories;
// the table is data the district maintains, not a list in code.
type SubsidyCategory struct {
	Code   string // stable code, e.g. "tekun"
	NameZh string // 特困
	NameEn string
	// Defaults a new funding record of this category starts from.
	ShareBP      int64
	AllowanceFen int64
}

// FundingKind says whether a funding record is a subsidy or an insurance
// scheme.
type FundingKind string

const (
	FundingSubsidy   FundingKind = "subsidy"   // a category of the district's table
	FundingInsurance FundingKind = "insurance" // an insurance scheme paying a share
)

// FullShareBP is 100% in basis points.
const FullShareBP = 10_000

// Funding is a resident's entitlement over a period.
type Funding struct {
	ID         string
	ResidentID string
	Kind       FundingKind
	// Category is the subsidy category's code, or the insurance scheme's
	// name.
	Category string
	// ShareBP is the share of a charge the fund pays, in basis points; the
	// co-pay share is FullShareBP − ShareBP.
	ShareBP int64
	// AllowanceFen is the most the fund pays for the resident in one
	// calendar month.
	AllowanceFen int64
	ValidFrom    time.Time // inclusive
	ValidTo      time.Time // exclusive; zero means open-ended
	CreateTime   time.Time
}

// CopayBP is the resident's share in basis points.
func (f *Funding) CopayBP() int64 { return FullShareBP - f.ShareBP }

// Validate checks a funding record before it is saved.
func (f *Funding) Validate() error {
	if f.ResidentID == "" {
		return Errorf(EINVALID, "resident_id", "resident_id is required")
	}
	if f.Kind != FundingSubsidy && f.Kind != FundingInsurance {
		return Errorf(EINVALID, "kind", "kind must be subsidy or insurance, got %q", f.Kind)
	}
	if err := requireText("category", f.Category, MaxNameLen); err != nil {
		return err
	}
	if f.ShareBP < 0 || f.ShareBP > FullShareBP {
		return Errorf(EINVALID, "share_bp", "share_bp must be between 0 and %d", FullShareBP)
	}
	if f.AllowanceFen < 0 || f.AllowanceFen > MaxPriceFen {
		return Errorf(EINVALID, "allowance_fen", "allowance_fen must be between 0 and %d fen", int64(MaxPriceFen))
	}
	if f.ValidFrom.IsZero() {
		return Errorf(EINVALID, "valid_from", "valid_from is required")
	}
	if !f.ValidTo.IsZero() && !f.ValidTo.After(f.ValidFrom) {
		return Errorf(EINVALID, "valid_to", "valid_to must be after valid_from")
	}
	return nil
}

// ValidAt reports whether the funding applies at t.
func (f *Funding) ValidAt(t time.Time) bool {
	return !t.Before(f.ValidFrom) && (f.ValidTo.IsZero() || t.Before(f.ValidTo))
}

// Split divides a charge between the fund and the resident: the fund's
// share, rounded down to the fen (public money never pays a fraction it
// does not owe), and no more than remainingFen of the month's allowance.
// subsidy + copay == charge always; a non-positive allowance pays nothing.
func (f *Funding) Split(chargeFen, remainingFen int64) (subsidyFen, copayFen int64) {
	if chargeFen <= 0 {
		return 0, max(chargeFen, 0)
	}
	subsidyFen = chargeFen * f.ShareBP / FullShareBP
	subsidyFen = min(subsidyFen, max(remainingFen, 0))
	return subsidyFen, chargeFen - subsidyFen
}

// FundingStore keeps the subsidy table and residents' funding.
type FundingStore interface {
	PutSubsidyCategory(ctx context.Context, c *SubsidyCategory) error
	SubsidyCategories(ctx context.Context) ([]*SubsidyCategory, error)
	CreateFunding(ctx context.Context, f *Funding) error
	// ResidentFunding lists a resident's funding records, oldest first.
	ResidentFunding(ctx context.Context, residentID string) ([]*Funding, error)
}
