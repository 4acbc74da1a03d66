package carehex

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Monthly statements (invariant 8). Each organisation gets one statement a
// month: one line per payable visit it completed, the visits held back with
// their reasons, and totals. A visit's charge is its contract's price times
// its units, bounded by the contract's caps; the fund's share of it debits
// the resident's allowance for the month and the rest is co-pay. Closing a
// statement fixes it and its digest; a correction found later (an EVV
// exception approved after the close) becomes an adjustment line on a later
// month's statement, never an edit. BuildStatements is a pure function of
// its input so that the engine, the simulator and the tests settle alike.

// Month is a calendar month, "2026-03".
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth reads "YYYY-MM"; field names the input in the error.
func ParseMonth(field, s string) (Month, error) {
	t, err := time.Parse("2006-01", strings.TrimSpace(s))
	if err != nil || t.Year() < 2000 || t.Year() > 9998 {
		return Month{}, Errorf(EINVALID, field, "%s must be a month as YYYY-MM, got %q", field, s)
	}
	return Month{t.Year(), t.Month()}, nil
}

// MonthOf is the month t falls in, in zone.
func MonthOf(t time.Time, zone *time.Location) Month {
	t = t.In(zone)
	return Month{t.Year(), t.Month()}
}

func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Bounds is [start, end) of the month in zone.
func (m Month) Bounds(zone *time.Location) (start, end time.Time) {
	start = time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, zone)
	return start, start.AddDate(0, 1, 0)
}

// Next is the month after m.
func (m Month) Next() Month {
	t := time.Date(m.Year, m.Month+1, 1, 0, 0, 0, 0, time.UTC)
	return Month{t.Year(), t.Month()}
}

// EVVDecision is an operator's ruling on a visit's EVV exceptions.
type EVVDecision string

const (
	EVVApproved EVVDecision = "approved" // the visit happened as claimed; payable
	EVVRejected EVVDecision = "rejected" // not payable
)

// EVVReview is an operator's ruling on a visit's exceptions, with a reason.
type EVVReview struct {
	VisitID  string
	Decision EVVDecision
	Reason   string
	Actor    string
	Time     time.Time
}

// Validate checks a review before it is saved.
func (r *EVVReview) Validate() error {
	if r.VisitID == "" {
		return Errorf(EINVALID, "visit_id", "visit_id is required")
	}
	if r.Decision != EVVApproved && r.Decision != EVVRejected {
		return Errorf(EINVALID, "decision", "decision must be approved or rejected, got %q", r.Decision)
	}
	return requireText("reason", r.Reason, MaxTextLen)
}

// Reasons a completed visit is held back from payment.
const (
	HoldNotVerified   = "not_verified"             // no check-in at the home was recorded
	HoldEVVUnresolved = "evv_exception_unresolved" // an EVV exception nobody has ruled on
	HoldEVVRejected   = "evv_rejected"             // an operator rejected the visit
	HoldNoContract    = "no_contract"              // the organisation has no contract for the service then
	HoldNoFunding     = "no_funding"               // the resident had no funding then
	HoldNoCardScan    = "card_scan_missing"        // the contract requires the service card scanned at arrival and completion
)

// SettleVisit is a completed visit as settlement sees it.
type SettleVisit struct {
	VisitID     string
	RequestID   string
	ResidentID  string
	ProviderID  string
	OrgID       string
	ServiceCode string
	// FinishTime is when it completed (server time): it settles in that
	// month, by the district's zone.
	FinishTime time.Time
	// Arrive and Complete are the device times of check-in and check-out;
	// a zero Arrive means the carer never checked in.
	Arrive, Complete time.Time
	ArriveVerified   bool     // the check-in was inside the geofence
	Exceptions       []string // EVV exceptions on the visit's events
	Review           EVVDecision
	Flagged          string // a fraud flag not cleared: its hold reason (fraud.go FraudHold)
	// CardArrive and CardComplete: the resident's service card was
	// accepted at arrival and at completion (card.go).
	CardArrive, CardComplete bool
}

