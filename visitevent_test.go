package carehex_test

import (
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

var evT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func vev(id string, typ carehex.VisitEventType, device, receive time.Duration) *carehex.VisitEvent {
	return &carehex.VisitEvent{EventID: id, Type: typ, DeviceTime: evT0.Add(device), ReceiveTime: evT0.Add(receive)}
}

func TestCheckVisitSequence(t *testing.T) {
	rules := carehex.VisitEventRules{MaxClockSkew: 5 * time.Minute}
	tests := []struct {
		name   string
		events []*carehex.VisitEvent
		ok     bool
	}{
		{"in order", []*carehex.VisitEvent{vev("d", carehex.VisitDepart, 0, 0), vev("a", carehex.VisitArrive, 10*time.Minute, 10*time.Minute),
			vev("c", carehex.VisitComplete, 50*time.Minute, 50*time.Minute)}, true},
		{"depart 4 minutes fast, arrive on time", []*carehex.VisitEvent{vev("d", carehex.VisitDepart, 4*time.Minute, 0),
			vev("a", carehex.VisitArrive, time.Minute, time.Minute)}, true},
		{"arrive 3 minutes before depart by the clocks", []*carehex.VisitEvent{vev("d", carehex.VisitDepart, 3*time.Minute, 20*time.Minute),
			vev("a", carehex.VisitArrive, 0, 20*time.Minute)}, true},
		{"complete an hour before arrive", []*carehex.VisitEvent{vev("a", carehex.VisitArrive, time.Hour, 2*time.Hour),
			vev("c", carehex.VisitComplete, 0, 2*time.Hour)}, false},
		{"a fast clock cannot hide an impossible order", []*carehex.VisitEvent{vev("a", carehex.VisitArrive, 30*time.Minute, 30*time.Minute),
			vev("c", carehex.VisitComplete, 31*time.Minute, 10*time.Minute)}, false},
		{"two departs", []*carehex.VisitEvent{vev("d1", carehex.VisitDepart, 0, 0), vev("d2", carehex.VisitDepart, time.Minute, time.Minute)}, false},
		{"complete and no-show", []*carehex.VisitEvent{vev("c", carehex.VisitComplete, 0, 0), vev("n", carehex.VisitNoShow, time.Minute, time.Minute)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := carehex.CheckVisitSequence(tt.events, rules)
			if tt.ok && err != nil {
				t.Fatalf("CheckVisitSequence = %v, want ok", err)
			}
			if !tt.ok && carehex.ErrorCode(err) != carehex.ECONFLICT {
				t.Fatalf("CheckVisitSequence = %v, want conflict", err)
			}
			if err == nil {
				assertLifecycleOrder(t, carehex.SortVisitEventsFor(tt.events, rules), tt.events)
			}
		})
	}
}

// assertLifecycleOrder fails unless sorted is a permutation of events whose
// types never go backwards: the store applies events in this order.
func assertLifecycleOrder(t *testing.T, sorted, events []*carehex.VisitEvent) {
	t.Helper()
	if len(sorted) != len(events) {
		t.Fatalf("sorted %d events, gave %d", len(sorted), len(events))
	}
	for _, e := range events {
		if !slices.Contains(sorted, e) {
			t.Fatalf("event %s lost by sorting", e.EventID)
		}
	}
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1].Type.Order() > sorted[i].Type.Order() {
			t.Fatalf("accepted events applied out of lifecycle order: %s before %s", sorted[i-1].Type, sorted[i].Type)
		}
	}
}

