package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/dispatch"
	mobileapi "github.com/carehex/carehex/mobile-api"
	"github.com/carehex/carehex/providers"
	"github.com/carehex/carehex/rpc"
	"github.com/carehex/carehex/sqlstore"
	"github.com/carehex/carehex/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.storeFlags(fs)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address HOST:PORT (env CAREHEX_ADDR); port 0 picks a free one")
	fs.BoolVar(&cfg.Demo, "demo", false, "on an empty database, load demo residents, providers and accounts")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)

	store, err := openStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer store.Close()

	rdb, stopRedis, err := openRedis(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer stopRedis()

	if cfg.Demo {
		if err := seedDemo(ctx, store, stdout, log); err != nil {
			return err
		}
	}

	live, err := providers.New(rdb, providers.Options{Zone: cfg.Zone})
	if err != nil {
		return err
	}
	dcfg := dispatch.DefaultConfig()
	dcfg.OfferTTL = cfg.OfferTTL
	engine, err := dispatch.New(dcfg, dispatch.Deps{
		Requests: store, Residents: store, Providers: store, Catalog: store, Visits: store,
		Offers: store, Alerts: store, Live: live, Log: log,
	})
	if err != nil {
		return err
	}
	mobile, err := mobileapi.New(mobileapi.DefaultConfig(), mobileapi.Deps{
		Store: store, Engine: engine, Live: live, Clock: time.Now, Log: log,
	})
	if err != nil {
		return err
	}
	relay := &mobileapi.Relay{Outbox: store, Sender: mobileapi.LogSender{Log: log}, Log: log}

	// Background work, owned here and stopped (and waited for) before the
	// store and Redis close: the dispatcher's pass (expiring offers,
	// re-dispatching, alerts, rebuilding Redis), the late/missed visit
	// watch, and the notification relay. Every replica runs all three.
	bg, stopBG := context.WithCancel(ctx)
	var workers sync.WaitGroup
	for name, run := range map[string]func(context.Context) error{
		"dispatch": func(ctx context.Context) error { return engine.Run(ctx, time.Second) },
		"overdue":  func(ctx context.Context) error { return mobile.RunOverdue(ctx, 30*time.Second) },
		"relay":    func(ctx context.Context) error { return relay.Run(ctx, 2*time.Second) },
	} {
		workers.Add(1)
		go func() {
			defer workers.Done()
			if err := run(bg); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("worker.stop", "worker", name, "err", err)
			}
		}()
	}
	defer func() { stopBG(); workers.Wait() }()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	api := &rpc.Server{Store: store, Clock: time.Now, Logger: log, Metrics: reg, Dispatch: engine}

	mux := http.NewServeMux()
	mux.Handle("/twirp/", api.Handler())
	mux.Handle("/m/v1/", mobile.Handler())
	mux.Handle("/", web.Handler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			log.Warn("healthz.database", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		if err := rdb.Ping(ctx).Err(); err != nil {
			log.Warn("healthz.redis", "err", err)
			http.Error(w, "redis unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another carehex running? choose another --addr)", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "carehex listening on http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "  console http://%[1]s/console/   provider phone http://%[1]s/phone/   family http://%[1]s/family/\n", ln.Addr())
	log.Info("serve.start", "addr", ln.Addr().String(), "database", store.Dialect(), "redis", redisKind(&cfg))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("serve.stop")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openStore opens the system of record and loads the embedded catalogue into it.
func openStore(ctx context.Context, cfg *Config) (*sqlstore.DB, error) {
	store, err := sqlstore.Open(ctx, cfg.dsn(), func() time.Time { return time.Now() })
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactDSN(cfg), err)
	}
	types, err := catalog.Load()
	if err == nil {
		err = store.SyncCatalog(ctx, types)
	}
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("load service catalogue: %w", err)
	}
	return store, nil
}

func redactDSN(cfg *Config) string {
	if cfg.DatabaseURL != "" {
		return "from CAREHEX_DATABASE_URL"
	}
	return cfg.dsn()
}

func redisKind(cfg *Config) string {
	if cfg.RedisURL != "" {
		return "external"
	}
	return "in-process"
}

// openRedis connects to CAREHEX_REDIS_URL, or starts the in-process
// Redis-protocol server so that one command runs the whole system. Redis holds
// only state that can be rebuilt, so losing the in-process one on exit is fine.
func openRedis(ctx context.Context, cfg *Config, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if cfg.RedisURL != "" {
		rdb, err := redisClient(cfg.RedisURL)
		if err != nil {
			return nil, nil, err
		}
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			return nil, nil, fmt.Errorf("redis at CAREHEX_REDIS_URL: %w", err)
		}
		return rdb, func() { rdb.Close() }, nil
	}
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, nil, fmt.Errorf("start in-process redis: %w", err)
	}
	log.Info("redis.embedded", "addr", mr.Addr())
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return rdb, func() { rdb.Close(); mr.Close() }, nil
}
