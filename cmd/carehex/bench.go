package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/carehex/carehex/providers/providersbench"
	"github.com/redis/go-redis/v9"
)

// benchDispatch measures the dispatcher's hot path against a real Redis:
// candidate lookup through the H3 index beside Redis GEOSEARCH, memory per
// provider, and claim latency. Its last line is one JSON object.
func benchDispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench dispatch", flag.ContinueOnError)
	redisURL := fs.String("redis-url", getenv("CAREHEX_REDIS_URL"), "Redis to measure (redis://host:port/db); required")
	n := fs.Int("providers", 100_000, "providers to place around Zibo")
	clients := fs.Int("clients", 50, "concurrent clients for the throughput and claim phases")
	res := fs.Int("index-res", 0, "H3 resolution of the availability index (default: the product's)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *redisURL == "" {
		return fmt.Errorf("--redis-url is required (e.g. redis://127.0.0.1:6379/0); the bench writes only keys of its own zone and deletes them after")
	}
	if *n < 100 || *n > 1_000_000 || *clients < 1 || *clients > 500 {
		return fmt.Errorf("--providers must be 100…1000000 and --clients 1…500")
	}
	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		return fmt.Errorf("--redis-url: %v", err)
	}
	opt.PoolSize = *clients + 10
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", *redisURL, err)
	}
	r, err := providersbench.Run(ctx, rdb, providersbench.Options{
		Providers: *n, Clients: *clients, IndexRes: *res,
		Progress: func(msg string) { fmt.Fprintln(stderr, msg) },
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "providers %d, H3 index resolution %d, %.1f providers per (skill, cell) set\n", r.Providers, r.IndexRes, r.ProvidersPerIndexCell)
	fmt.Fprintf(stdout, "%-10s %9s %9s %12s\n", "lookup", "p50 ms", "p99 ms", "ops/s @"+fmt.Sprint(*clients))
	fmt.Fprintf(stdout, "%-10s %9.3f %9.3f %12.0f   (%.1f cells, %.1f members read, %.2f round trips per lookup, %.0f%% at the fine resolution)\n", "h3", r.H3P50ms, r.H3P99ms, r.H3OpsS, r.CellsPerLookup, r.ScannedPerLookup, r.TripsPerLookup, 100*r.FineShare)
	fmt.Fprintf(stdout, "%-10s %9.3f %9.3f %12.0f\n", "geosearch", r.GeoP50ms, r.GeoP99ms, r.GeoOpsS)
	fmt.Fprintf(stdout, "lookups where the two disagreed: %d; candidates per lookup %.1f\n", r.Disagreements, r.FoundPerLookup)
	fmt.Fprintf(stdout, "redis bytes per provider %.0f (+%.0f for the GEO set used only by the comparison)\n", r.RedisBytesPerProvider, r.GeoBytesPerProvider)
	fmt.Fprintf(stdout, "claim p50 %.3f ms, p99 %.3f ms for bursts of %d concurrent claims; closed loop of %d claimers: %.0f claims/s, p99 %.3f ms\n",
		r.ClaimP50ms, r.ClaimP99ms, *clients, *clients, r.ClaimsPerSecond, r.ClaimSaturatedP99ms)
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(line))
	return nil
}
