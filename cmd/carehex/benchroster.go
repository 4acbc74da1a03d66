package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/carehex/carehex/roster/rosterbench"
)

// benchRoster builds a synthetic planned week for Zibo and rosters it, with
// the greedy baseline beside it. Its last line is one JSON object with the
// keys issue 11 fixes. It needs no server: the roster is pure computation.
func benchRoster(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench roster", flag.ContinueOnError)
	providers := fs.Int("providers", 2000, "carers in the synthetic city")
	visits := fs.Int("visits", 20000, "planned visits in the horizon")
	days := fs.Int("days", 7, "days in the horizon, from a Monday")
	seed := fs.Uint64("seed", 1, "seed of the synthetic city")
	limit := fs.Duration("time-limit", 40*time.Second, "bound on the roster's local search (construction comes first and is not bounded)")
	contM := fs.Float64("continuity-m", 0, "metres of travel worth one more visit with a resident's main carer (0: the engine's default)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch {
	case *providers < 1 || *providers > 100_000:
		return fmt.Errorf("--providers must be 1…100000")
	case *visits < 1 || *visits > 1_000_000:
		return fmt.Errorf("--visits must be 1…1000000")
	case *days < 1 || *days > 31:
		return fmt.Errorf("--days must be 1…31")
	case *limit <= 0:
		return fmt.Errorf("--time-limit must be positive")
	case *contM < 0:
		return fmt.Errorf("--continuity-m must not be negative")
	}
	r, viol, err := rosterbench.Run(ctx, rosterbench.Options{
		Seed: *seed, Providers: *providers, Visits: *visits, Days: *days, TimeLimit: *limit, ContinuityM: *contM,
	}, func(msg string) { fmt.Fprintln(stderr, msg) })
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "roster of %d planned visits (%d residents) over %d days for %d carers, %d CPUs\n",
		r.Visits, r.Residents, *days, r.Providers, runtime.NumCPU())
	fmt.Fprintf(stdout, "%-8s %9s %8s %12s %11s %11s %9s\n", "", "assigned", "share", "km/visit", "continuity", "violations", "seconds")
	share := func(n int) float64 { return float64(n) / float64(max(r.Visits, 1)) }
	fmt.Fprintf(stdout, "%-8s %9d %7.2f%% %12.3f %10.1f%% %11d %9.2f\n", "roster", r.Assigned, 100*r.AssignedShare, r.KMPerVisit, 100*r.Continuity, r.Violations, r.Seconds)
	fmt.Fprintf(stdout, "%-8s %9d %7.2f%% %12.3f %10.1f%% %11d %9.2f\n", "greedy", r.GreedyAssigned, 100*share(r.GreedyAssigned), r.GreedyKMPerVisit, 100*r.GreedyContinuity, r.GreedyViolations, r.GreedySeconds)
	if r.GreedyKMPerVisit > 0 {
		fmt.Fprintf(stdout, "travel per visit %.1f%% below greedy; lower bound %.3f km/visit (inbound legs only)\n",
			100*(1-r.KMPerVisit/r.GreedyKMPerVisit), r.LowerBoundKMPerVisit)
	}
	fmt.Fprintf(stdout, "unassigned by reason: %v\n", r.Unassigned)
	for i, v := range viol {
		if i == 10 {
			fmt.Fprintf(stderr, "… %d more\n", len(viol)-10)
			break
		}
		fmt.Fprintf(stderr, "violation: %v\n", v)
	}
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(line))
	if r.Violations > 0 {
		return fmt.Errorf("the roster breaks %d hard constraints (listed above)", r.Violations)
	}
	return nil
}
