package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// benchDashboard times every dashboard panel over a period (default: the
// year ending today) on the database given (--data DIR, or
// CAREHEX_DATABASE_URL), city-wide and for one district, and the first page
// of a drill-down and an idle catch-up pass. Each figure is the median of
// --runs runs, in milliseconds. Its last line is one JSON object. It reads
// only (the catch-up pass writes nothing when nothing changed).
func benchDashboard(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("bench dashboard", flag.ContinueOnError)
	cfg.storeFlags(fs)
	days := fs.Int("days", 365, "the period: this many China days ending today")
	runs := fs.Int("runs", 5, "runs of each query; the median is reported")
	district := fs.String("district", "张店区", "the district of the district-wide figures")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *days < 1 || *days > 3660 || *runs < 1 || *runs > 100 {
		return fmt.Errorf("--days must be 1…3660 and --runs 1…100")
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	today := time.Now().In(carehex.CST)
	city := carehex.DashQuery{From: today.AddDate(0, 0, -*days+1).Format("2006-01-02"), To: today.Format("2006-01-02")}
	dist := city
	dist.District = *district
	median := func(f func() error) (float64, error) {
		var ms []float64
		for range *runs {
			start := time.Now()
			if err := f(); err != nil {
				return 0, err
			}
			ms = append(ms, float64(time.Since(start).Microseconds())/1000)
		}
		slices.Sort(ms)
		return ms[len(ms)/2], nil
	}
	out := map[string]any{"database": store.Dialect(), "from": city.From, "to": city.To, "runs": *runs, "cpus": runtime.NumCPU()}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		out["loadavg"] = strings.Join(strings.Fields(string(la))[:3], " ")
	}
	targets := cfg.Dash.targets()
	// bring the rollups up to date first, so the idle pass below is idle
	if _, err := store.RefreshDashboard(ctx, targets); err != nil {
		return err
	}
	counts, err := store.DashboardPanel(ctx, carehex.PanelCounts, city)
	if err != nil {
		return err
	}
	var requests int64
	for _, c := range counts.Counts {
		requests += c.Requests
	}
	out["requests"] = requests
	worst := 0.0
	for _, scope := range []struct {
		name string
		q    carehex.DashQuery
	}{{"city", city}, {"district", dist}} {
		panels := map[string]float64{}
		for _, p := range carehex.DashPanels {
			ms, err := median(func() error {
				_, err := store.DashboardPanel(ctx, p, scope.q)
				if err == nil && p == carehex.PanelCells {
					_, err = store.DashboardSupply(ctx)
				}
				return err
			})
			if err != nil {
				return err
			}
			panels[string(p)] = ms
			worst = max(worst, ms)
			fmt.Fprintf(stdout, "%-8s %-8s %8.1f ms\n", scope.name, p, ms)
		}
		ms, err := median(func() error {
			_, _, err := store.DashboardFacts(ctx, scope.q, carehex.DashDrill{Figure: carehex.FigureLate}, targets, "", 50)
			return err
		})
		if err != nil {
			return err
		}
		panels["drilldown_late_page"] = ms
		fmt.Fprintf(stdout, "%-8s %-8s %8.1f ms\n", scope.name, "drill", ms)
		out[scope.name+"_ms"] = panels
	}
	ms, err := median(func() error { _, err := store.RefreshDashboard(ctx, targets); return err })
	if err != nil {
		return err
	}
	out["idle_refresh_ms"] = ms
	out["worst_panel_ms"] = worst
	b, _ := json.Marshal(out)
	fmt.Fprintln(stdout, string(b))
	return nil
}

// dashboardRebuild rebuilds the dashboard's rollups of the last --days
// China days from the raw records (the catch-up does this by itself for
// changed records; this is for records written behind its back, e.g. an
// interrupted `demo seed --history`, or a restore).
func dashboardRebuild(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("dashboard rebuild", flag.ContinueOnError)
	cfg.storeFlags(fs)
	days := fs.Int("days", 365, "rebuild this many China days ending today")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *days < 1 || *days > 3660 {
		return fmt.Errorf("--days must be 1…3660")
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	today := time.Now().In(carehex.CST)
	list := make([]string, *days)
	for i := range list {
		list[i] = today.AddDate(0, 0, i-*days+1).Format("2006-01-02")
	}
	if err := store.RebuildDashboardDays(ctx, list, cfg.Dash.targets()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rebuilt the dashboard's rollups of %s…%s in %.1f s\n", list[0], list[len(list)-1], time.Since(start).Seconds())
	return nil
}
