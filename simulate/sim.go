package simulate

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/internal/stats"
	"github.com/carehex/carehex/matching"
	"github.com/carehex/carehex/mobile-api/mobileclient"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// Config is the day to simulate.
type Config struct {
	Seed      uint64
	Residents int
	Providers int
	Requests  int           // calls over the window
	District  string        // keep only this district's people (e.g. "张店区"); empty for the whole city
	Date      time.Time     // local midnight of the simulated day
	Start     time.Duration // the window of the day that is played, after midnight
	End       time.Duration
	Drain     time.Duration // played after End with no new calls, so visits finish
	Step      time.Duration // simulated time per step
	// RealTime, when positive, plays the window at wall-clock time against
	// a server whose clock cannot be moved: the day's calls and shifts are
	// compressed into RealTime; travel, answers and visits keep real
	// durations, so most visits do not finish inside it.
	RealTime time.Duration
	Progress io.Writer // a line per simulated hour; nil for none
}

// Target is the server the day is played against.
type Target struct {
	BaseURL            string
	HTTP               *http.Client
	Username, Password string // an operator (or admin) account
	// SetClock moves the server's clock and Tick runs its background work
	// once (dispatch pass, overdue-visit watch, notification relay): both
	// are set for an in-process server on a simulated clock, both nil for
	// a server running at real time.
	SetClock func(time.Time)
	Tick     func(ctx context.Context) error
	// ImportResidents saves residents in bulk and sets their IDs; nil
	// creates only the residents who call, over Twirp.
	ImportResidents func(ctx context.Context, rs []*carehex.Resident) error
	// Audit, when set, is the system of record read by the invariant scan
	// at the end; nil skips the scan (the figures are then -1).
	Audit Auditor
	Log   *slog.Logger
}

// Auditor is what the invariant scan reads; *sqlstore.DB implements it.
type Auditor = carehex.InvariantScanner

// Operator habits: how long an operator lets an alerted request wait
// before marking it unfilled (and calling a partner agency), and how often
// the alert queue is looked at.
const (
	giveUpSoon      = 45 * time.Minute
	giveUpEmergency = 20 * time.Minute
	alertEvery      = 5 * time.Minute
	heartbeatEvery  = 100 * time.Second // the server drops providers silent for 2 minutes
)

// reqRun is one request as the simulator saw it.
type reqRun struct {
	call     *Call
	id       string
	district string
	created  time.Time
	accepted time.Time
	arrived  time.Time
	km       float64
	provider string
	offers   int
	unfilled bool
}

type phone struct {
	sp      *SimProvider
	id      string
	api     *mobileclient.Client // with the worker's device token
	rng     *rand.Rand
	pos     carehex.LatLng
	visit   *visitRun
	avail   bool // what the last heartbeat said
	lastHB  time.Time
	seen    map[string]bool
	visits  int
	started bool
	leaves  []time.Time // when the worker sets off for today's planned visits (planned.go)
}

type visitRun struct {
	id       string
	req      *reqRun
	home     carehex.LatLng
	from     carehex.LatLng
	departAt time.Time
	arriveAt time.Time
	dur      time.Duration
	planned  *plannedRun // a planned visit (planned.go); nil for a call's
}

// action is something a phone or operator does at a time.
type action struct {
	at  time.Time
	seq int
	fn  func(ctx context.Context)
}

type actions []*action

func (a actions) Len() int { return len(a) }
func (a actions) Less(i, j int) bool {
	if !a[i].at.Equal(a[j].at) {
		return a[i].at.Before(a[j].at)
	}
	return a[i].seq < a[j].seq
}
func (a actions) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *actions) Push(x any)   { *a = append(*a, x.(*action)) }
func (a *actions) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}

