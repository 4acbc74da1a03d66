package rpc_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// requestsOf lists the requests of one resident through the API.
func (ts *testServer) requestsOf(tb testing.TB, residentID string) []*pb.ServiceRequest {
	tb.Helper()
	resp, err := ts.intake().ListServiceRequests(ts.ctx(tb, carehex.RoleSupervisor),
		&pb.ListServiceRequestsRequest{ResidentId: residentID, Limit: 500})
	if err != nil {
		tb.Fatalf("list requests of %s: %v", residentID, err)
	}
	return resp.Requests
}

// TestIdempotency proves the second half of invariant 2: a retry with the
// same idempotency key returns the first result and creates nothing.
func TestIdempotency(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ts := newServer(t, be)
			op := ts.ctx(t, carehex.RoleOperator)
			newRequest := func(t *testing.T, key, notes string) *pb.CreateServiceRequestRequest {
				t.Helper()
				res := ts.createResident(t, "王秀英", "13800138000")
				return &pb.CreateServiceRequestRequest{
					ResidentId: res.Id, ServiceCode: ts.service().Code, Urgency: pb.Urgency_URGENCY_SOON,
					Notes: notes, IdempotencyKey: key,
				}
			}

			t.Run("same key and body", func(t *testing.T) {
				in := newRequest(t, "call-0001", "老人腿脚不便")
				first, err := ts.intake().CreateServiceRequest(op, in)
				if err != nil {
					t.Fatal(err)
				}
				second, err := ts.intake().CreateServiceRequest(op, in)
				if err != nil {
					t.Fatalf("retry: %v", err)
				}
				if first.Replayed || !second.Replayed {
					t.Errorf("replayed = %v then %v, want false then true", first.Replayed, second.Replayed)
				}
				if first.Request.Id != second.Request.Id {
					t.Errorf("retry answered request %s, first was %s", second.Request.Id, first.Request.Id)
				}
				if got := ts.requestsOf(t, in.ResidentId); len(got) != 1 {
					t.Errorf("%d requests after a retry, want 1", len(got))
				}
			})

			t.Run("same key and body over JSON then protobuf", func(t *testing.T) {
				in := newRequest(t, "call-0002", "")
				first, err := ts.intake().CreateServiceRequest(op, in)
				if err != nil {
					t.Fatal(err)
				}
				second, err := ts.intakeProto().CreateServiceRequest(op, in)
				if err != nil {
					t.Fatalf("retry over protobuf: %v", err)
				}
				if !second.Replayed || second.Request.Id != first.Request.Id {
					t.Errorf("retry over protobuf: replayed=%v id=%s, want true and %s", second.Replayed, second.Request.Id, first.Request.Id)
				}
			})

			t.Run("same key other body", func(t *testing.T) {
				in := newRequest(t, "call-0003", "first notes")
				if _, err := ts.intake().CreateServiceRequest(op, in); err != nil {
					t.Fatal(err)
				}
				in.Notes = "different notes"
				_, err := ts.intake().CreateServiceRequest(op, in)
				wantCode(t, err, twirp.AlreadyExists, "idempotency_key")
				got := ts.requestsOf(t, in.ResidentId)
				if len(got) != 1 || got[0].Notes != "first notes" {
					t.Errorf("requests after a refused reuse = %v, want the first one only", got)
				}
			})

			t.Run("different keys", func(t *testing.T) {
				in := newRequest(t, "call-0004", "")
				a, err := ts.intake().CreateServiceRequest(op, in)
				if err != nil {
					t.Fatal(err)
				}
				in.IdempotencyKey = "call-0005"
				b, err := ts.intake().CreateServiceRequest(op, in)
				if err != nil {
					t.Fatal(err)
				}
				if a.Request.Id == b.Request.Id || a.Replayed || b.Replayed {
					t.Errorf("two keys gave %s (replayed %v) and %s (replayed %v), want two new requests",
						a.Request.Id, a.Replayed, b.Request.Id, b.Replayed)
				}
				if got := ts.requestsOf(t, in.ResidentId); len(got) != 2 {
					t.Errorf("%d requests, want 2", len(got))
				}
			})

			t.Run("concurrent retries", func(t *testing.T) {
				in := newRequest(t, "call-0006", "同时重试")
				const n = 20
				var (
					wg       sync.WaitGroup
					mu       sync.Mutex
					ids      = map[string]int{}
					errs     []error
					replayed int
				)
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						resp, err := ts.intake().CreateServiceRequest(op, in)
						mu.Lock()
						defer mu.Unlock()
						if err != nil {
							errs = append(errs, err)
							return
						}
						ids[resp.Request.Id]++
						if resp.Replayed {
							replayed++
						}
					}()
				}
				wg.Wait()
				for _, err := range errs {
					t.Errorf("concurrent call failed: %v", err)
				}
				if len(ids) != 1 {
					t.Errorf("%d concurrent calls with one key made requests %v, want one", n, ids)
				}
				if len(errs) == 0 && replayed != n-1 {
					t.Errorf("%d of %d answers were replays, want %d", replayed, n, n-1)
				}
				if got := ts.requestsOf(t, in.ResidentId); len(got) != 1 {
					t.Errorf("%d requests stored, want 1: %v", len(got), fmt.Sprint(got))
				}
			})
		})
	}
}

// TestIdempotentRetryOutlivesValidation: a retry must get the first answer
// even when the same body would no longer be accepted as new, here because
// the booked window has ended since the first call (the store answers
// replays before it validates, for this reason).
func TestIdempotentRetryOutlivesValidation(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			clock := testenv.NewClock(time.Now().UTC())
			ts := newServerWithClock(t, be, clock.Now)
			op := ts.ctx(t, carehex.RoleOperator)
			res := ts.createResident(t, "王秀英", "13800138000")
			now := clock.Now()
			in := &pb.CreateServiceRequestRequest{
				ResidentId: res.Id, ServiceCode: ts.service().Code, Urgency: pb.Urgency_URGENCY_SCHEDULED,
				WindowStartTime: timestamppb.New(now.Add(time.Minute)), WindowEndTime: timestamppb.New(now.Add(2 * time.Minute)),
				IdempotencyKey: "late-retry",
			}
			first, err := ts.intake().CreateServiceRequest(op, in)
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(3 * time.Minute) // the reply was lost; the retry comes after the window
			second, err := ts.intake().CreateServiceRequest(op, in)
			if err != nil {
				t.Fatalf("retry after the window ended: %v (want the first answer, replayed)", err)
			}
			if !second.Replayed || second.Request.Id != first.Request.Id {
				t.Errorf("retry: replayed=%v id=%s, want true and %s", second.Replayed, second.Request.Id, first.Request.Id)
			}
		})
	}
}
