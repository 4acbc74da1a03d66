package rpc_test

import (
	"testing"
	"time"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// TestPlanService: an operator plans, the plan is projected at once, a
// supervisor reads it, bad input names the field and writes nothing, and a
// pause and a resume move the visits in and out of paused.
func TestPlanService(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ts := newServer(t, be)
			plans := pb.NewPlanServiceJSONClient(ts.URL, ts.Client)
			op, sup := ts.ctx(t, carehex.RoleOperator), ts.ctx(t, carehex.RoleSupervisor)
			res := ts.createResident(t, "王秀英", "13800138000")
			svc := ts.service().Code
			today := carehex.Day(ts.Clock())
			item := &pb.PlanItem{ServiceCode: svc, Rrule: "FREQ=DAILY", WindowStart: "09:00", WindowEnd: "23:00", DurationS: 1800}

			for _, c := range []struct {
				edit     func(r *pb.CreateCarePlanRequest)
				argument string
			}{
				{func(r *pb.CreateCarePlanRequest) { r.Items[0].WindowStart = "25:00" }, "items[0].window_start"},
				{func(r *pb.CreateCarePlanRequest) { r.Items[0].Rrule = "FREQ=HOURLY" }, "items[0].rrule"},
				{func(r *pb.CreateCarePlanRequest) { r.StartDate = "2026/03/02" }, "start_date"},
				{func(r *pb.CreateCarePlanRequest) { r.Items = nil }, "items"},
				{func(r *pb.CreateCarePlanRequest) { r.ResidentId = "res_nobody" }, ""},
			} {
				r := &pb.CreateCarePlanRequest{ResidentId: res.Id, StartDate: today.Format(time.DateOnly),
					Items: []*pb.PlanItem{{ServiceCode: svc, Rrule: item.Rrule, WindowStart: item.WindowStart, WindowEnd: item.WindowEnd, DurationS: item.DurationS}}}
				c.edit(r)
				_, err := plans.CreateCarePlan(op, r)
				if c.argument == "" {
					if err == nil {
						t.Errorf("plan for an unknown resident accepted")
					}
					continue
				}
				wantCode(t, err, twirp.InvalidArgument, c.argument)
			}
			if got, err := plans.ListCarePlans(sup, &pb.ListCarePlansRequest{ResidentId: res.Id}); err != nil || len(got.Plans) != 0 {
				t.Fatalf("refused plans left %v, %v", got, err)
			}

			created, err := plans.CreateCarePlan(op, &pb.CreateCarePlanRequest{ResidentId: res.Id, StartDate: today.Format(time.DateOnly),
				Items: []*pb.PlanItem{item}, FundingNote: "A 类"})
			if err != nil {
				t.Fatalf("CreateCarePlan: %v", err)
			}
			if created.Projected < 14 {
				t.Fatalf("projected %d visits of a daily plan over 14 days", created.Projected)
			}
			got, err := plans.GetCarePlan(sup, &pb.GetCarePlanRequest{PlanId: created.Plan.Id})
			if err != nil || got.Plan.Items[0].WindowStart != "09:00" || got.Plan.Items[0].Rrule != "FREQ=DAILY" {
				t.Fatalf("GetCarePlan = %v, %v", got, err)
			}
			if _, err := plans.PauseCarePlan(sup, &pb.PauseCarePlanRequest{PlanId: created.Plan.Id}); err == nil {
				t.Fatal("a supervisor paused a plan")
			}

			tomorrow := today.AddDate(0, 0, 1).Format(time.DateOnly)
			in3 := today.AddDate(0, 0, 3).Format(time.DateOnly)
			if _, err := plans.PauseCarePlan(op, &pb.PauseCarePlanRequest{PlanId: created.Plan.Id, FromDate: in3, ToDate: tomorrow}); err == nil {
				t.Fatal("a pause ending before it starts was accepted")
			} else {
				wantCode(t, err, twirp.InvalidArgument, "pauses[0].to")
			}
			if _, err := plans.PauseCarePlan(op, &pb.PauseCarePlanRequest{PlanId: created.Plan.Id, FromDate: tomorrow, ToDate: in3, Reason: "住院"}); err != nil {
				t.Fatalf("PauseCarePlan: %v", err)
			}
			count := func(status string) int {
				t.Helper()
				l, err := plans.ListPlannedVisits(sup, &pb.ListPlannedVisitsRequest{PlanId: created.Plan.Id, Days: 14})
				if err != nil {
					t.Fatalf("ListPlannedVisits: %v", err)
				}
				n := 0
				for _, v := range l.Visits {
					if v.Status == status {
						n++
					}
				}
				return n
			}
			if n := count("paused"); n != 3 {
				t.Fatalf("%d visits paused, want 3", n)
			}
			if _, err := plans.ResumeCarePlan(op, &pb.ResumeCarePlanRequest{PlanId: created.Plan.Id, ResumeDate: tomorrow}); err != nil {
				t.Fatalf("ResumeCarePlan: %v", err)
			}
			if n := count("paused"); n != 0 {
				t.Fatalf("%d visits still paused after resume", n)
			}

			prov, err := ts.providers().CreateProvider(op, &pb.CreateProviderRequest{Name: "李师傅", Phone: "13700137000",
				Skills: []string{ts.service().RequiredSkill}, Location: zibo})
			if err != nil {
				t.Fatal(err)
			}
			hours := &pb.WorkingHours{ProviderId: prov.Provider.Id, Weekly: []*pb.Shift{{Weekday: 1, Start: "08:00", End: "17:00"}},
				MaxVisitsPerDay: 8, MaxWorkPerDayS: 6 * 3600, TravelMode: "bicycle", Home: zibo}
			_, err = plans.SetWorkingHours(op, &pb.SetWorkingHoursRequest{Hours: hours})
			wantCode(t, err, twirp.InvalidArgument, "travel_mode")
			hours.TravelMode = "walk"
			if _, err := plans.SetWorkingHours(op, &pb.SetWorkingHoursRequest{Hours: hours}); err != nil {
				t.Fatalf("SetWorkingHours: %v", err)
			}
			wh, err := plans.GetWorkingHours(sup, &pb.GetWorkingHoursRequest{ProviderId: prov.Provider.Id})
			if err != nil || wh.Hours.SpeedKmh != carehex.TravelWalk.SpeedKMH() || wh.Hours.Weekly[0].End != "17:00" {
				t.Fatalf("GetWorkingHours = %v, %v", wh, err)
			}
		})
	}
}