type driver struct {
	cfg   Config
	t     Target
	log   *slog.Logger
	world *World
	types map[string]*carehex.ServiceType

	auth     pb.AuthService
	intake   pb.IntakeService
	dispatch pb.DispatchService
	provs    pb.ProviderService
	resid    pb.ResidentService
	catalog  pb.CatalogService
	token    *bearer
	loginAt  time.Time

	now      time.Time
	wall0    time.Time
	queue    actions
	seq      int
	phones   []*phone
	byID     map[string]*phone
	reqs     map[string]*reqRun
	order    []*reqRun
	resID    map[int]string
	offered  map[string]time.Time // request → update_time when its offers were last read
	alerts   map[string]*pb.Alert
	res      *Result
	lastAlrt time.Time
	planned  *plannedDay // planned.go
}

// bearer adds the operator's token to every Twirp call.
type bearer struct {
	c     *http.Client
	mu    sync.Mutex
	token string
}

func (b *bearer) set(t string) { b.mu.Lock(); b.token = t; b.mu.Unlock() }
func (b *bearer) Do(r *http.Request) (*http.Response, error) {
	b.mu.Lock()
	t := b.token
	b.mu.Unlock()
	if t != "" {
		r.Header.Set("Authorization", "Bearer "+t)
	}
	return b.c.Do(r)
}

