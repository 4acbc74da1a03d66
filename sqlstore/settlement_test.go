package sqlstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
)

func mustCreateOrg(t *testing.T, e *env, name string) *carehex.Organisation {
	t.Helper()
	o := &carehex.Organisation{Name: name, Kind: carehex.OrgContractor, Area: []string{"张店区"}}
	if err := e.CreateOrganisation(opCtx(), o); err != nil {
		t.Fatalf("CreateOrganisation(%s): %v", name, err)
	}
	return o
}

// completedVisit walks a request of resident res through provider p's
// arrival (inside the geofence or not) and completion at finish.
func completedVisit(t *testing.T, e *env, res *carehex.Resident, p *carehex.Provider, fence int64, finish time.Time, inside bool) *carehex.Visit {
	t.Helper()
	r := mustCreateRequest(t, e, res.ID)
	v := mustAssign(t, e, claim(r, p, fence, finish.Add(-2*time.Hour), finish))
	arrive := &carehex.VisitEvent{EventID: carehex.NewID("evt"), VisitID: v.ID, ProviderID: p.ID, Type: carehex.VisitArrive,
		Position: testenv.Zibo, DeviceTime: finish.Add(-time.Hour), Verified: inside}
	if !inside {
		arrive.Exceptions = []string{carehex.ExceptionOutsideGeofence}
	}
	complete := &carehex.VisitEvent{EventID: carehex.NewID("evt"), VisitID: v.ID, ProviderID: p.ID, Type: carehex.VisitComplete,
		Position: testenv.Zibo, DeviceTime: finish, Verified: true}
	for _, ev := range []*carehex.VisitEvent{arrive, complete} {
		if _, out, _, err := e.RecordVisitEvent(context.Background(), ev, carehex.VisitEventRules{}); err != nil {
			t.Fatalf("RecordVisitEvent(%s): %v", ev.Type, err)
		} else {
			v = out
		}
	}
	if v.Status != carehex.StatusCompleted {
		t.Fatalf("visit is %s, want completed", v.Status)
	}
	return v
}

func TestOrganisations(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		old := mustCreateProvider(t, e, "老员工")
		if old.OrgID != carehex.DefaultOrganisationID {
			t.Fatalf("a provider with no organisation joins %q, want the default", old.OrgID)
		}
		org := mustCreateOrg(t, e, "张店区颐康居家养老服务中心")
		wantErr(t, e.CreateOrganisation(ctx, &carehex.Organisation{Name: org.Name, Kind: carehex.OrgContractor}), carehex.ECONFLICT, "name")
		before := rows(t, e, "organisations")
		wantErr(t, e.CreateOrganisation(ctx, &carehex.Organisation{Name: "x", Kind: "shop"}), carehex.EINVALID, "kind")
		if rows(t, e, "organisations") != before {
			t.Fatal("a refused organisation was written")
		}

		// The free-text organisation maps to the organisation of that name.
		p := &carehex.Provider{Name: "新员工", Phone: "13700000001", Skills: []string{"meals"}, Organisation: org.Name,
			Home: carehex.LatLng{Lat: 36.81, Lng: 118.06}}
		if err := e.CreateProvider(ctx, p); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.Provider(ctx, p.ID); got.OrgID != org.ID {
			t.Fatalf("provider of %q joined %q, want %q", org.Name, got.OrgID, org.ID)
		}
		bad := &carehex.Provider{Name: "无名", Phone: "13700000002", Skills: []string{"meals"}, OrgID: "org_nope",
			Home: carehex.LatLng{Lat: 36.81, Lng: 118.06}}
		wantErr(t, e.CreateProvider(ctx, bad), carehex.EINVALID, "org_id")
		if err := e.SetProviderOrganisation(ctx, old.ID, org.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.Provider(ctx, old.ID); got.OrgID != org.ID {
			t.Fatalf("moved provider is in %q", got.OrgID)
		}
		wantErr(t, e.SetProviderOrganisation(ctx, old.ID, "org_nope"), carehex.EINVALID, "org_id")

		c := &carehex.Contract{OrgID: org.ID, Services: []string{"meal_delivery"}, Unit: carehex.UnitHour, PriceFen: 6500,
			RoundStep: 30 * time.Minute, Rounding: carehex.RoundUp, DayCapFen: 4500, ValidFrom: visitDay}
		if err := e.CreateContract(ctx, c); err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.CreateContract(ctx, &carehex.Contract{OrgID: org.ID, Services: []string{"x"}, Unit: "day", ValidFrom: visitDay}),
			carehex.EINVALID, "unit")
		cs, err := e.Contracts(ctx, org.ID)
		if err != nil || len(cs) != 1 || cs[0].RoundStep != 30*time.Minute || cs[0].DayCapFen != 4500 || !cs[0].ValidFrom.Equal(visitDay) {
			t.Fatalf("Contracts = %+v, %v", cs, err)
		}

		if err := e.PutSubsidyCategory(ctx, &carehex.SubsidyCategory{Code: "dibao", NameZh: "低保", NameEn: "minimum living allowance",
			ShareBP: 10000, AllowanceFen: 30000}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.PutSubsidyCategory(ctx, &carehex.SubsidyCategory{Code: "x", NameZh: "x", ShareBP: -1}), carehex.EINVALID, "share_bp")
		if cats, err := e.SubsidyCategories(ctx); err != nil || len(cats) != 1 || cats[0].NameZh != "低保" {
			t.Fatalf("SubsidyCategories = %+v, %v", cats, err)
		}
		res := mustCreateResident(t, e, resident("王秀英", "13800000001"))
		f := &carehex.Funding{ResidentID: res.ID, Kind: carehex.FundingInsurance, Category: "长护险", ShareBP: 9000,
			AllowanceFen: 50000, ValidFrom: visitDay}
		if err := e.CreateFunding(ctx, f); err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.CreateFunding(ctx, &carehex.Funding{ResidentID: "res_nope", Kind: carehex.FundingSubsidy, Category: "低保",
			ValidFrom: visitDay}), carehex.EINVALID, "resident_id")
		fs, err := e.ResidentFunding(ctx, res.ID)
		if err != nil || len(fs) != 1 || fs[0].ShareBP != 9000 || fs[0].CopayBP() != 1000 {
			t.Fatalf("ResidentFunding = %+v, %v", fs, err)
		}
	})
}

