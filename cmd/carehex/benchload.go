package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/demo"
	"github.com/carehex/carehex/loadbench"
	"github.com/carehex/carehex/providers"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/carehex/carehex/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/twitchtv/twirp"
)

// loadServiceCodes are the services the bench's callers ask for, all
// dispatched at once ("soon"), whose skills most demo providers hold.
var loadServiceCodes = []string{"DL-MEAL-DELIVERY", "DL-TOILETING", "DL-SHOPPING", "DL-BEDDING-CHANGE"}

// benchLoad builds the whole server in-process (newStack) on a loopback
// listener for each backend and transport asked for, seeds a synthetic city
// into a fresh database, puts every provider's phone online and drives it
// with loadbench at a fixed rate. It prints a side-by-side table and, last,
// one JSON line.
func benchLoad(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench load", flag.ContinueOnError)
	rate := fs.Float64("rate", 500, "service requests created per second (open loop)")
	duration := fs.Duration("duration", 60*time.Second, "how long requests are created")
	dbURL := fs.String("database-url", "", "PostgreSQL server (postgres://…) to run against as well as SQLite; the bench creates a scratch database on it and drops it after")
	backend := fs.String("backend", "", "sqlite, postgres or both (default: both when --database-url is set, else sqlite)")
	redisURL := fs.String("redis-url", "", "redis-server (redis://host:port/db) for the live state; empty: the in-process one, as serve. The bench uses a zone of its own and deletes it after")
	residents := fs.Int("residents", 20000, "residents in the seeded city")
	nProviders := fs.Int("providers", 2000, "providers in the seeded city, each with a phone online")
	transport := fs.String("transport", "both", "twirp, nethttp or both: how the console's create call travels")
	visitShare := fs.Float64("visit-share", 0.02, "share of offers the phone accepts and visits (depart, arrive, complete); the rest are cancelled once seen")
	drain := fs.Duration("drain", 15*time.Second, "after the last create, how long to wait for offers to reach the phones")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of each run's load phase to PREFIX-<backend>-<transport>.pprof")
	addr := fs.String("addr", "", "drive an already-running carehex at this URL (http://host:port) instead of building one in-process; its CPU is read from its /metrics")
	metricsURL := fs.String("metrics-url", "http://127.0.0.1:9090", "with --addr: the server's metrics listener (its --metrics-addr), where its CPU is read")
	username := fs.String("username", getenv("CAREHEX_BENCH_USERNAME"), "with --addr: an operator account on that server (env CAREHEX_BENCH_USERNAME)")
	password := fs.String("password", getenv("CAREHEX_BENCH_PASSWORD"), "with --addr: its password (env CAREHEX_BENCH_PASSWORD)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *addr != "" {
		return benchLoadAddr(ctx, fs, remoteLoad{addr: *addr, metricsURL: *metricsURL, username: *username, password: *password, rate: *rate,
			duration: *duration, drain: *drain, residents: *residents, providers: *nProviders, visitShare: *visitShare},
			stdout, stderr)
	}
	switch {
	case *rate < 1 || *rate > 20000:
		return fmt.Errorf("--rate must be 1…20000 requests per second, got %g", *rate)
	case *duration < time.Second || *duration > time.Hour:
		return fmt.Errorf("--duration must be 1s…1h, got %s", *duration)
	case *drain < 0 || *drain > 10*time.Minute:
		return fmt.Errorf("--drain must be 0…10m, got %s", *drain)
	case *residents < 10 || *residents > 1_000_000:
		return fmt.Errorf("--residents must be 10…1000000, got %d", *residents)
	case *nProviders < 10 || *nProviders > 20_000:
		return fmt.Errorf("--providers must be 10…20000, got %d", *nProviders)
	case *visitShare < 0 || *visitShare > 1:
		return fmt.Errorf("--visit-share must be between 0 and 1, got %g", *visitShare)
	case *dbURL != "" && !strings.HasPrefix(*dbURL, "postgres://") && !strings.HasPrefix(*dbURL, "postgresql://"):
		return fmt.Errorf("--database-url must start with postgres:// (leave it empty for SQLite only)")
	}
	var transports []string
	switch *transport {
	case "both":
		transports = []string{loadbench.Twirp, loadbench.NetHTTP}
	case loadbench.Twirp, loadbench.NetHTTP:
		transports = []string{*transport}
	default:
		return fmt.Errorf("--transport must be twirp, nethttp or both, got %q", *transport)
	}
	if *backend == "" {
		*backend = "sqlite"
		if *dbURL != "" {
			*backend = "both"
		}
	}
	var backends []string
	switch *backend {
	case "both":
		backends = []string{"sqlite", "postgres"}
	case "sqlite", "postgres":
		backends = []string{*backend}
	default:
		return fmt.Errorf("--backend must be sqlite, postgres or both, got %q", *backend)
	}
	if *backend != "sqlite" && *dbURL == "" {
		return fmt.Errorf("--backend %s needs --database-url postgres://… (a server where the bench may create a database)", *backend)
	}
	if *redisURL != "" {
		rdb, err := redisClient(*redisURL)
		if err != nil {
			return fmt.Errorf("--redis-url: %v (expected redis://host:port/db)", err)
		}
		rdb.Close()
	}
	level := getenv("CAREHEX_LOG_LEVEL")
	if level == "" {
		level = "warn"
	}
	if _, err := parseLevel(level); err != nil {
		return err
	}
	log := newLogger(stderr, level)

	lr := loadRun{rate: *rate, duration: *duration, drain: *drain, dbURL: *dbURL, redisURL: *redisURL,
		residents: *residents, providers: *nProviders, visitShare: *visitShare, cpuProfile: *cpuProfile,
		stderr: stderr, log: log}
	var results []*loadbench.Result
	for _, b := range backends {
		for _, t := range transports {
			res, err := lr.one(ctx, b, t)
			if err != nil {
				return fmt.Errorf("bench load %s/%s: %w", b, t, err)
			}
			results = append(results, res)
		}
	}
	fmt.Fprintf(stdout, "carehex bench load: %d residents, %d providers online, visit share %.0f%%, %s\n",
		*residents, *nProviders, 100**visitShare, machine())
	loadbench.PrintTable(stdout, results)
	return loadbench.PrintJSON(stdout, loadbench.Report{Bench: "load", Machine: machine(), Runs: results})
}