// Run plays the day against the target and returns what happened.
func Run(ctx context.Context, cfg Config, t Target) (*Result, error) {
	if t.HTTP == nil {
		t.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if t.Log == nil {
		t.Log = slog.New(slog.DiscardHandler)
	}
	if (t.SetClock == nil) != (t.Tick == nil) {
		return nil, errors.New("simulate: SetClock and Tick go together")
	}
	if t.SetClock == nil && cfg.RealTime <= 0 {
		return nil, errors.New("simulate: a server at real time needs Config.RealTime")
	}
	if cfg.Step <= 0 || cfg.End <= cfg.Start {
		return nil, errors.New("simulate: Step must be positive and End after Start")
	}
	types, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	d := &driver{cfg: cfg, t: t, log: t.Log, types: map[string]*carehex.ServiceType{},
		byID: map[string]*phone{}, reqs: map[string]*reqRun{}, resID: map[int]string{},
		offered: map[string]time.Time{}, alerts: map[string]*pb.Alert{}}
	for _, svc := range types {
		d.types[svc.Code] = svc
	}
	d.token = &bearer{c: t.HTTP}
	base := strings.TrimRight(t.BaseURL, "/")
	d.auth = pb.NewAuthServiceProtobufClient(base, t.HTTP)
	d.intake = pb.NewIntakeServiceProtobufClient(base, d.token)
	d.dispatch = pb.NewDispatchServiceProtobufClient(base, d.token)
	d.provs = pb.NewProviderServiceProtobufClient(base, d.token)
	d.resid = pb.NewResidentServiceProtobufClient(base, d.token)
	d.catalog = pb.NewCatalogServiceProtobufClient(base, d.token)
	d.world = Generate(cfg.Seed, cfg.Date, cfg.District, cfg.Residents, cfg.Providers, cfg.Requests, cfg.Start, cfg.End, types)
	d.res = newResult(cfg, d.world)

	d.setNow(cfg.Date.Add(cfg.Start))
	if err := d.login(ctx); err != nil {
		return nil, err
	}
	if err := d.checkCatalog(ctx); err != nil {
		return nil, err
	}
	if err := d.setup(ctx); err != nil {
		return nil, err
	}
	if err := d.setupPlanned(ctx); err != nil {
		return nil, err
	}
	if err := d.play(ctx); err != nil {
		return nil, err
	}
	if err := d.finish(ctx); err != nil {
		return nil, err
	}
	return d.res, nil
}

func (d *driver) simulated() bool { return d.t.SetClock != nil }

// clockNow is the server's time now.
func (d *driver) clockNow() time.Time {
	if d.simulated() {
		return d.now
	}
	return time.Now()
}

// setNow moves the simulated clock (and the server's) to t.
func (d *driver) setNow(t time.Time) {
	d.now = t
	if d.simulated() {
		d.t.SetClock(t)
	}
}

// dayTime is where in the simulated day the run is, as seconds after
// midnight: the clock itself when simulated, the compressed wall clock
// otherwise.
func (d *driver) dayTime() float64 {
	if d.simulated() {
		return d.now.Sub(d.cfg.Date).Seconds()
	}
	frac := float64(d.now.Sub(d.wall0)) / float64(d.cfg.RealTime)
	return (d.cfg.Start + time.Duration(frac*float64(d.cfg.End-d.cfg.Start))).Seconds()
}

func (d *driver) login(ctx context.Context) error {
	out, err := d.auth.Login(ctx, &pb.LoginRequest{Username: d.t.Username, Password: d.t.Password})
	if err != nil {
		return fmt.Errorf("log in as %q: %w", d.t.Username, err)
	}
	d.token.set(out.Token)
	d.loginAt = d.now
	return nil
}

// checkCatalog makes sure the server knows every service the day asks for.
func (d *driver) checkCatalog(ctx context.Context) error {
	out, err := d.catalog.ListServiceTypes(ctx, &pb.ListServiceTypesRequest{})
	if err != nil {
		return fmt.Errorf("list service types: %w", err)
	}
	known := map[string]bool{}
	for _, svc := range out.ServiceTypes {
		known[svc.Code] = true
	}
	for _, c := range d.world.Calls {
		if !known[c.Service.Code] {
			return fmt.Errorf("the server's catalogue has no service %s", c.Service.Code)
		}
	}
	return nil
}

// setup registers the city's people with the server and gives each care
// worker's phone its token.
func (d *driver) setup(ctx context.Context) error {
	w := d.world
	if d.t.ImportResidents != nil {
		for start := 0; start < len(w.Residents); start += 10000 {
			batch := w.Residents[start:min(start+10000, len(w.Residents))]
			if err := d.t.ImportResidents(ctx, batch); err != nil {
				return fmt.Errorf("import residents: %w", err)
			}
		}
		for i, r := range w.Residents {
			d.resID[i] = r.ID
		}
	} else {
		for _, c := range w.Calls {
			if _, ok := d.resID[c.Resident]; ok {
				continue
			}
			r := w.Residents[c.Resident]
			out, err := d.resid.CreateResident(ctx, &pb.CreateResidentRequest{Name: r.Name, Phone: r.Phone,
				Address: r.Address, District: r.District, BirthYear: int32(r.BirthYear),
				Location: &pb.LatLng{Lat: r.Location.Lat, Lng: r.Location.Lng}})
			if err != nil {
				return fmt.Errorf("create resident %s: %w", r.Phone, err)
			}
			d.resID[c.Resident] = out.Resident.Id
		}
	}
	type res struct {
		i         int
		id, token string
		err       error
	}
	jobs := make(chan int)
	results := make(chan res)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				p := w.Providers[i].P
				g := pb.Gender_GENDER_UNSPECIFIED
				switch p.Gender {
				case carehex.GenderFemale:
					g = pb.Gender_GENDER_FEMALE
				case carehex.GenderMale:
					g = pb.Gender_GENDER_MALE
				}
				out, err := d.provs.CreateProvider(ctx, &pb.CreateProviderRequest{Name: p.Name, Phone: p.Phone, Skills: p.Skills,
					Location: &pb.LatLng{Lat: p.Home.Lat, Lng: p.Home.Lng}, Gender: g, Languages: p.Languages, Organisation: p.Organisation})
				if err != nil {
					results <- res{i: i, err: fmt.Errorf("create provider %s: %w (a server that has this seed's people already: try another --seed)", p.Phone, err)}
					continue
				}
				tok, err := d.provs.IssueDeviceToken(ctx, &pb.IssueDeviceTokenRequest{ProviderId: out.Provider.Id})
				if err != nil {
					results <- res{i: i, err: fmt.Errorf("device token for %s: %w", out.Provider.Id, err)}
					continue
				}
				results <- res{i: i, id: out.Provider.Id, token: tok.Token}
			}
		}()
	}
	go func() {
		for i := range w.Providers {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	d.phones = make([]*phone, len(w.Providers))
	var firstErr error
	for r := range results {
		if r.err != nil {
			if firstErr == nil {
				firstErr = r.err
			}
			continue
		}
		sp := w.Providers[r.i]
		ph := &phone{sp: sp, id: r.id, api: mobileclient.New(d.t.BaseURL, r.token, d.t.HTTP), pos: sp.P.Home, seen: map[string]bool{},
			rng: rand.New(rand.NewPCG(d.cfg.Seed, uint64(r.i)+1))}
		d.phones[r.i] = ph
		d.byID[r.id] = ph
	}
	return firstErr
}

func (d *driver) at(t time.Time, fn func(ctx context.Context)) {
	d.seq++
	heap.Push(&d.queue, &action{at: t, seq: d.seq, fn: fn})
}

func (d *driver) after(sec float64, fn func(ctx context.Context)) {
	d.at(d.now.Add(time.Duration(sec*float64(time.Second))), fn)
}

// play runs the steps of the day.
func (d *driver) play(ctx context.Context) error {
	cfg := d.cfg
	calls := d.world.Calls
	next := 0
	callTime := func(c *Call) time.Time {
		if d.simulated() {
			return cfg.Date.Add(c.At)
		}
		frac := float64(c.At-cfg.Start) / float64(cfg.End-cfg.Start)
		return d.wall0.Add(time.Duration(frac * float64(cfg.RealTime)))
	}
	var stop time.Time
	if d.simulated() {
		stop = cfg.Date.Add(cfg.End + cfg.Drain)
	} else {
		d.wall0 = time.Now()
		d.now = d.wall0
		stop = d.wall0.Add(cfg.RealTime + cfg.Drain)
	}
	lastHour := -1
	began := time.Now()
	for !d.now.After(stop) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.now.Sub(d.loginAt) > 8*time.Hour { // a session lasts a console shift
			if err := d.login(ctx); err != nil {
				return err
			}
		}
		d.heartbeats(ctx)
		for next < len(calls) && !callTime(calls[next]).After(d.now) {
			d.call(ctx, calls[next])
			next++
		}
		if !d.simulated() {
			for len(d.queue) > 0 && !d.queue[0].at.After(d.now) {
				heap.Pop(&d.queue).(*action).fn(ctx)
			}
		}
		if d.simulated() {
			if err := d.t.Tick(ctx); err != nil {
				d.res.count("server_tick_errors")
				d.log.Warn("simulate.tick", "err", err)
			}
		}
		d.discoverOffers(ctx)
		if d.now.Sub(d.lastAlrt) >= d.alertPeriod() {
			d.lastAlrt = d.now
			d.operator(ctx)
		}
		if h := int(d.dayTime() / 3600); h != lastHour && cfg.Progress != nil {
			lastHour = h
			fmt.Fprintf(cfg.Progress, "simulate: %02d:00 requests %d matched %d completed %d heartbeats %d (%.0fs)\n",
				h%24, len(d.order), d.res.matched(), d.res.completed, d.res.heartbeats, time.Since(began).Seconds())
		}
		if d.simulated() {
			// Phones act at their own times within the step, not at its
			// end: an answer 20 s into a 45 s offer is not late because
			// the step is 30 s. The dispatcher still runs once a step.
			end := d.now.Add(cfg.Step)
			for len(d.queue) > 0 && !d.queue[0].at.After(end) {
				a := heap.Pop(&d.queue).(*action)
				if a.at.After(d.now) {
					d.setNow(a.at)
				}
				a.fn(ctx)
			}
			d.setNow(end)
		} else {
			time.Sleep(time.Until(d.now.Add(cfg.Step)))
			d.now = time.Now()
		}
	}
	return nil
}