// Hold says why the visit is not payable as verified, "" when it is:
// verified means checked in inside the geofence with no exception, or with
// its exceptions approved by an operator.
func (v *SettleVisit) Hold() string {
	switch {
	case v.Arrive.IsZero():
		return HoldNotVerified
	case v.Review == EVVRejected:
		return HoldEVVRejected
	case (!v.ArriveVerified || len(v.Exceptions) > 0) && v.Review != EVVApproved:
		return HoldEVVUnresolved
	}
	return v.Flagged
}

// Verification names how a payable visit was verified, for the line.
func (v *SettleVisit) Verification() string {
	if v.Review == EVVApproved {
		return "approved"
	}
	return "geofence"
}

// StatementLine is one payable visit on a statement, or an adjustment for
// a visit of an earlier, closed month (AdjustsMonth set).
type StatementLine struct {
	VisitID      string
	ResidentID   string
	ServiceCode  string
	ContractID   string
	ServiceTime  time.Time // the visit's finish time
	Unit         Unit
	Units        int64 // 1 per visit, or billable minutes
	PriceFen     int64
	ChargeFen    int64 // after caps
	SubsidyFen   int64
	CopayFen     int64
	Capped       bool // a cap cut the charge
	Verification string
	AdjustsMonth string
}

// HeldVisit is a completed visit kept off the lines, with its reason.
type HeldVisit struct {
	VisitID     string
	ResidentID  string
	ServiceCode string
	FinishTime  time.Time
	Reason      string
}

// StatementStatus is whether a statement may still change.
type StatementStatus string

const (
	StatementOpen   StatementStatus = "open"   // rebuilt on every settle run
	StatementClosed StatementStatus = "closed" // fixed forever
)

// Statement is one organisation's settlement for one month.
type Statement struct {
	ID         string
	OrgID      string
	Month      string
	Status     StatementStatus
	Lines      []*StatementLine
	Held       []*HeldVisit
	TotalFen   int64
	SubsidyFen int64
	CopayFen   int64
	Digest     string // set when closed
	CloseTime  time.Time
	UpdateTime time.Time
}

// Sum sets the totals from the lines.
func (s *Statement) Sum() {
	s.TotalFen, s.SubsidyFen, s.CopayFen = 0, 0, 0
	for _, l := range s.Lines {
		s.TotalFen += l.ChargeFen
		s.SubsidyFen += l.SubsidyFen
		s.CopayFen += l.CopayFen
	}
}

