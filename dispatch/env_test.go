package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/internal/testenv/testdb"
	"github.com/carehex/carehex/providers"
	"github.com/carehex/carehex/sqlstore"
	"github.com/redis/go-redis/v9"
)

// The tests run the engine against the real things: a SQLite file (or a
// PostgreSQL database) with the real migrations, and a providers.Store on
// the test redis-server in a zone of the test's own (a miniredis of the
// test's own when no server is configured; see testenv.Redis). Only the clock is fake,
// shared by the store, the live state and the engine, so a test can let an
// offer expire without waiting for it.

// The shared fixtures (internal/testenv) under the names these tests use.
var (
	zibo     = testenv.Zibo // the resident's home
	at       = testenv.At
	operator = testenv.Operator
	opCtx    = testenv.OpCtx
)

// away returns the point m metres north of the resident.
func away(m float64) carehex.LatLng { return at(zibo, m, 0) }

// newClock starts 09:00 in Zibo (UTC+8), so "today" is the same day in UTC and CST.
func newClock() *testenv.Clock { return testenv.NewClock(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)) }

// allSkills is what a test provider can do unless the test says otherwise.
var allSkills = []string{"meals", "bathing", "first_aid"}

func openDB(t testing.TB, dsn string, clock *testenv.Clock) *sqlstore.DB {
	t.Helper()
	return testdb.Open(t, dsn, clock.Now)
}

func uniqueZone() string { return testenv.UniqueZone("d") }

// openLive returns a store on the test's Redis in zone, with its own client
// (a replica has its own connections); the zone's keys are deleted when the
// test ends.
func openLive(t testing.TB, zone string, clock *testenv.Clock) *providers.Store {
	t.Helper()
	rdb, _ := testenv.Redis(t)
	// Registered after testenv's Close, so it runs before it.
	t.Cleanup(func() { wipe(t, rdb, zone) })
	s, err := providers.New(rdb, providers.Options{Zone: zone, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wipe deletes every key of zone: on the shared test server this is what
// losing Redis looks like to the zone, without touching other tests' keys.
func wipe(t testing.TB, rdb *redis.Client, zone string) {
	t.Helper()
	ctx := context.Background()
	// A large COUNT: the shared server may hold other tests' and
	// benchmarks' millions of keys, and SCAN walks all of them.
	iter := rdb.Scan(ctx, 0, "ch:{"+zone+"}:*", 100_000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Logf("wipe %s: %v", zone, err)
	}
	if len(keys) > 0 {
		if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
			t.Logf("wipe %s: %v", zone, err)
		}
	}
}

func newEngine(t testing.TB, cfg dispatch.Config, db *sqlstore.DB, live *providers.Store, clock *testenv.Clock) *dispatch.Engine {
	t.Helper()
	eng, err := dispatch.New(cfg, dispatch.Deps{Store: db, Live: live, Clock: clock.Now})
	if err != nil {
		t.Fatalf("dispatch.New: %v", err)
	}
	return eng
}

// env is one engine on its own database and zone, with a resident at zibo.
type env struct {
	t     *testing.T
	db    *sqlstore.DB
	zone  string
	clock *testenv.Clock
	live  *providers.Store
	eng   *dispatch.Engine
	cfg   dispatch.Config
	res   *carehex.Resident
	// providers placed by the test, for refreshing their heartbeats
	placed map[string]placed
}

type placed struct {
	pos       carehex.LatLng
	available bool
}

func newEnv(t *testing.T, edit ...func(*dispatch.Config)) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), zone: uniqueZone(), cfg: dispatch.DefaultConfig(), placed: map[string]placed{}}
	for _, f := range edit {
		f(&e.cfg)
	}
	e.db = openDB(t, testenv.SQLitePath(t), e.clock)
	e.live = openLive(t, e.zone, e.clock)
	e.eng = newEngine(t, e.cfg, e.db, e.live, e.clock)
	// The first tick finds the new zone "lost" and rebuilds it (empty), as
	// a fresh `carehex serve` does.
	if err := e.eng.Tick(context.Background()); err != nil {
		t.Fatalf("first Tick: %v", err)
	}
	e.res = e.resident("张桂兰", zibo, carehex.Preferences{})
	return e
}

func (e *env) resident(name string, home carehex.LatLng, prefs carehex.Preferences) *carehex.Resident {
	e.t.Helper()
	r := &carehex.Resident{Name: name, Phone: "13905330001", Address: "张店区华光路56号", Location: home, Preferences: prefs}
	if err := e.db.CreateResident(opCtx(), r); err != nil {
		e.t.Fatalf("CreateResident: %v", err)
	}
	return r
}

// setPrefs replaces the test resident's preferences.
func (e *env) setPrefs(p carehex.Preferences) {
	e.t.Helper()
	e.res.Preferences = p
	if err := e.db.UpdateResident(opCtx(), e.res); err != nil {
		e.t.Fatalf("UpdateResident: %v", err)
	}
}

