package phones_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/demo/phones"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/internal/testenv/testdb"
	mobileapi "github.com/carehex/carehex/mobile-api"
	"github.com/carehex/carehex/mobile-api/mobileclient"
	"github.com/carehex/carehex/notify"
	"github.com/carehex/carehex/providers"
)

// TestDemoPhonesCompleteARequest: demo carers near a home take a request
// the dispatcher offers them and walk it to completed, with a verified
// check-in, over the real mobile API on the real store and Redis; when
// their context ends, Run returns.
func TestDemoPhonesCompleteARequest(t *testing.T) {
	ctx := context.Background()
	db := testdb.SQLite(t, time.Now)
	rdb, _ := testenv.Redis(t)
	zone := testenv.UniqueZone("demo")
	t.Cleanup(func() { _ = providers.DeleteZone(context.Background(), rdb, zone) })
	live, err := providers.New(rdb, providers.Options{Zone: zone})
	if err != nil {
		t.Fatal(err)
	}
	hub := notify.NewHub()
	db.SetPublisher(hub, nil)
	eng, err := dispatch.New(dispatch.DefaultConfig(), dispatch.Deps{Store: db, Live: live, Notices: hub})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	api, err := mobileapi.New(mobileapi.DefaultConfig(), mobileapi.Deps{Store: db, Engine: eng, Live: live, Notices: hub})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)

	home := testenv.Zibo
	res := &carehex.Resident{Name: "王桂兰", Phone: "13905330001", Address: "张店区华光路56号", Location: home}
	if err := db.CreateResident(testenv.OpCtx(), res); err != nil {
		t.Fatal(err)
	}
	carers := []*carehex.Provider{
		{Name: "刘芳", Phone: "13600000001", Home: testenv.At(home, 300, 0)},
		{Name: "张伟", Phone: "13600000002", Home: testenv.At(home, 0, 600)},
	}
	phones.Prepare(carers, []string{"meals", "bathing", "first_aid"})
	var list []phones.Phone
	for _, p := range carers {
		if !phones.IsDemo(p) || len(p.Skills) != 3 {
			t.Fatalf("prepared carer %+v is not marked or lacks skills", p)
		}
		if err := db.CreateProvider(testenv.OpCtx(), p); err != nil {
			t.Fatal(err)
		}
		tok, err := auth.Issue(ctx, db, carehex.Principal{Kind: carehex.KindProvider, Subject: p.ID, Name: p.Name}, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, phones.Phone{ProviderID: p.ID, Home: p.Home, API: mobileclient.New(srv.URL, tok, srv.Client())})
	}

	cfg := phones.DefaultConfig()
	cfg.Heartbeat, cfg.AnswerAfter, cfg.DepartAfter = 200*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	cfg.MaxTravel, cfg.ServiceTime = 300*time.Millisecond, 100*time.Millisecond
	pctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- phones.Run(pctx, list, cfg) }()

	// Both phones have reported before the call comes in.
	waitFor(t, "the demo phones' heartbeats", func() bool {
		for _, p := range carers {
			if st, err := live.Live(ctx, p.ID); err != nil || st == nil {
				return false
			}
		}
		return true
	})
	req, _, err := db.CreateServiceRequest(testenv.OpCtx(), &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery",
		Urgency: carehex.UrgencySoon}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Dispatch(ctx, req.ID); err != nil {
		t.Fatal(err)
	}
	var got *carehex.ServiceRequest
	waitFor(t, "the request to be completed", func() bool {
		got, err = db.ServiceRequest(ctx, req.ID)
		return err == nil && got.Status == carehex.StatusCompleted
	})
	if got.ProviderID != carers[0].ID {
		t.Errorf("completed by %s, want the nearest demo carer %s", got.ProviderID, carers[0].ID)
	}
	evs, err := db.VisitEvents(ctx, got.VisitID)
	if err != nil || len(evs) != 3 {
		t.Fatalf("visit events %v, %v; want depart, arrive, complete", evs, err)
	}
	for _, e := range evs {
		if e.Type == carehex.VisitArrive && !e.Verified {
			t.Errorf("the demo check-in was not verified at the home: %+v", e)
		}
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	cfg := phones.DefaultConfig()
	cfg.Heartbeat = 0
	if err := phones.Run(context.Background(), nil, cfg); err == nil {
		t.Fatal("Run with no heartbeat period: no error")
	}
}

// waitFor polls cond for up to 30 s; the phones run at wall-clock time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
