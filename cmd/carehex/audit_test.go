package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
)

// TestAuditCommands: `carehex audit verify` passes on a fresh and a used
// database, names the first bad record after plain-SQL edits, and with an
// exported anchor catches a tail cut off together with the head row and the
// stored anchors; on the embedded SQLite file and on PostgreSQL.
func TestAuditCommands(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, ce cliEnv) {
		ctx, cli, getenv, data := context.Background(), ce.cli, ce.getenv, ce.data
		if out, err := cli("audit", "verify"); err != nil || !strings.Contains(out, `"intact":true`) {
			t.Fatalf("fresh database: %v\n%s", err, out)
		}

		cfg := defaultConfig(getenv)
		cfg.DataDir = data
		store, err := openStore(ctx, &cfg, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		for _, obj := range []string{"res_1", "res_2", "res_3", "res_4"} {
			if err := store.Audit(testenv.OpCtx(), &carehex.AuditRecord{Action: "resident.read", ObjectType: "resident", ObjectID: obj}); err != nil {
				t.Fatal(err)
			}
		}
		if out, err := cli("audit", "verify", "--from", "2000-01-01"); err != nil || !strings.Contains(out, "audit_records: 4 records") {
			t.Fatalf("after writes: %v\n%s", err, out)
		}
		anchors := filepath.Join(t.TempDir(), "anchors.json")
		if out, err := cli("audit", "anchor", "--export", anchors); err != nil {
			t.Fatalf("audit anchor: %v\n%s", err, out)
		}
		var exported anchorFile
		if b, err := os.ReadFile(anchors); err != nil || json.Unmarshal(b, &exported) != nil || len(exported.Anchors) != 2 {
			t.Fatalf("export = %s, %v; want two anchors", b, err)
		}

		raw := rawDB(t, cfg.dsn())
		mustSQL := func(q string) {
			t.Helper()
			if _, err := raw.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// Cut the anchor's audit record and the one before, and hide the cut.
		mustSQL(`DELETE FROM audit_records WHERE seq > 3`)
		mustSQL(`UPDATE trail_heads SET seq = 3, hash = (SELECT hash FROM audit_records WHERE seq = 3) WHERE chain = 'audit'`)
		mustSQL(`DELETE FROM trail_anchors`)
		out, err := cli("audit", "verify", "--anchors", anchors)
		if err == nil || !strings.Contains(err.Error(), "audit_records id=- seq=4: truncated") {
			t.Fatalf("truncated tail with the exported anchor: %v\n%s", err, out)
		}

		var id string
		if err := raw.QueryRow(`SELECT id FROM audit_records WHERE seq = 2`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		mustSQL(`UPDATE audit_records SET detail = 'edited' WHERE seq = 2`)
		out, err = cli("audit", "verify")
		if err == nil || !strings.Contains(err.Error(), "audit_records id="+id+" seq=2: content changed") ||
			!strings.Contains(out, `"intact":false`) {
			t.Fatalf("edited record: %v\n%s", err, out)
		}
		if _, err := cli("audit", "verify", "--from", "yesterday"); err == nil || !strings.Contains(err.Error(), "--from") {
			t.Fatalf("bad --from: %v", err)
		}
	})
}

// rawDB opens the database underneath the store without the store, as
// someone tampering with it would.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if strings.HasPrefix(dsn, "postgres") {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestAnchorIfDue: the worker's step anchors a fresh trail at once, then
// once a day by the clock.
func TestAnchorIfDue(t *testing.T) {
	ctx := context.Background()
	clock := testenv.NewClock(time.Date(2026, 12, 3, 0, 30, 0, 0, time.UTC))
	cfg := defaultConfig(func(string) string { return "" })
	cfg.DataDir = t.TempDir()
	store, err := openStore(ctx, &cfg, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	step := func(want bool) {
		t.Helper()
		as, err := anchorIfDue(ctx, store, clock.Now)
		if err != nil || (len(as) > 0) != want {
			t.Fatalf("at %v: anchored %v, %v; want anchored=%v", clock.Now(), as, err, want)
		}
	}
	step(true)
	clock.Advance(23 * time.Hour)
	step(false)
	clock.Advance(time.Hour)
	step(true)
	stored, err := store.TrailAnchors(ctx, time.Time{})
	if err != nil || len(stored) != 4 { // two chains, twice
		t.Fatalf("stored anchors = %v, %v", stored, err)
	}
}
