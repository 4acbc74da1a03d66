package rpc_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/plan"
	"github.com/carehex/carehex/providers"
	"github.com/carehex/carehex/rpc"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/redis/go-redis/v9"
	"github.com/twitchtv/twirp"
)

// dispatchServer is a testServer whose API runs the real dispatch engine
// on the test redis-server, in a zone of its own.
type dispatchServer struct {
	*testServer
	live  *providers.Store
	eng   *dispatch.Engine
	url   string
	clock *testenv.Clock
}

func newDispatchServer(t *testing.T, be backend) *dispatchServer {
	t.Helper()
	return newDispatchServerAt(t, be, testenv.NewClock(time.Now().UTC().Truncate(time.Second)))
}

// newDispatchServerAt is newDispatchServer on clock, with the planner
// committing rosters through the engine.
func newDispatchServerAt(t *testing.T, be backend, clock *testenv.Clock) *dispatchServer {
	t.Helper()
	ts := newServerWithClock(t, be, clock.Now)
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	var b [6]byte
	_, _ = rand.Read(b[:])
	zone := "c" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		// Only this zone's keys: the server is shared with other tests.
		ctx := context.Background()
		_ = providers.DeleteZone(ctx, rdb, zone)
		rdb.Close()
	})
	live, err := providers.New(rdb, providers.Options{Zone: zone, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	db := ts.Store
	eng, err := dispatch.New(dispatch.DefaultConfig(), dispatch.Deps{Store: db, Live: live, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// The first tick finds the new zone lost and rebuilds it, as serve does.
	if err := eng.Tick(context.Background()); err != nil {
		t.Fatalf("first Tick: %v", err)
	}
	api := &rpc.Server{Store: db, Clock: clock.Now, Dispatch: eng, Planner: plan.New(db, eng, clock.Now, nil, 0),
		Logger: slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &dispatchServer{testServer: ts, live: live, eng: eng, url: srv.URL, clock: clock}
}

func (ds *dispatchServer) intake() pb.IntakeService {
	return pb.NewIntakeServiceJSONClient(ds.url, ds.Client)
}

// provider puts a carer with every skill on the roster and, available, on
// the map beside the resident.
func (ds *dispatchServer) provider(t *testing.T, available bool) *carehex.Provider {
	t.Helper()
	var skills []string
	for _, st := range ds.Types {
		skills = append(skills, st.RequiredSkill)
	}
	home := carehex.LatLng{Lat: zibo.Lat + 0.002, Lng: zibo.Lng}
	p := &carehex.Provider{Name: "李师傅", Phone: "13700000001", Skills: skills, Home: home}
	if err := ds.Store.CreateProvider(carehex.WithPrincipal(context.Background(),
		carehex.Principal{Kind: carehex.KindUser, Subject: "usr_t", Role: carehex.RoleAdmin}), p); err != nil {
		t.Fatalf("CreateProvider: %v", err)
	}
	ds.beat(t, p, available)
	return p
}

func (ds *dispatchServer) beat(t *testing.T, p *carehex.Provider, available bool) {
	t.Helper()
	if _, err := ds.live.Heartbeat(context.Background(), providers.Heartbeat{ProviderID: p.ID, Position: p.Home,
		AccuracyM: 10, Available: available, Skills: p.Skills}); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
}

func (ds *dispatchServer) liveStatus(t *testing.T, id string) providers.Status {
	t.Helper()
	l, err := ds.live.Live(context.Background(), id)
	if err != nil {
		t.Fatalf("Live: %v", err)
	}
	return l.Status
}

// request logs a request for the resident; the API dispatches it at once.
func (ds *dispatchServer) request(t *testing.T, residentID string) *pb.ServiceRequest {
	t.Helper()
	resp, err := ds.intake().CreateServiceRequest(ds.ctx(t, carehex.RoleOperator), &pb.CreateServiceRequestRequest{
		ResidentId: residentID, ServiceCode: ds.service().Code, Urgency: pb.Urgency_URGENCY_SOON})
	if err != nil {
		t.Fatalf("CreateServiceRequest: %v", err)
	}
	return resp.Request
}

// openOffer returns the request's one open offer, failing when there is none.
func (ds *dispatchServer) openOffer(t *testing.T, requestID string) *carehex.Offer {
	t.Helper()
	os, err := ds.Store.RequestOffers(context.Background(), requestID)
	if err != nil {
		t.Fatalf("RequestOffers: %v", err)
	}
	for _, o := range os {
		if o.Status == carehex.OfferOpen {
			return o
		}
	}
	t.Fatalf("request %s has no open offer: %+v", requestID, os)
	return nil
}

// TestCancelEveryState cancels a request in each status that is not final,
// with a reason code, and checks what the issue asks of it: the request and
// its visit are cancelled with the reason, the carer's claim in Redis is
// finished (available again), and the carer is offered the next request.
func TestCancelEveryState(t *testing.T) {
	states := []carehex.Status{carehex.StatusPending, carehex.StatusOffered, carehex.StatusAssigned,
		carehex.StatusEnRoute, carehex.StatusInProgress, carehex.StatusUnfilled}
	for _, be := range backends {
		for _, state := range states {
			t.Run(be.name+"/"+string(state), func(t *testing.T) {
				t.Parallel()
				ds := newDispatchServer(t, be)
				ctx := context.Background()
				op := ds.ctx(t, carehex.RoleOperator)
				res := ds.createResident(t, "张桂兰", "13905330001")

				var p *carehex.Provider
				var req *pb.ServiceRequest
				var visitID string
				if state == carehex.StatusPending || state == carehex.StatusUnfilled {
					req = ds.request(t, res.Id) // nobody on the map yet: it waits
					p = ds.provider(t, true)
				} else {
					p = ds.provider(t, true)
					req = ds.request(t, res.Id)
					o := ds.openOffer(t, req.Id)
					if o.ProviderID != p.ID {
						t.Fatalf("offered to %s, want %s", o.ProviderID, p.ID)
					}
					if state != carehex.StatusOffered {
						v, err := ds.eng.Accept(ctx, p.ID, o.ID)
						if err != nil {
							t.Fatalf("Accept: %v", err)
						}
						visitID = v.ID
						walk := map[carehex.Status][]carehex.Status{
							carehex.StatusEnRoute:    {carehex.StatusEnRoute},
							carehex.StatusInProgress: {carehex.StatusEnRoute, carehex.StatusInProgress},
						}[state]
						for _, st := range walk {
							if _, err := ds.Store.TransitionVisit(ctx, v.ID, st, "provider:"+p.ID, "", time.Time{}); err != nil {
								t.Fatalf("TransitionVisit %s: %v", st, err)
							}
						}
					}
				}
				if state == carehex.StatusUnfilled {
					if _, err := ds.Store.TransitionRequest(carehex.WithPrincipal(ctx, carehex.Principal{Kind: carehex.KindUser,
						Subject: "usr_t", Role: carehex.RoleOperator}), req.Id, carehex.StatusUnfilled, "user:usr_t", "nobody"); err != nil {
						t.Fatalf("mark unfilled: %v", err)
					}
				}
				got, err := ds.intake().GetServiceRequest(op, &pb.GetServiceRequestRequest{Id: req.Id})
				if err != nil {
					t.Fatal(err)
				}
				if got.Request.Status.String() != "REQUEST_STATUS_"+strings.ToUpper(string(state)) {
					t.Fatalf("before cancelling the request is %s, want %s", got.Request.Status, state)
				}

				// A bad code changes nothing.
				_, err = ds.intake().CancelServiceRequest(op, &pb.CancelServiceRequestRequest{Id: req.Id, ReasonCode: "bored"})
				wantCode(t, err, twirp.InvalidArgument, "reason_code")

				resp, err := ds.intake().CancelServiceRequest(op, &pb.CancelServiceRequestRequest{Id: req.Id,
					ReasonCode: carehex.CancelHospitalised, Reason: "已住院"})
				if err != nil {
					t.Fatalf("CancelServiceRequest in %s: %v", state, err)
				}
				if resp.Request.Status != pb.RequestStatus_REQUEST_STATUS_CANCELLED || resp.Request.CancelReason != "hospitalised: 已住院" {
					t.Errorf("after cancel: %s %q", resp.Request.Status, resp.Request.CancelReason)
				}
				if visitID != "" {
					v, err := ds.Store.Visit(ctx, visitID)
					if err != nil {
						t.Fatal(err)
					}
					if v.Status != carehex.StatusCancelled {
						t.Errorf("visit is %s after the request was cancelled, want cancelled (the phone shows it withdrawn)", v.Status)
					}
				}
				if s := ds.liveStatus(t, p.ID); s != providers.StatusAvailable {
					t.Errorf("carer is %s after the cancel, want available", s)
				}
				next := ds.request(t, res.Id)
				if o := ds.openOffer(t, next.Id); o.ProviderID != p.ID {
					t.Errorf("the next request went to %s, want the freed carer %s", o.ProviderID, p.ID)
				}
			})
		}
	}
}
