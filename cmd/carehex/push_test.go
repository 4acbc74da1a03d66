package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex/internal/testenv"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// TestPushAcrossReplicas is issue 14's acceptance: two `carehex serve` on one
// PostgreSQL and one redis-server; a request logged on replica A is offered
// to a phone long-polling replica B.
//
//   - pubsub: the replicas' reconcile is an hour (CAREHEX_RECONCILE=1h), so
//     the offer can reach the phone on B within its 30 s long poll only by
//     the notice crossing Redis pub/sub. The test asserts that it does, five
//     times, and logs how long after A's answer B answered (issue 14 asks
//     for 100 ms; docs/PERFORMANCE.md has the figures).
//   - pubsub_cut: a second pair with a 3 s reconcile; with pub/sub cut
//     (Redis refusing publish and subscribe, the bridges' connections
//     killed, so no notice crosses) the phone on B still gets its offer,
//     within its 10 s long poll: by B's reconcile, late, never lost.
//
// Tests never assert wall-clock times: what is asserted is which path could
// have delivered, by making the other one impossible within the wait.
func TestPushAcrossReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four servers and its own redis-server; in SLOW_TESTS (make test runs it)")
	}
	bin := buildBinary(t)
	rds := startOwnRedis(t, false)
	t.Run("pubsub", func(t *testing.T) {
		try := replicaPair(t, bin, rds.URL(), "1h")
		for i := range 5 {
			d := try(i, 30*time.Second)
			t.Logf("try %d: B answered %v after A did (negative: before A's answer reached the test; the reconcile is an hour away, only the notice can have woken B)", i, d.Round(100*time.Microsecond))
		}
	})
	t.Run("pubsub_cut", func(t *testing.T) {
		try := replicaPair(t, bin, rds.URL(), "3s")
		// No notice crosses: Redis refuses every publish and subscribe, and
		// the open subscriptions are killed, so B neither hears A nor gets
		// the wake-everyone of a successful resubscription. Only B's
		// reconcile (3 s) finds the offer.
		cli := func(args ...string) string {
			t.Helper()
			out, err := exec.Command("redis-cli", append([]string{"-u", rds.URL()}, args...)...).CombinedOutput()
			if err != nil || strings.Contains(string(out), "ERR") {
				t.Fatalf("redis-cli %v: %v %s", args, err, out)
			}
			return strings.TrimSpace(string(out))
		}
		cli("ACL", "SETUSER", "default", "-publish", "-spublish", "-subscribe", "-ssubscribe", "-psubscribe")
		t.Cleanup(func() { cli("ACL", "SETUSER", "default", "+@all") })
		if n, _ := strconv.Atoi(cli("CLIENT", "KILL", "TYPE", "pubsub")); n < 2 {
			t.Fatalf("killed %d pub/sub connections, want both replicas' bridges", n)
		}
		d := try(100, 10*time.Second)
		t.Logf("with pub/sub cut, B answered %v after A (reconcile 3 s)", d.Round(time.Millisecond))
	})
}

