package rpc

import (
	"context"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/plan"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// PlanCareService: a carer's sick day and "can't do" taken by an operator,
// and the visiting programmes with their compliance. The rules are the
// planner's (plan/change.go, plan/programme.go); this only translates.

// planCarer is what the service needs of the planner (*plan.Planner).
type planCarer interface {
	CantDo(ctx context.Context, providerID, id, code, text string) (*plan.Change, error)
	SickDay(ctx context.Context, providerID string, day time.Time) (*plan.Change, error)
	SetProgramme(ctx context.Context, p *carehex.VisitProgramme) error
	Programmes(ctx context.Context) ([]*carehex.VisitProgramme, error)
	Compliance(ctx context.Context, month time.Time, category string) (*carehex.Compliance, error)
}

type planCareService struct{ *Server }

func (s planCareService) planner() (planCarer, error) {
	if pc, ok := s.Planner.(planCarer); ok && pc != nil {
		return pc, nil
	}
	return nil, errNoPlanner
}

func changeToPB(ch *plan.Change) *pb.PlanChange {
	out := &pb.PlanChange{}
	for _, v := range ch.Rostered {
		out.RosteredIds = append(out.RosteredIds, v.ID)
	}
	for _, v := range ch.HandedOff {
		out.HandedOffIds = append(out.HandedOffIds, v.ID)
	}
	for _, u := range ch.Unplaced {
		out.Unplaced = append(out.Unplaced, &pb.UnplacedVisit{PlannedVisitId: u.PlannedVisitID, Reason: u.Reason})
	}
	return out
}

func (s planCareService) MarkCarerSick(ctx context.Context, req *pb.MarkCarerSickRequest) (*pb.MarkCarerSickResponse, error) {
	if err := requireID("provider_id", req.ProviderId); err != nil {
		return nil, err
	}
	day, err := dateFromPB("date", req.Date)
	if err != nil {
		return nil, err
	}
	if day.IsZero() {
		day = carehex.Day(s.now())
	}
	pc, err := s.planner()
	if err != nil {
		return nil, err
	}
	if _, err := s.Store.Provider(ctx, req.ProviderId); err != nil {
		return nil, err
	}
	ch, err := pc.SickDay(ctx, req.ProviderId, day)
	if err != nil {
		return nil, err
	}
	return &pb.MarkCarerSickResponse{Change: changeToPB(ch)}, nil
}

func (s planCareService) MarkCantDo(ctx context.Context, req *pb.MarkCantDoRequest) (*pb.MarkCantDoResponse, error) {
	if err := requireID("planned_visit_id", req.PlannedVisitId); err != nil {
		return nil, err
	}
	if _, err := carehex.CantDoReason(req.ReasonCode, req.Reason); err != nil {
		return nil, err
	}
	pc, err := s.planner()
	if err != nil {
		return nil, err
	}
	v, err := s.Store.PlannedVisit(ctx, req.PlannedVisitId)
	if err != nil {
		return nil, err
	}
	if v.Status != carehex.PlannedAssigned {
		return nil, carehex.Errorf(carehex.ECONFLICT, "planned_visit_id", "planned visit %s is %s: no carer to take it from", v.ID, v.Status)
	}
	ch, err := pc.CantDo(ctx, v.ProviderID, v.ID, req.ReasonCode, req.Reason)
	if err != nil {
		return nil, err
	}
	return &pb.MarkCantDoResponse{Change: changeToPB(ch)}, nil
}

func programmeToPB(p *carehex.VisitProgramme) *pb.VisitProgramme {
	return &pb.VisitProgramme{Category: p.Category, ServiceCode: p.ServiceCode, PerMonth: int32(p.PerMonth),
		WindowStart: p.WindowStart.String(), WindowEnd: p.WindowEnd.String(), DurationS: int64(p.Duration / time.Second)}
}

func (s planCareService) SetVisitProgramme(ctx context.Context, req *pb.SetVisitProgrammeRequest) (*pb.SetVisitProgrammeResponse, error) {
	in := req.Programme
	if in == nil {
		return nil, carehex.Errorf(carehex.EINVALID, "programme", "programme is required")
	}
	ws, err := clockFromPB("programme.window_start", in.WindowStart)
	if err != nil {
		return nil, err
	}
	we, err := clockFromPB("programme.window_end", in.WindowEnd)
	if err != nil {
		return nil, err
	}
	if in.DurationS <= 0 || in.DurationS > int64(carehex.MaxPlanVisitTime/time.Second) {
		return nil, carehex.Errorf(carehex.EINVALID, "programme.duration_s", "programme.duration_s must be 60…%d", int64(carehex.MaxPlanVisitTime/time.Second))
	}
	pc, err := s.planner()
	if err != nil {
		return nil, err
	}
	p := &carehex.VisitProgramme{Category: in.Category, ServiceCode: in.ServiceCode, PerMonth: int(in.PerMonth),
		WindowStart: ws, WindowEnd: we, Duration: time.Duration(in.DurationS) * time.Second}
	if err := pc.SetProgramme(ctx, p); err != nil {
		return nil, err
	}
	return &pb.SetVisitProgrammeResponse{Programme: programmeToPB(p)}, nil
}

func (s planCareService) ListVisitProgrammes(ctx context.Context, _ *pb.ListVisitProgrammesRequest) (*pb.ListVisitProgrammesResponse, error) {
	pc, err := s.planner()
	if err != nil {
		return nil, err
	}
	ps, err := pc.Programmes(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListVisitProgrammesResponse{}
	for _, p := range ps {
		out.Programmes = append(out.Programmes, programmeToPB(p))
	}
	return out, nil
}

func (s planCareService) GetProgrammeCompliance(ctx context.Context, req *pb.GetProgrammeComplianceRequest) (*pb.GetProgrammeComplianceResponse, error) {
	month := s.now()
	if req.Month != "" {
		m, err := time.ParseInLocation("2006-01", req.Month, carehex.CST)
		if err != nil {
			return nil, carehex.Errorf(carehex.EINVALID, "month", "month must be YYYY-MM, got %q", req.Month)
		}
		month = m
	}
	pc, err := s.planner()
	if err != nil {
		return nil, err
	}
	c, err := pc.Compliance(ctx, month, carehex.Trimmed(req.Category))
	if err != nil {
		return nil, err
	}
	out := &pb.GetProgrammeComplianceResponse{Month: c.Month}
	for _, r := range c.Rows {
		out.Rows = append(out.Rows, &pb.ComplianceRow{Category: r.Category, Street: r.Street, OrganisationId: r.OrganisationID,
			Residents: int32(r.Residents), Met: int32(r.Met), Overdue: int32(r.Overdue)})
	}
	for _, x := range c.Overdue {
		out.Overdue = append(out.Overdue, &pb.ProgrammeStanding{ResidentId: x.ResidentID, ResidentName: x.ResidentName, Category: x.Category,
			Street: x.Street, OrganisationId: x.OrganisationID, Required: int32(x.Required), Done: int32(x.Done), Remaining: int32(x.Remaining)})
	}
	return out, nil
}
