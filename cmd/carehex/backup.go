package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/sqlstore"
)

// backup copies the embedded SQLite database while the server runs.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	cfg.storeFlags(fs)
	out := fs.String("out", "", "file to write the copy to (must not exist)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if cfg.DatabaseURL != "" {
		return fmt.Errorf("backup copies the embedded SQLite file; with CAREHEX_DATABASE_URL set, use pg_dump (see README, Backups)")
	}
	if *out == "" {
		return fmt.Errorf("--out FILE is required: where to write the copy")
	}
	start := time.Now()
	if err := sqlstore.BackupFile(ctx, cfg.dsn(), *out); err != nil {
		return fmt.Errorf("backup of %s: %s", cfg.dsn(), explain(err))
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(map[string]any{"backup": *out, "bytes": fi.Size(), "ms": time.Since(start).Milliseconds()})
	fmt.Fprintf(stdout, "%s\n", line)
	return nil
}

// restore puts a backup in place as the SQLite database under --data and
// checks it, refusing to replace a database a process has open or, without
// --force, any existing one.
func restore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	cfg.storeFlags(fs)
	from := fs.String("from", "", "backup file written by carehex backup")
	force := fs.Bool("force", false, "replace an existing database under --data (stop the server first; the old files are kept as carehex.db.before-restore-<time>)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if cfg.DatabaseURL != "" {
		return fmt.Errorf("restore writes the embedded SQLite file; with CAREHEX_DATABASE_URL set, use pg_restore (see README, Backups)")
	}
	if *from == "" {
		return fmt.Errorf("--from FILE is required: the backup to restore")
	}
	opts, err := cfg.storeOptions()
	if err != nil {
		return err
	}
	rep, err := sqlstore.Restore(ctx, *from, cfg.dsn(), *force, opts...)
	if err != nil {
		return fmt.Errorf("restore into %s: %s", cfg.DataDir, explain(err))
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", *from, cfg.dsn())
	fmt.Fprintf(stdout, "  integrity_check: %s\n  migrations version: %d\n", rep.Integrity, rep.Version)
	tables := make([]string, 0, len(rep.Rows))
	for t := range rep.Rows {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	for _, t := range tables {
		fmt.Fprintf(stdout, "  %-17s %d rows\n", t, rep.Rows[t])
	}
	if rep.Integrity != "ok" {
		return fmt.Errorf("the restored database failed its integrity check: %s", rep.Integrity)
	}
	line, _ := json.Marshal(map[string]any{"restored": cfg.dsn(), "integrity": rep.Integrity,
		"migration_version": rep.Version, "rows": rep.Rows})
	fmt.Fprintf(stdout, "%s\n", line)
	return nil
}

// explain is the message of a carehex error, or the error itself.
func explain(err error) string {
	if carehex.ErrorCode(err) == carehex.EINTERNAL {
		return err.Error()
	}
	return carehex.ErrorMessage(err)
}

// backupPrefix and backupExt name the scheduled copies, so that only they
// are pruned from CAREHEX_BACKUP_DIR: carehex-20261203T084500Z.db.
const (
	backupPrefix = "carehex-"
	backupExt    = ".db"
)

// backups takes a copy of the store every cfg.BackupEvery into
// cfg.BackupDir and keeps the newest cfg.BackupKeep. A failed copy is
// logged and tried again at the next tick; the server goes on.
type backups struct {
	store *sqlstore.DB
	dir   string
	every time.Duration
	keep  int
	log   *slog.Logger
}

// Run copies until ctx ends. The first copy is taken one interval after
// start, not at start, so restarts in a loop do not pile up copies.
func (b *backups) Run(ctx context.Context) error {
	b.log.Info("backup.schedule", "every", b.every.String(), "dir", b.dir, "keep", b.keep)
	t := time.NewTicker(b.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-t.C:
			if err := b.once(ctx, now); err != nil && ctx.Err() == nil {
				b.log.Error("backup.failed", "dir", b.dir, "err", err)
			}
		}
	}
}

func (b *backups) once(ctx context.Context, now time.Time) error {
	out := filepath.Join(b.dir, backupPrefix+now.UTC().Format("20060102T150405Z")+backupExt)
	start := time.Now()
	if err := b.store.Backup(ctx, out); err != nil {
		return err
	}
	b.log.Info("backup.done", "file", out, "ms", time.Since(start).Milliseconds())
	return b.prune()
}

// prune removes the oldest scheduled copies beyond keep. The names sort by
// time, so the oldest come first.
func (b *backups) prune() error {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return err
	}
	var ours []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasPrefix(n, backupPrefix) && strings.HasSuffix(n, backupExt) {
			ours = append(ours, n)
		}
	}
	slices.Sort(ours)
	for len(ours) > b.keep {
		if err := os.Remove(filepath.Join(b.dir, ours[0])); err != nil {
			return err
		}
		b.log.Info("backup.pruned", "file", ours[0])
		ours = ours[1:]
	}
	return nil
}
