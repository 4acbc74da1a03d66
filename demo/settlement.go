package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// The demo's settlement: every district's organisations under contract, the
// subsidy table, and funding for a share of the residents, so that the
// demo and the simulator have statements worth reading. Prices follow
// published schemes: about 40 元 a visit for community centres, 65 元 an
// hour (rounded up to the half hour) for companies, as Shanghai's long-term
// care insurance pays; the numbers are the demo's, the rules are data.

// SettlementFrom is when the demo's contracts and funding start: the first
// day of 2026 in China Standard Time, before any demo or simulated day.
var SettlementFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

// SettlementStore is where SeedOrganisations and SeedFunding save.
type SettlementStore interface {
	carehex.OrganisationStore
	carehex.FundingStore
}

// FundingImporter is a SettlementStore that saves many funding records in
// one call, as sqlstore.DB does.
type FundingImporter interface {
	ImportFunding(ctx context.Context, fs []*carehex.Funding) error
}

// SubsidyCategories is the demo district's subsidy table.
func SubsidyCategories() []*carehex.SubsidyCategory {
	return []*carehex.SubsidyCategory{
		{Code: "tekun", NameZh: "特困", NameEn: "extreme hardship", ShareBP: carehex.FullShareBP, AllowanceFen: 80000},
		{Code: "dibao", NameZh: "低保", NameEn: "minimum living allowance", ShareBP: carehex.FullShareBP, AllowanceFen: 50000},
		{Code: "shineng", NameZh: "失能", NameEn: "disabled", ShareBP: 9000, AllowanceFen: 120000},
		{Code: "gaoling80", NameZh: "高龄80+", NameEn: "aged 80 and over", ShareBP: carehex.FullShareBP, AllowanceFen: 20000},
		{Code: "dujv", NameZh: "独居", NameEn: "living alone", ShareBP: 8000, AllowanceFen: 30000},
	}
}

// Organisations returns every demo organisation: orgsPerDistrict in each
// district, named as the providers' free-text organisation names them, so
// a provider created with that name joins it.
func Organisations() []*carehex.Organisation {
	var out []*carehex.Organisation
	for di := range Districts {
		for k := range orgsPerDistrict {
			name := organisation(di, k)
			kind := carehex.OrgContractor
			switch {
			case strings.HasSuffix(name, "服务中心"):
				kind = carehex.OrgCommunityCentre
			case strings.HasSuffix(name, "服务站"):
				kind = carehex.OrgVolunteerStation
			}
			out = append(out, &carehex.Organisation{Name: name, Kind: kind, Area: []string{Districts[di].Name},
				Contact: "0533-" + fmt.Sprintf("%07d", 3100000+di*100+k), Active: true})
		}
	}
	return out
}

// ContractFor is the demo contract of organisation o for services codes from
// from: community centres and stations are paid per visit, companies per
// hour of verified time with a day cap per resident.
func ContractFor(o *carehex.Organisation, codes []string, from time.Time) *carehex.Contract {
	c := &carehex.Contract{OrgID: o.ID, Services: codes, ValidFrom: from}
	if o.Kind == carehex.OrgContractor {
		c.Unit, c.PriceFen, c.RoundStep, c.Rounding, c.DayCapFen = carehex.UnitHour, 6500, 30*time.Minute, carehex.RoundUp, 13000
	} else {
		c.Unit, c.PriceFen, c.MonthCapFen = carehex.UnitVisit, 4000, 120000
	}
	return c
}

// SeedOrganisations saves the subsidy table and the demo organisations with
// their contracts for codes from from; organisations that exist already
// (by name) are left as they are, so seeding twice adds nothing.
func SeedOrganisations(ctx context.Context, s SettlementStore, codes []string, from time.Time) error {
	for _, c := range SubsidyCategories() {
		if err := s.PutSubsidyCategory(ctx, c); err != nil {
			return fmt.Errorf("demo: subsidy category %s: %w", c.Code, err)
		}
	}
	existing, err := s.Organisations(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, o := range existing {
		have[o.Name] = true
	}
	for _, o := range Organisations() {
		if have[o.Name] {
			continue
		}
		if err := s.CreateOrganisation(ctx, o); err != nil {
			return fmt.Errorf("demo: organisation %s: %w", o.Name, err)
		}
		if err := s.CreateContract(ctx, ContractFor(o, codes, from)); err != nil {
			return fmt.Errorf("demo: contract of %s: %w", o.Name, err)
		}
	}
	return nil
}

// Funding returns the demo funding of residents (saved, with IDs): about
// two in five hold a subsidy or insurance, chosen by a hash of the phone
// number so a resident's funding does not depend on who else is seeded.
// Residents of 80 and over (in from's year) lean to the 高龄 allowance.
func Funding(rs []*carehex.Resident, from time.Time) []*carehex.Funding {
	cats := map[string]*carehex.SubsidyCategory{}
	for _, c := range SubsidyCategories() {
		cats[c.Code] = c
	}
	var out []*carehex.Funding
	for _, r := range rs {
		h := fnv.New32a()
		h.Write([]byte(r.Phone))
		n := h.Sum32() % 20
		var code string
		switch {
		case r.BirthYear > 0 && from.Year()-r.BirthYear >= 80 && n < 4:
			code = "gaoling80"
		case n < 2:
			code = "tekun"
		case n < 4:
			code = "dibao"
		case n < 6:
			code = "shineng"
		case n < 8:
			code = "dujv"
		default:
			continue
		}
		c := cats[code]
		f := &carehex.Funding{ResidentID: r.ID, Kind: carehex.FundingSubsidy, Category: c.Code, ShareBP: c.ShareBP,
			AllowanceFen: c.AllowanceFen, ValidFrom: from}
		if code == "shineng" {
			// Disability care is paid by long-term care insurance.
			f.Kind, f.Category = carehex.FundingInsurance, "长护险"
		}
		out = append(out, f)
	}
	return out
}

// SeedFunding saves the demo funding of residents rs (saved, with IDs).
func SeedFunding(ctx context.Context, s SettlementStore, rs []*carehex.Resident, from time.Time) error {
	fs := Funding(rs, from)
	if imp, ok := s.(FundingImporter); ok {
		return imp.ImportFunding(ctx, fs)
	}
	for _, f := range fs {
		if err := s.CreateFunding(ctx, f); err != nil {
			return fmt.Errorf("demo: funding of %s: %w", f.ResidentID, err)
		}
	}
	return nil
}
