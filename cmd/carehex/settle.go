package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/settle"
	"github.com/carehex/carehex/sqlstore"
)

// settleZone is the district's clock for settlement: a visit belongs to
// the day and month it finished in China Standard Time, as the district's
// accounts count them (no daylight saving, so a fixed offset is exact).
var settleZone = time.FixedZone("CST", 8*3600)

// settleMonth is `carehex settle --month YYYY-MM [--data DIR] [--close]
// [--out DIR]`: it builds every organisation's statement for the month,
// reconciles it against the visits, closes it with --close and exports
// it with --out. Its last line is one JSON object; mismatches must be 0.
func settleMonth(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("settle", flag.ContinueOnError)
	cfg.storeFlags(fs)
	monthFlag := fs.String("month", "", "the month to settle, YYYY-MM (required)")
	closeFlag := fs.Bool("close", false, "close the month's statements: they never change again, and their digests go to the audit trail")
	out := fs.String("out", "", "directory for one CSV (UTF-8 with BOM) and one XLSX per organisation")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	month, err := carehex.ParseMonth("--month", *monthFlag)
	if err != nil {
		return fmt.Errorf("--month must be a month as YYYY-MM, e.g. 2026-03 (got %q)", *monthFlag)
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := settleBuild(ctx, store, cfg.Evidence.Fraud, month, *closeFlag, stdout)
	if err != nil {
		return err
	}
	for _, st := range res.Statements {
		fmt.Fprintf(stdout, "%s %s %s: %d lines, %d held back, total ¥%s (subsidy ¥%s, co-pay ¥%s)\n",
			st.Month, st.OrgID, res.OrgNames[st.OrgID], len(st.Lines), len(st.Held), carehex.FormatFen(st.TotalFen),
			carehex.FormatFen(st.SubsidyFen), carehex.FormatFen(st.CopayFen))
	}
	if *out != "" {
		paths, err := settle.WriteFiles(*out, res, settleZone)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %d files to %s\n", len(paths), *out)
	}
	line, err := json.Marshal(res.Figures)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(line))
	if res.Mismatches != 0 {
		return fmt.Errorf("%d settlement mismatches: completed visits not on exactly one line or held back, or lines with no visit", res.Mismatches)
	}
	return nil
}

// settleBuild is what `carehex settle` does to a month, and what
// `carehex simulate` does to its day's month at the end: scan the month
// for fraud signals first (a visit flagged now is held back on this
// statement; the count goes to w), then build every organisation's
// statement, closing it with close.
func settleBuild(ctx context.Context, store *sqlstore.DB, fraud carehex.FraudSettings, month carehex.Month, close bool, w io.Writer) (*settle.Result, error) {
	from, to := month.Bounds(settleZone)
	if err := scanFraud(ctx, store, fraud, from, to, w); err != nil {
		return nil, err
	}
	return settle.Month(ctx, store, month, settleZone, close)
}
