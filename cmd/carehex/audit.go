package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/sqlstore"
)

// anchorEvery is how often the trail is anchored: daily, as the issue asks.
const anchorEvery = 24 * time.Hour

// anchorFile is the JSON an anchor export holds and `audit verify --anchors`
// reads back.
type anchorFile struct {
	ExportTime time.Time             `json:"export_time"`
	Anchors    []carehex.TrailAnchor `json:"anchors"`
}

// auditCmd runs `carehex audit verify|anchor`.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "anchor") {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	verb, args := args[0], args[1:]
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("audit "+verb, flag.ContinueOnError)
	cfg.storeFlags(fs)
	var from, anchorsIn, export *string
	if verb == "verify" {
		from = fs.String("from", "", "check only records written on or after this date (YYYY-MM-DD, UTC, or RFC 3339)")
		anchorsIn = fs.String("anchors", "", "an exported anchor file to check the chains against (catches a cut-off tail)")
	} else {
		export = fs.String("export", "", "write every stored anchor, with one taken now, to this JSON file (- for standard output)")
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	var since time.Time
	var extra []carehex.TrailAnchor
	if verb == "verify" {
		var err error
		if since, err = parseDate(*from); err != nil {
			return fmt.Errorf("--from: %v", err)
		}
		if *anchorsIn != "" {
			if extra, err = readAnchors(*anchorsIn); err != nil {
				return fmt.Errorf("--anchors: %v", err)
			}
		}
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	if verb == "anchor" {
		return anchorExport(ctx, store, *export, stdout)
	}
	return auditVerify(ctx, store, since, extra, stdout)
}

func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date like 2026-12-01 or 2026-12-01T08:00:00+08:00", s)
	}
	return t, nil
}

func readAnchors(path string) ([]carehex.TrailAnchor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f anchorFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s is not an anchor export: %v", path, err)
	}
	for i, a := range f.Anchors {
		if a.Chain != carehex.ChainAudit && a.Chain != carehex.ChainEvents {
			return nil, fmt.Errorf("%s: anchors[%d].chain %q is neither audit nor events", path, i, a.Chain)
		}
		if a.Seq < 0 || len(a.Hash) != len(carehex.GenesisHash) {
			return nil, fmt.Errorf("%s: anchors[%d] needs seq ≥ 0 and a 64-digit hash", path, i)
		}
	}
	return f.Anchors, nil
}

// auditVerify prints one line per chain and, last, one JSON object; it
// returns an error naming the first bad record when a chain is broken, so
// the command exits non-zero.
func auditVerify(ctx context.Context, store *sqlstore.DB, since time.Time, extra []carehex.TrailAnchor, stdout io.Writer) error {
	rep, err := store.VerifyTrail(ctx, since, extra)
	if err != nil {
		return err
	}
	type chainJSON struct {
		sqlstore.ChainReport
		Intact bool   `json:"intact"`
		Fault  string `json:"fault,omitempty"`
	}
	out := struct {
		Intact bool        `json:"intact"`
		Chains []chainJSON `json:"chains"`
	}{Intact: rep.Fault() == nil}
	for _, c := range rep.Chains {
		state := "intact"
		cj := chainJSON{ChainReport: c, Intact: c.Fault == nil}
		if c.Fault != nil {
			state, cj.Fault = "BROKEN: "+c.Fault.Error(), c.Fault.Error()
		}
		fmt.Fprintf(stdout, "%s: %d records checked from seq %d, head seq %d, %d anchors, %d unchained: %s\n",
			c.Table, c.Records, c.From, c.Head.Seq, c.Anchors, c.Unsealed, state)
		out.Chains = append(out.Chains, cj)
	}
	b, _ := json.Marshal(out)
	fmt.Fprintln(stdout, string(b))
	if f := rep.Fault(); f != nil {
		return fmt.Errorf("audit trail broken: first bad record: %v", f)
	}
	return nil
}

// anchorExport takes an anchor now and writes every stored anchor to path.
func anchorExport(ctx context.Context, store *sqlstore.DB, path string, stdout io.Writer) error {
	now, err := store.WriteTrailAnchor(ctx)
	if err != nil {
		return err
	}
	for _, a := range now {
		fmt.Fprintf(stdout, "anchored %s at seq %d hash %s\n", a.Chain.Table(), a.Seq, a.Hash)
	}
	if path == "" {
		return nil
	}
	all, err := store.TrailAnchors(ctx, time.Time{})
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(anchorFile{ExportTime: time.Now().UTC(), Anchors: all}, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// runAnchors anchors the trail once a day (by clock): at start when the last
// anchor is older than a day, then checking every check interval. Several
// replicas may each anchor; two anchors of the same head are harmless.
func runAnchors(ctx context.Context, store *sqlstore.DB, clock carehex.Clock, check time.Duration, log *slog.Logger) error {
	t := time.NewTicker(check)
	defer t.Stop()
	for {
		if as, err := anchorIfDue(ctx, store, clock); err != nil && ctx.Err() == nil {
			log.Warn("trail.anchor", "err", err)
		} else if len(as) > 0 {
			log.Info("trail.anchor", "anchors", len(as))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// anchorIfDue writes an anchor when the last one is a day old (or there is
// none) and returns what it wrote.
func anchorIfDue(ctx context.Context, store *sqlstore.DB, clock carehex.Clock) ([]carehex.TrailAnchor, error) {
	last, err := store.LastTrailAnchor(ctx)
	if err != nil || clock().Sub(last) < anchorEvery {
		return nil, err
	}
	return store.WriteTrailAnchor(ctx)
}
