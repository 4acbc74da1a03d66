package rpc_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/proto"
)

// TestProviderRoster searches the roster by name, phone and skill with
// paging and a total, shows live availability, and edits and deactivates a
// carer; a supervisor reads but changes nothing.
func TestProviderRoster(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ds := newDispatchServer(t, be)
			op := ds.ctx(t, carehex.RoleOperator)
			sup := ds.ctx(t, carehex.RoleSupervisor)
			api := pb.NewProviderServiceJSONClient(ds.url, ds.Client)
			skills := map[string]bool{}
			for _, st := range ds.Types {
				skills[st.RequiredSkill] = true
			}
			var a, b string
			for s := range skills {
				if a == "" {
					a = s
				} else if b == "" && s != a {
					b = s
				}
			}
			// 25 carers with skill a; the last one also has b.
			var ids []string
			for i := range 25 {
				sk := []string{a}
				if i == 24 {
					sk = append(sk, b)
				}
				resp, err := api.CreateProvider(op, &pb.CreateProviderRequest{Name: fmt.Sprintf("护工%02d", i),
					Phone: fmt.Sprintf("1370000%04d", i), Skills: sk, Location: zibo})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, resp.Provider.Id)
			}
			list := func(ctx context.Context, req *pb.ListProvidersRequest) *pb.ListProvidersResponse {
				t.Helper()
				r, err := api.ListProviders(ctx, req)
				if err != nil {
					t.Fatalf("ListProviders %+v: %v", req, err)
				}
				return r
			}
			// Paging: every carer once, with the total on each page.
			seen := map[string]bool{}
			for off := int32(0); off < 25; off += 10 {
				r := list(sup, &pb.ListProvidersRequest{Limit: 10, Offset: off})
				if r.TotalSize != 25 || len(r.Availability) != len(r.Providers) {
					t.Fatalf("page at %d: total %d, %d providers, %d availabilities", off, r.TotalSize, len(r.Providers), len(r.Availability))
				}
				for _, p := range r.Providers {
					seen[p.Id] = true
				}
			}
			if len(seen) != 25 {
				t.Errorf("pages listed %d distinct carers, want 25", len(seen))
			}
			// The newest carer is found by name although 24 joined before.
			if r := list(op, &pb.ListProvidersRequest{Query: "护工24", Limit: 5}); r.TotalSize != 1 || r.Providers[0].Id != ids[24] {
				t.Errorf("name search: %+v", r)
			}
			if r := list(op, &pb.ListProvidersRequest{Query: "00003", Limit: 5}); r.TotalSize != 1 || r.Providers[0].Id != ids[3] {
				t.Errorf("phone search: total %d", r.TotalSize)
			}
			if r := list(op, &pb.ListProvidersRequest{Skill: b}); r.TotalSize != 1 || r.Providers[0].Id != ids[24] {
				t.Errorf("skill search: total %d", r.TotalSize)
			}
			if r := list(op, &pb.ListProvidersRequest{Query: "%"}); r.TotalSize != 0 {
				t.Errorf("%% matched %d carers; it is no wildcard", r.TotalSize)
			}
			// Availability from the live state.
			p0, err := ds.Store.Provider(context.Background(), ids[0])
			if err != nil {
				t.Fatal(err)
			}
			ds.beat(t, p0, true)
			r := list(op, &pb.ListProvidersRequest{Query: "护工00"})
			if st := r.Availability[0].State; st != pb.AvailabilityState_AVAILABILITY_STATE_ONLINE || r.Availability[0].LastSeenTime == nil {
				t.Errorf("heartbeating carer is %s (last seen %v), want online", st, r.Availability[0].LastSeenTime)
			}
			if st := list(op, &pb.ListProvidersRequest{Query: "护工01"}).Availability[0].State; st != pb.AvailabilityState_AVAILABILITY_STATE_OFFLINE {
				t.Errorf("carer never seen is %s, want offline", st)
			}

			// Bad input names the field and changes nothing.
			_, err = api.ListProviders(op, &pb.ListProvidersRequest{Offset: -1})
			wantCode(t, err, twirp.InvalidArgument, "offset")
			_, err = api.ListProviders(op, &pb.ListProvidersRequest{Query: strings.Repeat("名", 101)})
			wantCode(t, err, twirp.InvalidArgument, "query")
			upd := &pb.UpdateProviderRequest{Id: ids[1], Name: "赵敏", Phone: "13911112222", Skills: []string{a, b},
				Location: &pb.LatLng{Lat: zibo.Lat + 0.01, Lng: zibo.Lng}, Gender: pb.Gender_GENDER_FEMALE}
			_, err = api.UpdateProvider(sup, upd)
			wantCode(t, err, twirp.PermissionDenied, "")
			for _, c := range []struct {
				mut   func(*pb.UpdateProviderRequest)
				code  twirp.ErrorCode
				field string
			}{
				{func(r *pb.UpdateProviderRequest) { r.Skills = []string{"juggling"} }, twirp.InvalidArgument, "skills"},
				{func(r *pb.UpdateProviderRequest) { r.Name = "" }, twirp.InvalidArgument, "name"},
				{func(r *pb.UpdateProviderRequest) { r.Location = nil }, twirp.InvalidArgument, "location"},
				{func(r *pb.UpdateProviderRequest) { r.Id = "prv_nope" }, twirp.NotFound, "id"},
			} {
				bad := proto.Clone(upd).(*pb.UpdateProviderRequest)
				c.mut(bad)
				_, err := api.UpdateProvider(op, bad)
				wantCode(t, err, c.code, c.field)
			}
			if got := list(op, &pb.ListProvidersRequest{Query: "护工01"}); got.TotalSize != 1 {
				t.Fatal("a refused update changed the carer")
			}
			resp, err := api.UpdateProvider(op, upd)
			if err != nil {
				t.Fatal(err)
			}
			if p := resp.Provider; p.Name != "赵敏" || len(p.Skills) != 2 || p.Gender != pb.Gender_GENDER_FEMALE || p.Location.Lat != upd.Location.Lat {
				t.Errorf("updated carer = %+v", p)
			}
			if r := list(op, &pb.ListProvidersRequest{Query: "赵敏"}); r.TotalSize != 1 || r.Providers[0].Id != ids[1] {
				t.Errorf("renamed carer not found by the new name")
			}
			// The live state learned the new skill at once.
			if l, err := ds.live.Live(context.Background(), ids[1]); err != nil || !slices.Contains(l.Skills, b) {
				t.Errorf("live skills after the update: %+v, %v; want %s among them", l, err, b)
			}

			// Deactivate: a reason is required; the carer leaves the list
			// and dispatch, and shows with include_inactive.
			_, err = api.DeactivateProvider(op, &pb.DeactivateProviderRequest{ProviderId: ids[0]})
			wantCode(t, err, twirp.InvalidArgument, "reason")
			_, err = api.DeactivateProvider(sup, &pb.DeactivateProviderRequest{ProviderId: ids[0], Reason: "left"})
			wantCode(t, err, twirp.PermissionDenied, "")
			d, err := api.DeactivateProvider(op, &pb.DeactivateProviderRequest{ProviderId: ids[0], Reason: "left: 已离职"})
			if err != nil {
				t.Fatal(err)
			}
			if d.Provider.Active {
				t.Error("deactivated carer is still active")
			}
			if r := list(op, &pb.ListProvidersRequest{}); r.TotalSize != 24 {
				t.Errorf("active roster has %d carers after one left, want 24", r.TotalSize)
			}
			if r := list(op, &pb.ListProvidersRequest{IncludeInactive: true}); r.TotalSize != 25 {
				t.Errorf("whole roster has %d carers, want 25", r.TotalSize)
			}
			if _, err := ds.live.Live(context.Background(), ids[0]); !errorsIsNoLive(err) {
				t.Errorf("deactivated carer still has live state: %v", err)
			}
		})
	}
}

