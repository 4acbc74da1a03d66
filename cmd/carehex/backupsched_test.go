package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex/sqlstore"
)

// TestScheduledBackups checks the scheduled copies' names and that only the
// newest CAREHEX_BACKUP_KEEP of them are kept; other files in the directory
// are left alone.
func TestScheduledBackups(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	store, err := sqlstore.Open(ctx, filepath.Join(data, "carehex.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	dir := filepath.Join(data, "backups")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keep-me.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &backups{store: store, dir: dir, every: time.Hour, keep: 2, log: slog.New(slog.DiscardHandler)}
	t0 := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	for i := range 4 {
		if err := b.once(ctx, t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"carehex-20261203T100000Z.db", "carehex-20261203T110000Z.db", "keep-me.txt"}
	if !slices.Equal(names, want) {
		t.Errorf("backup directory holds %q, want %q", names, want)
	}
}

// TestBackupSettings checks that bad scheduled-backup settings stop the
// server at start naming the setting, and that PostgreSQL is pointed to
// pg_dump.
func TestBackupSettings(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"CAREHEX_BACKUP_EVERY": "often"}, "CAREHEX_BACKUP_EVERY"},
		{map[string]string{"CAREHEX_BACKUP_EVERY": "10s"}, "CAREHEX_BACKUP_EVERY"},
		{map[string]string{"CAREHEX_BACKUP_KEEP": "0"}, "CAREHEX_BACKUP_KEEP"},
		{map[string]string{"CAREHEX_BACKUP_EVERY": "6h", "CAREHEX_DATABASE_URL": "postgres://x/y"}, "pg_dump"},
	} {
		cfg := defaultConfig(func(k string) string { return tt.env[k] })
		if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: validate() = %v, want an error naming %s", tt.env, err, tt.want)
		}
	}
	cfg := defaultConfig(func(k string) string {
		return map[string]string{"CAREHEX_BACKUP_EVERY": "6h", "CAREHEX_BACKUP_KEEP": "14", "CAREHEX_DATA": "/srv/carehex"}[k]
	})
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.BackupEvery != 6*time.Hour || cfg.BackupKeep != 14 || cfg.BackupDir != "/srv/carehex/backups" {
		t.Errorf("config = every %v keep %d dir %q", cfg.BackupEvery, cfg.BackupKeep, cfg.BackupDir)
	}
}

// TestMetricsAddrSetting: the metrics listener is on loopback by default and
// "off" (environment or flag) or an empty flag turns it off.
func TestMetricsAddrSetting(t *testing.T) {
	for _, tt := range []struct {
		env, want string
	}{
		{"", "127.0.0.1:9090"},
		{"off", ""},
		{"OFF", ""},
		{"none", ""},
		{"10.0.0.5:9100", "10.0.0.5:9100"},
	} {
		cfg := defaultConfig(func(k string) string { return map[string]string{"CAREHEX_METRICS_ADDR": tt.env}[k] })
		if err := cfg.validate(); err != nil {
			t.Fatalf("CAREHEX_METRICS_ADDR=%q: %v", tt.env, err)
		}
		if cfg.MetricsAddr != tt.want {
			t.Errorf("CAREHEX_METRICS_ADDR=%q: metrics address %q, want %q", tt.env, cfg.MetricsAddr, tt.want)
		}
	}
}