// provider puts a provider on the roster and on the map, available.
func (e *env) provider(name string, pos carehex.LatLng, edit ...func(*carehex.Provider)) *carehex.Provider {
	e.t.Helper()
	p := &carehex.Provider{Name: name, Phone: "13700000000", Skills: append([]string(nil), allSkills...), Home: pos}
	for _, f := range edit {
		f(p)
	}
	if err := e.db.CreateProvider(opCtx(), p); err != nil {
		e.t.Fatalf("CreateProvider(%s): %v", name, err)
	}
	e.beat(p.ID, pos, true, p.Skills...)
	return p
}

// beat is a heartbeat from a provider's phone.
func (e *env) beat(id string, pos carehex.LatLng, available bool, skills ...string) {
	e.t.Helper()
	hb := providers.Heartbeat{ProviderID: id, Position: pos, AccuracyM: 10, Available: available}
	if len(skills) > 0 {
		hb.Skills = skills
	}
	if _, err := e.live.Heartbeat(context.Background(), hb); err != nil {
		e.t.Fatalf("heartbeat %s: %v", id, err)
	}
	e.placed[id] = placed{pos, available}
}

// beatAll repeats every provider's last heartbeat, as phones do every few
// seconds, so that moving the clock does not make them stale.
func (e *env) beatAll() {
	e.t.Helper()
	for id, p := range e.placed {
		e.beat(id, p.pos, p.available)
	}
}

// advance moves the clock, with the phones reporting on the way.
func (e *env) advance(d time.Duration) {
	e.t.Helper()
	e.clock.Advance(d)
	e.beatAll()
}

func (e *env) request(code string, urgency carehex.Urgency) *carehex.ServiceRequest {
	e.t.Helper()
	return e.requestFor(e.res, code, urgency)
}

func (e *env) requestFor(res *carehex.Resident, code string, urgency carehex.Urgency) *carehex.ServiceRequest {
	e.t.Helper()
	r, _, err := e.db.CreateServiceRequest(opCtx(), &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: code, Urgency: urgency}, "")
	if err != nil {
		e.t.Fatalf("CreateServiceRequest: %v", err)
	}
	return r
}

func (e *env) tick() {
	e.t.Helper()
	if err := e.eng.Tick(context.Background()); err != nil {
		e.t.Fatalf("Tick: %v", err)
	}
}

func (e *env) dispatch(r *carehex.ServiceRequest) []*carehex.Offer {
	e.t.Helper()
	offers, err := e.eng.Dispatch(context.Background(), r.ID)
	if err != nil {
		e.t.Fatalf("Dispatch: %v", err)
	}
	return offers
}

func (e *env) accept(o *carehex.Offer) *carehex.Visit {
	e.t.Helper()
	v, err := e.eng.Accept(context.Background(), o.ProviderID, o.ID)
	if err != nil {
		e.t.Fatalf("Accept(%s by %s): %v", o.ID, o.ProviderID, err)
	}
	return v
}

// complete walks a visit to completed and frees the provider, as the mobile
// API does when the phone reports the check-out.
func (e *env) complete(v *carehex.Visit) {
	e.t.Helper()
	ctx := context.Background()
	for _, st := range []carehex.Status{carehex.StatusEnRoute, carehex.StatusInProgress, carehex.StatusCompleted} {
		if _, err := e.db.TransitionVisit(ctx, v.ID, st, "provider:"+v.ProviderID, "", time.Time{}); err != nil {
			e.t.Fatalf("TransitionVisit(%s): %v", st, err)
		}
	}
	if freed, err := e.eng.FreeIfDone(ctx, v.ProviderID); err != nil || !freed {
		e.t.Fatalf("FreeIfDone after completing %s = %v, %v; want freed", v.ID, freed, err)
	}
}

func (e *env) status(id string) carehex.Status {
	e.t.Helper()
	r, err := e.db.ServiceRequest(context.Background(), id)
	if err != nil {
		e.t.Fatalf("ServiceRequest: %v", err)
	}
	return r.Status
}

func (e *env) liveStatus(id string) providers.Status {
	e.t.Helper()
	l, err := e.live.Live(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Live(%s): %v", id, err)
	}
	return l.Status
}

// offersOf lists a request's offers as "provider:status", in order.
func (e *env) offersOf(r *carehex.ServiceRequest) []string {
	e.t.Helper()
	os, err := e.db.RequestOffers(context.Background(), r.ID)
	if err != nil {
		e.t.Fatalf("RequestOffers: %v", err)
	}
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ProviderID + ":" + string(o.Status)
	}
	return out
}

// openAlerts lists the unacknowledged alerts of a request as kinds.
func (e *env) openAlerts(r *carehex.ServiceRequest) []string {
	e.t.Helper()
	as, err := e.db.Alerts(context.Background(), true, 0)
	if err != nil {
		e.t.Fatalf("Alerts: %v", err)
	}
	var out []string
	for _, a := range as {
		if a.RequestID == r.ID {
			out = append(out, a.Kind)
		}
	}
	return out
}

func ids(cs []carehex.Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ProviderID
	}
	return out
}

func names(ps ...*carehex.Provider) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if carehex.ErrorCode(err) != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

func st(p *carehex.Provider, s carehex.OfferStatus) string { return p.ID + ":" + string(s) }
