package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/carehex/carehex/internal/testenv"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// TestRedisDown: with Redis gone, the hotline keeps logging requests (the
// system of record needs only the database), dispatch calls answer Twirp
// "unavailable" with a retry hint instead of hanging, /healthz says so, and
// once Redis is back the waiting request is offered without anyone asking.
// The latencies are logged for docs/RELIABILITY.md, not asserted.
func TestRedisDown(t *testing.T) {
	if testing.Short() {
		t.Skip("a fault test: make test runs it with the others after the short run")
	}
	bin := buildBinary(t)
	rds := startOwnRedis(t, false)
	env := []string{"CAREHEX_DATABASE_URL=" + testenv.PostgresURL(t), "CAREHEX_REDIS_URL=" + rds.URL(),
		"CAREHEX_ZONE=down" + randomHex(4), "CAREHEX_LOG_LEVEL=error"}
	data := t.TempDir()
	addUser(t, bin, env, data, "op1", "operator", "correct-horse-battery")
	srv := startServer(t, bin, env, "--data", data)
	lb := newBalancer([]*server{srv})
	op := newOperator(t, lb)
	city := op.setUp(t, 1)
	ph := city.phones[0]
	ctx := context.Background()
	if err := ph.heartbeat(ctx, lb); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}

	rds.stop()
	intake := pb.NewIntakeServiceJSONClient(srv.url, http.DefaultClient)
	t0 := time.Now()
	created, err := intake.CreateServiceRequest(op.ctx, &pb.CreateServiceRequestRequest{ResidentId: city.residents[0].Id,
		ServiceCode: city.soon.Code, Urgency: pb.Urgency_URGENCY_SOON, IdempotencyKey: "redis-down-1"})
	createTook := time.Since(t0)
	if err != nil {
		t.Fatalf("CreateServiceRequest with Redis down: %v; want it committed", err)
	}
	got, err := intake.GetServiceRequest(op.ctx, &pb.GetServiceRequestRequest{Id: created.Request.Id})
	if err != nil || got.Request.Status != pb.RequestStatus_REQUEST_STATUS_PENDING {
		t.Fatalf("the request logged with Redis down: %v, %v; want it pending", got.GetRequest().GetStatus(), err)
	}

	t0 = time.Now()
	_, err = pb.NewDispatchServiceJSONClient(srv.url, http.DefaultClient).ListCandidates(op.ctx, &pb.ListCandidatesRequest{RequestId: created.Request.Id})
	candTook := time.Since(t0)
	var te twirp.Error
	if !errors.As(err, &te) || te.Code() != twirp.Unavailable || te.Meta("retry_after_ms") == "" {
		t.Fatalf("ListCandidates with Redis down: %v; want unavailable with retry_after_ms", err)
	}
	resp, err := http.Get(srv.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/healthz with Redis down: HTTP %d, want 503", resp.StatusCode)
	}
	t.Logf("Redis down: CreateServiceRequest committed in %v; ListCandidates answered %q in %v", createTook.Round(time.Millisecond), te.Code(), candTook.Round(time.Millisecond))

	// Redis comes back empty; the phone's next heartbeat re-registers the
	// provider and the engine's pass offers the waiting request.
	if err := rds.start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	deadline := back.Add(60 * time.Second)
	for time.Now().Before(deadline) {
		_ = ph.heartbeat(ctx, lb)
		if offers, err := ph.api(lb).Offers(ctx, 2*time.Second); err == nil {
			for _, o := range offers {
				if o.RequestID == created.Request.Id {
					t.Logf("Redis back: the waiting request was offered %v later", time.Since(back).Round(10*time.Millisecond))
					return
				}
			}
		}
	}
	t.Fatal("the request logged while Redis was down was never offered after it came back")
}
