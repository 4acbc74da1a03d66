// Package sqlstore is carehex's system of record: residents and their family
// links, the service catalogue, providers, service requests with their
// append-only event history and idempotency keys, visits and the
// per-provider fences that decide dispatch claims for good, console accounts
// and token hashes, and the audit trail. It runs on SQLite (the single-binary
// default) and on PostgreSQL (at scale) with one schema and one set of
// queries; a request is acknowledged only after its transaction has committed
// here.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/carehex/carehex"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names, as returned by (*DB).Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the system of record. It implements every store interface of the
// root package; it is safe for concurrent use.
type DB struct {
	db *sql.DB
	// w runs every write transaction. On SQLite it is one connection of
	// its own: SQLite commits one writer at a time anyway, and writers
	// queued for that connection wait in Go instead of sleeping in the busy
	// handler while holding a connection readers need. On PostgreSQL it is
	// db.
	w       *sql.DB
	dialect string
	now     carehex.Clock
	unlock  func()                    // releases the SQLite file's shared lock (lock_unix.go)
	pub     atomic.Pointer[publisher] // nil: nobody to tell (see SetPublisher)
	// trail remembers which open transactions wrote trail records, so inTx
	// wakes the sealer when they commit; the sealer chains them (trail.go).
	trail  pendingTrail
	sealer *sealer
	// checkpoint copies SQLite's log into the database file off the
	// writer's path (checkpoint.go); nil on PostgreSQL.
	checkpoint *checkpointer
	// keys encrypt ID numbers at rest (datakey.go); keyCreated says a new
	// key file was written when this store opened.
	keys       *DataKeys
	keyCreated bool
	quality    qualityRules // callbacks and complaints (quality.go)
}

// Option changes how Open opens the store.
type Option func(*DB)

// WithDataKeys gives the keys that encrypt ID numbers at rest
// (ParseDataKeys of CAREHEX_DATA_KEY). Without it, Open uses the key file
// beside a SQLite database, creating it, or on PostgreSQL a key kept in
// the database.
func WithDataKeys(k *DataKeys) Option { return func(s *DB) { s.keys = k } }

var (
	_ carehex.ResidentStore = (*DB)(nil)
	_ carehex.RequestStore  = (*DB)(nil)
	_ carehex.ProviderStore = (*DB)(nil)
	_ carehex.AuthStore     = (*DB)(nil)
	_ carehex.AuditStore    = (*DB)(nil)
	_ carehex.Catalog       = (*DB)(nil)
)

