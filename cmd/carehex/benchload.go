package main

import (
	"context"
	"errors"
	"io"
)

// benchLoad is being built (issue 6); this placeholder keeps the command
// table compiling until it lands.
func benchLoad(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return errors.New("bench load: not built yet")
}
