package demo

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/plan"
	"github.com/carehex/carehex/providers"
	"github.com/carehex/carehex/sqlstore"
)

// TestSeedWorkingHours: after seeding, every demo carer has plausible
// working hours, seeding again changes nothing (and keeps an operator's
// edit), and the roster places a planned visit with a seeded carer.
func TestSeedWorkingHours(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			// Monday 2 March 2026, 08:00 CST.
			clock := testenv.NewClock(time.Date(2026, 3, 2, 8, 0, 0, 0, carehex.CST))
			ctx := testenv.OpCtx()
			db, err := sqlstore.Open(ctx, d.dsn(t), clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if err := db.SyncCatalog(ctx, types); err != nil {
				t.Fatal(err)
			}
			const nCarers = 60
			if err := Seed(ctx, db, 1, 20, nCarers, catalog.Skills(types), nil); err != nil {
				t.Fatal(err)
			}
			ps, err := db.Providers(ctx, 10*nCarers)
			if err != nil || len(ps) != nCarers {
				t.Fatalf("Providers = %d, %v", len(ps), err)
			}
			if n, err := SeedWorkingHours(ctx, db, ps); err != nil || n != nCarers {
				t.Fatalf("SeedWorkingHours = %d, %v; want %d", n, err, nCarers)
			}
			ids := make([]string, len(ps))
			for i, p := range ps {
				ids[i] = p.ID
			}
			have, err := db.WorkingHoursOf(ctx, ids)
			if err != nil || len(have) != nCarers {
				t.Fatalf("WorkingHoursOf = %d, %v", len(have), err)
			}
			modes := map[carehex.TravelMode]int{}
			weekend := 0
			for _, p := range ps {
				w := have[p.ID]
				if len(w.Weekly) == 0 || w.Home != p.Home || w.MaxVisitsPerDay < 1 {
					t.Fatalf("hours of %s: %+v", p.ID, w)
				}
				modes[w.Mode]++
				if slices.ContainsFunc(w.Weekly, func(s carehex.Shift) bool { return s.Weekday == time.Sunday }) {
					weekend++
				}
			}
			if modes[carehex.TravelEBike] <= nCarers/2 || modes[carehex.TravelWalk] == 0 || weekend == 0 {
				t.Errorf("modes %v, %d work Sundays: want mostly e-bikes, some walkers, some weekends", modes, weekend)
			}

			// An operator's edit survives a second seeding, which sets nothing.
			edited := have[ps[0].ID]
			edited.Mode, edited.MaxVisitsPerDay = carehex.TravelCar, 3
			if err := db.SetWorkingHours(ctx, edited); err != nil {
				t.Fatal(err)
			}
			if n, err := SeedWorkingHours(ctx, db, ps); err != nil || n != 0 {
				t.Fatalf("second SeedWorkingHours = %d, %v; want 0", n, err)
			}
			again, err := db.WorkingHours(ctx, ps[0].ID)
			if err != nil || again.Mode != carehex.TravelCar || again.MaxVisitsPerDay != 3 || !reflect.DeepEqual(again.Weekly, edited.Weekly) {
				t.Fatalf("after reseeding: %+v, %v; want the edit %+v", again, err, edited)
			}

			// A Tuesday visit needing a skill held by a weekday carer is
			// rostered with a carer that has the skill and is on shift.
			var st *carehex.ServiceType
			for _, p := range ps {
				if !slices.ContainsFunc(have[p.ID].Weekly, func(s carehex.Shift) bool {
					return s.Weekday == time.Tuesday && s.Start <= 10*60 && s.End >= 12*60
				}) {
					continue
				}
				for _, ty := range types {
					if st == nil && ty.Category == carehex.CategoryDailyLife && slices.Contains(p.Skills, ty.RequiredSkill) {
						st = ty
					}
				}
			}
			if st == nil {
				t.Fatal("no seeded weekday carer with an everyday skill")
			}
			rs, err := db.SearchResidents(ctx, carehex.ResidentFilter{Query: SeedResidents(1, 20)[0].Phone, Limit: 1})
			if err != nil || len(rs) != 1 {
				t.Fatalf("SearchResidents = %v, %v", rs, err)
			}
			cp := &carehex.CarePlan{ResidentID: rs[0].ID, StartDate: clock.Now(), Items: []carehex.PlanItem{{
				ServiceCode: st.Code, RRule: "FREQ=WEEKLY;BYDAY=TU", WindowStart: 10 * 60, WindowEnd: 12 * 60,
				Duration: 30 * time.Minute}}}
			if err := db.CreateCarePlan(ctx, cp, plan.Parse); err != nil {
				t.Fatal(err)
			}
			rdb, _ := testenv.Redis(t)
			zone := testenv.UniqueZone("demohours")
			t.Cleanup(func() { _ = providers.DeleteZone(context.Background(), rdb, zone) })
			live, err := providers.New(rdb, providers.Options{Zone: zone, Clock: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			eng, err := dispatch.New(dispatch.DefaultConfig(), dispatch.Deps{Store: db, Live: live, Clock: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			pl := plan.New(db, eng, clock.Now, nil, 0)
			pl.RosterOptions.TimeLimit = time.Second
			if _, err := pl.Project(ctx); err != nil {
				t.Fatal(err)
			}
			monday := carehex.Day(clock.Now())
			r, err := pl.Roster(ctx, monday, monday.AddDate(0, 0, 7))
			if err != nil || len(r.Assigned) != 1 {
				t.Fatalf("Roster = %+v, %v; want the Tuesday visit assigned", r, err)
			}
			v := r.Assigned[0]
			var carer *carehex.Provider
			for _, p := range ps {
				if p.ID == v.ProviderID {
					carer = p
				}
			}
			if carer == nil || !slices.Contains(carer.Skills, st.RequiredSkill) || !have[carer.ID].OnShift(v.Earliest) {
				t.Fatalf("rostered with %+v at %v; want a seeded carer with %s on shift", carer, v.Earliest, st.RequiredSkill)
			}
		})
	}
}
