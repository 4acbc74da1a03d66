package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/cti"
	"github.com/carehex/carehex/dispatch"
	mobileapi "github.com/carehex/carehex/mobile-api"
	"github.com/carehex/carehex/notify"
	"github.com/carehex/carehex/plan"
	"github.com/carehex/carehex/providers"
	"github.com/carehex/carehex/rpc"
	"github.com/carehex/carehex/sqlstore"
	"github.com/carehex/carehex/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

// stack is one carehex server's parts wired together: the system of record,
// Redis and the live availability on it, the dispatch engine, the Twirp and
// mobile APIs, the web pages, and the background workers. `carehex serve`
// runs one behind a listener; `carehex simulate` and `carehex bench load`
// build one in-process (with their own clock) and drive it over loopback.
type stack struct {
	Store   *sqlstore.DB
	Redis   redis.UniversalClient
	Live    *providers.Store
	Engine  *dispatch.Engine
	Mobile  *mobileapi.Server
	Relay   *notify.Relay
	API     *rpc.Server
	Planner *plan.Planner
	Handler http.Handler // everything served on the public address: /twirp/, /m/v1/, /cti/v1/calls, /healthz, the pages
	// Metrics serves GET /metrics (Prometheus) on its own listener
	// (--metrics-addr), never on the public address: the figures need no
	// login, so they stay on loopback unless the operator says otherwise.
	Metrics http.Handler
	// Hub wakes this process's waiters when the store publishes a notice;
	// Bridge carries notices to and from the other replicas over Redis
	// while Start's workers run. Waiters (long polls, streams, the console)
	// subscribe to Hub.
	Hub    *notify.Hub
	Bridge *notify.Bridge

	log   *slog.Logger
	clock carehex.Clock
	// reconcile is the one interval of every safety-net pass that reads
	// SQL (CAREHEX_RECONCILE; docs/RELIABILITY.md "Every loop"): no loop
	// asks SQL on a timer shorter than it.
	reconcile  time.Duration
	closeRedis func()
	backups    *backups // nil unless CAREHEX_BACKUP_EVERY is set
	// retention periods of the daily pass (retention.go)
	gpsRetention, residentRetention time.Duration
	fraud                           evidenceConfig // the fraud scan's settings (fraudconfig.go)
	Blobs                           carehex.BlobStore
	dashEvery                       time.Duration // the dashboard's catch-up period (dashconfig.go)
}

