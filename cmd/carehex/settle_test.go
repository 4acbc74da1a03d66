package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestSettleFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"settle"}, "--month"},
		{[]string{"settle", "--month", "2026-13"}, "--month"},
		{[]string{"settle", "--month", "March"}, "--month"},
		{[]string{"settle", "--month", "2026-03", "extra"}, "extra"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append(tt.args, "--data", t.TempDir()), simEnv, strings.NewReader(""), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want one naming %s", tt.args, err, tt.want)
		}
	}
}

// TestSettleEmpty settles a month of an empty database: the default
// organisation's empty statement, closed, and exported.
func TestSettleEmpty(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"settle", "--month", "2026-03", "--data", dir, "--close", "--out", out},
		simEnv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("settle: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	var f struct {
		Month      string `json:"month"`
		Orgs       int    `json:"orgs"`
		Mismatches *int   `json:"mismatches"`
	}
	lastJSON(t, stdout.String(), &f)
	if f.Month != "2026-03" || f.Orgs != 1 || f.Mismatches == nil || *f.Mismatches != 0 {
		t.Fatalf("figures = %+v\n%s", f, stdout.String())
	}
}

// TestSimulateThenSettle plays the small preset into a kept database and
// settles its month: every completed visit is on one line or held back
// (mismatches 0), organisations are paid, subsidised residents' visits
// carry subsidy, and closing then settling again changes nothing.
func TestSimulateThenSettle(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a simulated morning: a minute or more")
	}
	dir, day := simulatedDay(t)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	type figures struct {
		Month           string `json:"month"`
		Orgs            int    `json:"orgs"`
		VisitsCompleted int    `json:"visits_completed"`
		Lines           int    `json:"lines"`
		HeldBack        int    `json:"held_back"`
		TotalFen        int64  `json:"total_fen"`
		SubsidyFen      int64  `json:"subsidy_fen"`
		CopayFen        int64  `json:"copay_fen"`
		Mismatches      *int   `json:"mismatches"`
	}
	var sim struct {
		Completed        int      `json:"completed"`
		PlannedCompleted int      `json:"planned_completed"` // planned visits are visits too
		Settlement       *figures `json:"settlement"`        // the month settled at the end of simulate
	}
	lastJSON(t, day, &sim)
	settleOnce := func(args ...string) figures {
		t.Helper()
		stdout.Reset()
		stderr.Reset()
		err := run(context.Background(), append([]string{"settle", "--month", "2026-03", "--data", dir}, args...),
			simEnv, strings.NewReader(""), &stdout, &stderr)
		if err != nil {
			t.Fatalf("settle %q: %v\n%s%s", args, err, stdout.String(), stderr.String())
		}
		var f figures
		lastJSON(t, stdout.String(), &f)
		return f
	}
	open := settleOnce()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	// simulate ends with the same month's statements (left open), so a
	// settle run afterwards, with nothing happened between, agrees with it.
	if sim.Settlement == nil || sim.Settlement.Mismatches == nil || *sim.Settlement.Mismatches != 0 {
		t.Fatalf("simulate's summary has no settlement with 0 mismatches: %+v", sim.Settlement)
	}
	if a, b := *sim.Settlement, open; a.Month != b.Month || a.Orgs != b.Orgs || a.VisitsCompleted != b.VisitsCompleted ||
		a.Lines != b.Lines || a.HeldBack != b.HeldBack || a.TotalFen != b.TotalFen || a.SubsidyFen != b.SubsidyFen || a.CopayFen != b.CopayFen {
		t.Fatalf("simulate's settlement %+v, carehex settle afterwards %+v: want the same figures", a, b)
	}
	t.Logf("simulate completed %d calls' and %d planned visits; settle: %s", sim.Completed, sim.PlannedCompleted, lines[len(lines)-1])
	switch {
	case open.Mismatches == nil || *open.Mismatches != 0:
		t.Fatalf("mismatches = %v, want 0\n%s", open.Mismatches, stdout.String())
	case open.VisitsCompleted != sim.Completed+sim.PlannedCompleted || open.VisitsCompleted == 0:
		t.Fatalf("visits_completed = %d, the simulation completed %d calls' and %d planned", open.VisitsCompleted, sim.Completed, sim.PlannedCompleted)
	case open.Lines+open.HeldBack != open.VisitsCompleted:
		t.Fatalf("%d lines + %d held back != %d completed visits", open.Lines, open.HeldBack, open.VisitsCompleted)
	case open.Lines == 0 || open.SubsidyFen == 0 || open.CopayFen == 0:
		t.Fatalf("nothing paid, subsidised or co-paid: %+v", open)
	case open.SubsidyFen+open.CopayFen != open.TotalFen:
		t.Fatalf("subsidy %d + co-pay %d != total %d", open.SubsidyFen, open.CopayFen, open.TotalFen)
	}
	closed := settleOnce("--close", "--out", out)
	again := settleOnce("--close")
	if *closed.Mismatches != 0 || closed.TotalFen != open.TotalFen || again.TotalFen != closed.TotalFen || again.Lines != closed.Lines {
		t.Fatalf("open %+v, closed %+v, again %+v", open, closed, again)
	}
	csvs, _ := filepath.Glob(filepath.Join(out, "2026-03-*.csv"))
	xlsxs, _ := filepath.Glob(filepath.Join(out, "2026-03-*.xlsx"))
	if len(csvs) != closed.Orgs || len(xlsxs) != closed.Orgs {
		t.Fatalf("%d CSV and %d XLSX files for %d organisations", len(csvs), len(xlsxs), closed.Orgs)
	}
}
