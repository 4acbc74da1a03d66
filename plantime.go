package carehex

import "time"

// PlannedOnTime is the rule of the day's on-time rate of planned visits:
// a planned visit is due once its window is over at now or its carer has
// checked in (arrive, zero if not), and on time when the check-in fell
// within its window. A paused or cancelled visit is never due.
func PlannedOnTime(v *PlannedVisit, arrive, now time.Time) (due, onTime bool) {
	if v.Status == PlannedPaused || v.Status == PlannedCancelled {
		return false, false
	}
	if arrive.IsZero() {
		return !now.Before(v.Latest), false
	}
	return true, !arrive.Before(v.Earliest) && !arrive.After(v.Latest)
}
