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
	"time"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.storeFlags(fs)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address HOST:PORT (env CAREHEX_ADDR); port 0 picks a free one")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", cfg.MetricsAddr, "listen address of GET /metrics (env CAREHEX_METRICS_ADDR; off or empty disables it)")
	fs.BoolVar(&cfg.Demo, "demo", false, "on an empty database, load demo residents, providers and accounts")
	fs.IntVar(&cfg.DemoPhones, "demo-phones", -1, fmt.Sprintf("simulated carer phones (named …（演示）) that take jobs, for trying the system out (default %d with --demo, else 0; 0 turns them off)", defaultDemoPhones))
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if cfg.DemoPhones < 0 {
		cfg.DemoPhones = 0
		if cfg.Demo {
			cfg.DemoPhones = defaultDemoPhones
		}
	}
	if cfg.DemoPhones > 1000 {
		return fmt.Errorf("--demo-phones %d: at most 1000 (0 turns them off)", cfg.DemoPhones)
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	openFileLimit() // every phone's connection (or a balancer's) is a descriptor

	st, err := newStack(ctx, &cfg, time.Now, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.Demo {
		if err := seedDemo(ctx, st.Store, stdout, log); err != nil {
			return err
		}
	}
	stopWorkers := st.Start(ctx)
	defer stopWorkers()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another carehex running? choose another --addr)", cfg.Addr, err)
	}
	// HTTP/1.1 and HTTP/2 in cleartext (h2c, prior knowledge): phones
	// reach the replicas through a load balancer that carries many of them
	// as streams over a few connections, so 20,000 phones need not be
	// 20,000 descriptors. TLS ends at the balancer.
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Protocols:         protocols,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: 1000},
		Handler:           st.Handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// The metrics listener comes up first so that once the main address is
	// printed, everything is served.
	var metricsSrv *http.Server
	metricsErr := make(chan error, 1)
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on --metrics-addr %s: %w (choose another, or --metrics-addr off)", cfg.MetricsAddr, err)
		}
		metricsSrv = &http.Server{
			Handler:           st.Metrics,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		fmt.Fprintf(stdout, "carehex metrics on http://%s/metrics\n", mln.Addr())
		log.Info("serve.metrics", "addr", mln.Addr().String())
		go func() { metricsErr <- metricsSrv.Serve(mln) }()
	}
	fmt.Fprintf(stdout, "carehex listening on http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "  console http://%[1]s/console/   provider phone http://%[1]s/phone/   family http://%[1]s/family/\n", ln.Addr())
	log.Info("serve.start", "addr", ln.Addr().String(), "database", st.Store.Dialect(), "redis", redisKind(&cfg))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Demo phones call the server like real ones; they stop before it
	// shuts down, so their streams do not hold the shutdown up.
	stopPhones := func() {}
	if cfg.DemoPhones > 0 {
		pctx, cancel := context.WithCancel(ctx)
		wait, err := startDemoPhones(pctx, st.Store, cfg.DemoPhones, "http://"+ln.Addr().String(), stdout, log)
		if err != nil {
			cancel()
			srv.Close()
			if metricsSrv != nil {
				metricsSrv.Close()
			}
			return err
		}
		stopPhones = func() { cancel(); wait() }
	}
	defer stopPhones()
	select {
	case err := <-errc:
		if metricsSrv != nil {
			metricsSrv.Close()
		}
		return fmt.Errorf("serve: %w", err)
	case err := <-metricsErr:
		srv.Close()
		return fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
	}
	log.Info("serve.stop")
	stopPhones()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(sctx) // nothing in flight there matters
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
