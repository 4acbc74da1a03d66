package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/plan"
	"github.com/carehex/carehex/rpc"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/carehex/carehex/sqlstore"
	"github.com/twitchtv/twirp"
)

// testPassword is every test user's password.
const testPassword = "correct horse battery staple"

// passwordHash is computed once per test binary: bcrypt is deliberately slow.
var passwordHash = sync.OnceValues(func() (string, error) { return auth.HashPassword(testPassword) })

var roles = []carehex.Role{carehex.RoleOperator, carehex.RoleSupervisor, carehex.RoleAdmin}

// orgRoles are the organisation roles; the test server's accounts of them
// belong to carehex.DefaultOrganisationID.
var orgRoles = []carehex.Role{carehex.RoleOrgDispatcher, carehex.RoleOrgAdmin}

// backend is a database the store runs on.
type backend struct {
	name string
	dsn  func(testing.TB) string
}

var backends = []backend{
	{"sqlite", testenv.SQLitePath},
	{"postgres", testenv.PostgresURL},
}

// sqlite is the embedded default; tests that need no second database use it.
var sqlite = backends[0]

// testServer is the real Twirp handler over a fresh store, served on
// loopback, with one console user of each role.
type testServer struct {
	URL     string
	Handler http.Handler
	Client  *http.Client
	Store   *sqlstore.DB
	Users   map[carehex.Role]*carehex.User
	Tokens  map[carehex.Role]string // a session token of each user
	Types   []*carehex.ServiceType
	Clock   carehex.Clock
	logs    *syncBuffer
}

// syncBuffer collects the server's log; it is shown when a test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newServer opens a store on be, loads the catalogue, creates users and
// starts the Twirp handler on an httptest server.
func newServer(tb testing.TB, be backend) *testServer {
	tb.Helper()
	return newServerWithClock(tb, be, time.Now)
}

// newServerWithClock is newServer with the store and the services reading
// the time from clock.
func newServerWithClock(tb testing.TB, be backend, clock carehex.Clock) *testServer {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, be.dsn(tb), clock)
	if err != nil {
		tb.Fatalf("open %s store: %v", be.name, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	types, err := catalog.Load()
	if err != nil {
		tb.Fatalf("load catalogue: %v", err)
	}
	if len(types) == 0 {
		tb.Fatal("catalogue is empty")
	}
	if err := db.SyncCatalog(ctx, types); err != nil {
		tb.Fatalf("sync catalogue: %v", err)
	}
	hash, err := passwordHash()
	if err != nil {
		tb.Fatalf("hash password: %v", err)
	}
	ts := &testServer{
		Store: db, Types: types, Clock: clock, logs: &syncBuffer{},
		Users: map[carehex.Role]*carehex.User{}, Tokens: map[carehex.Role]string{},
	}
	for _, role := range append(slices.Clone(roles), orgRoles...) {
		u := &carehex.User{Username: string(role) + "-1", Role: role, PasswordHash: hash}
		if role.OrgRole() {
			u.OrgID = carehex.DefaultOrganisationID
		}
		if err := db.CreateUser(ctx, u); err != nil {
			tb.Fatalf("create %s: %v", role, err)
		}
		ts.Users[role] = u
		ts.Tokens[role] = ts.issue(tb, role)
	}
	api := &rpc.Server{
		Store:  db,
		Clock:  clock,
		Logger: slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		// Projection and an empty roster run need no dispatcher.
		Planner: plan.New(db, nil, clock, nil, 0),
	}
	ts.Handler = api.Handler()
	srv := httptest.NewServer(ts.Handler)
	tb.Cleanup(srv.Close)
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("server log (%s):\n%s", be.name, ts.logs.String())
		}
	})
	ts.URL, ts.Client = srv.URL, srv.Client()
	return ts
}

// issue returns a fresh session token of the user with role.
func (ts *testServer) issue(tb testing.TB, role carehex.Role) string {
	tb.Helper()
	u := ts.Users[role]
	p := carehex.Principal{Kind: carehex.KindUser, Subject: u.ID, Role: u.Role, Name: u.Username}
	tok, err := auth.Issue(context.Background(), ts.Store, p, ts.Clock().Add(time.Hour))
	if err != nil {
		tb.Fatalf("issue %s token: %v", role, err)
	}
	return tok
}

// service returns a service type of the catalogue.
func (ts *testServer) service() *carehex.ServiceType { return ts.Types[0] }

// as returns a context whose Twirp calls carry token; none when it is "".
// residentWithRequest registers a resident of district (and street, if
// given) and logs a request for her, as op.
func (ts *testServer) residentWithRequest(t *testing.T, op context.Context, name, phone, district, street string) (*pb.Resident, *pb.ServiceRequest) {
	t.Helper()
	r, err := ts.residents().CreateResident(op, &pb.CreateResidentRequest{Name: name, Phone: phone,
		Address: district + street + "某路 1 号", District: district, Street: street, Location: zibo})
	if err != nil {
		t.Fatal(err)
	}
	q, err := ts.intake().CreateServiceRequest(op, &pb.CreateServiceRequestRequest{ResidentId: r.Resident.Id,
		ServiceCode: ts.service().Code, Urgency: pb.Urgency_URGENCY_SOON})
	if err != nil {
		t.Fatal(err)
	}
	return r.Resident, q.Request
}

