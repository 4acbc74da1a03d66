package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// TestLoginFloodKeepsServerResponsive is finding 2 of issue 15: 32 clients
// sending wrong passwords as fast as they can must queue behind the bounded
// password hashing and slow nothing else. The throttle is set out of the way
// (every guess is hashed), so what is measured is the hashing bound, not the
// lockout. While the flood runs, /healthz is sampled and a request is
// dispatched to a phone and accepted; the figures go to the test log.
func TestLoginFloodKeepsServerResponsive(t *testing.T) {
	if testing.Short() {
		// Its figure is the issue's acceptance bound on /healthz latency, so
		// it runs alone (make test's slow set), not beside other packages'
		// tests competing for the same two cores.
		t.Skip("measures /healthz latency under a login flood: runs without -short (make test's slow set)")
	}
	bin := buildBinary(t)
	env := []string{"CAREHEX_LOGIN_MAX_FAILURES=1000", "CAREHEX_LOGIN_MAX_ADDR_FAILURES=1000000", "CAREHEX_LOG_LEVEL=error"}
	data := t.TempDir()
	addUser(t, bin, env, data, "op1", "operator", "correct-horse-battery")
	srv := startServer(t, bin, env, "--data", data)
	ctx := login(t, srv.url, "op1", "correct-horse-battery")

	// The dispatch that must go through during the flood: a provider next
	// to a resident, heartbeating, ready for an offer.
	providersAPI := pb.NewProviderServiceJSONClient(srv.url, http.DefaultClient)
	home := &pb.LatLng{Lat: 36.8000, Lng: 118.0500}
	res, err := pb.NewResidentServiceJSONClient(srv.url, http.DefaultClient).CreateResident(ctx, &pb.CreateResidentRequest{
		Name: "王桂兰", Phone: "13905330001", Address: "张店区华光路56号3单元201", Location: home})
	if err != nil {
		t.Fatal(err)
	}
	svc := soonService(t, ctx, srv.url)
	p, err := providersAPI.CreateProvider(ctx, &pb.CreateProviderRequest{Name: "刘芳", Phone: "13600000001",
		Skills: []string{svc.RequiredSkill}, Location: home})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := providersAPI.IssueDeviceToken(ctx, &pb.IssueDeviceTokenRequest{ProviderId: p.Provider.Id})
	if err != nil {
		t.Fatal(err)
	}
	phoneHC, api := contractClient(t, srv.url)
	ph := phone{t: t, url: srv.url, token: tok.Token, hc: phoneHC, api: api}
	if code := ph.do("POST", "/m/v1/heartbeat", map[string]any{"lat": home.Lat, "lng": home.Lng, "accuracy_m": 10, "available": true}, nil); code != http.StatusOK {
		t.Fatalf("heartbeat: HTTP %d", code)
	}

	// The flood: 32 clients, each its own connection, wrong passwords
	// back to back until told to stop.
	floodCtx, stopFlood := context.WithCancel(context.Background())
	var (
		flood              sync.WaitGroup
		refused, otherErrs atomic.Int64
		on                 = make(chan struct{}) // closed at the 32nd answered guess
	)
	for i := 0; i < 32; i++ {
		flood.Add(1)
		go func() {
			defer flood.Done()
			client := pb.NewAuthServiceProtobufClient(srv.url, &http.Client{Transport: &http.Transport{}})
			for floodCtx.Err() == nil {
				_, err := client.Login(floodCtx, &pb.LoginRequest{Username: fmt.Sprintf("guess%02d", i), Password: "not the password"})
				var te twirp.Error
				switch {
				case errors.As(err, &te) && te.Code() == twirp.Unauthenticated:
					if refused.Add(1) == 32 {
						close(on)
					}
				case floodCtx.Err() == nil:
					otherErrs.Add(1)
				}
			}
		}()
	}
	defer func() { stopFlood(); flood.Wait() }()
	// The flood is on once the first guesses have been answered.
	select {
	case <-on:
	case <-time.After(60 * time.Second):
		t.Fatalf("32 wrong passwords not answered within 60s (%d other errors)", otherErrs.Load())
	}
	floodStart, refusedAtStart := time.Now(), refused.Load()

	// A dispatch during the flood: request → offer on the phone → accept.
	dispatched := make(chan error, 1)
	go func() {
		start := time.Now()
		created, err := pb.NewIntakeServiceJSONClient(srv.url, http.DefaultClient).CreateServiceRequest(ctx, &pb.CreateServiceRequestRequest{
			ResidentId: res.Resident.Id, ServiceCode: svc.Code, Urgency: pb.Urgency_URGENCY_SOON, IdempotencyKey: "flood-1"})
		if err != nil {
			dispatched <- fmt.Errorf("create request: %w", err)
			return
		}
		offer, _ := ph.waitOfferPoll(created.Request.Id)
		if code := ph.do("POST", "/m/v1/offers/"+offer.ID+"/accept", nil, nil); code != http.StatusOK {
			dispatched <- fmt.Errorf("accept: HTTP %d", code)
			return
		}
		t.Logf("dispatch during the flood: request to accepted offer in %v", time.Since(start).Round(time.Millisecond))
		dispatched <- nil
	}()

	// /healthz, sampled every 10 ms while the flood lasts.
	const samples = 500
	lat := make([]time.Duration, 0, samples)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	hc := &http.Client{Timeout: 5 * time.Second}
	for len(lat) < samples {
		<-tick.C
		start := time.Now()
		resp, err := hc.Get(srv.url + "/healthz")
		if err != nil {
			t.Fatalf("healthz during the flood: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz during the flood: HTTP %d", resp.StatusCode)
		}
		lat = append(lat, time.Since(start))
	}
	if err := <-dispatched; err != nil {
		t.Fatalf("dispatch during the flood: %v", err)
	}
	took := time.Since(floodStart)
	guesses := refused.Load() - refusedAtStart
	stopFlood()
	flood.Wait()

	slices.Sort(lat)
	pct := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	t.Logf("flood: 32 clients, %d wrong passwords answered in %v (%.1f/s); /healthz over %d samples: p50 %v p99 %v max %v",
		guesses, took.Round(time.Millisecond), float64(guesses)/took.Seconds(), len(lat), pct(0.50), pct(0.99), lat[len(lat)-1])
	if otherErrs.Load() > 0 {
		t.Errorf("%d flood logins failed other than unauthenticated", otherErrs.Load())
	}
	if guesses == 0 {
		t.Fatal("no login was answered during the flood: the flood did not run")
	}
	// The issue's acceptance figure.
	if p99 := pct(0.99); p99 >= 50*time.Millisecond {
		t.Errorf("/healthz p99 %v during the login flood, want under 50ms", p99)
	}
}

// soonService is a daily-life service of urgency class soon.
func soonService(t *testing.T, ctx context.Context, url string) *pb.ServiceType {
	t.Helper()
	types, err := pb.NewCatalogServiceJSONClient(url, http.DefaultClient).ListServiceTypes(ctx, &pb.ListServiceTypesRequest{Category: "daily_life"})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range types.ServiceTypes {
		if st.UrgencyClass == "soon" {
			return st
		}
	}
	t.Fatal("no daily_life service of urgency class soon in the catalogue")
	return nil
}
