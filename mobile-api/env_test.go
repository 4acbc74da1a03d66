package mobileapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/internal/testenv/testdb"
	mobileapi "github.com/carehex/carehex/mobile-api"
	"github.com/carehex/carehex/notify"
	"github.com/carehex/carehex/providers"
	"github.com/carehex/carehex/sqlstore"
)

// The tests run the real handler over HTTP against the real things: a
// SQLite file (or PostgreSQL database) with the real migrations, the
// dispatch engine and the live availability on the test redis-server (a
// miniredis of the test's own when none is configured; see testenv.Redis),
// in a zone of the test's own. Only the clock is fake, shared by all of them.

// The shared fixtures (internal/testenv) under the names these tests use.
var (
	zibo     = testenv.Zibo // the resident's home
	operator = testenv.Operator
	opCtx    = testenv.OpCtx
)

// at returns the point north metres from p.
func at(p carehex.LatLng, north float64) carehex.LatLng { return testenv.At(p, north, 0) }

type env struct {
	t      testing.TB
	clock  *testenv.Clock
	db     *sqlstore.DB
	live   *providers.Store
	eng    *dispatch.Engine
	watch  *watchedEngine // the engine as the API sees it
	hub    *notify.Hub    // the store publishes to it; the API waits on it
	api    *mobileapi.Server
	srv    *httptest.Server
	res    *carehex.Resident
	family string // token of a family member linked to res
}

