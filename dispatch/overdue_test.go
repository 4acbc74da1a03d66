package dispatch_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/dispatch"
)

// TestOverdue: no arrival by the planned start plus the grace is a late
// arrival alert, by the planned end a missed visit; each raised once, and
// an arrival in time raises nothing.
func TestOverdue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	late := e.provider("王芳", away(300))
	onTime := e.provider("李强", away(400), func(p *carehex.Provider) { p.Skills = []string{"bathing"} })
	req := e.request("meal_delivery", carehex.UrgencySoon)
	offers := e.dispatch(req)
	if len(offers) != 1 || offers[0].ProviderID != late.ID {
		t.Fatalf("offers %+v, want one to %s", offers, late.ID)
	}
	v := e.accept(offers[0])
	other := e.request("bathing", carehex.UrgencySoon)
	offers = e.dispatch(other)
	if len(offers) != 1 || offers[0].ProviderID != onTime.ID {
		t.Fatalf("offers %+v, want one to %s", offers, onTime.ID)
	}
	ov := e.accept(offers[0])
	for _, st := range []carehex.Status{carehex.StatusEnRoute, carehex.StatusInProgress} {
		if _, err := e.db.TransitionVisit(ctx, ov.ID, st, "provider:"+onTime.ID, "", time.Time{}); err != nil {
			t.Fatalf("TransitionVisit(%s): %v", st, err)
		}
	}

	if n, err := e.eng.CheckOverdue(ctx); n != 0 || err != nil {
		t.Fatalf("before it is due: %d, %v", n, err)
	}
	e.clock.Set(v.PlannedStart.Add(e.cfg.LateGrace - time.Second))
	if n, err := e.eng.CheckOverdue(ctx); n != 0 || err != nil {
		t.Fatalf("inside the grace: %d, %v", n, err)
	}
	e.clock.Set(v.PlannedStart.Add(e.cfg.LateGrace + time.Minute))
	if !e.clock.Now().Before(v.PlannedEnd) {
		t.Fatalf("the test catalogue's service is shorter than the grace")
	}
	for i, want := range []int{1, 0} {
		if n, err := e.eng.CheckOverdue(ctx); n != want || err != nil {
			t.Fatalf("late check %d: %d alerts, %v", i, n, err)
		}
	}
	if got := e.openAlerts(req); !slices.Equal(got, []string{carehex.ExceptionLateArrival}) {
		t.Fatalf("alerts after the grace: %v", got)
	}
	e.clock.Set(v.PlannedEnd.Add(time.Minute))
	if n, err := e.eng.CheckOverdue(ctx); n != 1 || err != nil {
		t.Fatalf("missed: %d, %v", n, err)
	}
	got := e.openAlerts(req)
	slices.Sort(got)
	if want := []string{carehex.ExceptionLateArrival, carehex.ExceptionMissedVisit}; !slices.Equal(got, want) {
		t.Fatalf("alerts %v, want %v", got, want)
	}
	if got := e.openAlerts(other); len(got) != 0 {
		t.Fatalf("the visit arrived at in time has alerts %v", got)
	}
}

// signals is a log handler that sends each record's message to a channel:
// a test awaits the engine's own report of work instead of guessing its
// duration.
type signals chan string

func (s signals) Enabled(context.Context, slog.Level) bool { return true }
func (s signals) Handle(_ context.Context, r slog.Record) error {
	s <- r.Message
	return nil
}
func (s signals) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s signals) WithGroup(string) slog.Handler      { return s }

// TestRunOverdue: the loop checks at once, not only after its first
// interval, and stops with its context.
func TestRunOverdue(t *testing.T) {
	e := newEnv(t)
	e.provider("王芳", away(300))
	req := e.request("meal_delivery", carehex.UrgencySoon)
	v := e.accept(e.dispatch(req)[0])
	e.clock.Set(v.PlannedEnd.Add(time.Minute))

	logged := make(signals, 16)
	eng, err := dispatch.New(e.cfg, dispatch.Deps{Store: e.db, Live: e.live, Clock: e.clock.Now, Log: slog.New(logged)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.RunOverdue(ctx, time.Hour) }()
	for raised := 0; raised < 2; {
		select {
		case m := <-logged:
			if m == "dispatch.overdue" {
				raised++
			}
		case <-time.After(30 * time.Second):
			cancel()
			t.Fatalf("RunOverdue raised %d alerts, want 2 before its first interval", raised)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("RunOverdue returned %v, want context.Canceled", err)
	}
	got := e.openAlerts(req)
	slices.Sort(got)
	if want := []string{carehex.ExceptionLateArrival, carehex.ExceptionMissedVisit}; !slices.Equal(got, want) {
		t.Fatalf("alerts %v, want %v", got, want)
	}
	if err := eng.RunOverdue(context.Background(), 0); carehex.ErrorCode(err) != carehex.EINVALID {
		t.Fatalf("RunOverdue(0) = %v, want invalid", err)
	}
}

func TestLateGraceValidate(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Minute, 25 * time.Hour} {
		c := dispatch.DefaultConfig()
		c.LateGrace = d
		if err := c.Validate(); carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != "late_grace" {
			t.Errorf("LateGrace %s: Validate = %v, want invalid late_grace", d, err)
		}
	}
}
