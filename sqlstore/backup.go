package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// The default SQLite file is a district's only copy of its records, so it
// is copied while the server runs (Backup, BackupFile), and a copy is
// checked before anyone serves from it (Check). On PostgreSQL, pg_dump and
// WAL archiving do this job (README, "Backups").

// countedTables are the tables whose row counts a check reports: the
// records a district would miss.
var countedTables = []string{
	"residents", "family_members", "providers", "service_requests", "request_events",
	"visits", "visit_events", "offers", "alerts", "users", "audit_records",
}

// CheckReport is what Check found in a database.
type CheckReport struct {
	Integrity string           `json:"integrity"`         // "ok", or SQLite's first complaint
	Version   int64            `json:"migration_version"` // the newest schema migration applied
	Rows      map[string]int64 `json:"rows"`              // row count per table
}

// Check runs SQLite's integrity check (on PostgreSQL the server keeps its
// own integrity; only the rest is reported) and reads the schema version and
// row counts.
func (s *DB) Check(ctx context.Context) (*CheckReport, error) {
	rep := &CheckReport{Integrity: "ok", Rows: map[string]int64{}}
	if s.dialect == DialectSQLite {
		var err error
		if rep.Integrity, err = integrity(ctx, s.db); err != nil {
			return nil, s.wrap(err, "integrity check")
		}
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).
		Scan(&rep.Version); err != nil {
		return nil, s.wrap(err, "read migration version")
	}
	for _, t := range countedTables {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return nil, s.wrap(err, "count "+t)
		}
		rep.Rows[t] = n
	}
	return rep, nil
}

// integrity returns "ok" or the first problem PRAGMA integrity_check finds.
func integrity(ctx context.Context, db *sql.DB) (string, error) {
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&res); err != nil {
		return "", err
	}
	return res, nil
}

// Backup writes a consistent copy of the SQLite database to out while it
// stays in use: VACUUM INTO reads one snapshot in a read transaction, so
// writers go on and the copy holds every transaction committed before it
// began and none after. out must not exist; the copy is written beside it
// and renamed into place, so a crash never leaves half a backup under that
// name. The copy is 0600, like the database.
func (s *DB) Backup(ctx context.Context, out string) error {
	if s.dialect != DialectSQLite {
		return carehex.Errorf(carehex.EINVALID, "database", "backup copies the embedded SQLite file; back up PostgreSQL with pg_dump or WAL archiving")
	}
	return vacuumInto(ctx, s.db, out)
}

// BackupFile is Backup for a SQLite file that another process (the running
// server) has open: it opens the file without migrating it, so a newer
// binary never changes the schema under an older server.
func BackupFile(ctx context.Context, dbPath, out string) error {
	if _, err := os.Stat(dbPath); err != nil {
		return carehex.Errorf(carehex.ENOTFOUND, "data", "no database at %s", dbPath)
	}
	db, err := sql.Open("sqlite", dbPath+"?_pragma=busy_timeout(10000)&mode=ro")
	if err != nil {
		return carehex.Internal(err, "open sqlite")
	}
	defer db.Close()
	return vacuumInto(ctx, db, out)
}

func vacuumInto(ctx context.Context, db *sql.DB, out string) error {
	if strings.ContainsRune(out, 0) {
		return carehex.Errorf(carehex.EINVALID, "out", "backup file name contains a NUL")
	}
	if _, err := os.Stat(out); err == nil {
		return carehex.Errorf(carehex.EEXISTS, "out", "%s already exists; name a new file", out)
	}
	dir := filepath.Dir(out)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return carehex.Internal(err, "create backup directory")
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(out)+".partial-*")
	if err != nil {
		return carehex.Internal(err, "create backup file")
	}
	// VACUUM INTO writes into an empty file it finds, keeping this 0600 mode.
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName) // gone after the rename; cleans up a failure
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmpName); err != nil {
		return carehex.Internal(err, "vacuum into backup file")
	}
	if err := syncFile(tmpName); err != nil {
		return err
	}
	if err := os.Rename(tmpName, out); err != nil {
		return carehex.Internal(err, "name backup file")
	}
	return syncFile(dir) // the rename itself survives a power cut
}

func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return carehex.Internal(err, "open for sync")
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return carehex.Internal(err, "sync")
	}
	return nil
}

// ErrDatabaseInUse means another process has the SQLite file open through
// Open (a server, a user add, a seed); restore refuses to replace it.
var ErrDatabaseInUse = errors.New("database is in use by another carehex process")

// Restore puts the backup from into place as the SQLite database dbPath and
// checks it. It refuses while any carehex process has dbPath open, and
// refuses to replace an existing database unless force is set; then the
// existing files are kept beside it with the suffix ".before-restore-<time>". The
// restored copy is opened as the server would (which applies migrations a
// newer binary brings) and checked.
//
// The backup's ID numbers open with the keys the server uses: opts'
// WithDataKeys (CAREHEX_DATA_KEY), or the data key file beside dbPath,
// which a restore into a new directory needs copied there first.
func Restore(ctx context.Context, from, dbPath string, force bool, opts ...Option) (*CheckReport, error) {
	src, err := sql.Open("sqlite", from+"?mode=ro")
	if err != nil {
		return nil, carehex.Internal(err, "open backup")
	}
	res, err := integrity(ctx, src)
	src.Close()
	if _, statErr := os.Stat(from); statErr != nil {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "from", "no backup file at %s", from)
	}
	if err != nil || res != "ok" {
		return nil, carehex.Errorf(carehex.EINVALID, "from", "%s is not a sound SQLite database (%v %s)", from, err, res)
	}
	dir := filepath.Dir(dbPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, carehex.Internal(err, "create data directory")
	}
	unlock, err := lockExclusive(dbPath)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if fi, err := os.Stat(dbPath); err == nil && fi.Size() > 0 {
		if !force {
			return nil, carehex.Errorf(carehex.EEXISTS, "data", "%s already holds a database; restore into an empty directory, or pass --force to replace it (the current files are kept as %s.before-restore-<time>)", dir, filepath.Base(dbPath))
		}
		// Stamped, so a second forced restore never overwrites the first's.
		kept := dbPath + ".before-restore-" + time.Now().UTC().Format("20060102T150405.000Z")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			p := dbPath + suffix
			if err := os.Rename(p, kept+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, carehex.Internal(err, "keep the current database")
			}
		}
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		// A WAL left from another database would be replayed into this one.
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, carehex.Internal(err, "remove stale WAL")
		}
	}
	if err := copyFile(from, dbPath); err != nil {
		return nil, err
	}
	unlock() // Open takes its own shared lock
	db, err := Open(ctx, dbPath, nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("open the restored database: %w", err)
	}
	defer db.Close()
	return db.Check(ctx)
}

// copyFile copies from to a new 0600 file to, through a temporary name.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return carehex.Internal(err, "open backup")
	}
	defer in.Close()
	tmp := to + ".restoring"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return carehex.Internal(err, "create database file")
	}
	defer os.Remove(tmp) // gone after the rename; cleans up a failure
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return carehex.Internal(err, "write database")
	}
	if err := os.Rename(tmp, to); err != nil {
		return carehex.Internal(err, "name database")
	}
	return syncFile(filepath.Dir(to))
}
