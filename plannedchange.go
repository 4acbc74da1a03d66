package carehex

import (
	"context"
	"time"
)

// Changes to the roster made ahead: a carer cannot do a planned visit, or
// is off sick for a day. The visit is rostered anew to another qualified
// carer through the same fenced claim, or, when its start is too close for
// that (HandOffBefore), handed to on-demand dispatch as a call would be.
// Either way the carer it was taken from is kept (PreviousProviderID) and
// the family is told of the change of carer (NotifyCarerChanged).

// PlannedDispatched: handed to on-demand dispatch. Its request is offered
// like a call's; the carer who takes it is the request's
// (RequestProviderID).
const PlannedDispatched PlannedStatus = "dispatched"

// Why a carer cannot do a planned visit: the decline-reason pattern
// (decline.go) with the codes that fit a visit agreed days ahead. The
// pages render the words, zh first.
const (
	CantDoUnwell    = DeclineUnwell // 身体不适
	CantDoFamily    = "family"      // 家中有事
	CantDoTransport = "transport"   // 交通工具故障
	CantDoClash     = "clash"       // 时间冲突
	CantDoOther     = DeclineOther  // 其他
)

// CantDoReasonCodes lists the codes in the order the phone offers them.
var CantDoReasonCodes = []string{CantDoUnwell, CantDoFamily, CantDoTransport, CantDoClash, CantDoOther}

// ReasonCantDo prefixes the reason a planned visit was released with when
// its carer said they cannot do it ("cant_do: unwell"); the roster does
// not give it back to that carer.
const ReasonCantDo = "cant_do"

// ReasonSick is the reason of a carer's time off for a sick day, and of
// the planned visits taken from them for it.
const ReasonSick = "sick"

// DefaultHandOffBefore is how close to its start a changed planned visit
// goes to on-demand dispatch instead of the roster: inside two hours the
// roster's carer may not see it in time, while dispatch offers it to
// whoever is on shift and near now.
const DefaultHandOffBefore = 2 * time.Hour

// CantDoReason checks a "can't do" and returns the visit's stored reason:
// "cant_do: <code>[: words]". The code is required.
func CantDoReason(code, text string) (string, error) {
	if Trimmed(code) == "" {
		return "", Errorf(EINVALID, "reason_code", "reason_code is required")
	}
	r, err := codedReason(CantDoReasonCodes, code, text, "")
	if err != nil {
		return "", err
	}
	return ReasonCantDo + ": " + r, nil
}

// HandOff reports whether a planned visit starting at start, changed at
// now, goes to on-demand dispatch rather than back to the roster.
func HandOff(start, now time.Time, before time.Duration) bool { return start.Sub(now) < before }

// SickDay is the time off of a carer off sick on t's calendar day (CST).
func SickDay(t time.Time) TimeOff {
	d := Day(t)
	return TimeOff{From: d, To: d.AddDate(0, 0, 1), Reason: ReasonSick}
}

// PlanChangeStore records the changes; *sqlstore.DB implements it.
type PlanChangeStore interface {
	// HandOffPlannedVisit marks assigned visit id (at version, not begun)
	// as handed to on-demand dispatch, keeping its carer as the previous
	// one and telling the family. Its request must already be back in
	// dispatch (pending).
	HandOffPlannedVisit(ctx context.Context, id string, version int64, reason string) (*PlannedVisit, error)
	// AddTimeOff appends o to the carer's working hours (ENOTFOUND when
	// the carer has none), unless the same span is already there.
	AddTimeOff(ctx context.Context, providerID string, o TimeOff) (*WorkingHours, error)
}