// Open connects to the database named by dsn and brings its schema up to
// date. A dsn starting with postgres:// or postgresql:// is a PostgreSQL URL;
// anything else is the path of a SQLite file, created with its directory when
// missing. clock stamps every record the store writes.
func Open(ctx context.Context, dsn string, clock carehex.Clock, opts ...Option) (*DB, error) {
	if clock == nil {
		clock = time.Now
	}
	if strings.TrimSpace(dsn) == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "dsn", "database: give a PostgreSQL URL or a SQLite file path")
	}
	s := &DB{now: clock}
	for _, o := range opts {
		o(s)
	}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s.dialect = DialectPostgres
		s.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, carehex.Internal(err, "open postgres")
		}
		// pgx keeps each connection's statements prepared
		// (QueryExecModeCacheStatement, its default), so a query is parsed
		// and planned once per connection. The pool is sized for the
		// machine: more connections than the database's CPUs can run only
		// queue inside PostgreSQL, at the cost of a backend process each.
		n := postgresPoolSize()
		s.db.SetMaxOpenConns(n)
		s.db.SetMaxIdleConns(n)
		s.db.SetConnMaxIdleTime(5 * time.Minute)
		s.w = s.db
	} else {
		s.dialect = DialectSQLite
		s.db, s.w, err = openSQLite(dsn)
		if err != nil {
			return nil, err
		}
		if s.unlock, err = lockShared(dsn); err != nil {
			s.w.Close()
			s.db.Close()
			return nil, err
		}
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.Close()
		return nil, s.wrap(err, "connect to "+s.dialect)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if s.dialect == DialectSQLite {
		// The -wal and -shm files exist now; check they came out private.
		if err := privateFiles(dsn); err != nil {
			s.Close()
			return nil, err
		}
	}
	if s.keys == nil {
		if s.keys, err = s.loadDataKeys(ctx, dsn); err != nil {
			s.Close()
			return nil, err
		}
	}
	if _, err := s.encryptIDNumbers(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.backfillSearchKeys(ctx); err != nil {
		s.Close()
		return nil, err
	}
	// Rows written before the trail existed (or by an older replica during
	// an upgrade, or left unchained by a crash) are chained now, in time
	// order; then the sealer chains every commit's rows as they come.
	if err := s.SealTrail(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.startSealer()
	s.startCheckpointer()
	return s, nil
}

// Pools returns the connection pools: the one reads use and the one write
// transactions use (the same pool on PostgreSQL, SQLite's one writer
// connection on SQLite), for their statistics: a request that waited for a
// connection shows in WaitCount and WaitDuration.
func (s *DB) Pools() (read, write *sql.DB) { return s.db, s.w }

// postgresPoolSize is four connections per CPU of this process, at least 8
// and at most 32: enough to keep the database busy while some wait on the
// network or a lock.
func postgresPoolSize() int {
	return min(max(4*runtime.GOMAXPROCS(0), 8), 32)
}

// sqliteReaders is the size of SQLite's read pool: in WAL mode readers do not
// wait on each other or on the writer, so the CPUs bound them.
func sqliteReaders() int {
	return max(2*runtime.GOMAXPROCS(0), 8)
}

// openSQLite opens the read pool and the one writer connection.
func openSQLite(path string) (readers, writer *sql.DB, err error) {
	if strings.ContainsRune(path, '?') {
		// The driver reads everything after '?' as its own parameters.
		return nil, nil, carehex.Errorf(carehex.EINVALID, "dsn", "SQLite file path %q must not contain '?'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		// The file holds residents' names, addresses and ID numbers: only the
		// account running carehex may list or read it.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, carehex.Internal(err, "create database directory")
		}
	}
	// SQLite creates a new file 0644 (less the umask) and gives its -wal and
	// -shm files the database file's mode, so creating the file 0600 first
	// keeps all three private; an existing file is narrowed the same way.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, carehex.Internal(err, "create database file")
	}
	f.Close()
	if err := privateFiles(path); err != nil {
		return nil, nil, err
	}
	// WAL lets readers go on while one writer commits; busy_timeout makes
	// writers queue instead of failing; immediate transactions take the write
	// lock at BEGIN, so a read-then-write transaction cannot deadlock with
	// another one upgrading its lock at the same time. The busy handler now
	// waits only for another process (a backup, the CLI); this one's
	// writers queue for the writer connection.
	q := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	open := func(conns int, extra string) (*sql.DB, error) {
		c, err := sqlite.NewConnector(path + "?" + q + extra)
		if err != nil {
			return nil, carehex.Internal(err, "open sqlite")
		}
		db := sql.OpenDB(stmtConnector{c})
		db.SetMaxOpenConns(conns)
		db.SetMaxIdleConns(conns)
		return db, nil
	}
	// The writer does not checkpoint the log itself: the store's
	// checkpointer does, on a read connection (checkpoint.go).
	if writer, err = open(1, "&_pragma=wal_autocheckpoint(0)"); err != nil {
		return nil, nil, err
	}
	if readers, err = open(sqliteReaders(), ""); err != nil {
		writer.Close()
		return nil, nil, err
	}
	return readers, writer, nil
}

// privateFiles narrows the SQLite file and its -wal and -shm companions to
// 0600, for databases created by an older version or restored by hand.
func privateFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return carehex.Internal(err, "stat database file")
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return carehex.Internal(err, "make database file private")
			}
		}
	}
	return nil
}

func (s *DB) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return carehex.Internal(err, "migrations")
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(slog.New(slog.DiscardHandler)),
		goose.WithGoMigrations(statementGuard(s.dialect), evidenceGuard(s.dialect)),
	}
	dialect := goose.DialectSQLite3
	if s.dialect == DialectPostgres {
		dialect = goose.DialectPostgres
		// Several replicas may start at once; one migrates, the others wait.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return carehex.Internal(err, "migration lock")
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.w, sub, opts...)
	if err != nil {
		return carehex.Internal(err, "migrations")
	}
	if _, err := p.Up(ctx); err != nil {
		return carehex.Internal(err, "migrate "+s.dialect)
	}
	return nil
}

