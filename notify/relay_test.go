package notify_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/notify"
	"github.com/carehex/carehex/sqlstore"
)

type recorder struct {
	mu   sync.Mutex
	sent map[string]int // dedupe key → deliveries
}

func (r *recorder) Send(_ context.Context, n *carehex.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[n.DedupeKey]++
	return nil
}

type dying struct{}

func (dying) Send(context.Context, *carehex.Notification) error { return errors.New("relay killed") }

var operator = carehex.Principal{Kind: carehex.KindUser, Subject: "usr_op1", Role: carehex.RoleOperator, Name: "op"}

// completedVisit opens a SQLite store on clock and takes one visit through
// depart, arrive and complete, as the phone API records them, so its three
// family notifications are in the outbox. It returns the store and the
// visit's ID. Each opened func is called with the store before the events
// are recorded.
func completedVisit(t *testing.T, clock *testenv.Clock, opened ...func(*sqlstore.DB)) (*sqlstore.DB, string) {
	t.Helper()
	ctx := context.Background()
	op := carehex.WithPrincipal(ctx, operator)
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "carehex.db"), clock.Now)
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	for _, f := range opened {
		f(db)
	}
	if err := db.SyncCatalog(ctx, []*carehex.ServiceType{{Code: "meal_delivery", Category: carehex.CategoryDailyLife,
		NameZH: "送餐", NameEN: "Meal delivery", RequiredSkill: "meals", DefaultDuration: 30 * time.Minute,
		UrgencyClass: carehex.ClassSoon}}); err != nil {
		t.Fatalf("SyncCatalog: %v", err)
	}
	home := carehex.LatLng{Lat: 36.80, Lng: 118.05}
	res := &carehex.Resident{Name: "张桂兰", Phone: "13905330001", Address: "张店区华光路56号", Location: home}
	if err := db.CreateResident(op, res); err != nil {
		t.Fatalf("CreateResident: %v", err)
	}
	p := &carehex.Provider{Name: "王芳", Phone: "13700000000", Skills: []string{"meals"}, Home: home}
	if err := db.CreateProvider(op, p); err != nil {
		t.Fatalf("CreateProvider: %v", err)
	}
	req, _, err := db.CreateServiceRequest(op, &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery",
		Urgency: carehex.UrgencySoon}, "")
	if err != nil {
		t.Fatalf("CreateServiceRequest: %v", err)
	}
	t0 := clock.Now()
	_, v, err := db.AssignRequest(ctx, carehex.Assignment{RequestID: req.ID, ProviderID: p.ID, Fence: 1,
		Start: t0, End: t0.Add(30 * time.Minute), Actor: "provider:" + p.ID, Reason: "offer accepted"})
	if err != nil {
		t.Fatalf("AssignRequest: %v", err)
	}
	clock.Advance(time.Hour)
	for i, x := range []struct {
		typ carehex.VisitEventType
		at  time.Duration
	}{{carehex.VisitDepart, time.Minute}, {carehex.VisitArrive, 10 * time.Minute}, {carehex.VisitComplete, 45 * time.Minute}} {
		e := &carehex.VisitEvent{EventID: "ev" + string(rune('a'+i)), VisitID: v.ID, ProviderID: p.ID, Type: x.typ,
			Position: home, AccuracyM: 10, DeviceTime: t0.Add(x.at), Verified: true}
		if _, _, _, err := db.RecordVisitEvent(ctx, e, carehex.VisitEventRules{}); err != nil {
			t.Fatalf("RecordVisitEvent(%s): %v", x.typ, err)
		}
	}
	return db, v.ID
}

