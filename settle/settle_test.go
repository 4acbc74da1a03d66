package settle_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/internal/testenv/testdb"
	"github.com/carehex/carehex/settle"
	"github.com/carehex/carehex/sqlstore"
	"github.com/xuri/excelize/v2"
)

var cst = time.FixedZone("CST", 8*3600)

// march is a day in the settled month; the store's clock stands there.
var march = time.Date(2026, 3, 10, 8, 0, 0, 0, cst)

type world struct {
	db    *sqlstore.DB
	clock *testenv.Clock
	fence int64
}

func stores(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, d := range []struct {
		name string
		open func(t testing.TB, c carehex.Clock) *sqlstore.DB
	}{{"sqlite", testdb.SQLite}, {"postgres", testdb.Postgres}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			c := testenv.NewClock(march)
			fn(t, &world{db: d.open(t, c.Now), clock: c})
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// visit walks a request of resident res by provider p to completion at
// finish, checking in an hour before inside the geofence or not.
func (w *world) visit(t *testing.T, res *carehex.Resident, p *carehex.Provider, finish time.Time, inside bool) *carehex.Visit {
	t.Helper()
	ctx := testenv.OpCtx()
	w.clock.Set(finish.Add(-3 * time.Hour))
	r, _, err := w.db.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery",
		Urgency: carehex.UrgencySoon}, "")
	must(t, err)
	w.fence++
	_, v, err := w.db.AssignRequest(context.Background(), carehex.Assignment{RequestID: r.ID, ProviderID: p.ID, Fence: w.fence,
		Start: finish.Add(-2 * time.Hour), End: finish, Actor: "test", Reason: "offer accepted"})
	must(t, err)
	arrive := &carehex.VisitEvent{EventID: carehex.NewID("evt"), VisitID: v.ID, ProviderID: p.ID, Type: carehex.VisitArrive,
		Position: testenv.Zibo, DeviceTime: finish.Add(-time.Hour), Verified: inside}
	if !inside {
		arrive.Exceptions = []string{carehex.ExceptionOutsideGeofence}
	}
	complete := &carehex.VisitEvent{EventID: carehex.NewID("evt"), VisitID: v.ID, ProviderID: p.ID, Type: carehex.VisitComplete,
		Position: testenv.Zibo, DeviceTime: finish, Verified: true}
	for _, ev := range []*carehex.VisitEvent{arrive, complete} {
		w.clock.Set(ev.DeviceTime)
		_, out, _, err := w.db.RecordVisitEvent(context.Background(), ev, carehex.VisitEventRules{})
		must(t, err)
		v = out
	}
	if v.Status != carehex.StatusCompleted {
		t.Fatalf("visit is %s", v.Status)
	}
	return v
}

func (w *world) provider(t *testing.T, name, org string) *carehex.Provider {
	t.Helper()
	p := &carehex.Provider{Name: name, Phone: "13700000000", Skills: []string{"meals"}, OrgID: org, Home: testenv.Zibo}
	must(t, w.db.CreateProvider(testenv.OpCtx(), p))
	return p
}

func (w *world) resident(t *testing.T, name string) *carehex.Resident {
	t.Helper()
	r := &carehex.Resident{Name: name, Phone: "13800000000", Address: "张店区华光路56号", Location: testenv.Zibo}
	must(t, w.db.CreateResident(testenv.OpCtx(), r))
	return r
}

