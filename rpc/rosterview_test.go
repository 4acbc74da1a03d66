package rpc_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestRosterDay: a day of the roster view on SQLite and PostgreSQL. A carer
// walks from her home base to a planned visit (rostered ahead) and on to an
// on-demand one; a planned visit needing a skill nobody has stays
// unassigned with the roster's reason; the on-time rate counts the planned
// visit checked in within its window and the one never rostered once its
// window is over. A supervisor reads it; a supervisor of one district, a
// family member and a phone are refused; a bad date names the field.
func TestRosterDay(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			// Monday 2 March 2026, 07:00 CST.
			clock := testenv.NewClock(time.Date(2026, 3, 2, 7, 0, 0, 0, carehex.CST))
			ds := newDispatchServerAt(t, be, clock)
			ctx := context.Background()
			op, sup := ds.ctx(t, carehex.RoleOperator), ds.ctx(t, carehex.RoleSupervisor)
			plans := pb.NewPlanServiceJSONClient(ds.url, ds.Client)
			view := pb.NewRosterViewServiceJSONClient(ds.url, ds.Client)
			svc := ds.service()
			var other *carehex.ServiceType // a service whose skill the carer lacks
			for _, st := range ds.Types {
				if st.RequiredSkill != svc.RequiredSkill {
					other = st
					break
				}
			}
			if other == nil {
				t.Fatal("the catalogue has one skill only")
			}
			home := &pb.LatLng{Lat: 36.8000, Lng: 118.0500}
			at := func(dLat float64) *pb.LatLng { return &pb.LatLng{Lat: home.Lat + dLat, Lng: home.Lng} }
			resident := func(name, phone string, loc *pb.LatLng) *pb.Resident {
				r, err := ds.residents().CreateResident(op, &pb.CreateResidentRequest{Name: name, Phone: phone,
					Address: "张店区华光路 1 号", District: "张店区", Location: loc})
				if err != nil {
					t.Fatalf("CreateResident %s: %v", name, err)
				}
				return r.Resident
			}
			a := resident("王桂兰", "13905330001", at(0.005)) // 556 m north of the carer's home
			b := resident("赵秀珍", "13905330002", at(0.010))
			c := resident("孙玉梅", "13905330003", at(0.015))
			prov, err := ds.providers().CreateProvider(op, &pb.CreateProviderRequest{Name: "刘芳", Phone: "13600000001",
				Skills: []string{svc.RequiredSkill}, Location: home})
			if err != nil {
				t.Fatal(err)
			}
			pid := prov.Provider.Id
			if _, err := plans.SetWorkingHours(op, &pb.SetWorkingHoursRequest{Hours: &pb.WorkingHours{ProviderId: pid,
				Weekly: []*pb.Shift{{Weekday: 1, Start: "08:00", End: "17:00"}}, MaxVisitsPerDay: 8, MaxWorkPerDayS: 6 * 3600,
				TravelMode: "walk", Home: home}}); err != nil {
				t.Fatalf("SetWorkingHours: %v", err)
			}
			for _, p := range []struct {
				r    *pb.Resident
				code string
			}{{a, svc.Code}, {b, other.Code}} {
				if _, err := plans.CreateCarePlan(op, &pb.CreateCarePlanRequest{ResidentId: p.r.Id, StartDate: "2026-03-02",
					Items: []*pb.PlanItem{{ServiceCode: p.code, Rrule: "FREQ=DAILY", WindowStart: "09:00", WindowEnd: "10:00", DurationS: 1800}}}); err != nil {
					t.Fatalf("CreateCarePlan: %v", err)
				}
			}
			ran, err := plans.RunRoster(op, &pb.RunRosterRequest{StartDate: "2026-03-02", Days: 1})
			if err != nil {
				t.Fatalf("RunRoster: %v", err)
			}
			if len(ran.Assigned) != 1 || len(ran.Unassigned) != 1 || ran.Unassigned[0].Reason != "no_qualified_carer" {
				t.Fatalf("roster assigned %d, left %v; want 1 assigned and b's visit with no_qualified_carer", len(ran.Assigned), ran.Unassigned)
			}
			planned := ran.Assigned[0].Visit

			// An on-demand visit after it, at c's home, booked by hand.
			q, err := ds.intake().CreateServiceRequest(op, &pb.CreateServiceRequestRequest{ResidentId: c.Id, ServiceCode: svc.Code,
				Urgency:         pb.Urgency_URGENCY_SCHEDULED,
				WindowStartTime: timestamppb.New(time.Date(2026, 3, 2, 11, 0, 0, 0, carehex.CST)),
				WindowEndTime:   timestamppb.New(time.Date(2026, 3, 2, 12, 0, 0, 0, carehex.CST))})
			if err != nil {
				t.Fatalf("CreateServiceRequest: %v", err)
			}
			start := time.Date(2026, 3, 2, 11, 0, 0, 0, carehex.CST)
			if _, _, err := ds.eng.AssignPlanned(ctx, q.Request.Id, pid, start, start.Add(30*time.Minute), "user:test", "by hand"); err != nil {
				t.Fatalf("AssignPlanned on-demand: %v", err)
			}

			day := func(ctx context.Context) *pb.GetRosterDayResponse {
				t.Helper()
				got, err := view.GetRosterDay(ctx, &pb.GetRosterDayRequest{Date: "2026-03-02"})
				if err != nil {
					t.Fatalf("GetRosterDay: %v", err)
				}
				return got
			}
			got := day(sup)
			if len(got.Carers) != 1 || got.Carers[0].ProviderId != pid || got.Carers[0].TravelMode != "walk" || len(got.Carers[0].Shifts) != 1 {
				t.Fatalf("carers = %v, want 刘芳 walking with one shift", got.Carers)
			}
			stops := got.Carers[0].Stops
			if len(stops) != 2 || stops[0].Kind != "planned" || stops[0].PlannedVisitId != planned.Id || stops[1].Kind != "on_demand" ||
				stops[1].RequestId != q.Request.Id {
				t.Fatalf("stops = %v, want the planned visit then the on-demand one", stops)
			}
			// Travel: home → a, then a → c, each the straight line with the
			// detour factor, at walking speed.
			for i, leg := range []struct{ from, to *pb.LatLng }{{home, a.Location}, {a.Location, c.Location}} {
				d := carehex.DistanceM(carehex.LatLng{Lat: leg.from.Lat, Lng: leg.from.Lng}, carehex.LatLng{Lat: leg.to.Lat, Lng: leg.to.Lng})
				wantM := int32(math.Round(d * carehex.DetourFactor))
				wantS := int32(carehex.TravelWalk.TravelTime(d) / time.Second)
				if stops[i].TravelM != wantM || stops[i].TravelS != wantS || wantS == 0 {
					t.Errorf("stop %d travel %d m %d s, want %d m %d s", i, stops[i].TravelM, stops[i].TravelS, wantM, wantS)
				}
			}
			if len(got.Unassigned) != 1 || got.Unassigned[0].Visit.ResidentId != b.Id || got.Unassigned[0].Reason != "no_qualified_carer" ||
				got.Unassigned[0].ResidentName != "赵秀珍" {
				t.Fatalf("unassigned = %v, want 赵秀珍's visit, no_qualified_carer", got.Unassigned)
			}
			if got.Due != 0 || got.OnTime != 0 {
				t.Fatalf("at 07:00 due %d on time %d, want 0 0", got.Due, got.OnTime)
			}

			// She checks in at 09:10, inside 09:00–10:00; at 12:00 both
			// planned visits are due, one on time.
			v, err := ds.Store.PlannedVisit(ctx, planned.Id)
			if err != nil {
				t.Fatal(err)
			}
			loc := carehex.LatLng{Lat: a.Location.Lat, Lng: a.Location.Lng}
			for i, typ := range []carehex.VisitEventType{carehex.VisitDepart, carehex.VisitArrive} {
				clock.Set(time.Date(2026, 3, 2, 9, 5+5*i, 0, 0, carehex.CST))
				if _, _, _, err := ds.Store.RecordVisitEvent(ctx, &carehex.VisitEvent{EventID: "ev-" + string(typ), VisitID: v.VisitID,
					ProviderID: pid, Type: typ, Position: loc, AccuracyM: 10, DeviceTime: clock.Now()},
					carehex.VisitEventRules{MinDuration: 10 * time.Minute}); err != nil {
					t.Fatalf("RecordVisitEvent %s: %v", typ, err)
				}
			}
			clock.Set(time.Date(2026, 3, 2, 12, 0, 0, 0, carehex.CST))
			op, sup = as(t, ds.issue(t, carehex.RoleOperator)), as(t, ds.issue(t, carehex.RoleSupervisor)) // the first sessions ran out
			got = day(op)
			first := got.Carers[0].Stops[0]
			if !first.OnTime || first.Late || !first.ArriveTime.AsTime().Equal(time.Date(2026, 3, 2, 9, 10, 0, 0, carehex.CST)) {
				t.Fatalf("planned stop = %v, want checked in 09:10, on time", first)
			}
			if got.Due != 2 || got.OnTime != 1 {
				t.Fatalf("due %d on time %d, want 2 and 1 (b's visit was never rostered)", got.Due, got.OnTime)
			}
			// Another day: nothing of Monday's.
			if other, err := view.GetRosterDay(sup, &pb.GetRosterDayRequest{Date: "2026-03-03"}); err != nil ||
				len(other.Carers) != 1 || len(other.Carers[0].Stops) != 0 || len(other.Carers[0].Shifts) != 0 {
				t.Fatalf("Tuesday = %v, %v; want her row with no shift and no stop", other, err)
			}

			_, err = view.GetRosterDay(sup, &pb.GetRosterDayRequest{Date: "2026/03/02"})
			wantCode(t, err, twirp.InvalidArgument, "date")

			// Crossing the lines: a district supervisor (the view covers the
			// city), a family member, a phone.
			areaTok := ds.areaSupervisor(t, "sup-area", "张店区")
			fam, err := ds.residents().LinkFamilyMember(op, &pb.LinkFamilyMemberRequest{ResidentId: a.Id, Name: "李明", Phone: "13800000001", Relation: "儿子"})
			if err != nil {
				t.Fatal(err)
			}
			dev, err := ds.providers().IssueDeviceToken(op, &pb.IssueDeviceTokenRequest{ProviderId: pid})
			if err != nil {
				t.Fatal(err)
			}
			for name, tok := range map[string]string{"district supervisor": areaTok, "family": fam.AccessToken, "phone": dev.Token, "nobody": ""} {
				if _, err := view.GetRosterDay(as(t, tok), &pb.GetRosterDayRequest{Date: "2026-03-02"}); err == nil {
					t.Errorf("%s read the roster day", name)
				} else if c := err.(twirp.Error).Code(); c != twirp.PermissionDenied && c != twirp.Unauthenticated {
					t.Errorf("%s: %v, want permission_denied or unauthenticated", name, err)
				}
			}
		})
	}
}