func (d *driver) alertPeriod() time.Duration {
	if d.simulated() {
		return alertEvery
	}
	return 30 * time.Second
}

// call is a resident's call, logged by the operator.
func (d *driver) call(ctx context.Context, c *Call) {
	urg := pb.Urgency_URGENCY_SOON
	if c.Emergency {
		urg = pb.Urgency_URGENCY_EMERGENCY
	}
	rid := d.resID[c.Resident]
	key := fmt.Sprintf("sim-%d-%d-%d", d.cfg.Seed, c.Resident, c.At/time.Second)
	out, err := d.intake.CreateServiceRequest(ctx, &pb.CreateServiceRequestRequest{ResidentId: rid,
		ServiceCode: c.Service.Code, Urgency: urg, IdempotencyKey: key})
	if err != nil {
		d.res.count("create_request_errors")
		d.log.Warn("simulate.create_request", "err", err)
		return
	}
	r := &reqRun{call: c, id: out.Request.Id, district: d.world.Residents[c.Resident].District, created: d.now}
	d.reqs[r.id] = r
	d.order = append(d.order, r)
	d.res.live = d.order
}

// heartbeats sends the heartbeats that are due, in parallel: a phone
// reports every heartbeatEvery while its owner works or is on a visit, at
// once when going on or off duty, and not at all while the phone is dead.
func (d *driver) heartbeats(ctx context.Context) {
	t := d.dayTime()
	var due []*phone
	for _, ph := range d.phones {
		if ph == nil || ph.sp.phoneDeadAt(t) {
			continue
		}
		want := ph.sp.onlineAt(t) || ph.visit != nil
		switch {
		case want != ph.avail && ph.visit == nil, want && d.now.Sub(ph.lastHB) >= heartbeatEvery, !ph.started:
			due = append(due, ph)
		}
	}
	if len(due) == 0 {
		return
	}
	work := make(chan *phone)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ph := range work {
				d.heartbeat(ctx, ph, t)
			}
		}()
	}
	for _, ph := range due {
		work <- ph
	}
	close(work)
	wg.Wait()
}

