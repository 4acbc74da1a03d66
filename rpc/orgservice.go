package rpc

import (
	"context"
	"time"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// OrganisationService (organisation.proto): platform administrators keep
// the organisations and contracts; statements are read by supervisors
// and, held to their own (orgMethods), by the organisations' accounts.

type organisationService struct{ *Server }

// statementReader is what the service reads of settlement's statements.
type statementReader interface {
	Statement(ctx context.Context, orgID, month string) (*carehex.Statement, error)
	Statements(ctx context.Context, month string) ([]*carehex.Statement, error)
}

func (s organisationService) ListOrganisations(ctx context.Context, _ *pb.ListOrganisationsRequest) (*pb.ListOrganisationsResponse, error) {
	os, err := s.Store.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListOrganisationsResponse{Organisations: make([]*pb.Organisation, 0, len(os))}
	for _, o := range os {
		out.Organisations = append(out.Organisations, orgToPB(o))
	}
	return out, nil
}

func (s organisationService) GetOrganisation(ctx context.Context, req *pb.GetOrganisationRequest) (*pb.GetOrganisationResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	o, err := s.Store.Organisation(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	cs, err := s.Store.Contracts(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return &pb.GetOrganisationResponse{Organisation: orgToPB(o), Contracts: contractsToPB(cs)}, nil
}

func (s organisationService) CreateOrganisation(ctx context.Context, req *pb.CreateOrganisationRequest) (*pb.CreateOrganisationResponse, error) {
	o := &carehex.Organisation{Name: req.Name, Kind: carehex.OrgKind(carehex.Trimmed(req.Kind)), Area: trimmedAll(req.Area),
		Contact: carehex.Trimmed(req.Contact)}
	if err := s.Store.CreateOrganisation(ctx, o); err != nil {
		return nil, err
	}
	return &pb.CreateOrganisationResponse{Organisation: orgToPB(o)}, nil
}

func (s organisationService) UpdateOrganisation(ctx context.Context, req *pb.UpdateOrganisationRequest) (*pb.UpdateOrganisationResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	o := &carehex.Organisation{ID: req.Id, Name: req.Name, Kind: carehex.OrgKind(carehex.Trimmed(req.Kind)),
		Area: trimmedAll(req.Area), Contact: carehex.Trimmed(req.Contact), Active: req.Active}
	if err := s.Store.UpdateOrganisation(ctx, o); err != nil {
		return nil, err
	}
	got, err := s.Store.Organisation(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return &pb.UpdateOrganisationResponse{Organisation: orgToPB(got)}, nil
}

func (s organisationService) CreateContract(ctx context.Context, req *pb.CreateContractRequest) (*pb.CreateContractResponse, error) {
	c := req.GetContract()
	if c == nil {
		return nil, carehex.Required("contract")
	}
	from, err := timeFromPB("valid_from_time", c.ValidFromTime)
	if err != nil {
		return nil, err
	}
	if from.IsZero() {
		return nil, carehex.Required("valid_from_time")
	}
	to, err := timeFromPB("valid_to_time", c.ValidToTime)
	if err != nil {
		return nil, err
	}
	// The domain names its fields as Go does; the wire's names are these.
	if !to.IsZero() && !to.After(from) {
		return nil, carehex.Errorf(carehex.EINVALID, "valid_to_time", "valid_to_time must be after valid_from_time")
	}
	if c.RoundStepS < 0 || c.RoundStepS > 24*3600 || c.RoundStepS%60 != 0 || (c.Unit == string(carehex.UnitHour) && c.RoundStepS == 0) {
		return nil, carehex.Errorf(carehex.EINVALID, "round_step_s", "round_step_s must be whole minutes, at most 86400 (and set for hour contracts)")
	}
	k := &carehex.Contract{OrgID: carehex.Trimmed(c.OrgId), Services: trimmedAll(c.Services), Unit: carehex.Unit(c.Unit),
		PriceFen: c.PriceFen, RoundStep: time.Duration(c.RoundStepS) * time.Second, Rounding: carehex.Rounding(c.Rounding),
		DayCapFen: c.DayCapFen, MonthCapFen: c.MonthCapFen, ValidFrom: from, ValidTo: to, RequiresCardScan: c.RequiresCardScan}
	if err := s.Store.CreateContract(ctx, k); err != nil {
		return nil, err
	}
	return &pb.CreateContractResponse{Contract: contractToPB(k)}, nil
}

func (s organisationService) ListContracts(ctx context.Context, req *pb.ListContractsRequest) (*pb.ListContractsResponse, error) {
	if err := requireID("org_id", req.OrgId); err != nil {
		return nil, err
	}
	if _, err := s.Store.Organisation(ctx, req.OrgId); err != nil {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "org_id", "no organisation %q", req.OrgId)
	}
	cs, err := s.Store.Contracts(ctx, req.OrgId)
	if err != nil {
		return nil, err
	}
	return &pb.ListContractsResponse{Contracts: contractsToPB(cs)}, nil
}

func (s organisationService) ListStatements(ctx context.Context, req *pb.ListStatementsRequest) (*pb.ListStatementsResponse, error) {
	var (
		sts []*carehex.Statement
		err error
	)
	switch {
	case req.Month != "":
		m, perr := carehex.ParseMonth("month", req.Month)
		if perr != nil {
			return nil, perr
		}
		sts, err = s.Store.Statements(ctx, m.String())
		if req.OrgId != "" {
			kept := sts[:0]
			for _, st := range sts {
				if st.OrgID == req.OrgId {
					kept = append(kept, st)
				}
			}
			sts = kept
		}
	case req.OrgId != "":
		sts, err = s.Store.OrgStatements(ctx, req.OrgId)
	default:
		return nil, carehex.Errorf(carehex.EINVALID, "org_id", "org_id or month is required")
	}
	if err != nil {
		return nil, err
	}
	out := &pb.ListStatementsResponse{Statements: make([]*pb.Statement, 0, len(sts))}
	for _, st := range sts {
		out.Statements = append(out.Statements, statementToPB(st))
	}
	return out, nil
}

func (s organisationService) GetStatement(ctx context.Context, req *pb.GetStatementRequest) (*pb.GetStatementResponse, error) {
	if err := requireID("org_id", req.OrgId); err != nil {
		return nil, err
	}
	m, err := carehex.ParseMonth("month", req.Month)
	if err != nil {
		return nil, err
	}
	st, err := s.Store.Statement(ctx, req.OrgId, m.String())
	if err != nil {
		return nil, err
	}
	return &pb.GetStatementResponse{Statement: statementToPB(st)}, nil
}

func trimmedAll(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, x := range ss {
		if x = carehex.Trimmed(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func orgToPB(o *carehex.Organisation) *pb.Organisation {
	return &pb.Organisation{Id: o.ID, Name: o.Name, Kind: string(o.Kind), Area: o.Area, Contact: o.Contact,
		Active: o.Active, CreateTime: ts(o.CreateTime)}
}

func contractToPB(c *carehex.Contract) *pb.Contract {
	return &pb.Contract{Id: c.ID, OrgId: c.OrgID, Services: c.Services, Unit: string(c.Unit), PriceFen: c.PriceFen,
		RoundStepS: int64(c.RoundStep / time.Second), Rounding: string(c.Rounding), DayCapFen: c.DayCapFen,
		MonthCapFen: c.MonthCapFen, ValidFromTime: ts(c.ValidFrom), ValidToTime: ts(c.ValidTo), RequiresCardScan: c.RequiresCardScan}
}

func contractsToPB(cs []*carehex.Contract) []*pb.Contract {
	out := make([]*pb.Contract, 0, len(cs))
	for _, c := range cs {
		out = append(out, contractToPB(c))
	}
	return out
}

func statementToPB(st *carehex.Statement) *pb.Statement {
	out := &pb.Statement{Id: st.ID, OrgId: st.OrgID, Month: st.Month, Status: string(st.Status), TotalFen: st.TotalFen,
		SubsidyFen: st.SubsidyFen, CopayFen: st.CopayFen, Digest: st.Digest, CloseTime: ts(st.CloseTime),
		UpdateTime: ts(st.UpdateTime)}
	for _, l := range st.Lines {
		out.Lines = append(out.Lines, &pb.StatementLine{VisitId: l.VisitID, ResidentId: l.ResidentID, ServiceCode: l.ServiceCode,
			ContractId: l.ContractID, ServiceTime: ts(l.ServiceTime), Unit: string(l.Unit), Units: l.Units, PriceFen: l.PriceFen,
			ChargeFen: l.ChargeFen, SubsidyFen: l.SubsidyFen, CopayFen: l.CopayFen, Capped: l.Capped,
			Verification: l.Verification, AdjustsMonth: l.AdjustsMonth})
	}
	for _, h := range st.Held {
		out.Held = append(out.Held, &pb.HeldVisit{VisitId: h.VisitID, ResidentId: h.ResidentID, ServiceCode: h.ServiceCode,
			FinishTime: ts(h.FinishTime), Reason: h.Reason})
	}
	return out
}
