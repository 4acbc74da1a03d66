package plan_test

import (
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/plan"
)

// TestVisitingProgramme: a monthly visiting programme for the 特困
// category gives each resident of the category a plan (once, however often
// it runs), its visits are projected and rostered, and compliance counts
// the month per street and organisation: who has been visited, who is
// overdue. Residents without the subsidy are not counted. SQLite and
// PostgreSQL.
func TestVisitingProgramme(t *testing.T) {
	onEachStore(t, func(t *testing.T, w *world) {
		ctx := testenv.OpCtx()
		march := time.Date(2026, 3, 1, 0, 30, 0, 0, carehex.CST)
		w.clock.Set(march)
		// A month's horizon, so the whole of March is projected.
		pl := plan.New(w.db, w.eng, w.clock.Now, nil, 31*24*time.Hour)
		pl.RosterOptions.TimeLimit = time.Second
		carer, _ := w.carer("王芳", 300)

		if err := w.db.PutSubsidyCategory(ctx, &carehex.SubsidyCategory{Code: "tekun", NameZh: "特困", NameEn: "Extreme hardship",
			ShareBP: carehex.FullShareBP, AllowanceFen: 60000}); err != nil {
			t.Fatal(err)
		}
		prog := &carehex.VisitProgramme{Category: "tekun", ServiceCode: "meal_delivery", PerMonth: 1,
			WindowStart: 9 * 60, WindowEnd: 12 * 60, Duration: 30 * time.Minute}
		for _, bad := range []struct {
			edit  func(p *carehex.VisitProgramme)
			field string
		}{
			{func(p *carehex.VisitProgramme) { p.Category = "nope" }, "category"},
			{func(p *carehex.VisitProgramme) { p.PerMonth = 0 }, "per_month"},
			{func(p *carehex.VisitProgramme) { p.ServiceCode = "nope" }, "service_code"},
			{func(p *carehex.VisitProgramme) { p.WindowEnd = p.WindowStart }, "window_end"},
			{func(p *carehex.VisitProgramme) { p.Duration = 4 * time.Hour }, "duration_s"},
		} {
			b := *prog
			bad.edit(&b)
			if err := w.db.PutVisitProgramme(ctx, &b); carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != bad.field {
				t.Errorf("PutVisitProgramme(bad %s) = %v", bad.field, err)
			}
		}
		if ps, _ := w.db.VisitProgrammes(ctx); len(ps) != 0 {
			t.Fatalf("bad programmes saved: %+v", ps)
		}
		if err := w.db.PutVisitProgramme(ctx, prog); err != nil {
			t.Fatal(err)
		}

		// Three residents of the category on two streets, one without
		// the subsidy (an insurance scheme only).
		type who struct {
			name, street string
			kind         carehex.FundingKind
		}
		var res []*carehex.Resident
		for i, x := range []who{{"张桂兰", "和平街道", carehex.FundingSubsidy}, {"李秀英", "和平街道", carehex.FundingSubsidy},
			{"王淑珍", "车站街道", carehex.FundingSubsidy}, {"赵玉梅", "车站街道", carehex.FundingInsurance}} {
			r := &carehex.Resident{Name: x.name, Phone: "1390533000" + string(rune('1'+i)), Address: "张店区" + x.street,
				Street: x.street, Location: testenv.At(testenv.Zibo, float64(100*i), 0)}
			if err := w.db.CreateResident(ctx, r); err != nil {
				t.Fatal(err)
			}
			cat := "tekun"
			if x.kind == carehex.FundingInsurance {
				cat = "长护险"
			}
			if err := w.db.CreateFunding(ctx, &carehex.Funding{ResidentID: r.ID, Kind: x.kind, Category: cat, ShareBP: 9000,
				AllowanceFen: 50000, ValidFrom: march.AddDate(0, -2, 0)}); err != nil {
				t.Fatal(err)
			}
			res = append(res, r)
		}

		if n, err := pl.GenerateProgrammes(ctx); err != nil || n != 3 {
			t.Fatalf("GenerateProgrammes = %d, %v; want 3", n, err)
		}
		if n, err := pl.GenerateProgrammes(ctx); err != nil || n != 0 {
			t.Fatalf("second GenerateProgrammes = %d, %v; want 0", n, err)
		}
		if _, err := pl.Project(ctx); err != nil {
			t.Fatal(err)
		}
		from, to := plan.MonthRange(march)
		visit := map[string]*carehex.PlannedVisit{}
		for _, r := range res {
			vs, err := w.db.PlannedVisits(ctx, carehex.PlannedFilter{ResidentID: r.ID, From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if r == res[3] {
				want = 0
			}
			if len(vs) != want {
				t.Fatalf("%s has %d programme visits in March, want %d", r.Name, len(vs), want)
			}
			if want == 1 {
				visit[r.ID] = vs[0]
			}
		}
		rr, err := pl.Roster(ctx, from, to)
		if err != nil || len(rr.Assigned) != 3 {
			t.Fatalf("Roster = %+v, %v", rr, err)
		}
		for _, v := range rr.Assigned {
			visit[v.ResidentID] = v
		}

		// The first resident is visited.
		v0 := visit[res[0].ID]
		w.clock.Set(v0.Earliest.Add(40 * time.Minute))
		for _, st := range []carehex.Status{carehex.StatusEnRoute, carehex.StatusInProgress, carehex.StatusCompleted} {
			if _, err := w.db.TransitionVisit(ctx, v0.VisitID, st, carer.ID, "visit", v0.Earliest.Add(30*time.Minute)); err != nil {
				t.Fatalf("visit %s: %v", st, err)
			}
		}

		// Mid-month, just after the second resident's window: she is
		// overdue; the third is overdue only if hers has passed too.
		v1, v2 := visit[res[1].ID], visit[res[2].ID]
		mid := v1.Latest
		if w.clock.Now().After(mid) {
			mid = w.clock.Now()
		}
		w.clock.Set(mid.Add(time.Minute))
		c, err := pl.Compliance(ctx, march, "tekun")
		if err != nil {
			t.Fatal(err)
		}
		overdue := map[string]bool{}
		for _, s := range c.Overdue {
			overdue[s.ResidentID] = true
		}
		wantThird := !v2.Latest.After(w.clock.Now())
		if c.Month != "2026-03" || len(c.Standing) != 3 || overdue[res[0].ID] || !overdue[res[1].ID] || overdue[res[2].ID] != wantThird {
			t.Fatalf("mid-month compliance %+v (third overdue: want %v)", c, wantThird)
		}

		// At the month's end: one met, two overdue, by street and the
		// carer's organisation.
		w.clock.Set(to.Add(-time.Hour))
		c, err = pl.Compliance(ctx, march, "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]carehex.ComplianceRow{}
		for _, r := range c.Rows {
			got[r.Street] = r
		}
		if h := got["和平街道"]; len(c.Rows) != 2 || h.Residents != 2 || h.Met != 1 || h.Overdue != 1 || h.OrganisationID != carehex.DefaultOrganisationID {
			t.Fatalf("rows at month end: %+v", c.Rows)
		}
		if z := got["车站街道"]; z.Residents != 1 || z.Met != 0 || z.Overdue != 1 {
			t.Fatalf("rows at month end: %+v", c.Rows)
		}
		if len(c.Overdue) != 2 {
			t.Fatalf("overdue at month end: %+v", c.Overdue)
		}
		if _, err := pl.Compliance(ctx, march, "dibao"); carehex.ErrorCode(err) != carehex.ENOTFOUND {
			t.Fatalf("compliance of a category without a programme: %v", err)
		}
	})
}