func (d *driver) heartbeat(ctx context.Context, ph *phone, t float64) {
	want := ph.sp.onlineAt(t) || ph.visit != nil
	pos := ph.pos
	if v := ph.visit; v != nil && !v.departAt.IsZero() && d.now.Before(v.arriveAt) {
		pos = Along(v.from, v.home, float64(d.now.Sub(v.departAt))/float64(v.arriveAt.Sub(v.departAt)))
	}
	_, err := ph.api.Heartbeat(ctx, mobileclient.Heartbeat{Lat: round6(pos.Lat), Lng: round6(pos.Lng), AccuracyM: 12, Available: want})
	d.rateLimited(err)
	ph.started = true
	if err != nil {
		d.res.count("heartbeat_errors")
		return
	}
	ph.avail, ph.lastHB = want, d.now
	d.res.countHB()
}

// discoverOffers stands in for the push notification that wakes a phone:
// it asks the console which requests are out on offer and to whom, and
// the phones concerned then fetch their offers over the mobile API.
func (d *driver) discoverOffers(ctx context.Context) {
	out, err := d.intake.ListServiceRequests(ctx, &pb.ListServiceRequestsRequest{
		Statuses: []pb.RequestStatus{pb.RequestStatus_REQUEST_STATUS_OFFERED}, Limit: 500})
	if err != nil {
		d.res.count("list_requests_errors")
		return
	}
	for _, r := range out.Requests {
		up := r.UpdateTime.AsTime()
		if last, ok := d.offered[r.Id]; ok && last.Equal(up) && r.Urgency != pb.Urgency_URGENCY_EMERGENCY {
			continue
		}
		d.offered[r.Id] = up
		offers, err := d.dispatch.ListRequestOffers(ctx, &pb.ListRequestOffersRequest{RequestId: r.Id})
		if err != nil {
			d.res.count("list_offers_errors")
			continue
		}
		for _, o := range offers.Offers {
			ph := d.byID[o.ProviderId]
			if o.Status != pb.OfferStatus_OFFER_STATUS_OPEN || ph == nil || ph.seen[o.Id] {
				continue
			}
			ph.seen[o.Id] = true
			if ph.sp.phoneDeadAt(d.dayTime()) {
				continue // nobody sees it; it expires
			}
			d.after(2+ph.rng.ExpFloat64()*ph.sp.NoticeMeanS, func(ctx context.Context) { d.notice(ctx, ph) })
		}
	}
}