// FuzzVisitEventOrder drives the event order rules with a visit that really
// happened in order (depart, arrive, then complete or no-show, some steps
// possibly missing), seen through phone clocks off by up to half the skew
// each and network delays of any length, delivered in any order. Such a
// visit is never refused, and the order the store applies accepted events in
// is always the lifecycle order. Arbitrary device times (not derived from a
// real order) may be refused, but never make the rules panic or lose an
// event.
//
//	go test -fuzz FuzzVisitEventOrder -fuzztime 30s .
func FuzzVisitEventOrder(f *testing.F) {
	f.Add(uint8(7), int64(600), int64(2400), int16(240), int16(0), int16(-120), uint32(0), uint32(60), uint32(0), false, uint8(0))
	f.Add(uint8(6), int64(0), int64(1), int16(-150), int16(150), int16(0), uint32(3600), uint32(0), uint32(5), true, uint8(3))
	f.Add(uint8(5), int64(1), int64(0), int16(0), int16(0), int16(0), uint32(0), uint32(0), uint32(0), false, uint8(5))
	f.Fuzz(func(t *testing.T, present uint8, gap1, gap2 int64, off1, off2, off3 int16, delay1, delay2, delay3 uint32, noShow bool, perm uint8) {
		const skew = 5 * time.Minute
		rules := carehex.VisitEventRules{MaxClockSkew: skew}
		half := int64(skew/time.Second) / 2
		clampOff := func(o int16) time.Duration { return time.Duration(int64(o)%(half+1)) * time.Second }
		gap := func(g int64) time.Duration {
			if g < 0 {
				g = -g
			}
			return time.Duration(g%(12*3600)) * time.Second
		}
		last := carehex.VisitComplete
		if noShow {
			last = carehex.VisitNoShow
		}
		real := []time.Duration{0, gap(gap1), gap(gap1) + gap(gap2)}
		offs := []time.Duration{clampOff(off1), clampOff(off2), clampOff(off3)}
		delays := []time.Duration{time.Duration(delay1%86400) * time.Second, time.Duration(delay2%86400) * time.Second,
			time.Duration(delay3%86400) * time.Second}
		types := []carehex.VisitEventType{carehex.VisitDepart, carehex.VisitArrive, last}
		var events []*carehex.VisitEvent
		for i, typ := range types {
			if present&(1<<i) == 0 {
				continue
			}
			events = append(events, &carehex.VisitEvent{EventID: string(typ), Type: typ,
				DeviceTime: evT0.Add(real[i] + offs[i]), ReceiveTime: evT0.Add(real[i] + delays[i])})
		}
		// Delivery order does not matter to the rules: rotate and swap.
		if len(events) > 1 {
			k := int(perm) % len(events)
			events = append(events[k:], events[:k]...)
			if perm&0x80 != 0 {
				events[0], events[len(events)-1] = events[len(events)-1], events[0]
			}
		}
		if err := carehex.CheckVisitSequence(events, rules); err != nil {
			t.Fatalf("a visit that happened in order was refused: %v (events %v)", err, describe(events))
		}
		assertLifecycleOrder(t, carehex.SortVisitEventsFor(events, rules), events)

		// The same inputs as raw device times, in no particular order.
		raw := []*carehex.VisitEvent{
			{EventID: "x", Type: carehex.VisitDepart, DeviceTime: evT0.Add(time.Duration(gap1) * time.Millisecond), ReceiveTime: evT0.Add(time.Duration(delay1) * time.Second)},
			{EventID: "y", Type: carehex.VisitArrive, DeviceTime: evT0.Add(time.Duration(gap2) * time.Millisecond), ReceiveTime: evT0.Add(time.Duration(delay2) * time.Second)},
			{EventID: "z", Type: last, DeviceTime: evT0.Add(time.Duration(off3) * time.Second), ReceiveTime: evT0.Add(time.Duration(delay3) * time.Second)},
		}
		if carehex.CheckVisitSequence(raw, rules) == nil {
			assertLifecycleOrder(t, carehex.SortVisitEventsFor(raw, rules), raw)
		}
	})
}

func describe(events []*carehex.VisitEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, string(e.Type)+" device "+e.DeviceTime.Sub(evT0).String()+" received "+e.ReceiveTime.Sub(evT0).String())
	}
	return out
}