// newStack opens the store and Redis named by cfg and wires the parts with
// clock as every part's time. Close releases what it opened.
func newStack(ctx context.Context, cfg *Config, clock carehex.Clock, log *slog.Logger) (*stack, error) {
	if clock == nil {
		clock = time.Now
	}
	store, err := openStore(ctx, cfg, clock)
	if err != nil {
		return nil, err
	}
	if src, created := store.DataKeySource(); created {
		log.Warn("datakey.generated", "note", "ID numbers are encrypted with a new key; back it up with the database, or set CAREHEX_DATA_KEY", "where", src)
	} else if cfg.DataKey == "" && cfg.DatabaseURL != "" {
		log.Warn("datakey.fallback", "note", "ID numbers are encrypted with a key kept in the database itself; set CAREHEX_DATA_KEY", "where", src)
	}
	rdb, closeRedis, err := openRedis(ctx, cfg, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	store.SetQualityRules(cfg.Quality.Rules())
	st := &stack{Store: store, Redis: rdb, log: log, clock: clock, closeRedis: closeRedis,
		gpsRetention: cfg.GPSRetention, residentRetention: cfg.ResidentRetention}
	if st.gpsRetention == 0 { // a Config not passed through validate (tests)
		st.gpsRetention, st.residentRetention = defaultGPSRetention, defaultResidentRetention
	}
	if cfg.BackupEvery > 0 {
		st.backups = &backups{store: store, dir: cfg.BackupDir, every: cfg.BackupEvery, keep: cfg.BackupKeep, log: log}
	}
	if err := st.wire(cfg, clock); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func (st *stack) wire(cfg *Config, clock carehex.Clock) error {
	store, log := st.Store, st.log
	live, err := providers.New(st.Redis, providers.Options{Zone: cfg.Zone, Clock: clock})
	if err != nil {
		return err
	}
	// The hub first: the dispatcher, the long polls and the streams wait on it.
	st.Hub = notify.NewHub()
	dcfg := dispatch.DefaultConfig()
	dcfg.OfferTTL = cfg.OfferTTL
	if cfg.EmergencyDeadline > 0 {
		dcfg.Emergency.Deadline = cfg.EmergencyDeadline
	}
	dcfg.Via = cfg.OrgRouting.Via
	if dcfg.Via.Soon == 0 { // a Config not passed through validate (tests)
		dcfg.Via = dispatch.DefaultConfig().Via
	}
	engine, err := dispatch.New(dcfg, dispatch.Deps{Store: store, Live: live, Log: log, Clock: clock, Notices: st.Hub, Routes: store})
	if err != nil {
		return err
	}
	mcfg := mobileapi.DefaultConfig()
	mcfg.FamilyTTL = cfg.Access.FamilyTTL
	if cfg.Hotline != "" {
		mcfg.Hotline = cfg.Hotline
	}
	if cfg.Reconcile > 0 {
		mcfg.Reconcile = cfg.Reconcile
	}
	if cfg.Evidence.MaxPhotoBytes > 0 {
		mcfg.MaxPhotoBytes = cfg.Evidence.MaxPhotoBytes
	}
	ev, err := st.evidence(cfg) // fraudconfig.go
	if err != nil {
		return err
	}
	cards, err := carehex.LoadCardKey(context.Background(), cfg.CardKey, store)
	if err != nil {
		return err
	}
	st.Planner = plan.New(store, engine, clock, log, cfg.PlanHorizon)
	if cfg.PlanHandOff > 0 {
		st.Planner.HandOffBefore = cfg.PlanHandOff
	}
	mobile, err := mobileapi.New(mcfg, mobileapi.Deps{
		Store: store, Engine: engine, Live: live, Notices: st.Hub, Clock: clock, Log: log, Plans: store, Evidence: ev, Changes: st.Planner,
		Cards: cards,
	})
	if err != nil {
		return err
	}
	st.Live, st.Engine, st.Mobile = live, engine, mobile
	st.Bridge, err = notify.NewBridge(st.Hub, st.Redis, notify.BridgeOptions{Zone: cfg.Zone, Log: log})
	if err != nil {
		return err
	}
	// Until Start runs the bridge, notices wake this process's waiters
	// only; Start hands the store the bridge, which also sends them on.
	store.SetPublisher(st.Hub, log)
	st.Relay = &notify.Relay{Outbox: store, Sender: notify.LogSender{Log: log}, Log: log, Clock: clock, Notices: st.Hub}
	st.reconcile = mcfg.Reconcile
	store.SetReconcile(st.reconcile)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The database pools: go_sql_wait_count_total and
	// go_sql_wait_duration_seconds_total grow when calls queue for a
	// connection (db_name "reads" and, on SQLite, "writer").
	if read, write := store.Pools(); read == write {
		reg.MustRegister(collectors.NewDBStatsCollector(read, "reads"))
	} else {
		reg.MustRegister(collectors.NewDBStatsCollector(read, "reads"), collectors.NewDBStatsCollector(write, "writer"))
	}
	// Waiters on this replica's hub: one per open long poll, stream and
	// dispatcher (per notice it waits for); a leak shows as growth, and a
	// test knows from it that a long poll is waiting.
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "carehex_notify_subscriptions",
		Help: "Notices waited for on this replica's hub (long polls, streams, the dispatcher)."},
		func() float64 { return float64(st.Hub.Subscriptions()) }))
	st.API = &rpc.Server{Store: store, Clock: clock, Logger: log, Metrics: reg, Dispatch: engine, Planner: st.Planner,
		LoginPolicy: cfg.Access.Login, Hasher: auth.NewHasher(cfg.Access.HashConcurrency),
		FamilyTTL: cfg.Access.FamilyTTL, TrustForwardedFor: cfg.Access.TrustForwardedFor, ReadPolicy: cfg.Access.Reads,
		Cards: cards}
	st.API.Router = engine
	st.API.Fraud = rpc.Fraud{Store: store, Blobs: st.Blobs}
	st.API.Dash = &rpc.Dashboard{Targets: cfg.Dash.targets()}
	st.dashEvery = cfg.Dash.Refresh
	if st.API.Map, err = cfg.Map.settings(); err != nil {
		return err
	}
	var tiles []string
	if cfg.Map.TileURL != "" {
		origin, err := tileOrigin(cfg.Map.TileURL)
		if err != nil {
			return err
		}
		tiles = append(tiles, origin)
	}

	mux := http.NewServeMux()
	mux.Handle("/twirp/", st.API.Handler())
	mux.Handle("GET /console/v1/stream", &rpc.ConsoleStream{Store: store, Calls: store, Notices: st.Hub, Clock: clock, Log: log, Reconcile: st.reconcile})
	mux.Handle("/m/v1/", mobile.Handler())
	mux.Handle(cti.Path, cti.New(cfg.CTISecret, store, log))
	mux.Handle("/", web.HandlerWith(web.Options{ImageOrigins: tiles}))
	mux.HandleFunc("GET /healthz", st.healthz)
	st.Handler = mux
	metrics := http.NewServeMux()
	metrics.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// Profiles of the running server (`carehex bench idle --cpuprofile`,
	// `go tool pprof http://127.0.0.1:9090/debug/pprof/profile`), on the
	// metrics listener for the same reason: loopback unless said otherwise.
	metrics.HandleFunc("GET /debug/pprof/", pprof.Index)
	metrics.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	st.Metrics = metrics
	return nil
}

