package sqlstore

import (
	"testing"
	"time"

	"github.com/carehex/carehex"
)

func TestCalls(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		rec := func(ev carehex.CallEvent) *carehex.Call {
			t.Helper()
			c, err := e.RecordCallEvent(ctx, &ev)
			if err != nil {
				t.Fatalf("RecordCallEvent(%+v): %v", ev, err)
			}
			return c
		}
		rec(carehex.CallEvent{CallID: "a", Event: carehex.CallRinging, Caller: "13905330001", Extension: "8001"})
		e.clock.Advance(time.Second)
		rec(carehex.CallEvent{CallID: "b", Event: carehex.CallRinging, Caller: "13800000000", Extension: "8001"})
		if c, err := e.ActiveCall(ctx, "8001"); err != nil || c.CallID != "b" {
			t.Fatalf("active at 8001 = %+v, %v; want the newer call b", c, err)
		}
		c := rec(carehex.CallEvent{CallID: "b", Event: carehex.CallAnswered})
		if c.Caller != "13800000000" || c.Extension != "8001" || c.Status != carehex.CallAnswered {
			t.Errorf("answered kept %+v", c)
		}
		rec(carehex.CallEvent{CallID: "b", Event: carehex.CallHangup, RecordingRef: "rec/b.wav"})
		if c, err := e.ActiveCall(ctx, "8001"); err != nil || c.CallID != "a" {
			t.Errorf("after b hung up the active call = %+v, %v; want a", c, err)
		}
		// A call whose hangup never came stops counting after CallStaleAfter.
		e.clock.Advance(carehex.CallStaleAfter)
		if _, err := e.ActiveCall(ctx, "8001"); carehex.ErrorCode(err) != carehex.ENOTFOUND {
			t.Errorf("a stale ringing call is still active: %v", err)
		}
		if c, err := e.Call(ctx, "b"); err != nil || c.RecordingRef != "rec/b.wav" || c.Status != carehex.CallHangup {
			t.Errorf("Call(b) = %+v, %v", c, err)
		}
		if n := rows(t, e, "call_events"); n != 4 {
			t.Errorf("call_events = %d, want every event kept", n)
		}

		before := rows(t, e, "call_events")
		for _, bad := range []carehex.CallEvent{
			{Event: carehex.CallRinging, Extension: "8001"},
			{CallID: "c", Event: "dialling", Extension: "8001"},
			{CallID: "c", Event: carehex.CallRinging},
			{CallID: "c", Event: carehex.CallRinging, Extension: "8001", Caller: "abc"},
			{CallID: "c\x00", Event: carehex.CallRinging, Extension: "8001"},
		} {
			if _, err := e.RecordCallEvent(ctx, &bad); carehex.ErrorCode(err) != carehex.EINVALID {
				t.Errorf("RecordCallEvent(%+v) = %v, want invalid", bad, err)
			}
		}
		if _, err := e.RecordCallEvent(ctx, nil); carehex.ErrorCode(err) != carehex.EINVALID {
			t.Errorf("nil event: %v", err)
		}
		if rows(t, e, "call_events") != before {
			t.Error("a refused event was stored")
		}

		// A request keeps the call it was logged during; an unknown call is refused.
		r := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		_, _, err := e.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: r.ID, ServiceCode: "meal_delivery",
			Urgency: carehex.UrgencySoon, CallID: "nope"}, "")
		wantErr(t, err, carehex.ENOTFOUND, "call_id")
		req, _, err := e.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: r.ID, ServiceCode: "meal_delivery",
			Urgency: carehex.UrgencySoon, CallID: "a"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e.ServiceRequest(ctx, req.ID); err != nil || got.CallID != "a" {
			t.Errorf("request's call = %q, %v", got.CallID, err)
		}
	})
}
