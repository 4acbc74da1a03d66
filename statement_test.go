package carehex

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

var cst = time.FixedZone("CST", 8*3600)

func TestContractUnits(t *testing.T) {
	hour := func(r Rounding, step time.Duration) *Contract {
		return &Contract{Unit: UnitHour, PriceFen: 6500, RoundStep: step, Rounding: r}
	}
	tests := []struct {
		name      string
		c         *Contract
		d         time.Duration
		units     int64
		chargeFen int64
	}{
		{"per visit ignores duration", &Contract{Unit: UnitVisit, PriceFen: 4000}, 3 * time.Hour, 1, 4000},
		{"up: a started half hour counts", hour(RoundUp, 30*time.Minute), 61 * time.Minute, 90, 9750},
		{"up: exact step stays", hour(RoundUp, 30*time.Minute), 60 * time.Minute, 60, 6500},
		{"down: only whole steps", hour(RoundDown, 30*time.Minute), 89 * time.Minute, 60, 6500},
		{"nearest: half a step rounds up", hour(RoundNearest, 30*time.Minute), 75 * time.Minute, 90, 9750},
		{"nearest: under half rounds down", hour(RoundNearest, 30*time.Minute), 74*time.Minute + 59*time.Second, 60, 6500},
		{"negative duration is zero", hour(RoundUp, 15*time.Minute), -time.Hour, 0, 0},
		{"fraction of a fen rounds half up", &Contract{Unit: UnitHour, PriceFen: 1001, RoundStep: time.Minute, Rounding: RoundDown}, 1 * time.Minute, 1, 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.c.Units(tt.d)
			if u != tt.units {
				t.Fatalf("Units(%v) = %d, want %d", tt.d, u, tt.units)
			}
			if got := tt.c.Charge(u); got != tt.chargeFen {
				t.Fatalf("Charge(%d) = %d, want %d", u, got, tt.chargeFen)
			}
		})
	}
}

func TestValidateNamesTheField(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, cst)
	good := func() *Contract {
		return &Contract{OrgID: "org_a", Services: []string{"meal"}, Unit: UnitHour, PriceFen: 6500,
			RoundStep: 30 * time.Minute, Rounding: RoundUp, ValidFrom: from}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("good contract: %v", err)
	}
	tests := []struct {
		field string
		edit  func(c *Contract)
	}{
		{"org_id", func(c *Contract) { c.OrgID = "" }},
		{"services", func(c *Contract) { c.Services = nil }},
		{"unit", func(c *Contract) { c.Unit = "day" }},
		{"round_step", func(c *Contract) { c.RoundStep = 90 * time.Second }},
		{"rounding", func(c *Contract) { c.Rounding = "sideways" }},
		{"price_fen", func(c *Contract) { c.PriceFen = -1 }},
		{"day_cap_fen", func(c *Contract) { c.DayCapFen = MaxPriceFen + 1 }},
		{"valid_from", func(c *Contract) { c.ValidFrom = time.Time{} }},
		{"valid_to", func(c *Contract) { c.ValidTo = from }},
	}
	for _, tt := range tests {
		c := good()
		tt.edit(c)
		if got := ErrorField(c.Validate()); got != tt.field {
			t.Errorf("%s: error field %q, want %q", tt.field, got, tt.field)
		}
	}
	f := &Funding{ResidentID: "res_a", Kind: FundingSubsidy, Category: "dibao", ShareBP: 10001, ValidFrom: from}
	if got := ErrorField(f.Validate()); got != "share_bp" {
		t.Errorf("funding share 10001: field %q, want share_bp", got)
	}
	o := &Organisation{Name: "颐康", Kind: "shop"}
	if got := ErrorField(o.Validate()); got != "kind" {
		t.Errorf("organisation kind shop: field %q, want kind", got)
	}
	if _, err := ParseMonth("month", "2026-13"); ErrorField(err) != "month" {
		t.Errorf("ParseMonth(2026-13) = %v, want an error naming month", err)
	}
}

