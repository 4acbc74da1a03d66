package rrule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/plan/rrule"
)

var start = time.Date(2026, 12, 7, 9, 0, 0, 0, carehex.CST) // a Monday, 09:00

func TestParse(t *testing.T) {
	tests := []struct {
		rule string
		days int    // horizon from start
		want string // occurrences as "01-02" joined by spaces, or "error"
	}{
		{"FREQ=DAILY", 3, "12-07 12-08 12-09"},
		{"RRULE:FREQ=DAILY;COUNT=2", 7, "12-07 12-08"},
		{"FREQ=WEEKLY;BYDAY=TU,TH", 7, "12-08 12-10"},
		{"freq=weekly;byday=tu", 14, "12-08 12-15"},
		{"FREQ=WEEKLY;INTERVAL=2;BYDAY=FR", 28, "12-11 12-25"},
		{"FREQ=MONTHLY;BYMONTHDAY=1", 70, "01-01 02-01"},
		{"FREQ=MONTHLY;BYDAY=-1FR", 40, "12-25"},
		{"FREQ=WEEKLY;BYDAY=MO;UNTIL=20261215T000000Z", 30, "12-07 12-14"},
		{"FREQ=HOURLY", 1, "error"},
		{"FREQ=DAILY;BYHOUR=9,15", 1, "error"},
		{"FREQ=DAILY;BYMINUTE=30", 1, "error"},
		{"DTSTART:20261207T010000Z\nFREQ=DAILY", 1, "error"},
		{"FREQ=WEEKLY;BYDAY=XX", 1, "error"},
		{"FREQ=DAILY;INTERVAL=-3", 1, "error"},
		{"", 1, "error"},
		{"BYDAY=MO", 1, "error"},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			r, err := rrule.Parse(tc.rule, start)
			if tc.want == "error" {
				if err == nil {
					t.Fatalf("Parse(%q) accepted", tc.rule)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.rule, err)
			}
			var got []string
			for _, o := range r.Between(carehex.Day(start), carehex.Day(start).AddDate(0, 0, tc.days)) {
				if o.Location() != carehex.CST || o.Hour() != 9 {
					t.Errorf("occurrence %v not at 09:00 CST", o)
				}
				got = append(got, o.Format("01-02"))
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Fatalf("got %q, want %q", g, tc.want)
			}
		})
	}
}

// FuzzParse: no rule makes Parse or Between panic, and what Between
// returns lies in its range, in order, at most one a day.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,TU", "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=DAILY;BYSETPOS=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rule string) {
		r, err := rrule.Parse(rule, start)
		if err != nil {
			return
		}
		from, to := carehex.Day(start), carehex.Day(start).AddDate(0, 2, 0)
		var prev time.Time
		for _, o := range r.Between(from, to) {
			if o.Before(from) || !o.Before(to) || (!prev.IsZero() && !carehex.Day(o).After(carehex.Day(prev))) {
				t.Fatalf("%q: occurrence %v out of range or order after %v", rule, o, prev)
			}
			prev = o
		}
	})
}