func TestStatements(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		org := mustCreateOrg(t, e, "颐康")
		res := mustCreateResident(t, e, resident("王秀英", "13800000001"))
		p := mustCreateProvider(t, e, "李师傅")
		if err := e.SetProviderOrganisation(ctx, p.ID, org.ID); err != nil {
			t.Fatal(err)
		}
		good := completedVisit(t, e, res, p, 1, at(10, 0), true)
		outside := completedVisit(t, e, res, p, 2, at(14, 0), false)

		vs, err := e.SettleVisits(ctx, visitDay, visitDay.AddDate(0, 0, 1))
		if err != nil || len(vs) != 2 {
			t.Fatalf("SettleVisits = %d visits, %v", len(vs), err)
		}
		// Both visits may finish at the same instant (the test clock): find
		// each by its ID, not by position.
		if vs[0].VisitID != good.ID {
			vs[0], vs[1] = vs[1], vs[0]
		}
		if v := vs[0]; v.VisitID != good.ID || v.OrgID != org.ID || v.ResidentID != res.ID || !v.ArriveVerified ||
			v.Hold() != "" || v.Complete.Sub(v.Arrive) != time.Hour {
			t.Fatalf("first visit = %+v", v)
		}
		if v := vs[1]; v.VisitID != outside.ID || v.Hold() != carehex.HoldEVVUnresolved {
			t.Fatalf("second visit = %+v, hold %q", v, v.Hold())
		}

		st := &carehex.Statement{OrgID: org.ID, Month: "2025-03",
			Lines: []*carehex.StatementLine{{VisitID: good.ID, ResidentID: res.ID, ServiceCode: "meal_delivery", ContractID: "con_x",
				ServiceTime: at(10, 0), Unit: carehex.UnitVisit, Units: 1, PriceFen: 4000, ChargeFen: 4000, SubsidyFen: 3600,
				CopayFen: 400, Verification: "geofence"}},
			Held: []*carehex.HeldVisit{{VisitID: outside.ID, ResidentID: res.ID, ServiceCode: "meal_delivery", FinishTime: at(14, 0),
				Reason: carehex.HoldEVVUnresolved}}}
		if err := e.SaveStatement(ctx, st); err != nil {
			t.Fatal(err)
		}
		// Saving again replaces the open statement, it does not add to it.
		if err := e.SaveStatement(ctx, st); err != nil {
			t.Fatal(err)
		}
		if n := rows(t, e, "statement_lines"); n != 1 {
			t.Fatalf("%d lines after saving twice, want 1", n)
		}
		closed, err := e.CloseStatement(ctx, org.ID, "2025-03")
		if err != nil {
			t.Fatal(err)
		}
		if closed.Status != carehex.StatementClosed || closed.Digest != closed.ComputeDigest() || closed.TotalFen != 4000 {
			t.Fatalf("closed = %+v", closed)
		}
		recs := auditOf(t, e, closed.ID)
		if len(recs) != 1 || recs[0].Action != "statement.close" || !strings.Contains(recs[0].Detail, closed.Digest) {
			t.Fatalf("audit of the close = %+v", recs)
		}
		again, err := e.CloseStatement(ctx, org.ID, "2025-03")
		if err != nil || again.Digest != closed.Digest || !again.CloseTime.Equal(closed.CloseTime) {
			t.Fatalf("closing twice: %+v, %v", again, err)
		}
		if len(auditOf(t, e, closed.ID)) != 1 {
			t.Fatal("closing twice wrote a second audit record")
		}

		// The store refuses to touch a closed statement ...
		st.Lines[0].CopayFen = 0
		wantErr(t, e.SaveStatement(ctx, st), carehex.ECONFLICT, "month")
		// ... and so does the database, whoever asks.
		for _, q := range []string{`UPDATE statement_lines SET copay_fen = 0`, `DELETE FROM statement_lines`,
			`UPDATE statement_held SET reason = 'x'`, `DELETE FROM statement_held`, `UPDATE statements SET total_fen = 0`,
			`DELETE FROM statements`} {
			if _, err := e.db.Exec(q); err == nil {
				t.Errorf("%s on a closed statement succeeded", q)
			}
		}
		after, err := e.Statement(ctx, org.ID, "2025-03")
		if err != nil || after.ComputeDigest() != closed.Digest || after.Lines[0].CopayFen != 400 || len(after.Held) != 1 {
			t.Fatalf("closed statement changed: %+v, %v", after, err)
		}

		// A late approval: the held visit becomes a candidate for an
		// adjustment in a later month, and stops being one once a later
		// month's line carries it.
		wantErr(t, e.ReviewVisit(ctx, &carehex.EVVReview{VisitID: outside.ID, Decision: "maybe", Reason: "x"}), carehex.EINVALID, "decision")
		wantErr(t, e.ReviewVisit(ctx, &carehex.EVVReview{VisitID: "vis_nope", Decision: carehex.EVVApproved, Reason: "x"}), carehex.ENOTFOUND, "visit_id")
		if err := e.ReviewVisit(ctx, &carehex.EVVReview{VisitID: outside.ID, Decision: carehex.EVVApproved,
			Reason: "新楼盘地图未收录，电话回访确认已上门"}); err != nil {
			t.Fatal(err)
		}
		late, err := e.LateVisits(ctx, "2025-04")
		if err != nil || len(late) != 1 || late[0].VisitID != outside.ID || late[0].Review != carehex.EVVApproved || late[0].Hold() != "" {
			t.Fatalf("LateVisits = %+v, %v", late, err)
		}
		if err := e.SaveStatement(ctx, &carehex.Statement{OrgID: org.ID, Month: "2025-04", Lines: []*carehex.StatementLine{{
			VisitID: outside.ID, ResidentID: res.ID, ServiceCode: "meal_delivery", ServiceTime: at(14, 0), Unit: carehex.UnitVisit,
			Units: 1, PriceFen: 4000, ChargeFen: 4000, SubsidyFen: 4000, Verification: "approved", AdjustsMonth: "2025-03"}}}); err != nil {
			t.Fatal(err)
		}
		if late, err := e.LateVisits(ctx, "2025-04"); err != nil || len(late) != 1 {
			t.Fatalf("the month carrying the adjustment still sees it (it is rebuilt): %d, %v", len(late), err)
		}
		if late, err := e.LateVisits(ctx, "2025-05"); err != nil || len(late) != 0 {
			t.Fatalf("a later month sees an adjusted visit again: %d, %v", len(late), err)
		}
		wantErr(t, e.SaveStatement(ctx, &carehex.Statement{OrgID: org.ID, Month: "2025-4"}), carehex.EINVALID, "month")
	})
}