func TestSettleVisitHold(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, cst)
	tests := []struct {
		name string
		v    SettleVisit
		want string
	}{
		{"verified", SettleVisit{Arrive: at, ArriveVerified: true}, ""},
		{"never checked in", SettleVisit{}, HoldNotVerified},
		{"outside geofence, unresolved", SettleVisit{Arrive: at, Exceptions: []string{ExceptionOutsideGeofence}}, HoldEVVUnresolved},
		{"outside geofence, approved", SettleVisit{Arrive: at, Exceptions: []string{ExceptionOutsideGeofence}, Review: EVVApproved}, ""},
		{"short visit, unresolved", SettleVisit{Arrive: at, ArriveVerified: true, Exceptions: []string{ExceptionShortVisit}}, HoldEVVUnresolved},
		{"rejected", SettleVisit{Arrive: at, ArriveVerified: true, Review: EVVRejected}, HoldEVVRejected},
	}
	for _, tt := range tests {
		if got := tt.v.Hold(); got != tt.want {
			t.Errorf("%s: Hold() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// randomInput is a month of random visits over random contracts, caps and
// funding, including visits that must be held back.
func randomInput(r *rand.Rand) SettleInput {
	month := Month{2026, time.March}
	start, _ := month.Bounds(cst)
	in := SettleInput{Month: month, Zone: cst, Funding: map[string][]*Funding{}}
	services := []string{"meal", "clean", "bath"}
	for o := 0; o < 1+r.Intn(3); o++ {
		org := &Organisation{ID: fmt.Sprintf("org_%d", o), Name: "o", Kind: OrgContractor}
		in.Orgs = append(in.Orgs, org)
		for c := 0; c < r.Intn(3); c++ {
			k := &Contract{ID: fmt.Sprintf("con_%d_%d", o, c), OrgID: org.ID, Services: []string{services[r.Intn(3)], services[r.Intn(3)]},
				PriceFen: int64(r.Intn(10000)), ValidFrom: start.AddDate(0, 0, r.Intn(10)-5)}
			if r.Intn(2) == 0 {
				k.Unit = UnitVisit
			} else {
				k.Unit, k.RoundStep, k.Rounding = UnitHour, time.Duration(1+r.Intn(60))*time.Minute, []Rounding{RoundUp, RoundDown, RoundNearest}[r.Intn(3)]
			}
			if r.Intn(2) == 0 {
				k.DayCapFen = int64(r.Intn(10000))
			}
			if r.Intn(2) == 0 {
				k.MonthCapFen = int64(r.Intn(50000))
			}
			k.RequiresCardScan = r.Intn(2) == 1
			in.Contracts = append(in.Contracts, k)
		}
	}
	nres := 1 + r.Intn(6)
	for i := 0; i < nres; i++ {
		res := fmt.Sprintf("res_%d", i)
		for f := 0; f < r.Intn(3); f++ {
			in.Funding[res] = append(in.Funding[res], &Funding{ID: fmt.Sprintf("fund_%d_%d", i, f), ResidentID: res,
				Kind: FundingSubsidy, Category: "c", ShareBP: int64(r.Intn(FullShareBP + 1)), AllowanceFen: int64(r.Intn(30000)),
				ValidFrom: start.AddDate(0, 0, r.Intn(20)-10)})
		}
	}
	for i := 0; i < r.Intn(60); i++ {
		finish := start.Add(time.Duration(r.Int63n(int64(30 * 24 * time.Hour))))
		v := &SettleVisit{VisitID: fmt.Sprintf("vis_%d", i), ResidentID: fmt.Sprintf("res_%d", r.Intn(nres)),
			OrgID: in.Orgs[r.Intn(len(in.Orgs))].ID, ServiceCode: services[r.Intn(3)], FinishTime: finish,
			Complete: finish, ArriveVerified: r.Intn(5) > 0}
		if r.Intn(8) > 0 {
			v.Arrive = finish.Add(-time.Duration(r.Int63n(int64(4 * time.Hour))))
		}
		if r.Intn(6) == 0 {
			v.Exceptions = []string{ExceptionShortVisit}
		}
		v.Review = []EVVDecision{"", "", EVVApproved, EVVRejected}[r.Intn(4)]
		v.CardArrive, v.CardComplete = i%4 != 1, i%5 != 2
		in.Visits = append(in.Visits, v)
	}
	return in
}

// TestStatementProperties checks invariant 8's arithmetic over random
// months: totals are the sums of the lines, subsidy + co-pay = charge on
// every line, no cap is exceeded, no allowance goes negative, and every
// visit is on exactly one line or held back.
func TestStatementProperties(t *testing.T) {
	var lines, held, capped, subsidised, carded int // the random months must reach every branch
	for seed := int64(1); seed <= 2000; seed++ {
		r := rand.New(rand.NewSource(seed))
		in := randomInput(r)
		out := BuildStatements(in)
		if len(out) != len(in.Orgs) {
			t.Fatalf("seed %d: %d statements for %d organisations", seed, len(out), len(in.Orgs))
		}
		contracts := map[string]*Contract{}
		for _, c := range in.Contracts {
			contracts[c.ID] = c
		}
		funds := map[string]*Funding{}
		for _, fs := range in.Funding {
			for _, f := range fs {
				funds[f.ID] = f
			}
		}
		dayUsed, monthUsed := map[string]int64{}, map[string]int64{}
		subsidyOf := map[string]int64{} // resident → subsidy this month
		var stmts []*Statement
		for _, s := range out {
			stmts = append(stmts, s)
			var tot, sub, cop int64
			held += len(s.Held)
			for _, l := range s.Lines {
				lines++
				if l.Capped {
					capped++
				}
				if l.SubsidyFen > 0 {
					subsidised++
				}
				if l.SubsidyFen < 0 || l.CopayFen < 0 || l.SubsidyFen+l.CopayFen != l.ChargeFen {
					t.Fatalf("seed %d: line %+v: subsidy %d + copay %d != charge %d", seed, l, l.SubsidyFen, l.CopayFen, l.ChargeFen)
				}
				tot, sub, cop = tot+l.ChargeFen, sub+l.SubsidyFen, cop+l.CopayFen
				c := contracts[l.ContractID]
				if v := visitByID(in.Visits, l.VisitID); c.RequiresCardScan && v.Review != EVVApproved {
					if !v.CardArrive || !v.CardComplete || l.Verification != "geofence_card" {
						t.Fatalf("seed %d: line %+v pays a card-scan contract without both scans", seed, l)
					}
					carded++
				}
				dk := l.ResidentID + "|" + l.ContractID + "|" + l.ServiceTime.In(cst).Format("2006-01-02")
				mk := l.ResidentID + "|" + l.ContractID
				dayUsed[dk] += l.ChargeFen
				monthUsed[mk] += l.ChargeFen
				if c.DayCapFen > 0 && dayUsed[dk] > c.DayCapFen {
					t.Fatalf("seed %d: day cap %d exceeded: %d", seed, c.DayCapFen, dayUsed[dk])
				}
				if c.MonthCapFen > 0 && monthUsed[mk] > c.MonthCapFen {
					t.Fatalf("seed %d: month cap %d exceeded: %d", seed, c.MonthCapFen, monthUsed[mk])
				}
				if !l.Capped && l.ChargeFen != c.Charge(l.Units) {
					t.Fatalf("seed %d: uncapped line charges %d, contract says %d", seed, l.ChargeFen, c.Charge(l.Units))
				}
				subsidyOf[l.ResidentID] += l.SubsidyFen
			}
			if tot != s.TotalFen || sub != s.SubsidyFen || cop != s.CopayFen {
				t.Fatalf("seed %d: totals %d/%d/%d, lines sum to %d/%d/%d", seed, s.TotalFen, s.SubsidyFen, s.CopayFen, tot, sub, cop)
			}
		}
		// A resident's allowance is per month, whichever of her funding
		// records applied to a visit, so the largest bounds the month's
		// subsidy.
		for res, got := range subsidyOf {
			var most int64
			for _, f := range in.Funding[res] {
				most = max(most, f.AllowanceFen)
			}
			if got > most {
				t.Fatalf("seed %d: resident %s got %d fen of subsidy, more than any allowance (%d)", seed, res, got, most)
			}
		}
		if m := Reconcile(in.Visits, nil, stmts, nil); m != 0 {
			t.Fatalf("seed %d: %d mismatches", seed, m)
		}
	}
	if lines == 0 || held == 0 || capped == 0 || subsidised == 0 || carded == 0 {
		t.Fatalf("the random months missed a branch: %d lines, %d held, %d capped, %d subsidised, %d card-verified",
			lines, held, capped, subsidised, carded)
	}
	t.Logf("%d lines, %d held, %d capped, %d subsidised", lines, held, capped, subsidised)
}

func visitByID(vs []*SettleVisit, id string) *SettleVisit {
	for _, v := range vs {
		if v.VisitID == id {
			return v
		}
	}
	return nil
}

func TestFundingSplitNeverOverdraws(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for i := 0; i < 10000; i++ {
		f := &Funding{ShareBP: int64(r.Intn(FullShareBP + 1))}
		charge, remaining := int64(r.Intn(100000)), int64(r.Intn(100000))-20000
		sub, cop := f.Split(charge, remaining)
		if sub+cop != charge || sub < 0 || cop < 0 || sub > max(remaining, 0) || sub*FullShareBP > charge*f.ShareBP {
			t.Fatalf("Split(%d, %d) at %d bp = %d + %d", charge, remaining, f.ShareBP, sub, cop)
		}
	}
}

func TestAdjustmentAndReconcile(t *testing.T) {
	month := Month{2026, time.April}
	mar := time.Date(2026, 3, 30, 10, 0, 0, 0, cst)
	apr := time.Date(2026, 4, 2, 10, 0, 0, 0, cst)
	in := SettleInput{Month: month, Zone: cst,
		Orgs: []*Organisation{{ID: "org_a"}},
		Contracts: []*Contract{{ID: "con_a", OrgID: "org_a", Services: []string{"meal"}, Unit: UnitVisit, PriceFen: 4000,
			DayCapFen: 6000, ValidFrom: mar.AddDate(0, -1, 0)}},
		Funding: map[string][]*Funding{"res_a": {{ID: "f", ShareBP: 9000, AllowanceFen: 5000, ValidFrom: mar.AddDate(-1, 0, 0)}}},
		Visits: []*SettleVisit{{VisitID: "vis_now", ResidentID: "res_a", OrgID: "org_a", ServiceCode: "meal", FinishTime: apr,
			Arrive: apr.Add(-time.Hour), Complete: apr, ArriveVerified: true}},
		Late: []*SettleVisit{{VisitID: "vis_late", ResidentID: "res_a", OrgID: "org_a", ServiceCode: "meal", FinishTime: mar,
			Arrive: mar.Add(-time.Hour), Complete: mar, Exceptions: []string{ExceptionOutsideGeofence}, Review: EVVApproved}},
		// March's statement paid 40 元 that day, 36 元 of it subsidy.
		Prior: []*StatementLine{{VisitID: "vis_paid", ResidentID: "res_a", ContractID: "con_a", ServiceTime: mar.Add(-time.Hour),
			ChargeFen: 4000, SubsidyFen: 3600, CopayFen: 400}},
	}
	s := BuildStatements(in)["org_a"]
	if len(s.Lines) != 2 || s.Lines[0].VisitID != "vis_late" || s.Lines[0].AdjustsMonth != "2026-03" || s.Lines[1].AdjustsMonth != "" {
		t.Fatalf("lines = %+v, want the March adjustment then April's visit", s.Lines)
	}
	// The adjustment is capped and subsidised in March: the day cap
	// leaves 20 元, 90% of it is 18 元, within March's 14 元 left of
	// allowance; April's visit has April's whole allowance.
	if l := s.Lines[0]; l.ChargeFen != 2000 || !l.Capped || l.SubsidyFen != 1400 || l.CopayFen != 600 {
		t.Fatalf("adjustment = %+v, want 2000 capped, 1400 subsidy, 600 co-pay", l)
	}
	if l := s.Lines[1]; l.ChargeFen != 4000 || l.SubsidyFen != 3600 {
		t.Fatalf("April's line = %+v, want 4000 with 3600 subsidy", l)
	}
	if m := Reconcile(in.Visits, in.Late, []*Statement{s}, nil); m != 0 {
		t.Fatalf("mismatches = %d, want 0", m)
	}
	if m := Reconcile(in.Visits, nil, []*Statement{s}, nil); m != 1 {
		t.Fatalf("an adjustment with no visit behind it: mismatches = %d, want 1", m)
	}
	// March, settled again after April paid the late visit: the visit is
	// on no March statement, and that is no mismatch only because April
	// carries it.
	marchVisits := in.Late
	if m := Reconcile(marchVisits, nil, []*Statement{{OrgID: "org_a", Month: "2026-03"}}, nil); m != 1 {
		t.Fatalf("a March visit on no statement: mismatches = %d, want 1", m)
	}
	if m := Reconcile(marchVisits, nil, []*Statement{{OrgID: "org_a", Month: "2026-03"}}, map[string]bool{"vis_late": true}); m != 0 {
		t.Fatalf("a March visit adjusted in April: mismatches = %d, want 0", m)
	}
	d := s.ComputeDigest()
	s.Lines[1].CopayFen++
	if s.ComputeDigest() == d {
		t.Fatal("changing a line did not change the digest")
	}
}