func errorsIsNoLive(err error) bool { return carehex.ErrorCode(err) == carehex.ENOTFOUND }

// TestAssignByPhone lists every qualified carer near a request whatever
// their state, and assigns one whose phone is offline, and one never seen
// since Redis started, once the operator says they rang them (已电话联系);
// without that the dispatcher's claim refuses them.
func TestAssignByPhone(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ds := newDispatchServer(t, be)
			ctx := context.Background()
			op := ds.ctx(t, carehex.RoleOperator)
			api := pb.NewDispatchServiceJSONClient(ds.url, ds.Client)
			res := ds.createResident(t, "王桂兰", "13905330003")
			declined := ds.provider(t, true)
			req := ds.request(t, res.Id)
			o := ds.openOffer(t, req.Id)
			if err := ds.eng.Decline(ctx, declined.ID, o.ID, "在忙"); err != nil {
				t.Fatal(err)
			}
			offline := ds.provider(t, false)
			unseen := ds.provider(t, false)
			if _, err := ds.live.Remove(ctx, unseen.ID); err != nil {
				t.Fatal(err)
			}

			list, err := api.ListCandidates(op, &pb.ListCandidatesRequest{RequestId: req.Id, ListAll: true})
			if err != nil {
				t.Fatal(err)
			}
			state := map[string]*pb.Candidate{}
			for _, c := range list.Candidates {
				state[c.ProviderId] = c
			}
			if c := state[declined.ID]; c == nil || !c.Declined || c.Rankable || c.State != pb.AvailabilityState_AVAILABILITY_STATE_ONLINE {
				t.Errorf("carer who declined: %+v", c)
			}
			for _, id := range []string{offline.ID, unseen.ID} {
				if c := state[id]; c == nil || c.Rankable || c.State != pb.AvailabilityState_AVAILABILITY_STATE_OFFLINE {
					t.Errorf("offline carer %s: %+v", id, c)
				}
			}
			// Ranked first would be the online ones; here: online (declined) before offline.
			if len(list.Candidates) != 3 || list.Candidates[0].ProviderId != declined.ID {
				t.Errorf("order: %v", list.Candidates)
			}
			// The ranked list of the dispatcher still leaves them all out.
			ranked, err := api.ListCandidates(op, &pb.ListCandidatesRequest{RequestId: req.Id})
			if err != nil {
				t.Fatal(err)
			}
			if len(ranked.Candidates) != 0 {
				t.Errorf("ranked candidates %v, want none", ranked.Candidates)
			}

			_, err = api.AssignProvider(ds.ctx(t, carehex.RoleSupervisor), &pb.AssignProviderRequest{RequestId: req.Id, ProviderId: offline.ID, Phoned: true})
			wantCode(t, err, twirp.PermissionDenied, "")
			_, err = api.AssignProvider(op, &pb.AssignProviderRequest{RequestId: req.Id, ProviderId: offline.ID})
			wantCode(t, err, twirp.FailedPrecondition, "provider_id")

			resp, err := api.AssignProvider(op, &pb.AssignProviderRequest{RequestId: req.Id, ProviderId: offline.ID, Phoned: true, Reason: "已电话联系"})
			if err != nil {
				t.Fatalf("assign by phone: %v", err)
			}
			if resp.Request.Status != pb.RequestStatus_REQUEST_STATUS_ASSIGNED || resp.Request.ProviderId != offline.ID {
				t.Errorf("after assign by phone: %s to %s", resp.Request.Status, resp.Request.ProviderId)
			}
			evs, err := ds.intake().ListRequestEvents(op, &pb.ListRequestEventsRequest{RequestId: req.Id})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range evs.Events {
				found = found || e.ToStatus == pb.RequestStatus_REQUEST_STATUS_ASSIGNED && e.Reason == carehex.AssignedByPhone+": 已电话联系"
			}
			if !found {
				t.Errorf("history does not record the assignment by phone: %v", evs.Events)
			}
			if s := ds.liveStatus(t, offline.ID); s != "busy" {
				t.Errorf("carer assigned by phone is %s, want busy", s)
			}

			// A carer the live state never saw is registered, then assigned.
			second := ds.request(t, res.Id)
			resp, err = api.AssignProvider(op, &pb.AssignProviderRequest{RequestId: second.Id, ProviderId: unseen.ID, Phoned: true})
			if err != nil {
				t.Fatalf("assign unseen carer by phone: %v", err)
			}
			if resp.Request.ProviderId != unseen.ID {
				t.Errorf("second request went to %s", resp.Request.ProviderId)
			}
			// A busy carer cannot be taken by phone for a third.
			third := ds.request(t, res.Id)
			_, err = api.AssignProvider(op, &pb.AssignProviderRequest{RequestId: third.Id, ProviderId: offline.ID, Phoned: true})
			wantCode(t, err, twirp.FailedPrecondition, "provider_id")
		})
	}
}
