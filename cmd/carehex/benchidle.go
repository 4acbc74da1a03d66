package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/demo"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// idleService is what the burst asks for: a service whose skill every bench
// provider is given (the load bench's first).
var idleService = loadServiceCodes[0]

// idleResult is bench idle's JSON line. The first seven keys are the ones
// issue 14 names; the rest say how the figures were got.
type idleResult struct {
	Bench          string  `json:"bench"`
	Phones         int     `json:"phones"`
	DurationS      float64 `json:"duration_s"`
	ServerCPUCores float64 `json:"server_cpu_cores"` // server process CPU seconds per second of the idle window, from its /metrics
	ServerRSSMB    float64 `json:"server_rss_mb"`    // server resident memory at the end of the idle window
	WakeupP50ms    float64 `json:"wakeup_p50_ms"`
	WakeupP99ms    float64 `json:"wakeup_p99_ms"`
	WakeupMaxms    float64 `json:"wakeup_max_ms"`
	Requests       int     `json:"requests"`    // requests the burst created (one per phone asked)
	Offered        int     `json:"offered"`     // phones that held an offer by the end
	NotOffered     int     `json:"not_offered"` // phones that never did
	LongPolls      int     `json:"long_polls"`  // phones long-polling ?wait=55
	Streams        int     `json:"streams"`     // phones on the SSE stream
	IdleCalls      int64   `json:"idle_calls"`  // phone calls answered in the idle window (heartbeats, long polls ending)
	Errors         int     `json:"errors"`      // failed phone or console calls
	Server         string  `json:"server"`      // "child" (started here) or the --addr URL
	Transport      string  `json:"transport"`   // how the phones reach the server (--conns)
	LoadAvg        string  `json:"load_avg"`    // /proc/loadavg at the end: the machine's other work
	WakeupFrom     string  `json:"wakeup_from"` // what the wakeup is measured from
	Machine        string  `json:"machine"`
}

const idleWakeupFrom = "offer create_time (stamped by the store as the offer's transaction starts, just before it commits) to the phone reading the offer"