type loadRun struct {
	rate                 float64
	duration, drain      time.Duration
	dbURL, redisURL      string
	residents, providers int
	visitShare           float64
	cpuProfile           string
	stderr               io.Writer
	log                  *slog.Logger
}

func (lr *loadRun) progress(msg string) { fmt.Fprintln(lr.stderr, msg) }

// one is one backend × transport run on a fresh database and Redis zone.
func (lr *loadRun) one(ctx context.Context, backend, transport string) (*loadbench.Result, error) {
	cfg := defaultConfig(func(string) string { return "" })
	cfg.RedisURL = lr.redisURL
	cfg.Zone = "load" + randomSuffix()
	cfg.LogLevel = "warn"
	switch backend {
	case "postgres":
		u, drop, err := scratchDatabase(ctx, lr.dbURL)
		if err != nil {
			return nil, err
		}
		defer drop()
		cfg.DatabaseURL = u
	default:
		dir, err := os.MkdirTemp("", "carehex-load-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	st, err := newStack(ctx, &cfg, time.Now, lr.log)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if lr.redisURL != "" {
		defer func() { _ = providers.DeleteZone(context.WithoutCancel(ctx), st.Redis, cfg.Zone) }()
	}

	lr.progress(fmt.Sprintf("load: %s: seeding %d providers and %d residents…", backend, lr.providers, lr.residents))
	seeded, residentIDs, err := seedLoadCity(ctx, st, lr.residents, lr.providers)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	for _, code := range loadServiceCodes {
		if _, err := st.Store.ServiceType(ctx, code); err != nil {
			return nil, fmt.Errorf("service %s is not in the catalogue: %w", code, err)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(loadbench.PlainPath, &loadbench.PlainCreate{Auth: st.Store, Intake: st.API.Intake(),
		Clock: time.Now, Log: lr.log})
	mux.Handle("/", st.Handler)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(lr.log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	stopWorkers := st.Start(ctx)
	defer stopWorkers()
	base := "http://" + ln.Addr().String()

	token, phones, err := loadAccounts(ctx, st, base, seeded)
	if err != nil {
		return nil, err
	}

	if lr.cpuProfile != "" {
		f, err := os.Create(fmt.Sprintf("%s-%s-%s.pprof", lr.cpuProfile, backend, transport))
		if err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	waitsBefore := poolWaits(st.Store)
	res, err := loadbench.Run(ctx, loadbench.Options{
		BaseURL: base, Transport: transport, Rate: lr.rate, Duration: lr.duration, Drain: lr.drain,
		OperatorToken: token, Residents: residentIDs, ServiceCodes: loadServiceCodes, Phones: phones,
		VisitShare: lr.visitShare, Seed: 1, Offers: st.Store.RequestOffers, Progress: lr.progress,
	})
	if err != nil {
		return nil, err
	}
	res.Backend = backend
	waits := poolWaits(st.Store)
	res.PoolWaits = waits.WaitCount - waitsBefore.WaitCount
	res.PoolWaitMs = float64(waits.WaitDuration-waitsBefore.WaitDuration) / float64(time.Millisecond)
	return res, nil
}

// poolWaits sums the waits for a connection over the store's pools.
func poolWaits(db *sqlstore.DB) sql.DBStats {
	read, write := db.Pools()
	s := read.Stats()
	if write != read {
		w := write.Stats()
		s.WaitCount += w.WaitCount
		s.WaitDuration += w.WaitDuration
	}
	return s
}

// seedLoadCity saves the demo city's first providers and residents (the same
// people `demo seed` makes) and returns them with their IDs.
func seedLoadCity(ctx context.Context, st *stack, residents, nProviders int) ([]*carehex.Provider, []string, error) {
	types, err := catalog.Load()
	if err != nil {
		return nil, nil, err
	}
	ps := demo.SeedProviders(1, nProviders, catalog.Skills(types))
	for _, p := range ps {
		if err := st.Store.CreateProvider(ctx, p); err != nil {
			return nil, nil, err
		}
	}
	rs := demo.SeedResidents(1, residents)
	for start := 0; start < len(rs); start += 10000 {
		if err := st.Store.ImportResidents(ctx, rs[start:min(start+10000, len(rs))]); err != nil {
			return nil, nil, err
		}
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ps, ids, nil
}

// loadAccounts makes the console's operator and logs in, and issues every
// provider's device token, through the Twirp API as an operator would.
func loadAccounts(ctx context.Context, st *stack, base string, ps []*carehex.Provider) (string, []loadbench.Phone, error) {
	password := "load-" + randomSuffix() + randomSuffix()
	if _, err := createUser(ctx, st.Store, "load-operator", carehex.RoleOperator, password); err != nil {
		return "", nil, err
	}
	login, err := pb.NewAuthServiceJSONClient(base, http.DefaultClient).Login(ctx,
		&pb.LoginRequest{Username: "load-operator", Password: password})
	if err != nil {
		return "", nil, fmt.Errorf("log in: %w", err)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+login.Token)
	octx, err := twirp.WithHTTPRequestHeaders(ctx, h)
	if err != nil {
		return "", nil, err
	}
	client := pb.NewProviderServiceJSONClient(base, http.DefaultClient)
	phones := make([]loadbench.Phone, len(ps))
	work := make(chan int)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out, err := client.IssueDeviceToken(octx, &pb.IssueDeviceTokenRequest{ProviderId: ps[i].ID})
				if err != nil {
					mu.Lock()
					first = cmpOr(first, fmt.Errorf("device token of %s: %w", ps[i].ID, err))
					mu.Unlock()
					continue
				}
				phones[i] = loadbench.Phone{ProviderID: ps[i].ID, Token: out.Token, At: ps[i].Home}
			}
		}()
	}
	for i := range ps {
		work <- i
	}
	close(work)
	wg.Wait()
	return login.Token, phones, first
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// scratchDatabase creates an empty database on the server of base and
// returns its URL and a func that drops it.
func scratchDatabase(ctx context.Context, base string) (string, func(), error) {
	name := "carehex_load_" + randomSuffix()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(cctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("--database-url: connect: %w", err)
	}
	defer admin.Close(cctx)
	if _, err := admin.Exec(cctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("--database-url: create a scratch database (the role needs CREATEDB): %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("--database-url: %w", err)
	}
	u.Path = "/" + name
	drop := func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if admin, err := pgx.Connect(dctx, base); err == nil {
			_, _ = admin.Exec(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			admin.Close(dctx)
		}
	}
	return u.String(), drop, nil
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// machine names the CPU the figures come from.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d × %s, GOMAXPROCS %d, %s", runtime.NumCPU(), model, runtime.GOMAXPROCS(0), runtime.Version())
}