// notice: the worker looks at the phone and decides about each offer.
func (d *driver) notice(ctx context.Context, ph *phone) {
	offers, err := ph.api.Offers(ctx, 0)
	d.rateLimited(err)
	if err != nil {
		d.res.count("offer_poll_errors")
		return
	}
	for _, o := range offers {
		if ph.rng.Float64() < ph.sp.IgnoreP {
			d.res.count("offers_ignored")
			continue
		}
		km := o.DistanceM / 1000
		p := 0.93 - 0.07*km
		if ph.sp.SpeedKmh < 10 && km > 1.5 {
			p -= 0.25 // on foot, far is too far
		}
		if ph.visit != nil || ph.plannedSoon(d.now, d.callNeeds(ph, o)) {
			p = 0
		}
		if r := d.reqs[o.RequestID]; r != nil && r.call.Emergency {
			p = math.Max(p, 0.85)
		}
		p = math.Max(0.1, math.Min(0.97, p))
		accept := ph.rng.Float64() < p
		d.after(2+ph.rng.ExpFloat64()*8, func(ctx context.Context) {
			if accept {
				d.accept(ctx, ph, o)
			} else {
				d.decline(ctx, ph, o)
			}
		})
	}
}

func (d *driver) decline(ctx context.Context, ph *phone, o mobileclient.Offer) {
	reasons := []string{carehex.DeclineTooFar, carehex.DeclineBusy, carehex.DeclineOffShift}
	err := ph.api.Decline(ctx, o.ID, reasons[ph.rng.IntN(len(reasons))], "")
	d.rateLimited(err)
	if err != nil {
		d.res.count("decline_failed")
		return
	}
	d.res.count("declines")
}

func (d *driver) accept(ctx context.Context, ph *phone, o mobileclient.Offer) {
	if ph.visit != nil {
		d.decline(ctx, ph, o)
		return
	}
	visit, err := ph.api.Accept(ctx, o.ID)
	d.rateLimited(err)
	bad := errors.Is(err, mobileclient.ErrBadAnswer) || errors.Is(err, mobileclient.ErrEmptyBody)
	switch {
	case err != nil && !bad:
		d.res.count("accept_too_late") // expired, taken by another in a fan-out, or withdrawn
		return
	case bad || visit.ID == "":
		d.res.count("accept_bad_answer")
		return
	}
	r := d.reqs[o.RequestID]
	if r == nil { // not one of ours (a server with other traffic)
		return
	}
	r.accepted, r.provider = d.now, ph.id
	var home carehex.LatLng
	if res := visit.Resident; res != nil {
		home = carehex.LatLng{Lat: res.Location.Lat, Lng: res.Location.Lng}
	}
	v := &visitRun{id: visit.ID, req: r, home: home}
	ph.visit = v
	d.after(20+ph.rng.ExpFloat64()*90, func(ctx context.Context) { d.depart(ctx, ph, v) })
}

