package rpc

import (
	"bytes"
	"context"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/cardprint"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/carehex/carehex/settle"
)

// FinanceStore is what the finance service needs beyond Store: settlement's
// reads and writes, funding, EVV reviews and service cards. *sqlstore.DB
// implements it; a Store that does not answers the service unavailable.
type FinanceStore interface {
	settle.Store
	carehex.CardStore
	Statements(ctx context.Context, month string) ([]*carehex.Statement, error)
	ReviewVisit(ctx context.Context, r *carehex.EVVReview) error
	Visit(ctx context.Context, id string) (*carehex.Visit, error)
	ResidentFunding(ctx context.Context, residentID string) ([]*carehex.Funding, error)
	ResidentSettleVisits(ctx context.Context, residentID string, from, to time.Time) ([]*carehex.SettleVisit, error)
}

var errNoFinance = carehex.Errorf(carehex.EUNAVAILABLE, "", "settlement is not available on this server")

type financeService struct{ *Server }

func (s financeService) store() (FinanceStore, error) {
	if f, ok := s.Store.(FinanceStore); ok {
		return f, nil
	}
	return nil, errNoFinance
}

func (s financeService) orgNames(ctx context.Context, f FinanceStore) (map[string]string, error) {
	orgs, err := f.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(orgs))
	for _, o := range orgs {
		out[o.ID] = o.Name
	}
	return out, nil
}

func (s financeService) SettleMonth(ctx context.Context, req *pb.SettleMonthRequest) (*pb.SettleMonthResponse, error) {
	m, err := carehex.ParseMonth("month", req.Month)
	if err != nil {
		return nil, err
	}
	f, err := s.store()
	if err != nil {
		return nil, err
	}
	res, err := settle.Month(ctx, f, m, carehex.CST, false)
	if err != nil {
		return nil, err
	}
	out := &pb.SettleMonthResponse{Mismatches: int32(res.Mismatches)}
	for _, st := range res.Statements {
		p := statementToPB(st)
		p.Lines, p.Held = nil, nil // the figures; OrganisationService/GetStatement has the lines
		out.Statements = append(out.Statements, p)
	}
	return out, nil
}

func (s financeService) ReviewVisit(ctx context.Context, req *pb.ReviewVisitRequest) (*pb.ReviewVisitResponse, error) {
	f, err := s.store()
	if err != nil {
		return nil, err
	}
	r := &carehex.EVVReview{VisitID: req.VisitId, Decision: carehex.EVVDecision(req.Decision), Reason: carehex.Trimmed(req.Reason)}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	v, err := f.Visit(ctx, req.VisitId)
	if err != nil {
		return nil, err
	}
	if v.Status != carehex.StatusCompleted {
		return nil, carehex.Errorf(carehex.ECONFLICT, "visit_id", "only a completed visit is reviewed for payment; this one is %s", v.Status).
			With(carehex.MsgStatusConflict)
	}
	if err := f.ReviewVisit(ctx, r); err != nil {
		return nil, err
	}
	out := &pb.ReviewVisitResponse{}
	p, err := s.Store.Provider(ctx, v.ProviderID)
	if err != nil {
		return nil, err
	}
	closed, err := f.ClosedStatements(ctx)
	if err != nil {
		return nil, err
	}
	if month := carehex.MonthOf(v.FinishTime, carehex.CST).String(); closed[[2]string{p.OrgID, month}] {
		out.ClosedMonth = month
	}
	return out, nil
}

