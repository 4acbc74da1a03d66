package sqlstore

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckpointOffTheWriter: the one writer never copies the log into the
// database file itself (its automatic checkpoint is off), and the store's
// checkpointer does, after commits: the database file grows though no
// request waited for it.
func TestCheckpointOffTheWriter(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "carehex.db")
	e := openEnv(t, dsn)
	var every int
	if err := e.w.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&every); err != nil {
		t.Fatal(err)
	}
	if every != 0 {
		t.Fatalf("the writer's wal_autocheckpoint = %d, want 0 (the checkpointer's job)", every)
	}
	size := func() int64 {
		fi, err := os.Stat(dsn)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	// Opening wrote the schema to the log; the checkpointer copies it once a
	// commit tells it the log grew.
	before := size()
	mustCreateResident(t, e, resident("王秀英", "13800000001"))
	deadline := time.Now().Add(10 * time.Second)
	for size() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes 10 s after a commit: nothing checkpointed the log", before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