func (d *driver) depart(ctx context.Context, ph *phone, v *visitRun) {
	v.from = ph.pos
	if !d.event(ctx, ph, v, "depart", ph.pos) {
		ph.visit = nil
		return
	}
	km := matching.RoadKM(v.from, v.home)
	v.req.km = km
	v.departAt = d.now
	v.arriveAt = d.now.Add(time.Duration(km/ph.sp.SpeedKmh*3600*float64(time.Second)) + 30*time.Second)
	d.at(v.arriveAt, func(ctx context.Context) { d.arrive(ctx, ph, v) })
}

func (d *driver) arrive(ctx context.Context, ph *phone, v *visitRun) {
	at := Jitter(ph.rng, v.home, 15)
	if ph.rng.Float64() < 0.03 {
		at = Jitter(ph.rng, v.home, 400) // the wrong block of flats
	}
	ph.pos = v.home
	if !d.event(ctx, ph, v, "arrive", at) {
		ph.visit = nil
		return
	}
	v.req.arrived = d.now
	if v.planned != nil {
		v.planned.arrived = d.now
	}
	svc := v.req.call.Service
	dur := svc.DefaultDuration
	if dur <= 0 {
		dur = time.Hour
	}
	f := 0.85 + ph.rng.Float64()*0.35
	if ph.rng.Float64() < 0.02 {
		f = 0.3 // cut short
	}
	v.dur = time.Duration(float64(dur) * f)
	d.after(v.dur.Seconds(), func(ctx context.Context) { d.complete(ctx, ph, v) })
}

func (d *driver) complete(ctx context.Context, ph *phone, v *visitRun) {
	d.event(ctx, ph, v, "complete", Jitter(ph.rng, v.home, 15))
	ph.visit = nil
	ph.visits++
	if v.planned != nil {
		v.planned.done = true
	} else {
		d.res.completed++
	}
	if d.planned != nil {
		d.planned.busyS += v.dur.Seconds()
	}
	ph.lastHB = time.Time{} // report at once that the worker is free again
}

// event reports a visit event; false when the server refused it.
func (d *driver) event(ctx context.Context, ph *phone, v *visitRun, typ string, at carehex.LatLng) bool {
	out, err := ph.api.RecordVisitEvent(ctx, v.id, mobileclient.VisitEvent{EventID: fmt.Sprintf("%s-%s", v.id, typ), Type: typ,
		Lat: round6(at.Lat), Lng: round6(at.Lng), AccuracyM: 15, DeviceTime: d.now})
	d.rateLimited(err)
	if err != nil {
		d.res.count("visit_event_refused")
		d.log.Warn("simulate.visit_event", "type", typ, "code", mobileclient.StatusOf(err), "err", err)
		return false
	}
	for _, e := range out.Event.Exceptions {
		d.res.exception(e)
	}
	return true
}

// operator works the alert queue: a request nobody has taken long after
// the call is marked unfilled (the operator rings a partner agency).
func (d *driver) operator(ctx context.Context) {
	out, err := d.dispatch.ListAlerts(ctx, &pb.ListAlertsRequest{OpenOnly: true, Limit: 500})
	if err != nil {
		d.res.count("list_alerts_errors")
		return
	}
	for _, a := range out.Alerts {
		if _, ok := d.alerts[a.Id]; !ok {
			d.alerts[a.Id] = a
			d.res.alert(a.Kind)
		}
		r := d.reqs[a.RequestId]
		if r == nil || !r.accepted.IsZero() || r.unfilled {
			if r != nil && !r.accepted.IsZero() && (a.Kind == carehex.AlertUnaccepted || a.Kind == carehex.AlertNoCandidates) {
				_, _ = d.dispatch.AcknowledgeAlert(ctx, &pb.AcknowledgeAlertRequest{Id: a.Id})
			}
			continue
		}
		wait := giveUpSoon
		if r.call.Emergency {
			wait = giveUpEmergency
		}
		if !d.simulated() {
			wait = time.Duration(float64(wait) * float64(d.cfg.RealTime) / float64(d.cfg.End-d.cfg.Start))
		}
		if d.now.Sub(r.created) < wait {
			continue
		}
		if _, err := d.dispatch.MarkUnfilled(ctx, &pb.MarkUnfilledRequest{RequestId: r.id,
			Reason: "no provider accepted; referred to a partner agency by phone"}); err != nil {
			d.res.count("mark_unfilled_errors")
			continue
		}
		r.unfilled = true
		_, _ = d.dispatch.AcknowledgeAlert(ctx, &pb.AcknowledgeAlertRequest{Id: a.Id})
	}
}