// ComputeDigest is the SHA-256 of the statement's canonical text: one
// line per field group in a fixed order, times as unix microseconds, so
// that any change of a line, a held visit or a total changes it.
func (s *Statement) ComputeDigest() string {
	var b strings.Builder
	fmt.Fprintf(&b, "statement|%s|%s|%d|%d|%d\n", s.OrgID, s.Month, s.TotalFen, s.SubsidyFen, s.CopayFen)
	for _, l := range s.Lines {
		fmt.Fprintf(&b, "line|%s|%s|%s|%s|%d|%s|%d|%d|%d|%d|%d|%t|%s|%s\n", l.VisitID, l.ResidentID, l.ServiceCode,
			l.ContractID, l.ServiceTime.UnixMicro(), l.Unit, l.Units, l.PriceFen, l.ChargeFen, l.SubsidyFen, l.CopayFen,
			l.Capped, l.Verification, l.AdjustsMonth)
	}
	for _, h := range s.Held {
		fmt.Fprintf(&b, "held|%s|%s|%s|%d|%s\n", h.VisitID, h.ResidentID, h.ServiceCode, h.FinishTime.UnixMicro(), h.Reason)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// SettleInput is everything one month's settlement reads.
type SettleInput struct {
	Month     Month
	Zone      *time.Location // the district's clock: which day and month a visit falls in
	Orgs      []*Organisation
	Contracts []*Contract
	Funding   map[string][]*Funding // by resident
	// Visits are the visits completed in the month.
	Visits []*SettleVisit
	// Late are visits of earlier, closed months on no line since: held
	// back there, or completed after the month closed. Those payable now
	// become adjustment lines; the others stay as they are.
	Late []*SettleVisit
	// Missed are visits of earlier, closed months that completed after
	// their month closed and are on no statement: payable ones become
	// adjustment lines, the others are held back on this month's
	// statement, so that every completed visit is on one.
	Missed []*SettleVisit
	// Prior are the lines already settled for the months of Late (their
	// own closed statements and earlier adjustments): an adjustment is
	// capped and subsidised as if it had been paid in its own month, so
	// what those lines used of that day's and month's caps and allowance
	// is used.
	Prior []*StatementLine
}

// BuildStatements settles a month: one statement per organisation (every
// organisation gets one, empty or not, so a month's closure covers them
// all). Visits are taken in finish-time order, so allowances and caps are
// used up first come, first served, and the same input gives the same
// statements.
func BuildStatements(in SettleInput) map[string]*Statement {
	zone := in.Zone
	if zone == nil {
		zone = time.UTC
	}
	out := map[string]*Statement{}
	stmt := func(org string) *Statement {
		s := out[org]
		if s == nil {
			s = &Statement{OrgID: org, Month: in.Month.String(), Status: StatementOpen, Lines: []*StatementLine{}, Held: []*HeldVisit{}}
			out[org] = s
		}
		return s
	}
	for _, o := range in.Orgs {
		stmt(o.ID)
	}
	contracts := map[string][]*Contract{}
	for _, c := range in.Contracts {
		contracts[c.OrgID] = append(contracts[c.OrgID], c)
	}
	// Caps and allowances are counted in the visit's own day and month,
	// so an adjustment for an earlier month draws on that month's.
	type capKey struct{ resident, contract, day string }
	// A resident's monthly allowance is hers, not a funding record's: a
	// category changed mid-month starts from what the month has used
	// (as GetAllowance shows the operator), never from a fresh allowance.
	type fundKey struct{ resident, month string }
	dayUsed := map[capKey]int64{}
	monthUsed := map[capKey]int64{}
	allowanceUsed := map[fundKey]int64{}
	for _, l := range in.Prior {
		t := l.ServiceTime.In(zone)
		dayUsed[capKey{l.ResidentID, l.ContractID, t.Format("2006-01-02")}] += l.ChargeFen
		monthUsed[capKey{l.ResidentID, l.ContractID, t.Format("2006-01")}] += l.ChargeFen
		allowanceUsed[fundKey{l.ResidentID, t.Format("2006-01")}] += l.SubsidyFen
	}

	settle := func(v *SettleVisit, adjusts string, holdHere bool) {
		s := stmt(v.OrgID)
		hold := func(reason string) {
			if !holdHere {
				return // held on its own month's closed statement already
			}
			s.Held = append(s.Held, &HeldVisit{VisitID: v.VisitID, ResidentID: v.ResidentID, ServiceCode: v.ServiceCode,
				FinishTime: v.FinishTime, Reason: reason})
		}
		if r := v.Hold(); r != "" {
			hold(r)
			return
		}
		c := pickContract(contracts[v.OrgID], v.ServiceCode, v.FinishTime)
		if c == nil {
			hold(HoldNoContract)
			return
		}
		verification := v.Verification()
		if c.RequiresCardScan && v.Review != EVVApproved {
			if !v.CardArrive || !v.CardComplete {
				hold(HoldNoCardScan)
				return
			}
			verification = "geofence_card"
		}
		f := pickFunding(in.Funding[v.ResidentID], v.FinishTime)
		if f == nil {
			hold(HoldNoFunding)
			return
		}
		units := c.Units(v.Complete.Sub(v.Arrive))
		charge := c.Charge(units)
		t := v.FinishTime.In(zone)
		dk := capKey{v.ResidentID, c.ID, t.Format("2006-01-02")}
		mk := capKey{v.ResidentID, c.ID, t.Format("2006-01")}
		fk := fundKey{v.ResidentID, t.Format("2006-01")}
		capped := false
		if c.DayCapFen > 0 && dayUsed[dk]+charge > c.DayCapFen {
			charge, capped = max(c.DayCapFen-dayUsed[dk], 0), true
		}
		if c.MonthCapFen > 0 && monthUsed[mk]+charge > c.MonthCapFen {
			charge, capped = max(c.MonthCapFen-monthUsed[mk], 0), true
		}
		dayUsed[dk] += charge
		monthUsed[mk] += charge
		subsidy, copay := f.Split(charge, f.AllowanceFen-allowanceUsed[fk])
		allowanceUsed[fk] += subsidy
		s.Lines = append(s.Lines, &StatementLine{VisitID: v.VisitID, ResidentID: v.ResidentID, ServiceCode: v.ServiceCode,
			ContractID: c.ID, ServiceTime: v.FinishTime, Unit: c.Unit, Units: units, PriceFen: c.PriceFen,
			ChargeFen: charge, SubsidyFen: subsidy, CopayFen: copay, Capped: capped, Verification: verification,
			AdjustsMonth: adjusts})
	}
	// Adjustments first: they are older debts.
	missed := map[string]bool{}
	for _, v := range in.Missed {
		missed[v.VisitID] = true
	}
	for _, v := range sortedVisits(append(append([]*SettleVisit(nil), in.Late...), in.Missed...)) {
		settle(v, MonthOf(v.FinishTime, zone).String(), missed[v.VisitID])
	}
	for _, v := range sortedVisits(in.Visits) {
		settle(v, "", true)
	}
	for _, s := range out {
		s.Sum()
	}
	return out
}

func sortedVisits(vs []*SettleVisit) []*SettleVisit {
	out := append([]*SettleVisit(nil), vs...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].FinishTime.Equal(out[j].FinishTime) {
			return out[i].FinishTime.Before(out[j].FinishTime)
		}
		return out[i].VisitID < out[j].VisitID
	})
	return out
}

