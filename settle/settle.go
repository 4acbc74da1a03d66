// Package settle builds, reconciles and closes the monthly statements of the
// service organisations (invariant 8): it reads the month's completed visits,
// contracts and funding from the system of record, settles them with the
// root package's BuildStatements, saves what is still open, closes on
// request (the digest goes to the audit trail in the close's transaction)
// and counts mismatches with carehex.Reconcile. A closed statement is read,
// never rebuilt: settling a closed month twice changes nothing, and a
// visit approved after its month closed is paid by an adjustment line on
// the next open month.
package settle

import (
	"context"
	"sort"
	"time"

	"github.com/carehex/carehex"
)

// Store is what settlement needs of the system of record; *sqlstore.DB
// implements it.
type Store interface {
	Organisations(ctx context.Context) ([]*carehex.Organisation, error)
	Contracts(ctx context.Context, orgID string) ([]*carehex.Contract, error)
	FundingValidIn(ctx context.Context, from, to time.Time) (map[string][]*carehex.Funding, error)
	SettleVisits(ctx context.Context, from, to time.Time) ([]*carehex.SettleVisit, error)
	LateVisits(ctx context.Context, month string) ([]*carehex.SettleVisit, error)
	SettledLines(ctx context.Context, from, to time.Time, exceptMonth string) ([]*carehex.StatementLine, error)
	MissedVisits(ctx context.Context, from, to time.Time) ([]*carehex.SettleVisit, error)
	ClosedStatements(ctx context.Context) (map[[2]string]bool, error)
	SettledLater(ctx context.Context, from, to time.Time, month string) (map[string]bool, error)
	Statement(ctx context.Context, orgID, month string) (*carehex.Statement, error)
	SaveStatement(ctx context.Context, s *carehex.Statement) error
	CloseStatement(ctx context.Context, orgID, month string) (*carehex.Statement, error)
}

// Figures are a settled month's counts and sums: the command's JSON line.
type Figures struct {
	Month           string `json:"month"`
	Orgs            int    `json:"orgs"`
	VisitsCompleted int    `json:"visits_completed"`
	Lines           int    `json:"lines"`
	HeldBack        int    `json:"held_back"`
	TotalFen        int64  `json:"total_fen"`
	SubsidyFen      int64  `json:"subsidy_fen"`
	CopayFen        int64  `json:"copay_fen"`
	// Mismatches is carehex.Reconcile's count; it must be 0.
	Mismatches int `json:"mismatches"`
}

// Result is a settled month: its figures, statements and the names of
// their organisations.
type Result struct {
	Figures
	Statements []*carehex.Statement
	OrgNames   map[string]string // by organisation ID
}

// Month settles month m in zone (the district's clock decides which month a
// visit falls in); with close, every statement of the month is closed.
func Month(ctx context.Context, store Store, m carehex.Month, zone *time.Location, close bool) (*Result, error) {
	if zone == nil {
		return nil, carehex.Errorf(carehex.EINVALID, "zone", "the district's time zone is required")
	}
	month := m.String()
	from, to := m.Bounds(zone)
	orgs, err := store.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	contracts, err := store.Contracts(ctx, "")
	if err != nil {
		return nil, err
	}
	visits, err := store.SettleVisits(ctx, from, to)
	if err != nil {
		return nil, err
	}
	late, err := store.LateVisits(ctx, month)
	if err != nil {
		return nil, err
	}
	// Visits that completed after their month closed are on no statement;
	// they are paid by adjustment like a late approval. Visits of months
	// never settled are left for those months.
	closed, err := store.ClosedStatements(ctx)
	if err != nil {
		return nil, err
	}
	candidates, err := store.MissedVisits(ctx, from.AddDate(-1, 0, 0), from)
	if err != nil {
		return nil, err
	}
	var missed []*carehex.SettleVisit
	for _, v := range candidates {
		if closed[[2]string{v.OrgID, carehex.MonthOf(v.FinishTime, zone).String()}] {
			missed = append(missed, v)
		}
	}
	fundFrom := from
	for _, v := range append(append([]*carehex.SettleVisit(nil), late...), missed...) {
		if v.FinishTime.Before(fundFrom) {
			fundFrom = v.FinishTime
		}
	}
	funding, err := store.FundingValidIn(ctx, fundFrom, to)
	if err != nil {
		return nil, err
	}
	var prior []*carehex.StatementLine
	if len(late)+len(missed) > 0 {
		// Whole months: the caps and allowances of the late visits' months.
		first, _ := carehex.MonthOf(fundFrom, zone).Bounds(zone)
		if prior, err = store.SettledLines(ctx, first, from, month); err != nil {
			return nil, err
		}
		if first.Before(fundFrom) {
			if funding, err = store.FundingValidIn(ctx, first, to); err != nil {
				return nil, err
			}
		}
	}
	built := carehex.BuildStatements(carehex.SettleInput{Month: m, Zone: zone, Orgs: orgs, Contracts: contracts,
		Funding: funding, Visits: visits, Late: late, Missed: missed, Prior: prior})

	res := &Result{Figures: Figures{Month: month, VisitsCompleted: len(visits)}, OrgNames: map[string]string{}}
	for _, o := range orgs {
		res.OrgNames[o.ID] = o.Name
	}
	ids := make([]string, 0, len(built))
	for id := range built {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		st, err := store.Statement(ctx, id, month)
		switch {
		case err == nil && st.Status == carehex.StatementClosed:
			// Closed is final: its stored lines are the statement, and a
			// digest that no longer matches them is tampering, not data.
			if st.ComputeDigest() != st.Digest {
				return nil, carehex.Errorf(carehex.ECONFLICT, "month",
					"the closed statement of %s for %s no longer matches its digest", id, month)
			}
		case err == nil || carehex.ErrorCode(err) == carehex.ENOTFOUND:
			st = built[id]
			if err := store.SaveStatement(ctx, st); err != nil {
				return nil, err
			}
			if close {
				if st, err = store.CloseStatement(ctx, id, month); err != nil {
					return nil, err
				}
			}
		default:
			return nil, err
		}
		res.Statements = append(res.Statements, st)
		res.Lines += len(st.Lines)
		res.HeldBack += len(st.Held)
		res.TotalFen += st.TotalFen
		res.SubsidyFen += st.SubsidyFen
		res.CopayFen += st.CopayFen
	}
	res.Orgs = len(res.Statements)
	// A visit of this month that completed after the month closed is
	// accounted for on the later statement that carries it.
	later, err := store.SettledLater(ctx, from, to, month)
	if err != nil {
		return nil, err
	}
	res.Mismatches = carehex.Reconcile(visits, append(late, missed...), res.Statements, later)
	return res, nil
}
