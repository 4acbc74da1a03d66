package main

import (
	"context"
	"strings"
	"testing"

	"github.com/carehex/carehex/internal/testenv"
)

// cliEnv is the carehex command line on a fresh data directory, against
// the embedded SQLite file or PostgreSQL, as a test of a command uses it.
type cliEnv struct {
	getenv func(string) string
	data   string // --data
}

// cli runs `carehex ARGS --data DIR` and returns what it printed, stdout
// and stderr together.
func (c cliEnv) cli(args ...string) (string, error) {
	var out, errOut strings.Builder
	err := run(context.Background(), append(args, "--data", c.data), c.getenv, strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), err
}

// onEachDatabase runs body once on the embedded SQLite file and once on
// PostgreSQL (testenv.PostgresURL), each with its own data directory.
func onEachDatabase(t *testing.T, body func(t *testing.T, c cliEnv)) {
	for _, be := range []struct {
		name string
		env  func(t *testing.T) map[string]string
	}{
		{"sqlite", func(t *testing.T) map[string]string { return map[string]string{} }},
		{"postgres", func(t *testing.T) map[string]string {
			return map[string]string{"CAREHEX_DATABASE_URL": testenv.PostgresURL(t)}
		}},
	} {
		t.Run(be.name, func(t *testing.T) {
			env := be.env(t)
			body(t, cliEnv{getenv: func(k string) string { return env[k] }, data: t.TempDir()})
		})
	}
}