// areaSupervisor creates a supervisor limited to area (a district, or
// "district/street") and returns a session token of hers, valid for an
// hour of the server's clock.
func (ts *testServer) areaSupervisor(tb testing.TB, username, area string) string {
	tb.Helper()
	hash, err := passwordHash()
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	u := &carehex.User{Username: username, Role: carehex.RoleSupervisor, PasswordHash: hash, Area: area}
	if err := ts.Store.CreateUser(ctx, u); err != nil {
		tb.Fatal(err)
	}
	tok, err := auth.Issue(ctx, ts.Store, carehex.Principal{Kind: carehex.KindUser, Subject: u.ID, Role: u.Role, Name: u.Username},
		ts.Clock().Add(time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func as(tb testing.TB, token string) context.Context {
	tb.Helper()
	if token == "" {
		return context.Background()
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	ctx, err := twirp.WithHTTPRequestHeaders(context.Background(), h)
	if err != nil {
		tb.Fatalf("twirp headers: %v", err)
	}
	return ctx
}

// ctx returns a context carrying the session token of role.
func (ts *testServer) ctx(tb testing.TB, role carehex.Role) context.Context {
	tb.Helper()
	return as(tb, ts.Tokens[role])
}

func (ts *testServer) auth() pb.AuthService {
	return pb.NewAuthServiceJSONClient(ts.URL, ts.Client)
}

func (ts *testServer) residents() pb.ResidentService {
	return pb.NewResidentServiceJSONClient(ts.URL, ts.Client)
}

func (ts *testServer) providers() pb.ProviderService {
	return pb.NewProviderServiceJSONClient(ts.URL, ts.Client)
}

func (ts *testServer) intake() pb.IntakeService {
	return pb.NewIntakeServiceJSONClient(ts.URL, ts.Client)
}

func (ts *testServer) intakeProto() pb.IntakeService {
	return pb.NewIntakeServiceProtobufClient(ts.URL, ts.Client)
}

func (ts *testServer) audit() pb.AuditService {
	return pb.NewAuditServiceJSONClient(ts.URL, ts.Client)
}

// zibo is testenv.Zibo on the wire: somewhere real for a resident to live.
var zibo = &pb.LatLng{Lat: testenv.Zibo.Lat, Lng: testenv.Zibo.Lng}

// createResident creates a resident through the API as an operator.
func (ts *testServer) createResident(tb testing.TB, name, phone string) *pb.Resident {
	tb.Helper()
	resp, err := ts.residents().CreateResident(ts.ctx(tb, carehex.RoleOperator), &pb.CreateResidentRequest{
		Name: name, Phone: phone, Address: "山东省淄博市张店区人民西路 1 号", Location: zibo,
	})
	if err != nil {
		tb.Fatalf("create resident %s: %v", name, err)
	}
	return resp.Resident
}

// twirpErr is Twirp's error body.
type twirpErr struct {
	Code string            `json:"code"`
	Msg  string            `json:"msg"`
	Meta map[string]string `json:"meta"`
}

// reply is what a raw call answered.
type reply struct {
	Status int
	Body   []byte
	Err    twirpErr // zero on success
}

func (r reply) String() string {
	return http.StatusText(r.Status) + ": " + string(truncate(r.Body, 300))
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return append(b[:n:n], "…"...)
	}
	return b
}

// newRawRequest builds a POST to /twirp/carehex.v1.<method>.
func newRawRequest(tb testing.TB, base, method, contentType string, body []byte, token string) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/twirp/carehex.v1."+method, bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func parseReply(tb testing.TB, status int, body []byte) reply {
	tb.Helper()
	r := reply{Status: status, Body: body}
	if status != http.StatusOK {
		if err := json.Unmarshal(body, &r.Err); err != nil {
			tb.Fatalf("status %d with a body that is not a Twirp error: %v: %s", status, err, truncate(body, 300))
		}
	}
	return r
}

// post sends body to method over HTTP, bypassing the generated clients, the
// way a careless or hostile client would.
func (ts *testServer) post(tb testing.TB, method, contentType string, body []byte, token string) reply {
	tb.Helper()
	resp, err := ts.Client.Do(newRawRequest(tb, ts.URL, method, contentType, body, token))
	if err != nil {
		tb.Fatalf("POST %s: %v", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read reply of %s: %v", method, err)
	}
	return parseReply(tb, resp.StatusCode, b)
}

// serve calls handler in process, as the fuzz tests do.
func serve(tb testing.TB, handler http.Handler, method, contentType string, body []byte, token string) reply {
	tb.Helper()
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, newRawRequest(tb, "http://carehex.test", method, contentType, body, token))
	return parseReply(tb, rec.Code, rec.Body.Bytes())
}

// wantCode checks that err is a Twirp error with code and, when argument is
// not empty, meta "argument" naming the field.
func wantCode(tb testing.TB, err error, code twirp.ErrorCode, argument string) twirp.Error {
	tb.Helper()
	var te twirp.Error
	if !errors.As(err, &te) {
		tb.Fatalf("got error %v, want Twirp %s", err, code)
	}
	if te.Code() != code {
		tb.Fatalf("got Twirp %s (%q, argument %q), want %s", te.Code(), te.Msg(), te.Meta("argument"), code)
	}
	if argument != "" && te.Meta("argument") != argument {
		tb.Fatalf("got %s with argument %q (%q), want argument %q", code, te.Meta("argument"), te.Msg(), argument)
	}
	return te
}

// expand fills the placeholders a test body is written with.
func expand(body string, vars map[string]string) string {
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, k, v)
	}
	return strings.NewReplacer(pairs...).Replace(body)
}

// rfc3339 formats t as protojson reads a Timestamp.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