// replicaPair starts replicas A and B with the given reconcile, on a
// PostgreSQL database and a zone of their own (replicas sharing a database
// are one city, one zone), and returns try: a new provider (the nearest free one: earlier
// ones hold their offers) long-polls B for wait; once B's hub shows the
// poll waiting, A takes a request; try fails the test unless B's long poll
// answers with that request's offer before its wait ends, and returns the
// time from A's answer to B's.
func replicaPair(t *testing.T, bin, redisURL, reconcile string) func(n int, wait time.Duration) time.Duration {
	t.Helper()
	env := []string{"CAREHEX_DATABASE_URL=" + testenv.PostgresURL(t), "CAREHEX_REDIS_URL=" + redisURL,
		"CAREHEX_ZONE=push" + randomHex(4), "CAREHEX_RECONCILE=" + reconcile}
	addUser(t, bin, env, t.TempDir(), "op1", "operator", "correct-horse-battery") // in PostgreSQL: both replicas know it
	a := startServer(t, bin, env, "--data", t.TempDir())
	b := startServer(t, bin, env, "--data", t.TempDir())
	op := login(t, a.url, "op1", "correct-horse-battery")
	residents := pb.NewResidentServiceJSONClient(a.url, http.DefaultClient)
	providersAPI := pb.NewProviderServiceJSONClient(a.url, http.DefaultClient)
	intake := pb.NewIntakeServiceJSONClient(a.url, http.DefaultClient)

	home := &pb.LatLng{Lat: 36.8000, Lng: 118.0500}
	res, err := residents.CreateResident(op, &pb.CreateResidentRequest{Name: "王桂兰", Phone: "13905330001",
		Address: "张店区华光路56号3单元201 " + randomHex(3), Location: home})
	if err != nil {
		t.Fatal(err)
	}
	svc := soonService(t, op, a.url)

	// try: a new provider (the nearest free one: earlier ones hold their
	// offers) long-polls B; once B's hub shows the poll waiting, A takes a
	// request; the result is the time from A's answer to B's.
	return func(n int, timeout time.Duration) time.Duration {
		t.Helper()
		p, err := providersAPI.CreateProvider(op, &pb.CreateProviderRequest{Name: "刘芳" + strconv.Itoa(n),
			Phone: fmt.Sprintf("136%08d", n), Skills: []string{svc.RequiredSkill}, Location: home})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := providersAPI.IssueDeviceToken(op, &pb.IssueDeviceTokenRequest{ProviderId: p.Provider.Id})
		if err != nil {
			t.Fatal(err)
		}
		hb, _ := json.Marshal(map[string]any{"lat": home.Lat, "lng": home.Lng, "accuracy_m": 10, "available": true})
		hreq, _ := http.NewRequest("POST", b.url+"/m/v1/heartbeat", strings.NewReader(string(hb)))
		hreq.Header.Set("Authorization", "Bearer "+tok.Token)
		hreq.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(hreq); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("heartbeat on B: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}

		waiting := hubSubscriptions(t, b)
		type answer struct {
			at     time.Time
			offers []wireOffer
			err    error
		}
		got := make(chan answer, 1)
		wait := int(timeout / time.Second)
		go func() {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/m/v1/offers?wait=%d", b.url, wait), nil)
			req.Header.Set("Authorization", "Bearer "+tok.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				got <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			var body struct{ Offers []wireOffer }
			err = json.NewDecoder(resp.Body).Decode(&body)
			got <- answer{at: time.Now(), offers: body.Offers, err: err}
		}()
		// The poll is waiting once B's hub holds one more subscription.
		deadline := time.Now().Add(10 * time.Second)
		for hubSubscriptions(t, b) <= waiting {
			if time.Now().After(deadline) {
				t.Fatal("the long poll on B never started waiting")
			}
			time.Sleep(5 * time.Millisecond) // polling B's gauge: there is no other signal from outside the process
		}
		created, err := intake.CreateServiceRequest(op, &pb.CreateServiceRequestRequest{ResidentId: res.Resident.Id,
			ServiceCode: svc.Code, Urgency: pb.Urgency_URGENCY_SOON, IdempotencyKey: "push-" + randomHex(6)})
		answered := time.Now()
		if err != nil {
			t.Fatal(err)
		}
		select {
		case ans := <-got:
			if ans.err != nil {
				t.Fatalf("long poll on B: %v", ans.err)
			}
			if len(ans.offers) != 1 || ans.offers[0].RequestID != created.Request.Id {
				t.Fatalf("long poll on B answered %+v after its %v wait, want the offer of %s", ans.offers, timeout, created.Request.Id)
			}
			return ans.at.Sub(answered)
		case <-time.After(timeout + 5*time.Second):
			t.Fatalf("no answer on B within %v", timeout+5*time.Second)
		}
		return 0
	}
}

// hubSubscriptions reads carehex_notify_subscriptions from srv's metrics.
func hubSubscriptions(t *testing.T, srv *server) int {
	t.Helper()
	resp, err := http.Get(srv.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "carehex_notify_subscriptions "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("carehex_notify_subscriptions %q: %v", v, err)
			}
			return int(f)
		}
	}
	t.Fatal("no carehex_notify_subscriptions in /metrics")
	return 0
}
