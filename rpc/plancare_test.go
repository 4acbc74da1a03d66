package rpc_test

import (
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// TestPlanCareService: an operator sets a visiting programme and marks a
// carer sick; a supervisor reads the programmes and the month's compliance
// but changes nothing; bad input names the field and writes nothing.
func TestPlanCareService(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ts := newServer(t, be)
			pc := pb.NewPlanCareServiceJSONClient(ts.URL, ts.Client)
			op, sup := ts.ctx(t, carehex.RoleOperator), ts.ctx(t, carehex.RoleSupervisor)
			if err := ts.Store.PutSubsidyCategory(testenv.OpCtx(), &carehex.SubsidyCategory{Code: "tekun", NameZh: "特困",
				ShareBP: carehex.FullShareBP}); err != nil {
				t.Fatal(err)
			}
			good := func() *pb.VisitProgramme {
				return &pb.VisitProgramme{Category: "tekun", ServiceCode: ts.service().Code, PerMonth: 1,
					WindowStart: "09:00", WindowEnd: "11:00", DurationS: 1800}
			}
			for _, c := range []struct {
				edit     func(p *pb.VisitProgramme)
				argument string
			}{
				{func(p *pb.VisitProgramme) { p.WindowStart = "9am" }, "programme.window_start"},
				{func(p *pb.VisitProgramme) { p.Category = "nope" }, "category"},
				{func(p *pb.VisitProgramme) { p.PerMonth = 40 }, "per_month"},
				{func(p *pb.VisitProgramme) { p.DurationS = 0 }, "programme.duration_s"},
			} {
				p := good()
				c.edit(p)
				_, err := pc.SetVisitProgramme(op, &pb.SetVisitProgrammeRequest{Programme: p})
				wantCode(t, err, twirp.InvalidArgument, c.argument)
			}
			if _, err := pc.SetVisitProgramme(sup, &pb.SetVisitProgrammeRequest{Programme: good()}); err == nil {
				t.Fatal("a supervisor set a programme")
			}
			if l, err := pc.ListVisitProgrammes(sup, &pb.ListVisitProgrammesRequest{}); err != nil || len(l.Programmes) != 0 {
				t.Fatalf("refused programmes left %v, %v", l, err)
			}
			if _, err := pc.SetVisitProgramme(op, &pb.SetVisitProgrammeRequest{Programme: good()}); err != nil {
				t.Fatalf("SetVisitProgramme: %v", err)
			}
			l, err := pc.ListVisitProgrammes(sup, &pb.ListVisitProgrammesRequest{})
			if err != nil || len(l.Programmes) != 1 || l.Programmes[0].WindowStart != "09:00" || l.Programmes[0].PerMonth != 1 {
				t.Fatalf("ListVisitProgrammes = %v, %v", l, err)
			}
			c, err := pc.GetProgrammeCompliance(sup, &pb.GetProgrammeComplianceRequest{Month: "2026-03"})
			if err != nil || c.Month != "2026-03" || len(c.Rows) != 0 {
				t.Fatalf("compliance with nobody in the category = %v, %v", c, err)
			}
			_, err = pc.GetProgrammeCompliance(sup, &pb.GetProgrammeComplianceRequest{Month: "2026-3"})
			wantCode(t, err, twirp.InvalidArgument, "month")

			// Sick days: a supervisor may not; an unknown carer is not
			// found; a carer without working hours neither.
			p := &carehex.Provider{Name: "王芳", Phone: "13700000000", Skills: []string{ts.service().RequiredSkill}, Home: testenv.Zibo}
			if err := ts.Store.CreateProvider(testenv.OpCtx(), p); err != nil {
				t.Fatal(err)
			}
			if _, err := pc.MarkCarerSick(sup, &pb.MarkCarerSickRequest{ProviderId: p.ID}); err == nil {
				t.Fatal("a supervisor marked a carer sick")
			}
			_, err = pc.MarkCarerSick(op, &pb.MarkCarerSickRequest{ProviderId: "prv_nobody"})
			wantCode(t, err, twirp.NotFound, "")
			_, err = pc.MarkCarerSick(op, &pb.MarkCarerSickRequest{ProviderId: p.ID, Date: "tomorrow"})
			wantCode(t, err, twirp.InvalidArgument, "date")
			_, err = pc.MarkCantDo(op, &pb.MarkCantDoRequest{PlannedVisitId: "pv_nope", ReasonCode: "lazy"})
			wantCode(t, err, twirp.InvalidArgument, "reason_code")
		})
	}
}