func (s financeService) ExportStatement(ctx context.Context, req *pb.ExportStatementRequest) (*pb.ExportStatementResponse, error) {
	m, err := carehex.ParseMonth("month", req.Month)
	if err != nil {
		return nil, err
	}
	if req.OrgId == "" {
		return nil, carehex.Required("org_id")
	}
	write, ctype := settle.WriteCSV, "text/csv; charset=utf-8"
	switch req.Format {
	case "csv", "":
		req.Format = "csv"
	case "xlsx":
		write, ctype = settle.WriteXLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	default:
		return nil, carehex.Errorf(carehex.EINVALID, "format", "format must be csv or xlsx, got %q", req.Format).
			With(carehex.MsgInvalidEnum, "field", "format")
	}
	f, err := s.store()
	if err != nil {
		return nil, err
	}
	st, err := f.Statement(ctx, req.OrgId, m.String())
	if err != nil {
		return nil, err
	}
	names, err := s.orgNames(ctx, f)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := write(&b, st, names[st.OrgID], carehex.CST); err != nil {
		return nil, carehex.Internal(err, "export statement")
	}
	return &pb.ExportStatementResponse{Filename: st.Month + "-" + st.OrgID + "." + req.Format, ContentType: ctype,
		Content: b.Bytes()}, nil
}

// GetAllowance settles the resident's own visits of this month as the
// month's statement would (the same BuildStatements, caps and allowance
// first come, first served), so the operator sees what is left before
// logging another request.
func (s financeService) GetAllowance(ctx context.Context, req *pb.GetAllowanceRequest) (*pb.GetAllowanceResponse, error) {
	if req.ResidentId == "" {
		return nil, carehex.Required("resident_id")
	}
	f, err := s.store()
	if err != nil {
		return nil, err
	}
	if _, err := s.Store.Resident(ctx, req.ResidentId); err != nil {
		return nil, err
	}
	now := s.now()
	m := carehex.MonthOf(now, carehex.CST)
	out := &pb.GetAllowanceResponse{Month: m.String()}
	funding, err := f.ResidentFunding(ctx, req.ResidentId)
	if err != nil {
		return nil, err
	}
	var current *carehex.Funding
	for _, fu := range funding {
		if fu.ValidAt(now) && (current == nil || !fu.ValidFrom.Before(current.ValidFrom)) {
			current = fu
		}
	}
	if current == nil {
		return out, nil
	}
	from, to := m.Bounds(carehex.CST)
	visits, err := f.ResidentSettleVisits(ctx, req.ResidentId, from, to)
	if err != nil {
		return nil, err
	}
	orgs, err := f.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	contracts, err := f.Contracts(ctx, "")
	if err != nil {
		return nil, err
	}
	built := carehex.BuildStatements(carehex.SettleInput{Month: m, Zone: carehex.CST, Orgs: orgs, Contracts: contracts,
		Funding: map[string][]*carehex.Funding{req.ResidentId: funding}, Visits: visits})
	out.Funded, out.Kind, out.Category, out.ShareBp = true, string(current.Kind), current.Category, current.ShareBP
	out.AllowanceFen = current.AllowanceFen
	for _, st := range built {
		for _, l := range st.Lines {
			out.UsedFen += l.SubsidyFen
		}
	}
	out.RemainingFen = max(current.AllowanceFen-out.UsedFen, 0)
	return out, nil
}

func (s financeService) PrintServiceCard(ctx context.Context, req *pb.PrintServiceCardRequest) (*pb.PrintServiceCardResponse, error) {
	if req.ResidentId == "" {
		return nil, carehex.Required("resident_id")
	}
	f, err := s.store()
	if err != nil {
		return nil, err
	}
	if _, err := s.Store.Resident(ctx, req.ResidentId); err != nil {
		return nil, err
	}
	key := s.Cards
	if key == nil {
		if key, err = carehex.LoadCardKey(ctx, "", f); err != nil {
			return nil, err
		}
	}
	out := &pb.PrintServiceCardResponse{Payload: key.Payload(req.ResidentId), ShortCode: key.ShortCode(req.ResidentId),
		ResidentNumber: settle.Pseudonym(req.ResidentId)}
	if out.Png, err = cardprint.PNG(out.Payload, out.ShortCode, out.ResidentNumber); err != nil {
		return nil, carehex.Internal(err, "draw service card")
	}
	// A card is a credential: who printed whose is in the trail.
	if err := s.Store.Audit(ctx, &carehex.AuditRecord{Action: "resident.card_print", ObjectType: "resident",
		ObjectID: req.ResidentId}); err != nil {
		return nil, err
	}
	return out, nil
}
