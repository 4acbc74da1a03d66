package rpc_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/providers"
	"github.com/carehex/carehex/rpc"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/redis/go-redis/v9"
	"github.com/twitchtv/twirp"
)

// TestOrgDispatchService walks two-tier dispatch through the API on both
// databases: a bathing request logged by the operator is routed to an
// organisation with the ranking that explains it; each organisation's
// dispatcher sees only its own queue and routings, assigns only its own
// carers to its own requests (another organisation's request or carer is
// not found, and nothing changes); the operator re-routes; the switch of
// auto-dispatch is each organisation's own; and roles outside the table
// are refused.
func TestOrgDispatchService(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			clock := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
			ts := newServerWithClock(t, be, clock.Now)
			ctx := carehex.WithPrincipal(context.Background(), carehex.Principal{Kind: carehex.KindUser, Subject: "usr_t", Role: carehex.RoleAdmin})
			for _, id := range []string{"org_a", "org_b"} {
				if err := ts.Store.CreateOrganisation(ctx, &carehex.Organisation{ID: id, Name: "服务社" + id, Kind: carehex.OrgContractor}); err != nil {
					t.Fatal(err)
				}
				if err := ts.Store.CreateContract(ctx, &carehex.Contract{OrgID: id, Services: []string{"DL-BATH-HOME"}, Unit: carehex.UnitVisit,
					PriceFen: 6000, ValidFrom: clock.Now().Add(-time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			hash, _ := passwordHash()
			token := func(name string, role carehex.Role, org string) context.Context {
				u := &carehex.User{Username: name, Role: role, PasswordHash: hash, OrgID: org}
				if err := ts.Store.CreateUser(context.Background(), u); err != nil {
					t.Fatal(err)
				}
				tok, err := auth.Issue(context.Background(), ts.Store, carehex.Principal{Kind: carehex.KindUser, Subject: u.ID, Role: role, Name: name},
					clock.Now().Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				return as(t, tok)
			}
			dispA, dispB := token("disp-a", carehex.RoleOrgDispatcher, "org_a"), token("disp-b", carehex.RoleOrgDispatcher, "org_b")
			adminA := token("admin-a", carehex.RoleOrgAdmin, "org_a")
			op := ts.ctx(t, carehex.RoleOperator)

			// The engine, bathing via organisations, on the test Redis.
			rdb := redis.NewClient(mustRedisOpt(t))
			var b [6]byte
			_, _ = rand.Read(b[:])
			zone := "r" + hex.EncodeToString(b[:])
			t.Cleanup(func() { _ = providers.DeleteZone(context.Background(), rdb, zone); rdb.Close() })
			live, err := providers.New(rdb, providers.Options{Zone: zone, Clock: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			cfg := dispatch.DefaultConfig()
			cfg.Via.Services = []string{"bathing"}
			eng, err := dispatch.New(cfg, dispatch.Deps{Store: ts.Store, Live: live, Clock: clock.Now, Routes: ts.Store})
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			api := &rpc.Server{Store: ts.Store, Clock: clock.Now, Dispatch: eng, Router: eng,
				Logger: slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
			srv := httptest.NewServer(api.Handler())
			t.Cleanup(srv.Close)
			svc := pb.NewOrgDispatchServiceJSONClient(srv.URL, ts.Client)
			intake := pb.NewIntakeServiceJSONClient(srv.URL, ts.Client)

			carer := func(org string) *carehex.Provider {
				p := &carehex.Provider{Name: "护理员" + org, Phone: "13700000001", Skills: []string{"bathing"}, OrgID: org,
					Home: carehex.LatLng{Lat: zibo.Lat + 0.002, Lng: zibo.Lng}}
				if err := ts.Store.CreateProvider(ctx, p); err != nil {
					t.Fatal(err)
				}
				if _, err := live.Heartbeat(context.Background(), providers.Heartbeat{ProviderID: p.ID, Position: p.Home, AccuracyM: 10,
					Available: true, Skills: p.Skills}); err != nil {
					t.Fatal(err)
				}
				return p
			}
			pa, pbb := carer("org_a"), carer("org_b")
			res := ts.createResident(t, "王秀英", "13905330077")
			bath := func() *pb.ServiceRequest {
				r, err := intake.CreateServiceRequest(op, &pb.CreateServiceRequestRequest{ResidentId: res.Id, ServiceCode: "DL-BATH-HOME",
					Urgency: pb.Urgency_URGENCY_SOON})
				if err != nil {
					t.Fatal(err)
				}
				return r.Request
			}
			r1 := bath()
			if r1.Status != pb.RequestStatus_REQUEST_STATUS_PENDING {
				t.Errorf("a routed request is %s, want pending", r1.Status)
			}
			routes, err := svc.ListRequestRoutes(op, &pb.ListRequestRoutesRequest{RequestId: r1.Id})
			if err != nil || len(routes.Routes) != 1 || routes.Routes[0].OrgId != "org_a" || len(routes.Routes[0].Ranking) < 2 ||
				len(routes.Routes[0].Ranking[0].Factors) == 0 {
				t.Fatalf("ListRequestRoutes(operator) = %+v, %v", routes, err)
			}
			wantCode := func(what string, err error, code twirp.ErrorCode) {
				t.Helper()
				if te, ok := err.(twirp.Error); !ok || te.Code() != code {
					t.Errorf("%s: err = %v, want %s", what, err, code)
				}
			}

			// Each organisation sees its own queue and routing only.
			q, err := svc.ListOrgQueue(dispA, &pb.ListOrgQueueRequest{})
			if err != nil || len(q.Routes) != 1 || q.Routes[0].RequestId != r1.Id || q.Routes[0].ServiceCode != "DL-BATH-HOME" || len(q.Routes[0].Ranking) != 1 {
				t.Errorf("ListOrgQueue(own) = %+v, %v", q, err)
			}
			if q, err := svc.ListOrgQueue(dispB, &pb.ListOrgQueueRequest{}); err != nil || len(q.Routes) != 0 {
				t.Errorf("ListOrgQueue(other) = %+v, %v", q, err)
			}
			_, err = svc.ListOrgQueue(dispB, &pb.ListOrgQueueRequest{OrgId: "org_a"})
			wantCode("another organisation's queue", err, twirp.PermissionDenied)
			_, err = svc.ListRequestRoutes(dispB, &pb.ListRequestRoutesRequest{RequestId: r1.Id})
			wantCode("another organisation's routing", err, twirp.PermissionDenied)
			if q, err := svc.ListOrgQueue(op, &pb.ListOrgQueueRequest{OrgId: "org_a"}); err != nil || len(q.Routes) != 1 {
				t.Errorf("ListOrgQueue(operator, org_a) = %+v, %v", q, err)
			}

			// Assignments: only the dispatcher, only its own carer, only its own request.
			_, err = svc.AssignOrgCarer(dispB, &pb.AssignOrgCarerRequest{RequestId: r1.Id, ProviderId: pbb.ID})
			wantCode("another organisation's request", err, twirp.PermissionDenied)
			_, err = svc.AssignOrgCarer(dispA, &pb.AssignOrgCarerRequest{RequestId: r1.Id, ProviderId: pbb.ID})
			wantCode("another organisation's carer", err, twirp.PermissionDenied)
			_, err = svc.AssignOrgCarer(op, &pb.AssignOrgCarerRequest{RequestId: r1.Id, ProviderId: pa.ID})
			wantCode("an operator", err, twirp.PermissionDenied)
			_, err = svc.AssignOrgCarer(ts.ctx(t, carehex.RoleAdmin), &pb.AssignOrgCarerRequest{RequestId: r1.Id, ProviderId: pa.ID})
			wantCode("a platform admin", err, twirp.PermissionDenied)
			_, err = svc.AssignOrgCarer(adminA, &pb.AssignOrgCarerRequest{RequestId: r1.Id, ProviderId: pa.ID})
			wantCode("an org_admin", err, twirp.PermissionDenied)
			if got, _ := ts.Store.ServiceRequest(context.Background(), r1.Id); got.Status != carehex.StatusPending {
				t.Fatalf("refused assignments moved the request to %s", got.Status)
			}
			as, err := svc.AssignOrgCarer(dispA, &pb.AssignOrgCarerRequest{RequestId: r1.Id, ProviderId: pa.ID})
			if err != nil || as.Request.Status != pb.RequestStatus_REQUEST_STATUS_ASSIGNED || as.Request.ProviderId != pa.ID || as.VisitId == "" {
				t.Fatalf("AssignOrgCarer(own) = %+v, %v", as, err)
			}

			// Re-routing is the platform operator's.
			r2 := bath()
			if rt, err := ts.Store.OpenRoute(context.Background(), r2.Id); err != nil || rt.OrgID != "org_b" {
				t.Fatalf("r2's route = %+v, %v; want org_b (rotation)", rt, err)
			}
			_, err = svc.RerouteRequest(dispB, &pb.RerouteRequestRequest{RequestId: r2.Id})
			wantCode("an organisation re-routing", err, twirp.PermissionDenied)
			rr, err := svc.RerouteRequest(op, &pb.RerouteRequestRequest{RequestId: r2.Id, Reason: "服务商未响应"})
			if err != nil || rr.Route.OrgId != "org_a" || rr.Route.Attempt != 2 {
				t.Fatalf("RerouteRequest = %+v, %v", rr, err)
			}

			// Auto-dispatch: its own switch only.
			if r, err := svc.SetOrgAutoDispatch(dispA, &pb.SetOrgAutoDispatchRequest{Enabled: true}); err != nil || !r.Enabled {
				t.Fatalf("SetOrgAutoDispatch(own) = %+v, %v", r, err)
			}
			_, err = svc.SetOrgAutoDispatch(dispA, &pb.SetOrgAutoDispatchRequest{OrgId: "org_b", Enabled: true})
			wantCode("another organisation's switch", err, twirp.PermissionDenied)
			_, err = svc.SetOrgAutoDispatch(op, &pb.SetOrgAutoDispatchRequest{OrgId: "org_b", Enabled: true})
			wantCode("an operator's switch", err, twirp.PermissionDenied)
			if on, _ := ts.Store.OrgAutoDispatch(context.Background(), "org_b"); on {
				t.Errorf("org_b's auto-dispatch was turned on by a refused call")
			}
		})
	}
}

func mustRedisOpt(t *testing.T) *redis.Options {
	t.Helper()
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	return opt
}
