// Command carehex runs the carehex dispatch system: `carehex serve` starts
// everything in one process; `carehex user add` creates console accounts;
// `carehex demo seed` loads a synthetic city. All wiring lives in this
// package; main only calls run.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "carehex:", err)
		os.Exit(1)
	}
}
