package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/sqlstore"
)

// Retention defaults (docs/PRIVACY.md): raw GPS points of visits are kept
// 90 days, a deactivated resident's personal data 3 years.
const (
	defaultGPSRetention      = 90 * 24 * time.Hour
	defaultResidentRetention = 3 * 365 * 24 * time.Hour
)

// parseRetention reads a retention period: a Go duration or a number of
// days with a d suffix (90d).
func parseRetention(name, v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	var d time.Duration
	var days int
	if _, err := fmt.Sscanf(v, "%dd", &days); err == nil && fmt.Sprintf("%dd", days) == v {
		d = time.Duration(days) * 24 * time.Hour
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, fmt.Errorf("%s %q must be a number of days such as 90d, or a duration such as 2160h", name, v)
	}
	if d < 24*time.Hour {
		return 0, fmt.Errorf("%s %q must be at least a day", name, v)
	}
	return d, nil
}

// runRetention is the daily retention pass: it reduces the raw GPS points
// of visit events older than gps to the verification summary, and erases
// residents deactivated longer ago than residents. It runs once at start
// and then wakes once a day (a timer, not a poll). Every replica runs it:
// each step is conditional on the row not yet being done, so two replicas
// at once do the work once and the other finds nothing left.
func runRetention(ctx context.Context, store *sqlstore.DB, clock carehex.Clock, gps, residents time.Duration, log *slog.Logger) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		retentionPass(ctx, store, clock(), gps, residents, log)
		t.Reset(24 * time.Hour)
	}
}

func retentionPass(ctx context.Context, store *sqlstore.DB, now time.Time, gps, residents time.Duration, log *slog.Logger) {
	n, err := store.ReduceVisitGPS(ctx, now.Add(-gps))
	if err != nil && ctx.Err() == nil {
		log.Error("retention.gps", "err", err)
	} else if n > 0 {
		log.Info("retention.gps", "reduced", n)
	}
	ids, err := store.ErasableResidents(ctx, now.Add(-residents))
	if err != nil && ctx.Err() == nil {
		log.Error("retention.residents", "err", err)
	}
	erased := 0
	for _, id := range ids {
		err := store.EraseResident(ctx, id)                            // actor "system"
		if err != nil && carehex.ErrorCode(err) != carehex.ECONFLICT { // a replica got there first
			log.Error("retention.erase", "resident", id, "err", err)
			continue
		}
		erased++
	}
	if erased > 0 {
		log.Info("retention.residents", "erased", erased)
	}
}
