package demo

import (
	"context"
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/catalog"
)

// TestSeedSettlement seeds organisations, then the people, on both
// databases: every demo provider joins the organisation it names, every
// organisation has a valid contract, and a share of the residents is
// funded, a second seeding of organisations adding nothing.
func TestSeedSettlement(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]string, len(types))
	for i, st := range types {
		codes[i] = st.Code
	}
	ctx := context.Background()
	const residents, providers = 600, 40
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			db := openStore(t, d)
			for range 2 {
				if err := SeedOrganisations(ctx, db, codes, SettlementFrom); err != nil {
					t.Fatal(err)
				}
			}
			orgs, err := db.Organisations(ctx)
			if err != nil || len(orgs) != len(Organisations())+1 { // and the default one
				t.Fatalf("Organisations() = %d, %v; want %d", len(orgs), err, len(Organisations())+1)
			}
			kinds := map[carehex.OrgKind]int{}
			for _, o := range orgs {
				kinds[o.Kind]++
				if o.ID == carehex.DefaultOrganisationID {
					continue
				}
				cs, err := db.Contracts(ctx, o.ID)
				if err != nil || len(cs) != 1 || cs[0].Validate() != nil || len(cs[0].Services) != len(codes) {
					t.Fatalf("contracts of %s = %+v, %v", o.Name, cs, err)
				}
			}
			if kinds[carehex.OrgContractor] == 0 || kinds[carehex.OrgCommunityCentre] == 0 || kinds[carehex.OrgVolunteerStation] == 0 {
				t.Fatalf("kinds = %v, want all three", kinds)
			}
			if err := Seed(ctx, db, 3, residents, providers, catalog.Skills(types), nil); err != nil {
				t.Fatal(err)
			}
			ps, err := db.Providers(ctx, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				if p.OrgID == carehex.DefaultOrganisationID {
					t.Fatalf("%s of %q was left in the default organisation", p.Name, p.Organisation)
				}
			}
			funded := 0
			for _, r := range SeedResidents(3, residents) {
				found, err := db.SearchResidents(ctx, carehex.ResidentFilter{Query: r.Phone, Limit: 1})
				if err != nil || len(found) != 1 {
					t.Fatalf("SearchResidents(%s) = %v, %v", r.Phone, found, err)
				}
				fs, err := db.ResidentFunding(ctx, found[0].ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range fs {
					if err := f.Validate(); err != nil {
						t.Fatalf("funding %+v: %v", f, err)
					}
				}
				if len(fs) > 0 {
					funded++
				}
			}
			if funded < residents/4 || funded > residents*3/5 {
				t.Fatalf("%d of %d residents funded, want about two in five", funded, residents)
			}
		})
	}
}
