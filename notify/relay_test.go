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
// visit's ID.
func completedVisit(t *testing.T, clock *testenv.Clock) (*sqlstore.DB, string) {
	t.Helper()
	ctx := context.Background()
	op := carehex.WithPrincipal(ctx, operator)
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "carehex.db"), clock.Now)
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
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
