package carehex

import (
	"testing"
	"time"
)

func TestPlannedOnTime(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, CST)
	v := &PlannedVisit{Status: PlannedAssigned, Earliest: day.Add(9 * time.Hour), Latest: day.Add(11 * time.Hour)}
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	for _, c := range []struct {
		name        string
		status      PlannedStatus
		arrive, now time.Time
		due, onTime bool
	}{
		{"before its window, not arrived", PlannedAssigned, time.Time{}, at(8, 0), false, false},
		{"in its window, not arrived yet", PlannedAssigned, time.Time{}, at(10, 0), false, false},
		{"window over, never arrived", PlannedAssigned, time.Time{}, at(11, 0), true, false},
		{"never rostered, window over", PlannedOpen, time.Time{}, at(12, 0), true, false},
		{"arrived at the window's start", PlannedAssigned, at(9, 0), at(9, 5), true, true},
		{"arrived at its end", PlannedAssigned, at(11, 0), at(11, 5), true, true},
		{"arrived after it", PlannedAssigned, at(11, 1), at(12, 0), true, false},
		{"arrived before it", PlannedAssigned, at(8, 30), at(9, 0), true, false},
		{"paused", PlannedPaused, time.Time{}, at(12, 0), false, false},
		{"cancelled", PlannedCancelled, time.Time{}, at(12, 0), false, false},
	} {
		v.Status = c.status
		due, on := PlannedOnTime(v, c.arrive, c.now)
		if due != c.due || on != c.onTime {
			t.Errorf("%s: due %v on time %v, want %v %v", c.name, due, on, c.due, c.onTime)
		}
	}
}
