package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/demo"
	"github.com/carehex/carehex/matching"
	sim "github.com/carehex/carehex/simulate"
	"github.com/carehex/carehex/sqlstore"
)

// Simulation presets. "small" is the smoke test (under a minute on two
// cores); "city" is Zibo's day: 90,000 residents, 2,000 providers.
type simPreset struct {
	district                       string
	step                           time.Duration
	residents, providers, requests int
	start, end, drain              time.Duration
}

var simPresets = map[string]simPreset{
	"small": {district: "张店区", step: 20 * time.Second, residents: 2000, providers: 100, requests: 100,
		start: 7*time.Hour + 30*time.Minute, end: 9*time.Hour + 30*time.Minute, drain: 15 * time.Minute},
	"city": {step: 10 * time.Second, residents: cityResidents, providers: cityProviders, requests: 0,
		start: 0, end: 24 * time.Hour, drain: time.Hour},
}

// requestsPerResident is a day's calls per resident when --requests is not
// given: about one call per resident a month.
const requestsPerResident = 0.035

// simClock is the one clock of an in-process server during a simulation.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) Now() time.Time       { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *simClock) Set(t time.Time)      { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *simClock) clock() carehex.Clock { return c.Now }

// simulate plays a synthetic day against a server (its own in-process one
// on a simulated clock, or --addr at real time) and reports; or, with
// --replay, compares matching policies on a recorded day.
func simulate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	cfg.storeFlags(fs)
	preset := fs.String("preset", "city", "small (Zhangdian 07:30-09:30: 2,000 residents, 100 providers, 100 requests; for smoke tests) or city (Zibo: 90,000 residents, 2,000 providers, 24 hours)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic city and day; the same seed gives the same day")
	residents := fs.Int("residents", -1, "residents (default from --preset; at most 1000000)")
	providers := fs.Int("providers", -1, "providers (default from --preset; at most 20000)")
	requests := fs.Int("requests", -1, "requests over the window (default from --preset, or 3.5% of residents)")
	window := fs.String("window", "", "part of the day to play, HH:MM-HH:MM (default from --preset)")
	step := fs.Duration("step", 0, "simulated time per step: the dispatcher runs once a step (default 20s small, 10s city)")
	date := fs.String("date", "2026-03-02", "the simulated day, YYYY-MM-DD (China Standard Time)")
	out := fs.String("out", "", "directory for the map (and a relative --record); default the current directory")
	mapFile := fs.String("map", "simulate-map.svg", "SVG map of demand against supply per H3 cell; empty for none")
	record := fs.String("record", "", "write the day (requests, providers, outcomes) as JSON lines to this file, for --replay")
	replay := fs.String("replay", "", "replay a day written by --record through the matching policies instead of simulating")
	compare := fs.Bool("compare", false, "compare matching policies (greedy, batched, hindsight) on the day simulated or replayed")
	batch := fs.Duration("batch", 30*time.Second, "with --compare: how often the batched policy assigns")
	addr := fs.String("addr", "", "drive an already-running server at this URL (e.g. http://127.0.0.1:8080), at real time")
	username := fs.String("username", "", "with --addr: an operator account's username")
	password := fs.String("password", "", "with --addr: its password (or CAREHEX_SIM_PASSWORD)")
	duration := fs.Duration("duration", 5*time.Minute, "with --addr: wall-clock length of the compressed window")
	fs.String("district", "", "keep only one district's people: 张店区 or Zhangdian (small's default), …; city for all")
	progress := fs.Bool("progress", false, "print a line per simulated hour on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if *replay != "" {
		if set["addr"] || set["record"] || set["preset"] {
			return errors.New("--replay reads a recorded day: it takes no --addr, --record or --preset")
		}
		return replayDay(*replay, *batch, stdout)
	}
	p, ok := simPresets[*preset]
	if !ok {
		return fmt.Errorf("--preset must be small or city, got %q", *preset)
	}
	if *residents >= 0 {
		p.residents = *residents
	}
	if *providers >= 0 {
		p.providers = *providers
	}
	switch {
	case p.residents < 1 || p.residents > 1_000_000:
		return fmt.Errorf("--residents must be 1…1000000, got %d", p.residents)
	case p.providers < 1 || p.providers > 20_000:
		return fmt.Errorf("--providers must be 1…20000, got %d", p.providers)
	case set["step"] && (*step < time.Second || *step > 5*time.Minute):
		return fmt.Errorf("--step must be from 1s to 5m, got %s", *step)
	case *batch < time.Second || *batch > time.Hour:
		return fmt.Errorf("--batch must be from 1s to 1h, got %s", *batch)
	case *duration < 10*time.Second || *duration > 24*time.Hour:
		return fmt.Errorf("--duration must be from 10s to 24h, got %s", *duration)
	}
	if *window != "" {
		s, e, err := parseWindow(*window)
		if err != nil {
			return fmt.Errorf("--window %q: %v (want HH:MM-HH:MM, e.g. 07:00-13:00)", *window, err)
		}
		p.start, p.end = s, e
	}
	if *requests >= 0 {
		p.requests = *requests
	} else if p.requests == 0 {
		p.requests = int(float64(p.residents) * requestsPerResident * (p.end - p.start).Hours() / 24)
	}
	if p.requests > 2_000_000 {
		return fmt.Errorf("--requests must be at most 2000000, got %d", p.requests)
	}
	day, err := time.ParseInLocation("2006-01-02", *date, time.FixedZone("CST", 8*3600))
	if err != nil {
		return fmt.Errorf("--date %q must be YYYY-MM-DD", *date)
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return fmt.Errorf("--out: %v", err)
		}
	}
	inOut := func(f string) string {
		if f == "" || filepath.IsAbs(f) || *out == "" {
			return f
		}
		return filepath.Join(*out, f)
	}
	if *addr == "" && (set["username"] || set["password"] || set["duration"]) {
		return errors.New("--username, --password and --duration go with --addr (the in-process server makes its own operator)")
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	if set["step"] {
		p.step = *step
	}
	district := fs.Lookup("district").Value.String()
	if district == "city" {
		district = ""
	} else if district != "" {
		p.district = ""
		for _, d := range demo.Districts {
			if district == d.Name || strings.EqualFold(district, d.NameEN) {
				p.district = d.Name
			}
		}
		if p.district == "" {
			var names []string
			for _, d := range demo.Districts {
				names = append(names, d.Name+" ("+d.NameEN+")")
			}
			return fmt.Errorf("--district %q is not one of Zibo's districts: %s, or city", district, strings.Join(names, ", "))
		}
	}
	scfg := sim.Config{Seed: *seed, Residents: p.residents, Providers: p.providers, Requests: p.requests, District: p.district,
		Date: day, Start: p.start, End: p.end, Drain: p.drain, Step: p.step}
	if *progress {
		scfg.Progress = stderr
	}
	var res *sim.Result
	if *addr != "" {
		res, err = simulateRemote(ctx, &cfg, scfg, *addr, *username, *password, *duration, set["data"], getenv, stderr)
	} else {
		res, err = simulateLocal(ctx, cfg, scfg, set["data"], getenv, stderr)
	}
	if err != nil {
		return err
	}
	if f := inOut(*mapFile); f != "" {
		if err := writeFile(f, res.Map); err != nil {
			return fmt.Errorf("--map: %v", err)
		}
		fmt.Fprintf(stdout, "map: %s\n", f)
	}
	if f := inOut(*record); f != "" {
		if err := writeFile(f, res.Day().Write); err != nil {
			return fmt.Errorf("--record: %v", err)
		}
		fmt.Fprintf(stdout, "recorded day: %s (replay with: carehex simulate --replay %s --compare)\n", f, f)
	}
	if *compare {
		cmp, err := matching.Compare(res.Day(), *batch)
		if err != nil {
			return err
		}
		cmp.Print(stdout)
		fmt.Fprintln(stdout)
	}
	return res.Report(stdout)
}