// benchIdle measures what phones cost a server when nothing happens, and how
// fast news then reaches them: N providers' phones online (heartbeat every
// 30 s, half long-polling offers, half on the offer stream) for the
// duration with no requests, the server's CPU and memory read from its own
// /metrics before and after; then one request next to each phone in a
// burst, and the time from each offer's creation to its phone holding it.
// A phone that has its offer goes off duty and declines it, so the request
// is offered to a phone that has had none: every phone is offered one.
//
// Without --addr the server is `carehex serve`, this binary, started as a
// child on a free loopback port with a fresh data directory and the
// embedded defaults (SQLite, in-process Redis), so its CPU and memory are
// the server's alone. With --addr the bench drives that server, logging in
// with --username/--password (an operator; env CAREHEX_BENCH_USERNAME,
// CAREHEX_BENCH_PASSWORD) and creating its providers and residents there.
func benchIdle(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench idle", flag.ContinueOnError)
	phones := fs.Int("phones", 2000, "provider phones online")
	duration := fs.Duration("duration", 30*time.Second, "how long the phones are online with nothing happening")
	addr := fs.String("addr", "", "URL of a running carehex (http://host:port); empty: start `carehex serve` as a child")
	username := fs.String("username", getenv("CAREHEX_BENCH_USERNAME"), "operator account on --addr's server (env CAREHEX_BENCH_USERNAME)")
	password := fs.String("password", getenv("CAREHEX_BENCH_PASSWORD"), "its password (env CAREHEX_BENCH_PASSWORD)")
	metricsURL := fs.String("metrics-url", "http://127.0.0.1:9090", "with --addr: the server's metrics listener (its --metrics-addr), where its CPU and memory are read")
	offerWait := fs.Duration("offer-wait", 60*time.Second, "after the burst, how long to wait for every phone to hold its offer")
	conns := fs.Int("conns", 0, "carry the phones as HTTP/2 streams (h2c) over this many connections, as a load balancer does; "+
		"0: one HTTP/1.1 connection per phone when the open-file limit allows it, else h2c over one connection per 250 phones")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the server during the idle window to this file (from its /debug/pprof on the metrics listener)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch {
	case *phones < 2 || *phones > 50_000:
		return fmt.Errorf("--phones must be 2…50000, got %d", *phones)
	case *duration < time.Second || *duration > 24*time.Hour:
		return fmt.Errorf("--duration must be 1s…24h, got %s", *duration)
	case *offerWait < time.Second || *offerWait > time.Hour:
		return fmt.Errorf("--offer-wait must be 1s…1h, got %s", *offerWait)
	case *conns < 0 || *conns > *phones:
		return fmt.Errorf("--conns must be 0…%d (the phones), got %d", *phones, *conns)
	}
	if *addr != "" {
		u, err := url.Parse(*addr)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--addr %q must be a URL like http://127.0.0.1:8080", *addr)
		}
		if *username == "" || *password == "" {
			return errors.New("--addr needs an operator account on that server: --username and --password (or CAREHEX_BENCH_USERNAME, CAREHEX_BENCH_PASSWORD)")
		}
		*addr = strings.TrimRight(*addr, "/")
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "idle: "+format+"\n", a...) }

	b := &idleBench{phones: *phones, progress: progress, cpuProfile: *cpuProfile}
	// The operator's calls: one HTTP/1.1 transport.
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 2 * time.Minute, DisableCompression: true}
	defer tr.CloseIdleConnections()
	b.hc = &http.Client{Transport: tr}
	// The phones': one HTTP/1.1 connection each (a descriptor here and one
	// in the server) while the open-file limit allows it; otherwise, or
	// when asked, HTTP/2 streams over a few connections, as phones reach
	// the replicas through a load balancer.
	limit := openFileLimit()
	if *conns == 0 && uint64(*phones)+1024 > limit {
		*conns = (*phones + 249) / 250
	}
	if *conns == 0 {
		ptr := &http.Transport{MaxIdleConnsPerHost: *phones + 256, IdleConnTimeout: 2 * time.Minute, DisableCompression: true}
		defer ptr.CloseIdleConnections()
		b.phoneClients = []*http.Client{{Transport: ptr}}
		b.transport = "http/1.1, one connection per phone"
	} else {
		for range *conns {
			ptr := &http.Transport{IdleConnTimeout: 2 * time.Minute, DisableCompression: true, Protocols: new(http.Protocols)}
			ptr.Protocols.SetUnencryptedHTTP2(true)
			defer ptr.CloseIdleConnections()
			b.phoneClients = append(b.phoneClients, &http.Client{Transport: ptr})
		}
		b.transport = fmt.Sprintf("h2c, %d connections", *conns)
	}

	server := *addr
	if *addr == "" {
		child, err := startChildServer(ctx, progress)
		if err != nil {
			return err
		}
		defer child.stop()
		b.base, b.metrics, *username, *password = child.url, child.metrics, child.username, child.password
		server = "child"
	} else {
		b.base, b.metrics = *addr, strings.TrimRight(*metricsURL, "/")
	}
	res, err := b.run(ctx, *username, *password, *duration, *offerWait)
	if err != nil {
		return err
	}
	res.Server, res.Machine, res.Transport = server, machine(), b.transport
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.LoadAvg = strings.Join(strings.Fields(string(la))[:3], " ")
	}
	fmt.Fprintf(stdout, "carehex bench idle: %d phones (%d long poll, %d stream; %s) idle for %s against %s\n",
		res.Phones, res.LongPolls, res.Streams, res.Transport, *duration, server)
	fmt.Fprintf(stdout, "  server CPU %.3f cores, RSS %.0f MB; %d phone calls in the idle window; load average %s\n",
		res.ServerCPUCores, res.ServerRSSMB, res.IdleCalls, res.LoadAvg)
	fmt.Fprintf(stdout, "  burst: %d requests created, %d of %d phones offered; wakeup p50 %.1f ms, p99 %.1f ms, max %.1f ms (%s); %d errors\n",
		res.Requests, res.Offered, res.Phones, res.WakeupP50ms, res.WakeupP99ms, res.WakeupMaxms, res.WakeupFrom, res.Errors)
	line, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(line))
	return nil
}