// TestRelayLosesNothing: the visit's notifications are committed with its
// events; a relay that dies after claiming them delivers nothing, and the
// next relay delivers each of them once the lease runs out.
func TestRelayLosesNothing(t *testing.T) {
	ctx := context.Background()
	clock := testenv.NewClock(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC))
	db, visitID := completedVisit(t, clock)

	dead := &notify.Relay{Outbox: db, Sender: dying{}, Clock: clock.Now, Lease: time.Minute}
	if n, err := dead.Once(ctx); n != 0 || err != nil {
		t.Fatalf("dying relay: %d sent, %v", n, err)
	}
	rec := &recorder{sent: map[string]int{}}
	next := &notify.Relay{Outbox: db, Sender: rec, Clock: clock.Now, Lease: time.Minute}
	if n, _ := next.Once(ctx); n != 0 {
		t.Fatalf("delivered %d still under the dead relay's lease", n)
	}
	clock.Advance(2 * time.Minute)
	if n, err := next.Once(ctx); n != 3 || err != nil {
		t.Fatalf("after the lease: %d sent, %v", n, err)
	}
	if n, _ := next.Once(ctx); n != 0 {
		t.Fatalf("delivered %d again", n)
	}
	for _, k := range []string{visitID + ":arriving", visitID + ":arrived", visitID + ":completed"} {
		if rec.sent[k] != 1 {
			t.Errorf("%s delivered %d times", k, rec.sent[k])
		}
	}
}

// signalling records deliveries and says when one happens.
type signalling struct {
	recorder
	delivered chan struct{}
}

func (s *signalling) Send(ctx context.Context, n *carehex.Notification) error {
	err := s.recorder.Send(ctx, n)
	s.delivered <- struct{}{}
	return err
}

// TestRelayWakesOnOutboxNotice: the relay sends a notification when the
// store's notice of its commit arrives, not at its reconcile (an hour here):
// the three notifications of a visit recorded after the relay started are
// all delivered.
func TestRelayWakesOnOutboxNotice(t *testing.T) {
	clock := testenv.NewClock(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC))
	hub := notify.NewHub()
	rec := &signalling{recorder: recorder{sent: map[string]int{}}, delivered: make(chan struct{}, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	_, visitID := completedVisit(t, clock, func(db *sqlstore.DB) {
		db.SetPublisher(hub, nil)
		relay := &notify.Relay{Outbox: db, Sender: rec, Clock: clock.Now, Notices: hub}
		go func() { done <- relay.Run(ctx, time.Hour) }()
	})
	for i := range 3 {
		select {
		case <-rec.delivered:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of 3 notifications delivered within 10 s (the reconcile is an hour away)", i)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, k := range []string{visitID + ":arriving", visitID + ":arrived", visitID + ":completed"} {
		if rec.sent[k] != 1 {
			t.Errorf("%s delivered %d times", k, rec.sent[k])
		}
	}
	if err := (&notify.Relay{}).Run(ctx, 0); carehex.ErrorCode(err) != carehex.EINVALID {
		t.Errorf("Run with no reconcile: %v, want EINVALID", err)
	}
}

// TestWebhookSender: the notification goes out as its JSON payload with the
// headers a receiver relies on; only a 2xx counts as delivered.
func TestWebhookSender(t *testing.T) {
	type got struct {
		header http.Header
		body   string
		method string
	}
	calls := make(chan got, 2)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls <- got{header: r.Header.Clone(), body: string(b), method: r.Method}
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer hook.Close()
	n := &carehex.Notification{ID: "ntf_1", DedupeKey: "vis_1:completed", Kind: "completed", Payload: `{"kind":"completed"}`}
	if err := (notify.WebhookSender{URL: hook.URL + "/ok"}).Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	c := <-calls
	if c.method != http.MethodPost || c.body != n.Payload {
		t.Errorf("sent %s %q, want POST %q", c.method, c.body, n.Payload)
	}
	for h, want := range map[string]string{
		"Content-Type":                "application/json",
		"Idempotency-Key":             n.DedupeKey,
		"X-Carehex-Notification-Kind": n.Kind,
	} {
		if v := c.header.Get(h); v != want {
			t.Errorf("header %s = %q, want %q (all: %v)", h, v, want, c.header)
		}
	}
	if err := (notify.WebhookSender{URL: hook.URL + "/fail"}).Send(context.Background(), n); err == nil {
		t.Fatal("a 502 counted as delivered")
	}
	<-calls
}
