package sqlstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestFileModes checks that the SQLite database, its WAL and shared-memory
// files, and the directory created for them are private to the account
// running carehex: the file holds residents' names, addresses and ID numbers.
func TestFileModes(t *testing.T) {
	wantModes := func(t *testing.T, dir, dsn string) {
		t.Helper()
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("data directory mode = %#o, want 0700", got)
		}
		for _, p := range []string{dsn, dsn + "-wal", dsn + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v (the WAL files should exist while the store is open)", filepath.Base(p), err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s mode = %#o, want 0600", filepath.Base(p), got)
			}
		}
	}
	t.Run("new database", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		dsn := filepath.Join(dir, "carehex.db")
		e := openEnv(t, dsn)
		mustCreateResident(t, e, resident("王秀英", "13800000001")) // a write, so the WAL has content
		wantModes(t, dir, dsn)
	})
	t.Run("existing world-readable database is narrowed", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		dsn := filepath.Join(dir, "carehex.db")
		s, err := Open(context.Background(), dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		// As an older carehex left them.
		for _, p := range []string{dsn, dsn + "-wal", dsn + "-shm"} {
			if err := os.Chmod(p, 0o644); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		e := openEnv(t, dsn)
		mustCreateResident(t, e, resident("王秀英", "13800000001"))
		wantModes(t, dir, dsn)
	})
}
