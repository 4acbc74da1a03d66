package mobileapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/carehex/carehex/internal/testenv"
)

// TestEventInsideSkewDoesNotPoisonLaterEvents reproduces issue 15's finding:
// a depart timed 4 minutes ahead of the server (inside the allowed skew) was
// accepted, and then the arrive sent a minute later with the right time
// sorted before it and was refused 409, and so was everything after. An
// event cannot happen after the server received it, so its time counts as
// at most its receive time, and steps within the skew of each other are
// taken in lifecycle order. Far-apart impossible orders are still refused.
func TestEventInsideSkewDoesNotPoisonLaterEvents(t *testing.T) {
	for _, be := range []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", testenv.PostgresURL},
	} {
		t.Run(be.name, func(t *testing.T) {
			e := newEnv(t, be.dsn(t))
			_, tok := e.provider("李师傅")
			_, visitID := e.assigned(tok)
			t0 := e.clock.Now()

			r := e.postEvent(tok, visitID, ev{"dep-1", "depart", 900, t0.Add(4 * time.Minute)}).want(t, http.StatusCreated)
			if got := get(r.body, "visit", "status"); got != "en_route" {
				t.Fatalf("after the fast depart the visit is %v, want en_route", got)
			}
			e.clock.Advance(time.Minute)
			r = e.postEvent(tok, visitID, ev{"arr-1", "arrive", 5, e.clock.Now()}).want(t, http.StatusCreated)
			if got := get(r.body, "visit", "status"); got != "in_progress" {
				t.Fatalf("after the arrive the visit is %v, want in_progress", got)
			}
			e.clock.Advance(40 * time.Minute)
			r = e.postEvent(tok, visitID, ev{"cmp-1", "complete", 5, e.clock.Now()}).want(t, http.StatusCreated)
			if got := get(r.body, "visit", "status"); got != "completed" {
				t.Fatalf("after the complete the visit is %v, want completed", got)
			}
			if exc, _ := get(r.body, "event", "exceptions").([]any); len(exc) != 0 {
				t.Errorf("a 40-minute visit was flagged %v", exc)
			}
		})
	}
	t.Run("an order wrong by more than the skew is still refused", func(t *testing.T) {
		e := newEnv(t, "")
		_, tok := e.provider("李师傅")
		_, visitID := e.assigned(tok)
		t0 := e.clock.Now()
		e.clock.Advance(30 * time.Minute)
		e.postEvent(tok, visitID, ev{"arr-1", "arrive", 5, t0.Add(20 * time.Minute)}).want(t, http.StatusCreated)
		r := e.postEvent(tok, visitID, ev{"cmp-1", "complete", 5, t0.Add(5 * time.Minute)}).want(t, http.StatusConflict)
		if r.errField() != "device_time" {
			t.Errorf("conflict names %q, want device_time", r.errField())
		}
	})
}