// raiseFileLimit lifts the soft limit on open files towards want (as far as
// the hard limit allows) and says when that is not enough.
func raiseFileLimit(want uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the open-file limit: %w", err)
	}
	if lim.Cur >= want {
		return nil
	}
	if lim.Max < want {
		// Raising the hard limit needs privilege; try, and settle for it.
		try := lim
		try.Cur, try.Max = want, want
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &try) == nil {
			return nil
		}
	}
	lim.Cur = min(want, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise the open-file limit: %w", err)
	}
	if lim.Cur < want {
		return fmt.Errorf("open-file limit %d is below the %d these phones need (raise the hard limit: ulimit -Hn); expect connection errors", lim.Cur, want)
	}
	return nil
}

// openFileLimit raises the soft limit on open files to the hard one and
// returns it: serve and bench idle call it at start, since every phone's
// connection is a descriptor. (Go's runtime raises its own, but restores
// the old soft limit for the processes it starts.)
func openFileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 1024
	}
	_ = raiseFileLimit(lim.Max)
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

// childServer is `carehex serve` started by the bench.
type childServer struct {
	cmd                     *exec.Cmd
	url, username, password string
	metrics                 string // base URL of its metrics listener
	dir, logPath            string
	exited                  chan struct{}
}

// startChildServer runs this binary's `user add` and `serve` on a fresh data
// directory with the embedded defaults: none of the caller's CAREHEX_*
// settings reach it, so it is the single-binary server as `make run` makes it.
func startChildServer(ctx context.Context, progress func(string, ...any)) (*childServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary to start the server: %w", err)
	}
	dir, err := os.MkdirTemp("", "carehex-idle-")
	if err != nil {
		return nil, err
	}
	c := &childServer{dir: dir, logPath: filepath.Join(dir, "serve.log"), username: "idle-operator",
		password: "idle-" + randomSuffix() + randomSuffix(), exited: make(chan struct{})}
	env := []string{"CAREHEX_LOG_LEVEL=warn"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAREHEX_") {
			env = append(env, kv)
		}
	}
	add := exec.CommandContext(ctx, exe, "user", "add", "--data", dir, "--username", c.username,
		"--role", "operator", "--password-stdin")
	add.Env, add.Stdin = env, strings.NewReader(c.password+"\n")
	if out, err := add.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("carehex user add for the bench server: %v\n%s", err, out)
	}
	logf, err := os.Create(c.logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.cmd = exec.Command(exe, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	c.cmd.Env, c.cmd.Stderr = env, logf
	stdout, err := c.cmd.StdoutPipe()
	if err == nil {
		err = c.cmd.Start()
	}
	if err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start carehex serve: %w", err)
	}
	listening := make(chan string, 1)
	metrics := make(chan string, 1)
	// Owned by the child: it ends when the child's stdout closes, which
	// stop waits for.
	go func() {
		defer close(c.exited)
		defer logf.Close()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "carehex metrics on "); ok {
				select {
				case metrics <- strings.TrimSuffix(u, "/metrics"):
				default:
				}
			}
			if u, ok := strings.CutPrefix(sc.Text(), "carehex listening on "); ok {
				select {
				case listening <- u:
				default:
				}
			}
			fmt.Fprintln(logf, sc.Text())
		}
		_ = c.cmd.Wait()
	}()
	select {
	case c.url = <-listening:
		// serve prints its metrics listener before the public one.
		select {
		case c.metrics = <-metrics:
		default:
			c.stop()
			return nil, fmt.Errorf("carehex serve did not say where its metrics listener is; its log: %s", c.logPath)
		}
	case <-c.exited:
		return nil, fmt.Errorf("carehex serve exited before listening; its log: %s", c.logPath)
	case <-time.After(60 * time.Second):
		c.stop()
		return nil, fmt.Errorf("carehex serve did not listen within 60s; its log: %s", c.logPath)
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
	progress("server pid %d at %s, data %s", c.cmd.Process.Pid, c.url, dir)
	if err := waitReady(ctx, c.url); err != nil {
		c.stop()
		return nil, fmt.Errorf("%w; its log: %s", err, c.logPath)
	}
	return c, nil
}

