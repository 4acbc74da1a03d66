// Package rrule adapts github.com/teambition/rrule-go, a maintained RFC 5545
// implementation, to carehex.ParseRecurrence, so the root package keeps to
// the standard library and no other package imports the library.
//
// A plan item's rule says on which days a visit happens; the time of day
// comes from the item's window. Rules that set times (BYHOUR, BYMINUTE,
// BYSECOND), recur more than daily, or carry their own DTSTART are refused:
// one item yields at most one visit a day, which is what keeps a planned
// visit's ID (plan, item, day) unique.
package rrule

import (
	"fmt"
	"strings"
	"time"

	"github.com/carehex/carehex"
	rr "github.com/teambition/rrule-go"
)

// Parse parses rule anchored at dtstart, in China Standard Time.
func Parse(rule string, dtstart time.Time) (carehex.Recurrence, error) {
	rule = strings.TrimSpace(rule)
	rule = strings.TrimPrefix(rule, "RRULE:")
	if strings.ContainsAny(rule, "\r\n") {
		return nil, fmt.Errorf("one RRULE line only, without DTSTART")
	}
	up := strings.ToUpper(rule)
	for _, part := range strings.Split(up, ";") {
		name, _, _ := strings.Cut(part, "=")
		switch name {
		case "DTSTART", "BYHOUR", "BYMINUTE", "BYSECOND":
			return nil, fmt.Errorf("%s is not allowed: the time comes from the window", name)
		}
	}
	// RFC 5545 names and values are case-insensitive; the library wants capitals.
	opt, err := rr.StrToROptionInLocation(up, carehex.CST)
	if err != nil {
		return nil, err
	}
	switch opt.Freq {
	case rr.DAILY, rr.WEEKLY, rr.MONTHLY, rr.YEARLY:
	default:
		return nil, fmt.Errorf("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
	}
	if opt.Interval < 0 || opt.Interval > 366 {
		return nil, fmt.Errorf("INTERVAL must be 1…366")
	}
	opt.Dtstart = dtstart.In(carehex.CST)
	if _, err := rr.NewRRule(*opt); err != nil {
		return nil, err
	}
	return recurrence{*opt}, nil
}

type recurrence struct{ opt rr.ROption }

// Between returns the occurrences in [from, to). The rule is rebuilt with
// UNTIL no later than to: the library otherwise walks on to year 9999
// looking for the next match of a rule that never matches again
// (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30 took seconds), and a plan editor
// must not be able to stall projection. The library's bounds are
// inclusive, so the end is dropped here.
func (x recurrence) Between(from, to time.Time) []time.Time {
	o := x.opt
	if o.Until.IsZero() || o.Until.After(to) {
		o.Until = to
	}
	r, err := rr.NewRRule(o)
	if err != nil {
		return nil // Parse built the same rule without error
	}
	ts := r.Between(from, to, true)
	out := ts[:0]
	for _, t := range ts {
		if t.Before(to) {
			out = append(out, t.In(carehex.CST))
		}
	}
	return out
}

// compile-time check that Parse is a carehex.ParseRecurrence.
var _ carehex.ParseRecurrence = Parse