// newEnv opens a SQLite store unless dsn is given.
func newEnv(t testing.TB, dsn string, edit ...func(*mobileapi.Config)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, clock: testenv.NewClock(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC))}
	if dsn == "" {
		dsn = testenv.SQLitePath(t)
	}
	db := testdb.Open(t, dsn, e.clock.Now)
	e.db = db

	rdb, _ := testenv.Redis(t)
	zone := testenv.UniqueZone("m")
	// Registered after testenv's Close, so it runs before it.
	t.Cleanup(func() { _ = providers.DeleteZone(context.Background(), rdb, zone) })
	var err error
	e.live, err = providers.New(rdb, providers.Options{Zone: zone, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.eng, err = dispatch.New(dispatch.DefaultConfig(), dispatch.Deps{Store: db, Live: e.live, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.eng.Tick(ctx); err != nil { // rebuilds the new, empty zone
		t.Fatalf("first Tick: %v", err)
	}
	// Waiters are woken by the store's notices through a hub, as in
	// carehex serve; the reconcile stays at its default (20 s), so a test
	// that passes within seconds was woken by a notice, not by a timer.
	e.hub = notify.NewHub()
	db.SetPublisher(e.hub, nil)
	cfg := mobileapi.DefaultConfig()
	for _, f := range edit {
		f(&cfg)
	}
	e.watch = &watchedEngine{Engine: e.eng}
	s, err := mobileapi.New(cfg, mobileapi.Deps{Store: db, Engine: e.watch, Live: e.live, Notices: e.hub, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.api = s
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)

	e.res = e.resident("张桂兰", "张店区华光路56号")
	e.family = e.link(e.res)
	return e
}

// watchedEngine is the engine with a window on the API's offer lookups, so
// a test can wait for a long poll to have looked instead of sleeping.
type watchedEngine struct {
	mobileapi.Engine
	mu    sync.Mutex
	looks chan int
}

// offerLooks returns a channel that receives the number of offers found by
// the next lookup of offers (later ones are not reported).
func (w *watchedEngine) offerLooks() <-chan int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.looks = make(chan int, 1)
	return w.looks
}

func (w *watchedEngine) Offers(ctx context.Context, providerID string) ([]*carehex.Offer, error) {
	os, err := w.Engine.Offers(ctx, providerID)
	w.mu.Lock()
	if w.looks != nil && err == nil {
		w.looks <- len(os)
		w.looks = nil
	}
	w.mu.Unlock()
	return os, err
}

func (e *env) resident(name, address string) *carehex.Resident {
	e.t.Helper()
	r := &carehex.Resident{Name: name, Phone: "13905330001", Address: address, Location: zibo}
	if err := e.db.CreateResident(opCtx(), r); err != nil {
		e.t.Fatalf("CreateResident: %v", err)
	}
	return r
}

// link makes a family member of r and returns their token.
func (e *env) link(r *carehex.Resident) string {
	e.t.Helper()
	m := &carehex.FamilyMember{ResidentID: r.ID, Name: "李娜", Phone: "13800000001", Relation: "daughter"}
	if err := e.db.LinkFamilyMember(opCtx(), m); err != nil {
		e.t.Fatalf("LinkFamilyMember: %v", err)
	}
	return e.issue(carehex.Principal{Kind: carehex.KindFamily, Subject: m.ID, Name: m.Name})
}

func (e *env) issue(p carehex.Principal) string {
	e.t.Helper()
	tok, err := auth.Issue(context.Background(), e.db, p, e.clock.Now().Add(24*time.Hour))
	if err != nil {
		e.t.Fatalf("auth.Issue: %v", err)
	}
	return tok
}

// provider puts a provider on the roster and returns it with a device token.
func (e *env) provider(name string) (*carehex.Provider, string) {
	e.t.Helper()
	p := &carehex.Provider{Name: name, Phone: "13700000000", Skills: []string{"meals", "bathing"}, Home: zibo}
	if err := e.db.CreateProvider(opCtx(), p); err != nil {
		e.t.Fatalf("CreateProvider: %v", err)
	}
	return p, e.issue(carehex.Principal{Kind: carehex.KindProvider, Subject: p.ID, Name: p.Name})
}

func (e *env) request(code string) *carehex.ServiceRequest {
	e.t.Helper()
	r, _, err := e.db.CreateServiceRequest(opCtx(), &carehex.ServiceRequest{ResidentID: e.res.ID, ServiceCode: code,
		Urgency: carehex.UrgencySoon}, "")
	if err != nil {
		e.t.Fatalf("CreateServiceRequest: %v", err)
	}
	return r
}

// response is one HTTP answer, decoded loosely.
type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	client := *e.srv.Client()
	client.Timeout = 20 * time.Second // a hung handler fails the test, naming the call
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s %q: %v", method, path, body, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// want fails unless r has status code, and for errors the JSON error shape.
func (r response) want(t testing.TB, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	if status >= 400 {
		eb, _ := r.body["error"].(map[string]any)
		if eb == nil || eb["code"] == "" || eb["message"] == "" {
			t.Fatalf("error body %s is not {\"error\":{\"code\",\"message\"}}", r.raw)
		}
	}
	return r
}

func (r response) errField() string {
	eb, _ := r.body["error"].(map[string]any)
	f, _ := eb["field"].(string)
	return f
}

// get walks a decoded JSON value by keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// heartbeat posts the provider's position near the home.
func (e *env) heartbeat(token string, pos carehex.LatLng) {
	e.t.Helper()
	e.do("POST", "/m/v1/heartbeat", token, map[string]any{"lat": pos.Lat, "lng": pos.Lng, "accuracy_m": 10, "available": true}).
		want(e.t, http.StatusOK)
}

// assigned runs a request through dispatch to the provider and accepts it by
// the API, returning the visit ID.
func (e *env) assigned(token string) (req *carehex.ServiceRequest, visitID string) {
	e.t.Helper()
	e.heartbeat(token, at(zibo, 800))
	req = e.request("meal_delivery")
	offers, err := e.eng.Dispatch(context.Background(), req.ID)
	if err != nil || len(offers) != 1 {
		e.t.Fatalf("Dispatch: %v, %d offers", err, len(offers))
	}
	r := e.do("POST", "/m/v1/offers/"+offers[0].ID+"/accept", token, nil).want(e.t, http.StatusOK)
	return req, get(r.body, "visit", "id").(string)
}

type ev struct {
	id, typ string
	north   float64 // metres from the home
	at      time.Time
}

func (e *env) postEvent(token, visitID string, x ev) response {
	e.t.Helper()
	p := at(zibo, x.north)
	return e.do("POST", "/m/v1/visits/"+visitID+"/events", token, map[string]any{"event_id": x.id, "type": x.typ,
		"lat": p.Lat, "lng": p.Lng, "accuracy_m": 15, "device_time": x.at.Format(time.RFC3339Nano)})
}
