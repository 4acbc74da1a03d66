package rpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestQualityService drives callbacks and complaints through the API on
// both databases: an operator works the queue and the workflow; a
// supervisor reads and is refused every write; a supervisor limited to
// 张店区 sees only that district's callbacks, complaints and figures, and
// is refused another district's complaint by ID and by filter.
func TestQualityService(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ts := newServer(t, be)
			ctx := context.Background()
			op, sup := ts.ctx(t, carehex.RoleOperator), ts.ctx(t, carehex.RoleSupervisor)
			q := pb.NewQualityServiceJSONClient(ts.URL, ts.Client)
			ts.Store.SetQualityRules(carehex.QualityRules{CallbackShare: 0, CallbackAttempts: 2, CallbackClaim: time.Minute,
				StepDue: carehex.DefaultQualityRules().StepDue})

			prov, err := ts.providers().CreateProvider(op, &pb.CreateProviderRequest{Name: "李师傅", Phone: "13700137000",
				Skills: []string{ts.service().RequiredSkill}, Location: zibo})
			if err != nil {
				t.Fatal(err)
			}
			// A completed first visit for a resident of each district.
			visit := func(name, phone, district string, fence int64) (*pb.Resident, *carehex.Visit) {
				res, req := ts.residentWithRequest(t, op, name, phone, district, "")
				start := time.Now().Add(time.Duration(fence) * 3 * time.Hour)
				_, v, err := ts.Store.AssignRequest(ctx, carehex.Assignment{RequestID: req.Id, ProviderID: prov.Provider.Id,
					Fence: fence, Start: start, End: start.Add(time.Hour), Actor: "test", Reason: "test"})
				if err != nil {
					t.Fatal(err)
				}
				for _, to := range []carehex.Status{carehex.StatusInProgress, carehex.StatusCompleted} {
					if v, err = ts.Store.TransitionVisit(ctx, v.ID, to, "test", "", time.Time{}); err != nil {
						t.Fatal(err)
					}
				}
				return res, v
			}
			inRes, inVisit := visit("张桂兰", "13800138001", "张店区", 1)
			outRes, _ := visit("王秀英", "13800138002", "淄川区", 2)

			open, err := q.ListCallbacks(sup, &pb.ListCallbacksRequest{Status: "open"})
			if err != nil || len(open.Callbacks) != 2 || open.Callbacks[0].Reason != "first_visit" {
				t.Fatalf("supervisor's queue = %v, %v; want both first visits", open, err)
			}
			got, err := q.ClaimCallback(op, &pb.ClaimCallbackRequest{})
			if err != nil || got.Callback.VisitId != inVisit.ID || got.Callback.ClaimedBy == "" {
				t.Fatalf("ClaimCallback(next) = %v, %v; want the oldest, %s", got, err, inVisit.ID)
			}
			_, err = q.RecordCallback(op, &pb.RecordCallbackRequest{Id: got.Callback.Id, Satisfaction: 9, ServiceDone: "yes"})
			wantCode(t, err, twirp.InvalidArgument, "satisfaction")
			rec, err := q.RecordCallback(op, &pb.RecordCallbackRequest{Id: got.Callback.Id, Satisfaction: 5, ServiceDone: "yes", Notes: "很满意"})
			if err != nil || rec.Callback.Status != "done" {
				t.Fatalf("RecordCallback = %v, %v", rec, err)
			}

			// Supervisors read only.
			for name, call := range map[string]func() error{
				"ClaimCallback": func() error { _, err := q.ClaimCallback(sup, &pb.ClaimCallbackRequest{}); return err },
				"RecordCallback": func() error {
					_, err := q.RecordCallback(sup, &pb.RecordCallbackRequest{Id: got.Callback.Id, Unreachable: true})
					return err
				},
				"CreateComplaint": func() error {
					_, err := q.CreateComplaint(sup, &pb.CreateComplaintRequest{ResidentId: inRes.Id, Complainant: "elder", VisitId: inVisit.ID, Description: "x"})
					return err
				},
				"MoveComplaint": func() error {
					_, err := q.MoveComplaint(sup, &pb.MoveComplaintRequest{Id: "cmp_x", Status: "referred"})
					return err
				},
			} {
				t.Run(name, func(t *testing.T) { wantCode(t, call(), twirp.PermissionDenied, "") })
			}

			in, err := q.CreateComplaint(op, &pb.CreateComplaintRequest{ResidentId: inRes.Id, Complainant: "family", ComplainantName: "李勇",
				VisitId: inVisit.ID, Description: "护理员提前离开"})
			if err != nil || in.Complaint.Status != "open" || in.Complaint.OrgId == "" || len(in.Complaint.NextStatuses) != 3 {
				t.Fatalf("CreateComplaint = %v, %v", in, err)
			}
			out, err := q.CreateComplaint(op, &pb.CreateComplaintRequest{ResidentId: outRes.Id, Complainant: "elder",
				ProviderId: prov.Provider.Id, Description: "态度不好"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = q.CreateComplaint(op, &pb.CreateComplaintRequest{ResidentId: inRes.Id, Complainant: "elder", Description: "x"})
			wantCode(t, err, twirp.InvalidArgument, "visit_id")
			_, err = q.MoveComplaint(op, &pb.MoveComplaintRequest{Id: in.Complaint.Id, Status: "closed", Note: "x"})
			wantCode(t, err, twirp.FailedPrecondition, "status")
			if g, _ := q.GetComplaint(op, &pb.GetComplaintRequest{Id: in.Complaint.Id}); g.GetComplaint().GetStatus() != "open" {
				t.Errorf("refused step changed the complaint: %v", g)
			}
			moved, err := q.MoveComplaint(op, &pb.MoveComplaintRequest{Id: in.Complaint.Id, Status: "referred"})
			if err != nil || moved.Complaint.Status != "referred" {
				t.Fatalf("MoveComplaint(referred) = %v, %v", moved, err)
			}

			// The district's supervisor.
			scoped := as(t, ts.areaSupervisor(t, "sup-zd", "张店区"))
			cl, err := q.ListComplaints(scoped, &pb.ListComplaintsRequest{})
			if err != nil || len(cl.Complaints) != 1 || cl.Complaints[0].Id != in.Complaint.Id {
				t.Errorf("scoped complaints = %v, %v; want only %s", cl, err, in.Complaint.Id)
			}
			cb, err := q.ListCallbacks(scoped, &pb.ListCallbacksRequest{})
			if err != nil || len(cb.Callbacks) != 1 || cb.Callbacks[0].VisitId != inVisit.ID {
				t.Errorf("scoped callbacks = %v, %v; want only %s's", cb, err, inVisit.ID)
			}
			_, err = q.GetComplaint(scoped, &pb.GetComplaintRequest{Id: out.Complaint.Id})
			wantCode(t, err, twirp.PermissionDenied, "id")
			if _, err := q.GetComplaint(scoped, &pb.GetComplaintRequest{Id: in.Complaint.Id}); err != nil {
				t.Errorf("GetComplaint in the area: %v", err)
			}
			for _, call := range []func() error{
				func() error {
					_, err := q.ListComplaints(scoped, &pb.ListComplaintsRequest{District: "淄川区"})
					return err
				},
				func() error {
					_, err := q.ListCallbacks(scoped, &pb.ListCallbacksRequest{District: "淄川区"})
					return err
				},
				func() error {
					_, err := q.GetQualitySummary(scoped, &pb.GetQualitySummaryRequest{District: "淄川区"})
					return err
				},
			} {
				wantCode(t, call(), twirp.PermissionDenied, "district")
			}
			// A supervisor of one street of 张店区, where neither lives.
			street := as(t, ts.areaSupervisor(t, "sup-ms", "张店区/马尚街道"))
			if sl, err := q.ListComplaints(street, &pb.ListComplaintsRequest{}); err != nil || len(sl.Complaints) != 0 {
				t.Errorf("street supervisor's complaints = %v, %v; want none", sl, err)
			}
			_, err = q.GetQualitySummary(street, &pb.GetQualitySummaryRequest{District: "张店区", Street: "和平街道"})
			wantCode(t, err, twirp.PermissionDenied, "district")

			sum, err := q.GetQualitySummary(scoped, &pb.GetQualitySummaryRequest{})
			if err != nil || sum.Callbacks != 1 || sum.SatisfactionMean != 5 || sum.Complaints != 1 || sum.OpenComplaints != 1 ||
				sum.OpenCallbacks != 0 || len(sum.SatisfactionCounts) != 5 || sum.SatisfactionCounts[4] != 1 {
				t.Errorf("scoped summary = %v, %v", sum, err)
			}
			all, err := q.GetQualitySummary(sup, &pb.GetQualitySummaryRequest{})
			if err != nil || all.Complaints != 2 || all.OpenCallbacks != 1 || len(all.ByOrg) != 1 || all.ByOrg[0].OpenComplaints != 2 {
				t.Errorf("city summary = %v, %v", all, err)
			}
			if st, err := q.GetQualitySummary(sup, &pb.GetQualitySummaryRequest{District: "张店区", Street: "马尚街道"}); err != nil || st.Complaints != 0 || st.Callbacks != 0 {
				t.Errorf("summary of a street nobody lives in = %v, %v", st, err)
			}
			if zd, err := q.GetQualitySummary(sup, &pb.GetQualitySummaryRequest{District: "张店区"}); err != nil || zd.Complaints != 1 || zd.Callbacks != 1 {
				t.Errorf("summary of 张店区 = %v, %v", zd, err)
			}
			_, err = q.GetQualitySummary(sup, &pb.GetQualitySummaryRequest{Street: "马尚街道"})
			wantCode(t, err, twirp.InvalidArgument, "street")
			_, err = q.GetQualitySummary(sup, &pb.GetQualitySummaryRequest{StartTime: timestamppb.New(time.Now()), EndTime: timestamppb.New(time.Now().Add(-time.Hour))})
			wantCode(t, err, twirp.InvalidArgument, "end_time")
		})
	}
}