// TestSettleMonth walks a month: verified visits of a subsidised resident
// on lines with the right subsidy and co-pay, the others held back with
// their reasons; closing fixes it, settling again changes nothing, and an
// approval after the close is paid as an adjustment the month after.
func TestSettleMonth(t *testing.T) {
	stores(t, func(t *testing.T, w *world) {
		ctx := testenv.OpCtx()
		org := &carehex.Organisation{Name: "张店区颐康居家养老服务中心", Kind: carehex.OrgContractor}
		must(t, w.db.CreateOrganisation(ctx, org))
		must(t, w.db.CreateContract(ctx, &carehex.Contract{OrgID: org.ID, Services: []string{"meal_delivery"},
			Unit: carehex.UnitVisit, PriceFen: 4000, DayCapFen: 6000, ValidFrom: march.AddDate(0, -6, 0)}))
		carer := w.provider(t, "李师傅", org.ID)
		stray := w.provider(t, "无合同", "") // the default organisation has no contract
		wang := w.resident(t, "王秀英")      // 低保: 100% up to 50 元 a month
		must(t, w.db.CreateFunding(ctx, &carehex.Funding{ResidentID: wang.ID, Kind: carehex.FundingSubsidy, Category: "dibao",
			ShareBP: carehex.FullShareBP, AllowanceFen: 5000, ValidFrom: march.AddDate(-1, 0, 0)}))
		zhao := w.resident(t, "赵建国") // no funding

		d1 := time.Date(2026, 3, 3, 10, 0, 0, 0, cst)
		d2 := time.Date(2026, 3, 4, 10, 0, 0, 0, cst)
		paid1 := w.visit(t, wang, carer, d1, true)                   // 40 元, all subsidy
		paid2 := w.visit(t, wang, carer, d2, true)                   // 40 元: 10 元 of allowance left, 30 元 co-pay
		capped := w.visit(t, wang, carer, d2.Add(3*time.Hour), true) // the day cap of 60 元 leaves 20 元, all co-pay
		outside := w.visit(t, wang, carer, d1.Add(6*time.Hour), false)
		w.visit(t, zhao, carer, d1.Add(2*time.Hour), true)
		w.visit(t, wang, stray, d1.Add(4*time.Hour), true)
		w.visit(t, wang, carer, time.Date(2026, 2, 27, 10, 0, 0, 0, cst), true) // February: not this month

		m, _ := carehex.ParseMonth("month", "2026-03")
		res, err := settle.Month(context.Background(), w.db, m, cst, false)
		must(t, err)
		want := settle.Figures{Month: "2026-03", Orgs: 2, VisitsCompleted: 6, Lines: 3, HeldBack: 3, TotalFen: 10000,
			SubsidyFen: 5000, CopayFen: 5000, Mismatches: 0}
		if got := figures(res); got != want {
			t.Fatalf("settle = %+v, want %+v", got, want)
		}
		st := statementOf(t, res, org.ID)
		if len(st.Lines) != 3 || st.Lines[0].VisitID != paid1.ID || st.Lines[1].VisitID != paid2.ID || st.Lines[2].VisitID != capped.ID {
			t.Fatalf("lines = %+v", st.Lines)
		}
		if l := st.Lines[1]; l.SubsidyFen != 1000 || l.CopayFen != 3000 {
			t.Fatalf("second line: subsidy %d co-pay %d, want 1000 and 3000", l.SubsidyFen, l.CopayFen)
		}
		if l := st.Lines[2]; !l.Capped || l.ChargeFen != 2000 || l.CopayFen != 2000 {
			t.Fatalf("capped line = %+v", l)
		}
		reasons := map[string]bool{}
		for _, s := range res.Statements {
			for _, h := range s.Held {
				reasons[h.Reason] = true
			}
		}
		for _, r := range []string{carehex.HoldEVVUnresolved, carehex.HoldNoFunding, carehex.HoldNoContract} {
			if !reasons[r] {
				t.Errorf("no visit held back for %s: %v", r, reasons)
			}
		}

		closed, err := settle.Month(context.Background(), w.db, m, cst, true)
		must(t, err)
		if figures(closed) != want {
			t.Fatalf("closing changed the figures: %+v", figures(closed))
		}
		digest := statementOf(t, closed, org.ID).Digest
		if statementOf(t, closed, org.ID).Status != carehex.StatementClosed || digest == "" {
			t.Fatal("not closed")
		}

		// A late approval does not touch March ...
		must(t, w.db.ReviewVisit(ctx, &carehex.EVVReview{VisitID: outside.ID, Decision: carehex.EVVApproved,
			Reason: "新楼盘地图未收录，回访确认已上门"}))
		again, err := settle.Month(context.Background(), w.db, m, cst, true)
		must(t, err)
		if figures(again) != want || statementOf(t, again, org.ID).Digest != digest {
			t.Fatalf("settling a closed month again changed it: %+v", figures(again))
		}
		// Two phones in a dead zone sync after March closed: a verified
		// visit of March 31 and one checked in outside the geofence.
		synced := w.visit(t, wang, carer, time.Date(2026, 3, 31, 18, 0, 0, 0, cst), true)
		unresolved := w.visit(t, wang, carer, time.Date(2026, 3, 31, 22, 0, 0, 0, cst), false)

		// ... the approval is an adjustment line in April, so is the late
		// verified visit; the late unresolved one is held back in April.
		april := m.Next()
		w.clock.Set(time.Date(2026, 4, 2, 9, 0, 0, 0, cst))
		apr, err := settle.Month(context.Background(), w.db, april, cst, true)
		must(t, err)
		// March 3 had 40 元 of its 60 元 cap paid, and March's allowance is
		// spent: 20 元, all co-pay; March 31 is a new day: 40 元, co-pay.
		if apr.VisitsCompleted != 0 || apr.Lines != 2 || apr.HeldBack != 1 || apr.Mismatches != 0 || apr.TotalFen != 6000 || apr.CopayFen != 6000 {
			t.Fatalf("April = %+v, want two adjustment lines (20 元 and 40 元) and one held back", figures(apr))
		}
		aprSt := statementOf(t, apr, org.ID)
		adj := aprSt.Lines[0]
		if adj.VisitID != outside.ID || adj.AdjustsMonth != "2026-03" || adj.Verification != "approved" || !adj.Capped {
			t.Fatalf("adjustment = %+v", adj)
		}
		if l := aprSt.Lines[1]; l.VisitID != synced.ID || l.AdjustsMonth != "2026-03" || l.ChargeFen != 4000 {
			t.Fatalf("late-synced line = %+v", l)
		}
		if h := aprSt.Held[0]; h.VisitID != unresolved.ID || h.Reason != carehex.HoldEVVUnresolved {
			t.Fatalf("held in April = %+v", h)
		}
		// March, settled again, counts the late visits as its own and
		// finds them accounted for in April.
		marchAgain, err := settle.Month(context.Background(), w.db, m, cst, false)
		must(t, err)
		if marchAgain.VisitsCompleted != want.VisitsCompleted+2 || marchAgain.Mismatches != 0 ||
			statementOf(t, marchAgain, org.ID).Digest != digest {
			t.Fatalf("March again = %+v", figures(marchAgain))
		}
		may, err := settle.Month(context.Background(), w.db, april.Next(), cst, false)
		must(t, err)
		if may.Lines != 0 || may.Mismatches != 0 {
			t.Fatalf("May pays the adjustment again: %+v", figures(may))
		}

		// The exports: a BOM, Chinese headings, the lines, and a workbook
		// that opens with the same figures.
		var csvBuf bytes.Buffer
		must(t, settle.WriteCSV(&csvBuf, statementOf(t, closed, org.ID), org.Name, cst))
		text := csvBuf.String()
		if !strings.HasPrefix(text, "\uFEFF结算单,"+org.Name+",2026-03,已结账") || !strings.Contains(text, "服务日期,居民编号") ||
			!strings.Contains(text, "合计,,,,3,,100.00,50.00,50.00") || strings.Contains(text, wang.ID) {
			t.Fatalf("CSV:\n%s", text)
		}
		var xl bytes.Buffer
		must(t, settle.WriteXLSX(&xl, statementOf(t, closed, org.ID), org.Name, cst))
		f, err := excelize.OpenReader(&xl)
		must(t, err)
		defer f.Close()
		rows, err := f.GetRows("结算明细")
		must(t, err)
		if len(rows) != 6 || rows[1][0] != "服务日期" || rows[5][0] != "合计" || rows[5][6] != "100.00" {
			t.Fatalf("workbook rows = %q", rows)
		}
		held, err := f.GetRows("暂扣明细")
		must(t, err)
		if len(held) != 3 || held[1][3] != "无补贴资格" || held[2][3] != "核验异常待处理" || held[2][4] != outside.ID {
			t.Fatalf("held sheet = %q", held)
		}
	})
}

func figures(r *settle.Result) settle.Figures { return r.Figures }

func statementOf(t *testing.T, r *settle.Result, org string) *carehex.Statement {
	t.Helper()
	for _, s := range r.Statements {
		if s.OrgID == org {
			return s
		}
	}
	t.Fatalf("no statement of %s", org)
	return nil
}