// Close closes the database.
func (s *DB) Close() error {
	s.stopSealer()
	s.checkpoint.stop()
	var err error
	if s.dialect == DialectSQLite {
		// Keeps the query planner's statistics fresh at no cost to callers.
		_, _ = s.w.Exec("PRAGMA optimize")
		err = s.w.Close()
	}
	if e := s.db.Close(); err == nil {
		err = e
	}
	if s.unlock != nil {
		s.unlock()
	}
	if err != nil {
		return carehex.Internal(err, "close database")
	}
	return nil
}

// Ping checks that the database answers; /healthz uses it.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return s.wrap(err, "ping")
	}
	return nil
}

// Dialect says which database is underneath: "sqlite" or "postgres".
func (s *DB) Dialect() string { return s.dialect }

// rebind turns the ? placeholders every query is written with into
// PostgreSQL's $1, $2…; no query of this package has a ? inside a literal.
func (s *DB) rebind(q string) string {
	if s.dialect != DialectPostgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// querier is what both *sql.DB and *sql.Tx offer, so helpers run inside or
// outside a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in one transaction and commits it, so that everything fn
// writes (a change, its event, its audit record) lands together or not at all.
func (s *DB) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err, what+": begin")
	}
	if err := fn(tx); err != nil {
		s.trail.take(tx)
		_ = tx.Rollback()
		return s.wrap(err, what)
	}
	wrote := len(s.trail.take(tx)) > 0
	if err := tx.Commit(); err != nil {
		return s.wrap(err, what+": commit")
	}
	s.checkpoint.committed()
	if wrote {
		s.sealer.wake()
	}
	return nil
}

// wrap turns a driver error into the one error type callers see. Errors that
// already are *carehex.Error pass unchanged.
func (s *DB) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var ce *carehex.Error
	if errors.As(err, &ce) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "22") {
		// Class 22 is "data exception": e.g. a NUL byte, which PostgreSQL
		// text cannot hold but the validators let through. It is the
		// caller's input, not our bug.
		return &carehex.Error{Code: carehex.EINVALID, Message: "input contains characters that cannot be stored",
			Err: fmt.Errorf("%s: %w", what, err)}
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
		return &carehex.Error{Code: carehex.EUNAVAILABLE, Message: "database is busy, retry",
			Err: fmt.Errorf("%s: %w", what, err)}
	}
	var ce2 *pgconn.ConnectError
	if errors.As(err, &ce2) {
		return &carehex.Error{Code: carehex.EUNAVAILABLE, Message: "database unavailable, retry",
			Err: fmt.Errorf("%s: %w", what, err)}
	}
	return carehex.Internal(err, what)
}

// micros is how every time is stored: UTC unix microseconds, the zero time
// as 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// precise is t as it will read back: UTC, whole microseconds.
func precise(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// stamp is now at the precision the database keeps, so a record handed back
// to the caller equals the one read later.
func (s *DB) stamp() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// actorOf names who is asking, for records written on their behalf.
func actorOf(ctx context.Context) string {
	if p, ok := carehex.PrincipalFrom(ctx); ok && p.Subject != "" {
		return p.Actor()
	}
	return "system"
}

// audit appends one audit record inside the caller's transaction, so a change
// is never committed without the record of who made it; inTx chains it at
// commit.
func (s *DB) audit(ctx context.Context, tx *sql.Tx, rec *carehex.AuditRecord) error {
	if rec.ID == "" {
		rec.ID = carehex.NewID("aud")
	}
	if rec.Time.IsZero() {
		rec.Time = s.stamp()
	}
	rec.Time = precise(rec.Time)
	if rec.Actor == "" {
		rec.Actor = actorOf(ctx)
	}
	_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO audit_records
		(id, time, actor, action, object_type, object_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		rec.ID, micros(rec.Time), rec.Actor, rec.Action, rec.ObjectType, rec.ObjectID, rec.Detail)
	if err != nil {
		return s.wrap(err, "insert audit record")
	}
	s.trail.mark(tx, carehex.ChainAudit)
	return nil
}

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// clampLimit applies a default and a cap to a page size.
func clampLimit(n, def, max int) int {
	switch {
	case n <= 0:
		return def
	case n > max:
		return max
	}
	return n
}

// queryAll runs a query and scans every row with scan; what names the query
// in errors.
func queryAll[T any](ctx context.Context, s *DB, what string, scan func(interface{ Scan(...any) error }) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, what)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.wrap(err, what)
		}
		out = append(out, v)
	}
	return out, s.wrap(rows.Err(), what)
}