// simulateLocal runs the day against an in-process server on a simulated
// clock: SQLite in a fresh directory (or CAREHEX_DATABASE_URL, or --data)
// and the in-process Redis (or CAREHEX_REDIS_URL).
func simulateLocal(ctx context.Context, cfg Config, scfg sim.Config, dataSet bool, getenv func(string) string, stderr io.Writer) (*sim.Result, error) {
	if getenv("CAREHEX_LOG_LEVEL") == "" {
		cfg.LogLevel = "warn" // the relay logs every notification at info
	}
	if !dataSet && cfg.DatabaseURL == "" {
		dir, err := os.MkdirTemp("", "carehex-simulate-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	simOrgDefaults(&cfg, getenv) // simulateorg.go
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := newLogger(stderr, cfg.LogLevel)
	clock := &simClock{t: scfg.Date.Add(scfg.Start)}
	st, err := newStack(ctx, &cfg, clock.clock(), log)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	pw := randomPassword()
	name := "simulate-" + pw[:8]
	if _, err := createUser(ctx, st.Store, name, carehex.RoleOperator, pw); err != nil {
		return nil, fmt.Errorf("create the simulation's operator: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: st.Handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	var lastOverdue time.Time
	tick := func(ctx context.Context) error {
		err := st.Engine.Tick(ctx)
		if now := clock.Now(); now.Sub(lastOverdue) >= 30*time.Second {
			lastOverdue = now
			if _, e := st.Engine.CheckOverdue(ctx); e != nil {
				err = errors.Join(err, e)
			}
		}
		if _, e := st.Relay.Once(ctx); e != nil {
			err = errors.Join(err, e)
		}
		return err
	}
	// The demo's organisations, contracts and funding, from the start of
	// the simulated day's year, so that `carehex settle` has statements to
	// build from the day: providers join the organisations they name, and
	// each imported batch of residents gets its subsidised share.
	types, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	from := time.Date(scfg.Date.Year(), 1, 1, 0, 0, 0, 0, scfg.Date.Location())
	if err := demo.SeedOrganisations(ctx, st.Store, serviceCodes(types), from); err != nil {
		return nil, err
	}
	if err := simOrgAutoDispatch(ctx, st); err != nil {
		return nil, err
	}
	importResidents := func(ctx context.Context, rs []*carehex.Resident) error {
		if err := st.Store.ImportResidents(ctx, rs); err != nil {
			return err
		}
		return demo.SeedFunding(ctx, st.Store, rs, from)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	res, err := sim.Run(ctx, scfg, sim.Target{
		BaseURL: "http://" + ln.Addr().String(), HTTP: &http.Client{Transport: tr, Timeout: time.Minute},
		Username: name, Password: pw, SetClock: clock.Set, Tick: tick,
		ImportResidents: importResidents, Audit: st.Store, Log: log,
	})
	if err != nil {
		return res, err
	}
	// The day's trail must verify like any other (`carehex audit verify`);
	// a broken chain fails the run, on stderr, before the report is written.
	var out strings.Builder
	if err := auditVerify(ctx, st.Store, time.Time{}, nil, &out); err != nil {
		fmt.Fprint(stderr, out.String())
		return nil, err
	}
	// The day's month settled as `carehex settle --month` would (open
	// statements, not closed), its figures in the report and the summary.
	sres, err := settleBuild(ctx, st.Store, cfg.Evidence.Fraud, carehex.MonthOf(scfg.Date, settleZone), false, nil)
	if err != nil {
		return nil, fmt.Errorf("settle the simulated month: %w", err)
	}
	f := sres.Figures
	res.Settlement = &f
	return res, nil
}

// simulateRemote drives a running server at real time with the given
// operator account. The system of record is scanned at the end only when
// CAREHEX_DATABASE_URL (or --data, for SQLite) names the server's database.
func simulateRemote(ctx context.Context, cfg *Config, scfg sim.Config, addr, username, password string, d time.Duration,
	dataSet bool, getenv func(string) string, stderr io.Writer) (*sim.Result, error) {
	if !strings.HasPrefix(addr, "http://") && !strings.HasPrefix(addr, "https://") {
		return nil, fmt.Errorf("--addr %q must be a URL such as http://127.0.0.1:8080", addr)
	}
	if password == "" {
		password = getenv("CAREHEX_SIM_PASSWORD")
	}
	if username == "" || password == "" {
		return nil, errors.New("--addr needs --username and --password (or CAREHEX_SIM_PASSWORD) of an operator account")
	}
	scfg.RealTime = d
	scfg.Step = time.Second
	scfg.Drain = min(scfg.Drain, d/4)
	log := newLogger(stderr, cfg.LogLevel)
	t := sim.Target{BaseURL: addr, HTTP: &http.Client{Timeout: time.Minute}, Username: username, Password: password, Log: log}
	if cfg.DatabaseURL != "" || dataSet {
		store, err := sqlstore.Open(ctx, cfg.dsn(), time.Now)
		if err != nil {
			return nil, fmt.Errorf("the server's database (CAREHEX_DATABASE_URL or --data, for the invariant scan): %w", err)
		}
		defer store.Close()
		t.Audit = store
	}
	return sim.Run(ctx, scfg, t)
}

// replayDay compares the matching policies on a recorded day.
func replayDay(file string, batch time.Duration, stdout io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("--replay: %v", err)
	}
	defer f.Close()
	day, err := matching.Read(f)
	if err != nil {
		return fmt.Errorf("--replay %s: %v", file, err)
	}
	if batch < time.Second || batch > time.Hour {
		return fmt.Errorf("--batch must be from 1s to 1h, got %s", batch)
	}
	c, err := matching.Compare(day, batch)
	if err != nil {
		return err
	}
	c.Print(stdout)
	return c.PrintJSON(stdout)
}

func parseWindow(s string) (time.Duration, time.Duration, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, errors.New("no '-'")
	}
	hm := func(v string) (time.Duration, error) {
		h, m, ok := strings.Cut(strings.TrimSpace(v), ":")
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh == 24 && mm != 0 {
			return 0, fmt.Errorf("%q is not a time of day", v)
		}
		return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
	}
	s0, err := hm(a)
	if err != nil {
		return 0, 0, err
	}
	e0, err := hm(b)
	if err != nil {
		return 0, 0, err
	}
	if e0 <= s0 {
		return 0, 0, errors.New("the end must be after the start")
	}
	return s0, e0, nil
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func randomPassword() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