// rateLimited counts a phone call the server turned away for its token's
// rate (429).
func (d *driver) rateLimited(err error) {
	if mobileclient.StatusOf(err) == http.StatusTooManyRequests {
		d.res.count("rate_limited")
	}
}

// finish reads what the server made of each request: offers per request,
// and the invariant scan.
func (d *driver) finish(ctx context.Context) error {
	for _, r := range d.order {
		out, err := d.dispatch.ListRequestOffers(ctx, &pb.ListRequestOffersRequest{RequestId: r.id})
		if err != nil {
			return fmt.Errorf("list offers of %s: %w", r.id, err)
		}
		r.offers = len(out.Offers)
	}
	d.operator(ctx) // the last alerts, for the counts
	d.res.collect(d.order, d.phones)
	d.res.planned = d.planned
	if d.t.Audit == nil {
		d.res.DoubleBookings, d.res.LostRequests = -1, -1
		return nil
	}
	// The store's scan is the one definition of a lost request (the fault
	// test and the engine's race test ask it too). The day ends with calls
	// still inside their alert deadline, and the dispatcher closes an
	// expired offer only at its first pass ExpiryGrace later: that much
	// patience, and no more.
	dcfg := dispatch.DefaultConfig()
	ids := make([]string, len(d.order))
	for i, r := range d.order {
		ids[i] = r.id
	}
	scan, err := d.t.Audit.ScanInvariants(ctx, ids, d.clockNow(), carehex.Patience{
		OfferGrace: dcfg.ExpiryGrace + d.cfg.Step,
		Unalerted: func(sr *carehex.ServiceRequest) time.Duration {
			if r := d.reqs[sr.ID]; r != nil && r.call.Emergency {
				return dcfg.Emergency.Deadline
			}
			return dcfg.Soon.Deadline
		},
	})
	if err != nil {
		return fmt.Errorf("invariant scan: %w", err)
	}
	// A request accepted by two providers is booked twice as surely as a
	// provider booked into two visits.
	d.res.DoubleBookings = len(scan.Overlaps) + len(scan.MultiAccepted)
	for _, l := range scan.Lost {
		created := ""
		if r := d.reqs[l.ID]; r != nil {
			created = r.created.In(cst).Format("15:04:05")
		}
		d.res.LostRequests++
		d.res.Lost = append(d.res.Lost, fmt.Sprintf("%s %s created %s: %s", l.ID, l.Status, created, l.Why))
	}
	return nil
}

// Jitter is a point about sigmaM metres (one standard deviation each way)
// from p: where a phone reports itself at p. The demo phones share it.
func Jitter(rng *rand.Rand, p carehex.LatLng, sigmaM float64) carehex.LatLng {
	dn, de := rng.NormFloat64()*sigmaM, rng.NormFloat64()*sigmaM
	return carehex.LatLng{Lat: p.Lat + dn/111320, Lng: p.Lng + de/(111320*math.Cos(p.Lat*math.Pi/180))}
}

// Along is the point a fraction f of the way from a to b: a travelling
// carer's position (straight, as the crow flies, over a few kilometres).
func Along(a, b carehex.LatLng, f float64) carehex.LatLng {
	return carehex.LatLng{Lat: a.Lat + f*(b.Lat-a.Lat), Lng: a.Lng + f*(b.Lng-a.Lng)}
}

func round6(v float64) float64 { return stats.Round(v, 6) }
