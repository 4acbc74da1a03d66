package carehex

import (
	"fmt"
	"testing"
)

// TestCallbackSampledShare: the share is a property of the visit's ID, the
// same on every call (so replicas agree), and close to the setting over
// many visits.
func TestCallbackSampledShare(t *testing.T) {
	const n = 20000
	for _, share := range []float64{0, 0.1, 0.5, 1} {
		picked := 0
		for i := range n {
			id := fmt.Sprintf("vis_%06d", i)
			a, b := CallbackSampledShare(id, share), CallbackSampledShare(id, share)
			if a != b {
				t.Fatalf("visit %s: %v then %v", id, a, b)
			}
			if a {
				picked++
			}
		}
		got := float64(picked) / n
		if got < share-0.01 || got > share+0.01 {
			t.Errorf("share %.2f picked %.4f of visits", share, got)
		}
	}
}

func TestCallbackReasonFor(t *testing.T) {
	for _, c := range []struct {
		first, exc bool
		share      float64
		want       CallbackReason
	}{
		{true, true, 0, CallbackException},
		{true, false, 0, CallbackFirstVisit},
		{false, false, 1, CallbackSampled},
		{false, false, 0, ""},
	} {
		if got := CallbackReasonFor("vis_1", c.first, c.exc, c.share); got != c.want {
			t.Errorf("CallbackReasonFor(first %v, exception %v, share %v) = %q, want %q", c.first, c.exc, c.share, got, c.want)
		}
	}
}

// TestComplaintTransitions: terminal statuses have no way out, verified is
// reached only from responded, and every status is valid.
func TestComplaintTransitions(t *testing.T) {
	for _, s := range []ComplaintStatus{ComplaintClosed, ComplaintRejected, ComplaintWithdrawn} {
		if !s.Terminal() {
			t.Errorf("%s is not terminal", s)
		}
	}
	for from, tos := range ComplaintTransitions {
		for _, to := range tos {
			if !from.Valid() || !to.Valid() {
				t.Errorf("%s → %s names an unknown status", from, to)
			}
			if to == ComplaintVerified && from != ComplaintResponded {
				t.Errorf("%s → verified skips the response", from)
			}
		}
	}
	if CanMoveComplaint(ComplaintOpen, ComplaintClosed) {
		t.Error("open → closed allowed")
	}
}
