package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/demo"
	"github.com/carehex/carehex/sqlstore"
)

// historyPerDay is a city's requests a day: about 1.2 million a year.
const historyPerDay = 3300

// seedHistory writes days of past requests (ending yesterday) for the
// people in the store, in bulk, then builds the dashboard's rollups of
// those days and chains the new request events into the trail.
func seedHistory(ctx context.Context, store *sqlstore.DB, days, perDay int, end time.Time, targets carehex.DashTargets, stdout io.Writer) error {
	residents, providers, err := store.HistoryPeople(ctx)
	if err != nil {
		return err
	}
	types, err := store.ServiceTypes(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	var list []string
	requests := 0
	err = demo.History(ctx, demo.HistoryOptions{Days: days, PerDay: perDay, End: end, Seed: uint64(end.Unix())}, residents, providers, types,
		func(day string, b *carehex.HistoryBatch) error {
			if err := store.ImportHistory(ctx, b); err != nil {
				return err
			}
			list = append(list, day)
			requests += len(b.Requests)
			if len(list)%30 == 0 {
				fmt.Fprintf(stdout, "history: %d days, %d requests, %.0f s\n", len(list), requests, time.Since(start).Seconds())
			}
			return nil
		})
	if err != nil {
		return err
	}
	imported := time.Since(start)
	if err := store.SealTrail(ctx); err != nil {
		return err
	}
	sealed := time.Since(start)
	// The catch-up finds the new days by themselves in a database whose
	// rollups were never built; otherwise (the history's rows are stamped
	// in the past, behind its watermark) they are rebuilt by name.
	rebuilt, err := store.RefreshDashboard(ctx, targets)
	if err != nil {
		return err
	}
	if rebuilt < len(list) {
		if err := store.RebuildDashboardDays(ctx, list, targets); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "history: %d requests over %d days for %d residents and %d carers; imported in %.1f s, trail chained in %.1f s, rollups built in %.1f s\n",
		requests, len(list), len(residents), len(providers), imported.Seconds(), (sealed - imported).Seconds(), (time.Since(start) - sealed).Seconds())
	return nil
}