// waitReady asks /healthz until it answers 200: the child gives no other
// sign of being ready.
func waitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("the bench server's /healthz did not answer 200 within 60s")
		}
		pause(ctx, 100*time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// stop asks the child to shut down, kills it if it has not within 20 s,
// waits for it and removes its data.
func (c *childServer) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	os.RemoveAll(c.dir)
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// idleBench is one run against one server.
type idleBench struct {
	base     string
	metrics  string       // the server's metrics listener (/metrics is not on the public address)
	hc       *http.Client // the operator's calls
	phones   int
	progress func(string, ...any)
	// phoneClients carry the phones' calls, phone i on i % len.
	phoneClients []*http.Client
	transport    string // says which, for the result
	cpuProfile   string // --cpuprofile
	opCtx        func(context.Context) context.Context

	calls  atomic.Int64
	errs   atomic.Int64
	errMu  sync.Mutex
	errOne map[string]bool
}

// phoneClient is the client that carries ph's calls.
func (b *idleBench) phoneClient(ph *idlePhone) *http.Client {
	return b.phoneClients[ph.n%len(b.phoneClients)]
}

// profile fetches a CPU profile of the server over the idle window from
// its metrics listener and writes it to --cpuprofile.
func (b *idleBench) profile(ctx context.Context, idle time.Duration) error {
	secs := max(int(idle.Seconds()), 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", b.metrics, secs), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: idle + time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("--cpuprofile: the server's /debug/pprof/profile answered HTTP %d", resp.StatusCode)
	}
	f, err := os.Create(b.cpuProfile)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	return f.Close()
}

// idlePhone is one provider's phone and what it saw.
type idlePhone struct {
	n                 int // its place among the phones
	providerID, token string
	at                carehex.LatLng
	stream            bool
	done              atomic.Bool // holds its offer: reports itself unavailable from now on
	// Written by the phone's goroutine, read after it ended.
	offerID string
	seenAt  time.Time
}

func (b *idleBench) fail(what string, err error) {
	b.errs.Add(1)
	b.errMu.Lock()
	defer b.errMu.Unlock()
	if b.errOne == nil {
		b.errOne = map[string]bool{}
	}
	if !b.errOne[what] {
		b.errOne[what] = true
		b.progress("first %s error: %.300v", what, err)
	}
}

func (b *idleBench) run(ctx context.Context, username, password string, idle, offerWait time.Duration) (*idleResult, error) {
	login, err := pb.NewAuthServiceJSONClient(b.base, b.hc).Login(ctx, &pb.LoginRequest{Username: username, Password: password})
	if err != nil {
		return nil, fmt.Errorf("log in as %s: %w", username, err)
	}
	b.opCtx = func(ctx context.Context) context.Context {
		h := http.Header{}
		h.Set("Authorization", "Bearer "+login.Token)
		ctx, _ = twirp.WithHTTPRequestHeaders(ctx, h)
		return ctx
	}
	types, err := pb.NewCatalogServiceJSONClient(b.base, b.hc).ListServiceTypes(b.opCtx(ctx), &pb.ListServiceTypesRequest{})
	if err != nil {
		return nil, fmt.Errorf("list service types: %w", err)
	}
	skill := ""
	for _, t := range types.ServiceTypes {
		if t.Code == idleService {
			skill = t.RequiredSkill
		}
	}
	if skill == "" {
		return nil, fmt.Errorf("service %s is not in the server's catalogue", idleService)
	}

	b.progress("creating %d providers with device tokens and %d residents, one beside each…", b.phones, b.phones)
	phones, residents, err := b.seed(ctx, skill)
	if err != nil {
		return nil, err
	}

	// The phones go online: heartbeats every 30 s for all, then half
	// long-poll and half stream until stopped.
	phoneCtx, stopPhones := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopPhones(); wg.Wait() }()
	if err := b.heartbeatAll(ctx, phones); err != nil {
		return nil, err
	}
	wg.Add(1)
	go func() { defer wg.Done(); b.heartbeats(phoneCtx, phones) }()
	var (
		connected = make(chan struct{}, len(phones))
		offered   atomic.Int64
		allIn     = make(chan struct{})
		allOnce   sync.Once
	)
	gotOffer := func() {
		if offered.Add(1) == int64(len(phones)) {
			allOnce.Do(func() { close(allIn) })
		}
	}
	for _, ph := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ph.stream {
				b.streamPhone(phoneCtx, ph, connected, gotOffer)
			} else {
				b.pollPhone(phoneCtx, ph, connected, gotOffer)
			}
		}()
	}
	// The window starts once every phone has its first call in.
	for range phones {
		select {
		case <-connected:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	b.progress("%d phones online; idle for %s", len(phones), idle)
	cpu0, _, err := b.serverMetrics(ctx)
	if err != nil {
		return nil, err
	}
	calls0, t0 := b.calls.Load(), time.Now()
	profiled := make(chan error, 1)
	if b.cpuProfile != "" {
		go func() { profiled <- b.profile(ctx, idle) }()
	}
	pause(ctx, idle)
	cpu1, rss, err := b.serverMetrics(ctx)
	if err != nil {
		return nil, err
	}
	window := time.Since(t0)
	if b.cpuProfile != "" {
		if err := <-profiled; err != nil {
			return nil, err
		}
		b.progress("server CPU profile of the idle window in %s", b.cpuProfile)
	}
	res := &idleResult{Bench: "idle", Phones: len(phones), DurationS: idle.Seconds(),
		ServerCPUCores: math.Round((cpu1-cpu0)/window.Seconds()*1000) / 1000, ServerRSSMB: math.Round(rss / (1 << 20)),
		IdleCalls: b.calls.Load() - calls0, WakeupFrom: idleWakeupFrom}
	for _, ph := range phones {
		if ph.stream {
			res.Streams++
		} else {
			res.LongPolls++
		}
	}

	b.progress("burst: one request beside each of %d phones", len(phones))
	requestIDs := b.burst(ctx, residents)
	select {
	case <-allIn:
	case <-time.After(offerWait):
		b.progress("%d of %d phones hold an offer after %s; going on", offered.Load(), len(phones), offerWait)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	stopPhones()
	wg.Wait()

	res.Requests = len(requestIDs)
	created, err := b.offerTimes(ctx, requestIDs)
	if err != nil {
		return nil, err
	}
	var wake []float64
	for _, ph := range phones {
		if ph.offerID == "" {
			res.NotOffered++
			continue
		}
		res.Offered++
		if at, ok := created[ph.offerID]; ok {
			wake = append(wake, float64(ph.seenAt.Sub(at))/float64(time.Millisecond))
		}
	}
	slices.Sort(wake)
	res.WakeupP50ms, res.WakeupP99ms, res.WakeupMaxms = pctRound(wake, 50), pctRound(wake, 99), pctRound(wake, 100)
	res.Errors = int(b.errs.Load())
	return res, nil
}

// pctRound is the p-th percentile (nearest rank) of sorted xs, to 0.1.
func pctRound(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	k := min(max(int(math.Ceil(p/100*float64(len(xs))))-1, 0), len(xs)-1)
	return math.Round(xs[k]*10) / 10
}

// parallel runs fn(i) for i in [0, n) on workers goroutines and returns the
// first error.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	work := make(chan int)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	return cmpOr(first, ctx.Err())
}

// seed creates the providers on a grid 40 m apart around Zibo, each with
// the burst's skill and a device token, and a resident at each provider's
// home, through the Twirp API as an operator would.
func (b *idleBench) seed(ctx context.Context, skill string) ([]*idlePhone, []string, error) {
	ps := demo.SeedProviders(1, b.phones, []string{skill})
	rs := demo.SeedResidents(1, b.phones)
	side := int(math.Ceil(math.Sqrt(float64(b.phones))))
	const spacingM, lat0, lng0 = 40.0, 36.80, 118.05
	dLat := spacingM / 111_320
	dLng := spacingM / (111_320 * math.Cos(lat0*math.Pi/180))
	run := "i" + randomSuffix()[:4] // one bench run's names apart from another's on a shared server
	phones := make([]*idlePhone, b.phones)
	residents := make([]string, b.phones)
	provs := pb.NewProviderServiceJSONClient(b.base, b.hc)
	ress := pb.NewResidentServiceJSONClient(b.base, b.hc)
	err := parallel(ctx, b.phones, 8, func(ctx context.Context, i int) error {
		at := &pb.LatLng{Lat: lat0 + float64(i/side-side/2)*dLat, Lng: lng0 + float64(i%side-side/2)*dLng}
		p := ps[i]
		var (
			cp  *pb.CreateProviderResponse
			tok *pb.IssueDeviceTokenResponse
			cr  *pb.CreateResidentResponse
		)
		err := retryBusy(ctx, func() (err error) {
			cp, err = provs.CreateProvider(b.opCtx(ctx), &pb.CreateProviderRequest{Name: p.Name, Phone: p.Phone,
				Skills: []string{skill}, Location: at})
			return err
		})
		if err != nil {
			return fmt.Errorf("create provider %d: %w", i, err)
		}
		err = retryBusy(ctx, func() (err error) {
			tok, err = provs.IssueDeviceToken(b.opCtx(ctx), &pb.IssueDeviceTokenRequest{ProviderId: cp.Provider.Id})
			return err
		})
		if err != nil {
			return fmt.Errorf("device token of %s: %w", cp.Provider.Id, err)
		}
		r := rs[i]
		err = retryBusy(ctx, func() (err error) {
			cr, err = ress.CreateResident(b.opCtx(ctx), &pb.CreateResidentRequest{Name: r.Name, Phone: r.Phone,
				Address: r.Address + " " + run, Location: at})
			return err
		})
		if err != nil {
			return fmt.Errorf("create resident %d: %w", i, err)
		}
		phones[i] = &idlePhone{n: i, providerID: cp.Provider.Id, token: tok.Token, at: carehex.LatLng{Lat: at.Lat, Lng: at.Lng},
			stream: i%2 == 1}
		residents[i] = cr.Resident.Id
		return nil
	})
	return phones, residents, err
}

// retryBusy calls fn until it does not fail with Twirp's unavailable (the
// server's "database is busy, retry": a failed call committed nothing), up
// to 20 times with a growing pause: seeding 20,000 providers on a busy
// machine meets SQLite's writer queue.
func retryBusy(ctx context.Context, fn func() error) error {
	var err error
	for try := range 20 {
		var te twirp.Error
		if err = fn(); err == nil || !errors.As(err, &te) || te.Code() != twirp.Unavailable {
			return err
		}
		pause(ctx, time.Duration(try+1)*100*time.Millisecond)
	}
	return err
}

// mobile calls the mobile API as a phone and decodes a 2xx JSON answer.
func (b *idleBench) mobile(ctx context.Context, ph *idlePhone, method, path string, body, out any) error {
	var rd io.Reader = http.NoBody
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = strings.NewReader(string(buf))
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+ph.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.phoneClient(ph).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	b.calls.Add(1)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %.200s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func (b *idleBench) heartbeat(ctx context.Context, ph *idlePhone) error {
	return b.mobile(ctx, ph, http.MethodPost, "/m/v1/heartbeat",
		map[string]any{"lat": ph.at.Lat, "lng": ph.at.Lng, "accuracy_m": 10, "available": !ph.done.Load()}, nil)
}

// answer is what a phone does with its one offer: the provider goes off
// duty and declines, so the request goes back to be offered to a phone
// that has had none (held offers would tie up requests until they expire),
// and every phone is offered exactly one.
func (b *idleBench) answer(ctx context.Context, ph *idlePhone, offerID string) {
	ph.done.Store(true)
	if err := b.heartbeat(ctx, ph); err != nil && ctx.Err() == nil {
		b.fail("heartbeat off duty", err)
	}
	if err := b.mobile(ctx, ph, http.MethodPost, "/m/v1/offers/"+offerID+"/decline",
		map[string]any{"reason": "bench idle: one offer per phone"}, nil); err != nil && ctx.Err() == nil {
		b.fail("decline", err)
	}
}

func (b *idleBench) heartbeatAll(ctx context.Context, phones []*idlePhone) error {
	return parallel(ctx, len(phones), 16, func(ctx context.Context, i int) error {
		if err := b.heartbeat(ctx, phones[i]); err != nil {
			return fmt.Errorf("heartbeat of %s: %w", phones[i].providerID, err)
		}
		return nil
	})
}

// heartbeats sends every phone's heartbeat once per 30 s (the app's
// period), spread over the period as real phones' would be.
func (b *idleBench) heartbeats(ctx context.Context, phones []*idlePhone) {
	gap := 30 * time.Second / time.Duration(len(phones))
	tick := time.NewTicker(gap)
	defer tick.Stop()
	for i := 0; ; i = (i + 1) % len(phones) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := b.heartbeat(ctx, phones[i]); err != nil && ctx.Err() == nil {
			b.fail("heartbeat", err)
		}
	}
}

type idleOffer struct {
	ID        string `json:"id"`
	RequestID string `json:"request_id"`
}

// pollPhone long-polls its offers until it holds one, then stays quiet.
func (b *idleBench) pollPhone(ctx context.Context, ph *idlePhone, connected chan<- struct{}, gotOffer func()) {
	first := true
	for ctx.Err() == nil {
		if first {
			// The call is on its way; the server has it in a moment.
			connected <- struct{}{}
			first = false
		}
		var got struct {
			Offers []idleOffer `json:"offers"`
		}
		err := b.mobile(ctx, ph, http.MethodGet, "/m/v1/offers?wait=55", nil, &got)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			b.fail("long poll", err)
			pause(ctx, time.Second)
			continue
		}
		if len(got.Offers) > 0 {
			ph.offerID, ph.seenAt = got.Offers[0].ID, time.Now()
			gotOffer()
			b.answer(ctx, ph, ph.offerID)
			<-ctx.Done()
			return
		}
	}
}

