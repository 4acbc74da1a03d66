package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/insight"
)

// exportCmd is `carehex export open-data|…`.
func exportCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "open-data":
			return exportOpenData(ctx, args[1:], getenv, stdout, stderr)
		case "resident":
			return exportResident(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	fmt.Fprint(stderr, usage)
	return errUsage
}

// exportOpenData is `carehex export open-data --from DATE --to DATE [--res R]
// [--k K] --out DIR [--data DIR]`: the desensitised per-cell, per-day
// figures (insight.OpenData) as CSV, GeoJSON and a data dictionary. Its
// last line is one JSON object with the export's figures.
func exportOpenData(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("export open-data", flag.ContinueOnError)
	cfg.storeFlags(fs)
	fromFlag := fs.String("from", "", "first day, YYYY-MM-DD in China Standard Time (required)")
	toFlag := fs.String("to", "", "last day, YYYY-MM-DD, included (required)")
	res := fs.Int("res", insight.DefaultRes, "H3 resolution of the published cells (1-9; 7 is about 5 km²)")
	k := fs.Int("k", insight.DefaultK, "fewest distinct residents a published cell may stand for")
	out := fs.String("out", "", "directory for open-data.csv, open-data.geojson and README.md (required)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	from, err := time.ParseInLocation(time.DateOnly, *fromFlag, settleZone)
	if err != nil {
		return fmt.Errorf("--from must be a day as YYYY-MM-DD, e.g. 2026-03-01 (got %q)", *fromFlag)
	}
	to, err := time.ParseInLocation(time.DateOnly, *toFlag, settleZone)
	if err != nil {
		return fmt.Errorf("--to must be a day as YYYY-MM-DD, e.g. 2026-03-31 (got %q)", *toFlag)
	}
	if to.Before(from) {
		return fmt.Errorf("--to %s is before --from %s", *toFlag, *fromFlag)
	}
	if *out == "" {
		return fmt.Errorf("--out is required: the directory to write the files to")
	}
	opts := insight.OpenDataOptions{From: from, To: to.AddDate(0, 0, 1), Zone: settleZone, Res: *res, K: *k}
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("--%s: %s", carehex.ErrorField(err), carehex.ErrorMessage(err))
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	result, err := insight.OpenData(ctx, store, opts)
	if err != nil {
		return err
	}
	paths, err := result.WriteFiles(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d files to %s: %d requests in %d cells, %d left out (fewer than %d residents)\n",
		len(paths), *out, result.Figures.Requests, result.Figures.Cells, result.Figures.Suppressed, *k)
	line, err := json.Marshal(result.Figures)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(line))
	return nil
}