// TestSettlementReads covers what the settle engine reads beyond the
// statements themselves: funding valid in a month, bulk funding, closed
// statements, lines already settled, visits on no statement, and visits
// carried by a later month.
func TestSettlementReads(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		res := mustCreateResident(t, e, resident("王秀英", "13800000001"))
		other := mustCreateResident(t, e, resident("赵建国", "13800000002"))
		march := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		fs := []*carehex.Funding{
			{ResidentID: res.ID, Kind: carehex.FundingSubsidy, Category: "dibao", ShareBP: 10000, AllowanceFen: 5000,
				ValidFrom: march.AddDate(0, -2, 0), ValidTo: march}, // ended before March
			{ResidentID: res.ID, Kind: carehex.FundingSubsidy, Category: "tekun", ShareBP: 10000, AllowanceFen: 8000, ValidFrom: march},
			{ResidentID: other.ID, Kind: carehex.FundingInsurance, Category: "长护险", ShareBP: 9000, AllowanceFen: 9000,
				ValidFrom: march.AddDate(0, 0, 10), ValidTo: march.AddDate(0, 0, 20)},
		}
		before := rows(t, e, "resident_funding")
		bad := []*carehex.Funding{fs[0], {ResidentID: res.ID, Kind: "gift", Category: "x", ValidFrom: march}}
		wantErr(t, e.ImportFunding(ctx, bad), carehex.EINVALID, "kind")
		if rows(t, e, "resident_funding") != before {
			t.Fatal("a refused import wrote funding")
		}
		if err := e.ImportFunding(ctx, fs); err != nil {
			t.Fatal(err)
		}
		valid, err := e.FundingValidIn(ctx, march, march.AddDate(0, 1, 0))
		if err != nil || len(valid[res.ID]) != 1 || valid[res.ID][0].Category != "tekun" || len(valid[other.ID]) != 1 {
			t.Fatalf("FundingValidIn(March) = %v, %v", valid, err)
		}

		org := mustCreateOrg(t, e, "颐康")
		p := mustCreateProvider(t, e, "李师傅")
		if err := e.SetProviderOrganisation(ctx, p.ID, org.ID); err != nil {
			t.Fatal(err)
		}
		paid := completedVisit(t, e, res, p, 1, at(10, 0), true)
		late := completedVisit(t, e, res, p, 2, at(14, 0), true)
		day := visitDay
		missed, err := e.MissedVisits(ctx, day, day.AddDate(0, 0, 1))
		if err != nil || len(missed) != 2 {
			t.Fatalf("MissedVisits before any statement = %d, %v; want both", len(missed), err)
		}
		line := func(v *carehex.Visit, when time.Time, adjusts string) *carehex.StatementLine {
			return &carehex.StatementLine{VisitID: v.ID, ResidentID: res.ID, ServiceCode: "meal_delivery", ContractID: "con_x",
				ServiceTime: when, Unit: carehex.UnitVisit, Units: 1, PriceFen: 4000, ChargeFen: 4000, SubsidyFen: 4000,
				Verification: "geofence", AdjustsMonth: adjusts}
		}
		if err := e.SaveStatement(ctx, &carehex.Statement{OrgID: org.ID, Month: "2025-03",
			Lines: []*carehex.StatementLine{line(paid, at(10, 0), "")}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.CloseStatement(ctx, org.ID, "2025-03"); err != nil {
			t.Fatal(err)
		}
		closed, err := e.ClosedStatements(ctx)
		if err != nil || len(closed) != 1 || !closed[[2]string{org.ID, "2025-03"}] {
			t.Fatalf("ClosedStatements = %v, %v", closed, err)
		}
		missed, err = e.MissedVisits(ctx, day, day.AddDate(0, 0, 1))
		if err != nil || len(missed) != 1 || missed[0].VisitID != late.ID || missed[0].OrgID != org.ID {
			t.Fatalf("MissedVisits after March closed = %+v, %v; want the late one", missed, err)
		}
		if err := e.SaveStatement(ctx, &carehex.Statement{OrgID: org.ID, Month: "2025-04",
			Lines: []*carehex.StatementLine{line(late, at(14, 0), "2025-03")}}); err != nil {
			t.Fatal(err)
		}
		settled, err := e.SettledLines(ctx, day, day.AddDate(0, 1, 0), "2025-04")
		if err != nil || len(settled) != 1 || settled[0].VisitID != paid.ID {
			t.Fatalf("SettledLines except April = %+v, %v; want March's line", settled, err)
		}
		later, err := e.SettledLater(ctx, day, day.AddDate(0, 1, 0), "2025-03")
		if err != nil || len(later) != 1 || !later[late.ID] {
			t.Fatalf("SettledLater(March) = %v, %v; want the late visit", later, err)
		}
		if later, err := e.SettledLater(ctx, day, day.AddDate(0, 1, 0), "2025-04"); err != nil || len(later) != 0 {
			t.Fatalf("SettledLater(April) = %v, %v; want none", later, err)
		}
		sts, err := e.Statements(ctx, "2025-04")
		if err != nil || len(sts) != 1 || sts[0].Status != carehex.StatementOpen || sts[0].TotalFen != 4000 {
			t.Fatalf("Statements(April) = %+v, %v", sts, err)
		}
	})
}
