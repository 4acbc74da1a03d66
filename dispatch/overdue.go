package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carehex/carehex"
)

// overdueBatch bounds the visits of one kind one check alerts on; the rest
// are found by the next check, as each alert takes its visit off the list.
const overdueBatch = 200

// CheckOverdue raises the time-based exceptions of visit verification: a
// provider not arrived by the planned start plus LateGrace (late_arrival),
// or by the planned end (missed_visit). Each is raised once per request;
// several replicas may run it at once (the alert queue keeps one open alert
// per kind and request, and the store lists only visits whose request never
// had one). It returns how many alerts it raised.
func (e *Engine) CheckOverdue(ctx context.Context) (int, error) {
	now := e.now()
	raised := 0
	var errs []error
	for _, c := range []struct {
		kind   string
		before time.Time
	}{
		{carehex.ExceptionMissedVisit, now}, // planned start before now is refined below by PlannedEnd
		{carehex.ExceptionLateArrival, now.Add(-e.cfg.LateGrace)},
	} {
		vs, err := e.d.Store.OverdueVisits(ctx, c.kind, c.before, overdueBatch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, v := range vs {
			msg := fmt.Sprintf("provider has not arrived at visit %s planned for %s", v.ID, v.PlannedStart.UTC().Format(time.RFC3339))
			words := carehex.Msg(carehex.MsgLateArrival, "planned_start_time", v.PlannedStart.UTC().Format(time.RFC3339))
			if c.kind == carehex.ExceptionMissedVisit {
				if !v.PlannedEnd.Before(now) {
					continue
				}
				msg = fmt.Sprintf("visit %s was missed: no arrival by its planned end %s", v.ID, v.PlannedEnd.UTC().Format(time.RFC3339))
				words = carehex.Msg(carehex.MsgMissedVisit, "planned_end_time", v.PlannedEnd.UTC().Format(time.RFC3339))
			}
			created, err := e.d.Store.RaiseAlert(ctx, &carehex.Alert{RequestID: v.RequestID, VisitID: v.ID, Kind: c.kind, Message: msg,
				Code: words.Code, Params: words.Params})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if created {
				raised++
				e.log.InfoContext(ctx, "dispatch.overdue", "kind", c.kind, "visit", v.ID)
			}
		}
	}
	return raised, errors.Join(errs...)
}

// RunOverdue calls CheckOverdue every interval until ctx is done and
// returns ctx's error; its caller (carehex serve) owns the goroutine.
func (e *Engine) RunOverdue(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return carehex.Errorf(carehex.EINVALID, "interval", "dispatch: overdue interval must be positive")
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := e.CheckOverdue(ctx); err != nil && ctx.Err() == nil {
			e.log.WarnContext(ctx, "dispatch.overdue_failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