// pickContract is the contract covering the service at t that started
// last: a renewed contract supersedes the old one from its first day.
func pickContract(cs []*Contract, code string, t time.Time) *Contract {
	var best *Contract
	for _, c := range cs {
		if c.Covers(code, t) && (best == nil || c.ValidFrom.After(best.ValidFrom) ||
			(c.ValidFrom.Equal(best.ValidFrom) && c.ID > best.ID)) {
			best = c
		}
	}
	return best
}

// pickFunding is the funding valid at t that started last.
func pickFunding(fs []*Funding, t time.Time) *Funding {
	var best *Funding
	for _, f := range fs {
		if f.ValidAt(t) && (best == nil || f.ValidFrom.After(best.ValidFrom) ||
			(f.ValidFrom.Equal(best.ValidFrom) && f.ID > best.ID)) {
			best = f
		}
	}
	return best
}

// Reconcile is the one definition of a settlement mismatch: a visit
// completed in the month that is not on exactly one regular line or one
// held entry across all statements, plus every line (regular or
// adjustment) whose visit is not among visits or late (Late and Missed
// alike). A visit that completed in a month after it closed (a phone that
// synced late) is on no statement of its month but on a later one, as an
// adjustment line or held back: settledLater names those, and they are not
// mismatches. It must be 0.
func Reconcile(visits, late []*SettleVisit, stmts []*Statement, settledLater map[string]bool) int {
	seen := map[string]int{}
	for _, s := range stmts {
		for _, l := range s.Lines {
			if l.AdjustsMonth == "" {
				seen[l.VisitID]++
			}
		}
		for _, h := range s.Held {
			seen[h.VisitID]++
		}
	}
	known := map[string]bool{}
	mismatches := 0
	for _, v := range visits {
		known[v.VisitID] = true
		if n := seen[v.VisitID]; n != 1 && !(n == 0 && settledLater[v.VisitID]) {
			mismatches++
		}
	}
	for _, v := range late {
		known[v.VisitID] = true
	}
	for _, s := range stmts {
		for _, l := range s.Lines {
			if !known[l.VisitID] {
				mismatches++
			}
		}
	}
	return mismatches
}

// FormatFen writes fen as yuan with two decimals, "1234.50"; exports and
// people read yuan, the system keeps fen.
func FormatFen(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return sign + strconv.FormatInt(fen/100, 10) + "." + fmt.Sprintf("%02d", fen%100)
}

// StatementStore keeps statements, EVV reviews and what settlement reads.
type StatementStore interface {
	// SaveStatement replaces the open statement of (s.OrgID, s.Month)
	// with s; ECONFLICT when that month's statement is closed.
	SaveStatement(ctx context.Context, s *Statement) error
	// CloseStatement fixes a statement and its digest, writing the digest
	// to the audit trail in the same transaction; closing a closed one
	// returns it unchanged.
	CloseStatement(ctx context.Context, orgID, month string) (*Statement, error)
	Statement(ctx context.Context, orgID, month string) (*Statement, error)
	ReviewVisit(ctx context.Context, r *EVVReview) error
}
