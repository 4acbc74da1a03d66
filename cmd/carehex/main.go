// Command carehex runs the carehex dispatch system: `carehex serve` starts
// everything in one process; `carehex user add` creates console accounts;
// `carehex demo seed` loads a synthetic city. All wiring lives in this
// package; main sets the collector's defaults (gcDefaults) and calls run.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	gcDefaults(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "carehex:", err)
		os.Exit(1)
	}
}

// gcDefaults sets the Go collector for a server whose live heap is small
// and whose allocation rate is high: unless the runtime's own GOGC and
// GOMEMLIMIT are set, the heap may grow to five times what is live (GOGC
// 400, a quarter of the collections of the default 100) but the collector
// works harder as the process nears 1 GiB. At 100 requests/s with 2,000
// phones the default collector's cycles put the offer seen by the phone at
// p99 227 ms, GOGC 400 at 132 ms, on the same quiet machine
// (docs/LOAD.md); with 20,000 phones the limit keeps the process under the
// 1.5 GiB it is allowed. Set GOGC and GOMEMLIMIT to choose otherwise (a
// province's server with more than 1 GiB live needs a higher limit).
func gcDefaults(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}
