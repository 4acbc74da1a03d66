package mobileapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carehex/carehex"
)

// CheckOverdue raises the time-based exceptions of visit verification: a
// provider not arrived by the planned start plus LateGrace (late_arrival),
// or by the planned end (missed_visit). Each is raised once per request;
// several replicas may run it at once (the alert queue keeps one open alert
// per kind and request). It returns how many alerts it raised.
func (s *Server) CheckOverdue(ctx context.Context) (int, error) {
	now := s.now()
	raised := 0
	var errs []error
	for _, c := range []struct {
		kind   string
		before time.Time
	}{
		{carehex.ExceptionMissedVisit, now}, // planned start before now is refined below by PlannedEnd
		{carehex.ExceptionLateArrival, now.Add(-s.cfg.LateGrace)},
	} {
		vs, err := s.store.OverdueVisits(ctx, c.kind, c.before, 200)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, v := range vs {
			msg := fmt.Sprintf("provider has not arrived at visit %s planned for %s", v.ID, v.PlannedStart.UTC().Format(time.RFC3339))
			if c.kind == carehex.ExceptionMissedVisit {
				if !v.PlannedEnd.Before(now) {
					continue
				}
				msg = fmt.Sprintf("visit %s was missed: no arrival by its planned end %s", v.ID, v.PlannedEnd.UTC().Format(time.RFC3339))
			}
			created, err := s.store.RaiseAlert(ctx, &carehex.Alert{RequestID: v.RequestID, VisitID: v.ID, Kind: c.kind, Message: msg})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if created {
				raised++
				s.log.InfoContext(ctx, "mobile.overdue", "kind", c.kind, "visit", v.ID)
			}
		}
	}
	return raised, errors.Join(errs...)
}

// RunOverdue calls CheckOverdue every interval until ctx is done; its
// caller (carehex serve) owns the goroutine.
func (s *Server) RunOverdue(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.CheckOverdue(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "mobile.overdue_failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