// BenchmarkRosterDay reads a busy day through the handler: carers with
// working hours and eight visits each, every one from another home. The
// figure is in docs/PERFORMANCE.md:
//
//	go test -run '^$' -bench RosterDay -benchtime 5x ./rpc/
func BenchmarkRosterDay(b *testing.B) {
	const carers, perCarer = 300, 8
	clock := testenv.NewClock(time.Date(2026, 3, 2, 7, 0, 0, 0, carehex.CST))
	ts := newServerWithClock(b, sqlite, clock.Now)
	ctx := testenv.OpCtx()
	svc := ts.service()
	day := carehex.Day(clock.Now())
	for c := range carers {
		home := testenv.At(testenv.Zibo, float64(c*40), 0)
		p := &carehex.Provider{Name: fmt.Sprintf("护理员%03d", c), Phone: fmt.Sprintf("1370000%04d", c), Skills: []string{svc.RequiredSkill}, Home: home}
		if err := ts.Store.CreateProvider(ctx, p); err != nil {
			b.Fatal(err)
		}
		w := &carehex.WorkingHours{ProviderID: p.ID, Weekly: []carehex.Shift{{Weekday: time.Monday, Start: 8 * 60, End: 18 * 60}},
			MaxVisitsPerDay: perCarer, MaxWorkPerDay: 8 * time.Hour, Mode: carehex.TravelEBike, Home: home}
		if err := ts.Store.SetWorkingHours(ctx, w); err != nil {
			b.Fatal(err)
		}
		for v := range perCarer {
			r := &carehex.Resident{Name: "老人", Phone: fmt.Sprintf("139%04d%04d", c, v), Address: "张店区", Location: testenv.At(home, float64(v*300), 200)}
			if err := ts.Store.CreateResident(ctx, r); err != nil {
				b.Fatal(err)
			}
			start := day.Add(time.Duration(8*60+v*70) * time.Minute)
			q, _, err := ts.Store.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: r.ID, ServiceCode: svc.Code,
				Urgency: carehex.UrgencyScheduled, WindowStart: start, WindowEnd: start.Add(time.Hour)}, "")
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := ts.Store.AssignRequest(ctx, carehex.Assignment{RequestID: q.ID, ProviderID: p.ID, Fence: int64(v + 1),
				Start: start, End: start.Add(45 * time.Minute), Actor: "user:bench"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	view := pb.NewRosterViewServiceJSONClient(ts.URL, ts.Client)
	sup := ts.ctx(b, carehex.RoleSupervisor)
	b.ResetTimer()
	for range b.N {
		got, err := view.GetRosterDay(sup, &pb.GetRosterDayRequest{Date: "2026-03-02"})
		if err != nil {
			b.Fatal(err)
		}
		if len(got.Carers) != carers || len(got.Carers[0].Stops) != perCarer {
			b.Fatalf("%d carers, %d stops each", len(got.Carers), len(got.Carers[0].Stops))
		}
	}
	b.ReportMetric(float64(carers*perCarer), "stops")
}
