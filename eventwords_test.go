package carehex

import (
	"testing"
	"time"
)

func TestEventWords(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	offers := []*Offer{
		{ProviderID: "prv_a", Status: OfferExpired, Reason: "no answer within 45s", CreateTime: t0, ExpireTime: t0.Add(45 * time.Second)},
		{ProviderID: "prv_b", Status: OfferDeclined, Reason: ""},
		{ProviderID: "prv_c", Status: OfferWithdrawn, Reason: "another provider accepted first"},
	}
	tests := []struct {
		e    Event
		prv  string
		want string
	}{
		{Event{Type: EventOffered, Reason: "offered to prv_a"}, "prv_a", "offered_to {count=1}"},
		{Event{Type: EventOffered, Reason: "offered to prv_a, prv_b"}, "", "offered_to {count=2}"},
		{Event{Type: "offer_expired", Reason: "prv_a expired: no answer within 45s"}, "prv_a", "expired {after_s=45}"},
		{Event{Type: "offer_declined", Reason: "prv_b declined"}, "prv_b", "declined {reason=declined}"},
		{Event{Type: "offer_withdrawn", Reason: "prv_c withdrawn: another provider accepted first"}, "prv_c", "withdrawn {reason=taken}"},
		{Event{Type: "offer_declined", Reason: "prv_z declined: 在医院"}, "prv_z", "declined {reason=在医院}"}, // offer not found
		{Event{Type: EventCancelled, Reason: "hospitalised: 已住院"}, "", "cancelled {reason=hospitalised: 已住院}"},
		{Event{Type: EventStatusChange, Reason: "assigned by operator"}, "", "assigned_manual"},
		{Event{Type: EventStatusChange, Reason: "marked_unfilled"}, "", "marked_unfilled"},
		{Event{Type: EventStatusChange, Reason: "老人不在家"}, "", "text {text=老人不在家}"},
		{Event{Type: EventStatusChange}, "", ""},
		{Event{Type: EventCreated, Reason: "whatever"}, "", ""},
		{Event{Type: EventEscalation, Reason: "called_contact: 李勇（儿子）"}, "", "escalation {reason=called_contact: 李勇（儿子）}"},
		{Event{Type: EventStatusChange, Reason: "phoned: assigned_manual"}, "", "assigned_phoned {reason=phoned}"},
		{Event{Type: EventStatusChange, Reason: "phoned: assigned by operator"}, "", "assigned_phoned {reason=phoned}"},
		{Event{Type: EventStatusChange, Reason: "phoned: 同意十分钟到"}, "", "assigned_phoned {reason=phoned: 同意十分钟到}"},
		{Event{Type: EventStatusChange, Reason: "provider reported depart"}, "", "reported_depart"},
		{Event{Type: EventStatusChange, Reason: "provider reported complete"}, "", "reported_complete"},
		{Event{Type: EventStatusChange, Reason: "no_show"}, "", "no_show"},
	}
	for _, tc := range tests {
		prv, m := EventWords(&tc.e, offers)
		if prv != tc.prv || m.String() != tc.want {
			t.Errorf("EventWords(%s %q) = %q %q, want %q %q", tc.e.Type, tc.e.Reason, prv, m, tc.prv, tc.want)
		}
	}
}
