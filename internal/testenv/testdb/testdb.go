// Package testdb opens the SQL store for tests outside sqlstore (which
// cannot import it: its own tests are inside the package).
package testdb

import (
	"context"
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/sqlstore"
)

// Open opens the store at dsn (a SQLite path or a PostgreSQL URL) on clock,
// loads testenv.Catalog into it and closes it when the test ends.
func Open(t testing.TB, dsn string, clock carehex.Clock) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), dsn, clock)
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.SyncCatalog(context.Background(), testenv.Catalog()); err != nil {
		t.Fatalf("SyncCatalog: %v", err)
	}
	return db
}

// SQLite opens a new SQLite store in the test's temporary directory.
func SQLite(t testing.TB, clock carehex.Clock) *sqlstore.DB {
	t.Helper()
	return Open(t, testenv.SQLitePath(t), clock)
}

// Postgres opens a new empty database on the test PostgreSQL server (see
// testenv.PostgresURL: skipped, or failed under CI=true, without one).
func Postgres(t testing.TB, clock carehex.Clock) *sqlstore.DB {
	t.Helper()
	return Open(t, testenv.PostgresURL(t), clock)
}
