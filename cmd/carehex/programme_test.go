package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
)

// TestProgrammeCompliance: `carehex programme compliance` counts the
// month: a resident of the category with no visit and none planned is
// overdue, per street; a category without a programme and a bad month are
// refused naming the problem. SQLite and PostgreSQL.
func TestProgrammeCompliance(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, ce cliEnv) {
		ctx, cli, getenv, data := context.Background(), ce.cli, ce.getenv, ce.data
		cfg := defaultConfig(getenv)
		cfg.DataDir = data
		store, err := openStore(ctx, &cfg, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		op := testenv.OpCtx()
		if err := store.PutSubsidyCategory(op, &carehex.SubsidyCategory{Code: "tekun", NameZh: "特困", ShareBP: carehex.FullShareBP}); err != nil {
			t.Fatal(err)
		}
		if _, err := cli("programme", "compliance", "--category", "tekun"); err == nil || !strings.Contains(err.Error(), "no visiting programme") {
			t.Fatalf("a category without a programme: %v", err)
		}
		if _, err := cli("programme", "compliance", "--month", "March"); err == nil || !strings.Contains(err.Error(), "--month") {
			t.Fatalf("a bad month: %v", err)
		}
		if err := store.PutVisitProgramme(op, &carehex.VisitProgramme{Category: "tekun", ServiceCode: "DL-WELFARE-VISIT", PerMonth: 1,
			WindowStart: 9 * 60, WindowEnd: 11 * 60, Duration: 30 * time.Minute}); err != nil {
			t.Fatal(err)
		}
		r := &carehex.Resident{Name: "张桂兰", Phone: "13905330001", Address: "张店区华光路56号", Street: "和平街道", Location: testenv.Zibo}
		if err := store.CreateResident(op, r); err != nil {
			t.Fatal(err)
		}
		if err := store.CreateFunding(op, &carehex.Funding{ResidentID: r.ID, Kind: carehex.FundingSubsidy, Category: "tekun",
			ShareBP: carehex.FullShareBP, ValidFrom: time.Now().AddDate(-1, 0, 0)}); err != nil {
			t.Fatal(err)
		}
		out, err := cli("programme", "compliance")
		if err != nil {
			t.Fatalf("compliance: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.Contains(out, "和平街道") || !strings.Contains(out, r.ID) ||
			!strings.Contains(lines[len(lines)-1], `"residents":1,"met":0,"overdue":1`) {
			t.Fatalf("compliance output:\n%s", out)
		}
	})
}