// healthz answers 200 when the database and Redis both answer.
func (st *stack) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := st.Store.Ping(ctx); err != nil {
		st.log.Warn("healthz.database", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	if err := st.Redis.Ping(ctx).Err(); err != nil {
		st.log.Warn("healthz.redis", "err", err)
		http.Error(w, "redis unavailable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// Start runs the background work: the dispatcher's pass (expiring offers,
// re-dispatching, alerts, rebuilding Redis), the late/missed visit watch, the
// notification relay, the notice bridge to the other replicas, the phones'
// reconcile, the trail's daily anchor, retention, the planner, overdue
// complaints, the dashboard's catch-up and the fraud scan (every loop and
// its timer: docs/RELIABILITY.md). Every replica runs them all; with
// CAREHEX_BACKUP_EVERY, the scheduled copies of the SQLite file as well. The
// returned func stops them and waits; call it before Close.
func (st *stack) Start(ctx context.Context) (stop func()) {
	bg, cancel := context.WithCancel(ctx)
	st.Store.SetPublisher(st.Bridge, st.log)
	var workers sync.WaitGroup
	jobs := map[string]func(context.Context) error{
		"dispatch": func(ctx context.Context) error { return st.Engine.Run(ctx, st.reconcile) },
		"overdue":  func(ctx context.Context) error { return st.Engine.RunOverdue(ctx, max(30*time.Second, st.reconcile)) },
		"relay":    func(ctx context.Context) error { return st.Relay.Run(ctx, st.reconcile) },
		// The phones' safety net, one pass for the process (on the hub:
		// every replica runs its own).
		"reconcile": func(ctx context.Context) error { return st.Mobile.RunReconcile(ctx, st.Hub) },
		"notify":    st.Bridge.Run,
		"anchor":    func(ctx context.Context) error { return runAnchors(ctx, st.Store, st.clock, time.Hour, st.log) },
		"retention": func(ctx context.Context) error {
			return runRetention(ctx, st.Store, st.clock, st.gpsRetention, st.residentRetention, st.log)
		},
		"plan": func(ctx context.Context) error { return st.Planner.Run(ctx, planEvery) },
		"complaints": func(ctx context.Context) error {
			return runComplaintAlerts(ctx, st.Store, st.clock, max(time.Minute, st.reconcile), st.log)
		},
		"dashboard": func(ctx context.Context) error {
			return runDashboard(ctx, st.API.Dash, st.Store, st.clock, max(st.dashEvery, st.reconcile), st.log) // never more often than the reconcile (docs/RELIABILITY.md)
		},
	}
	if st.backups != nil {
		jobs["backup"] = st.backups.Run
	}
	jobs["fraud"] = func(ctx context.Context) error {
		e := st.fraud
		if e.FraudEvery > 0 {
			e.FraudEvery = max(e.FraudEvery, st.reconcile) // never more often than the reconcile, like the dashboard
		}
		return runFraud(ctx, st.Store, st.clock, e, st.log)
	}
	for name, run := range jobs {
		workers.Add(1)
		go func() {
			defer workers.Done()
			if err := run(bg); err != nil && !errors.Is(err, context.Canceled) {
				st.log.Error("worker.stop", "worker", name, "err", err)
			}
		}()
	}
	return func() {
		cancel()
		workers.Wait()
		// Nobody sends the bridge's queue any more: back to local only.
		st.Store.SetPublisher(st.Hub, st.log)
	}
}

// Close releases Redis and the store.
func (st *stack) Close() {
	if st.closeRedis != nil {
		st.closeRedis()
	}
	st.Store.Close()
}

// openStore opens the system of record and loads the embedded catalogue into it.
func openStore(ctx context.Context, cfg *Config, clock carehex.Clock) (*sqlstore.DB, error) {
	opts, err := cfg.storeOptions()
	if err != nil {
		return nil, err
	}
	store, err := sqlstore.Open(ctx, cfg.dsn(), clock, opts...)
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

// storeOptions are the store's options from cfg: the data keys of
// CAREHEX_DATA_KEY when set.
func (c *Config) storeOptions() ([]sqlstore.Option, error) {
	if c.DataKey == "" {
		return nil, nil
	}
	keys, err := sqlstore.ParseDataKeys(c.DataKey)
	if err != nil {
		return nil, err
	}
	return []sqlstore.Option{sqlstore.WithDataKeys(keys)}, nil
}
