package sqlstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/carehex/carehex"
)

// TestBackupRestore copies a SQLite store that stays open, restores the copy
// elsewhere and checks what was restored; restore refuses a database in use
// and an existing one unless forced.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openEnv(t, filepath.Join(dir, "live", "carehex.db"))
	for _, phone := range []string{"13800000001", "13800000002", "13800000003"} {
		mustCreateResident(t, e, resident("王秀英", phone))
	}
	want, err := e.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want.Integrity != "ok" || want.Rows["residents"] != 3 || want.Rows["audit_records"] < 3 || want.Version < 4 {
		t.Fatalf("check of the live store = %+v", want)
	}

	out := filepath.Join(dir, "backups", "one.db")
	if err := e.Backup(ctx, out); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if err := e.Backup(ctx, out); carehex.ErrorCode(err) != carehex.EEXISTS {
		t.Errorf("Backup over an existing file = %v, want already_exists", err)
	}
	mustCreateResident(t, e, resident("李四", "13800000004")) // after the backup: not in it

	target := filepath.Join(dir, "restored", "carehex.db")
	got, err := Restore(ctx, out, target, false)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got.Integrity != "ok" || got.Version != want.Version {
		t.Errorf("restored check = %+v, want integrity ok, version %d", got, want.Version)
	}
	for table, n := range want.Rows {
		if got.Rows[table] != n {
			t.Errorf("restored %s: %d rows, want %d", table, got.Rows[table], n)
		}
	}

	t.Run("refuses a database in use", func(t *testing.T) {
		_, err := Restore(ctx, out, e.path(t), true)
		if !errors.Is(err, ErrDatabaseInUse) {
			t.Fatalf("Restore over the open store = %v, want ErrDatabaseInUse", err)
		}
	})
	t.Run("refuses an existing database unless forced", func(t *testing.T) {
		if _, err := Restore(ctx, out, target, false); carehex.ErrorCode(err) != carehex.EEXISTS {
			t.Fatalf("Restore over an existing database = %v, want already_exists", err)
		}
		if _, err := Restore(ctx, out, target, true); err != nil {
			t.Fatalf("Restore --force: %v", err)
		}
		if kept, _ := filepath.Glob(target + ".before-restore-*"); len(kept) != 1 {
			t.Errorf("the replaced database was not kept: %q", kept)
		}
	})
	t.Run("refuses a file that is not a database", func(t *testing.T) {
		junk := filepath.Join(dir, "junk.db")
		if err := os.WriteFile(junk, []byte("not a database, just text long enough to be read as a header......."), 0o600); err != nil {
			t.Fatal(err)
		}
		empty := filepath.Join(dir, "fresh", "carehex.db")
		if _, err := Restore(ctx, junk, empty, false); carehex.ErrorCode(err) != carehex.EINVALID {
			t.Errorf("Restore of junk = %v, want invalid", err)
		}
		if _, err := os.Stat(empty); err == nil {
			t.Errorf("a refused restore left a database behind")
		}
	})
}

// path is the SQLite file of a store opened by openEnv.
func (e *env) path(t *testing.T) string {
	t.Helper()
	var file string
	if err := e.db.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		t.Fatal(err)
	}
	return file
}