// streamPhone reads its offer stream until it holds an offer, then keeps the
// stream open without reading more, as an idle app would.
func (b *idleBench) streamPhone(ctx context.Context, ph *idlePhone, connected chan<- struct{}, gotOffer func()) {
	first := true
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/m/v1/offers/stream", nil)
		if err != nil {
			b.fail("stream", err)
			return
		}
		req.Header.Set("Authorization", "Bearer "+ph.token)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := b.phoneClient(ph).Do(req)
		if err != nil {
			if ctx.Err() == nil {
				b.fail("stream", err)
				pause(ctx, time.Second)
			}
			continue
		}
		b.calls.Add(1)
		if first {
			connected <- struct{}{}
			first = false
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			b.fail("stream", fmt.Errorf("HTTP %d", resp.StatusCode))
			pause(ctx, time.Second)
			continue
		}
		offer := readOfferEvent(resp.Body)
		if offer != "" {
			ph.offerID, ph.seenAt = offer, time.Now()
			gotOffer()
			b.answer(ctx, ph, offer)
			<-ctx.Done()
			resp.Body.Close()
			return
		}
		resp.Body.Close() // the stream ended (its lifetime, or the server); reconnect
	}
}

// readOfferEvent reads SSE events until the first "offer" and returns its
// ID; "" when the stream ends first.
func readOfferEvent(r io.Reader) string {
	sc := bufio.NewScanner(r)
	event, data := "", ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "offer" {
				var o idleOffer
				if json.Unmarshal([]byte(data), &o) == nil && o.ID != "" {
					return o.ID
				}
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
	return ""
}

// burst logs one request for each resident as fast as the server takes
// them and returns the IDs of those created.
func (b *idleBench) burst(ctx context.Context, residents []string) []string {
	intake := pb.NewIntakeServiceJSONClient(b.base, b.hc)
	ids := make([]string, len(residents))
	run := randomSuffix()
	_ = parallel(ctx, len(residents), 32, func(ctx context.Context, i int) error {
		out, err := intake.CreateServiceRequest(b.opCtx(ctx), &pb.CreateServiceRequestRequest{ResidentId: residents[i],
			ServiceCode: idleService, Urgency: pb.Urgency_URGENCY_SOON, IdempotencyKey: "idle-" + run + "-" + strconv.Itoa(i)})
		if err != nil {
			b.fail("create request", err)
			return nil
		}
		ids[i] = out.Request.Id
		return nil
	})
	return slices.DeleteFunc(ids, func(s string) bool { return s == "" })
}

// offerTimes reads every request's offers back and returns when each was
// created, by offer ID.
func (b *idleBench) offerTimes(ctx context.Context, requestIDs []string) (map[string]time.Time, error) {
	client := pb.NewDispatchServiceJSONClient(b.base, b.hc)
	var mu sync.Mutex
	out := make(map[string]time.Time, len(requestIDs))
	err := parallel(ctx, len(requestIDs), 8, func(ctx context.Context, i int) error {
		var got *pb.ListRequestOffersResponse
		var err error
		// A connection the server dropped while the phones hung up is
		// no reason to lose the run: try again.
		for try := 0; try < 3; try++ {
			if got, err = client.ListRequestOffers(b.opCtx(ctx), &pb.ListRequestOffersRequest{RequestId: requestIDs[i]}); err == nil {
				break
			}
			pause(ctx, 200*time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("offers of %s: %w", requestIDs[i], err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, o := range got.Offers {
			out[o.Id] = o.CreateTime.AsTime()
		}
		return nil
	})
	return out, err
}

// serverMetrics reads the server's own CPU seconds and resident memory.
func (b *idleBench) serverMetrics(ctx context.Context) (cpuSeconds, rssBytes float64, err error) {
	return processMetrics(ctx, b.hc, b.metrics)
}

// processMetrics reads a server's own CPU seconds and resident memory from
// its Prometheus endpoint.
func processMetrics(ctx context.Context, hc *http.Client, base string) (cpuSeconds, rssBytes float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("read the server's /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("read the server's /metrics: HTTP %d", resp.StatusCode)
	}
	return parseProcessMetrics(resp.Body)
}

// parseProcessMetrics finds process_cpu_seconds_total and
// process_resident_memory_bytes in a Prometheus text exposition.
func parseProcessMetrics(r io.Reader) (cpuSeconds, rssBytes float64, err error) {
	found := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case "process_cpu_seconds_total":
			dst = &cpuSeconds
		case "process_resident_memory_bytes":
			dst = &rssBytes
		default:
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/metrics: %s %q: %w", name, value, err)
		}
		*dst = v
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if found < 2 {
		return 0, 0, errors.New("/metrics has no process_cpu_seconds_total or process_resident_memory_bytes (not a carehex server on Linux?)")
	}
	return cpuSeconds, rssBytes, nil
}
