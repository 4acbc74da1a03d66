package main

import (
	"context"
	"errors"
	"io"
)

// simulate is being built (issue 6); this placeholder keeps the command
// table compiling until it lands.
func simulate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return errors.New("simulate: not built yet")
}
