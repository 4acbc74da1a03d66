package carehex

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"
)

// VisitEventType is what a provider's phone reports about a visit.
type VisitEventType string

const (
	VisitDepart   VisitEventType = "depart"   // set off for the home: en_route
	VisitArrive   VisitEventType = "arrive"   // checked in at the home: in_progress (EVV start)
	VisitComplete VisitEventType = "complete" // checked out, work done: completed (EVV end)
	VisitNoShow   VisitEventType = "no_show"  // resident not home or refused: cancelled, reason no_show
)

// Exception kinds, raised as operator alerts and kept on the event record.
const (
	ExceptionOutsideGeofence = "arrival_outside_geofence"
	ExceptionShortVisit      = "short_visit"
	ExceptionCheckoutFar     = "checkout_far_from_home"
	ExceptionLateArrival     = "late_arrival" // no arrival by the planned start plus dispatch's LateGrace
	ExceptionMissedVisit     = "missed_visit" // no arrival by the planned end
)

// Order ranks the event types of one visit: a later rank can never carry an
// earlier device time than an earlier rank.
func (t VisitEventType) Order() int {
	switch t {
	case VisitDepart:
		return 1
	case VisitArrive:
		return 2
	case VisitComplete, VisitNoShow:
		return 3
	}
	return 0
}

// Valid reports whether t is one of the four event types.
func (t VisitEventType) Valid() bool { return t.Order() > 0 }

// Target is the status an event moves its visit to.
func (t VisitEventType) Target() Status {
	switch t {
	case VisitDepart:
		return StatusEnRoute
	case VisitArrive:
		return StatusInProgress
	case VisitComplete:
		return StatusCompleted
	case VisitNoShow:
		return StatusCancelled
	}
	return ""
}

// VisitEvent is one report from a provider's phone about a visit: the
// electronic visit verification record (who, where, when by the device and by
// the server). Applied is false while it waits for an event it follows (a
// "complete" that reached the server before its "arrive").
type VisitEvent struct {
	EventID     string
	VisitID     string
	ProviderID  string
	Type        VisitEventType
	Position    LatLng
	AccuracyM   float64
	DeviceTime  time.Time
	ReceiveTime time.Time
	Note        string
	Verified    bool     // inside the geofence around the home
	Exceptions  []string // Exception… kinds
	Applied     bool
}

// VisitEventRules is what the store needs to judge a visit's events.
type VisitEventRules struct {
	// MinDuration: a visit completed sooner after arrival than this is
	// flagged ExceptionShortVisit (half the service's default duration).
	MinDuration time.Duration
	// MaxClockSkew is how far a phone's clock may be off; zero means
	// DefaultClockSkew. See EventTime and CheckVisitSequence.
	MaxClockSkew time.Duration
}

// DefaultClockSkew is how far ahead of the server a phone's device time may
// be before the mobile API refuses the event.
const DefaultClockSkew = 5 * time.Minute

func (r VisitEventRules) skew() time.Duration {
	if r.MaxClockSkew <= 0 {
		return DefaultClockSkew
	}
	return r.MaxClockSkew
}

// EventTime is when an event happened as far as the server can tell: its
// device time, but never later than the server received it. A device time
// ahead of the receive time can only be a fast clock (an event cannot reach
// the server before it happens), and taken at face value it would sort a
// depart sent from a phone 4 minutes fast after the arrive sent a minute
// later from a corrected clock, and refuse that arrive.
func (e *VisitEvent) EventTime() time.Time {
	if !e.ReceiveTime.IsZero() && e.DeviceTime.After(e.ReceiveTime) {
		return e.ReceiveTime
	}
	return e.DeviceTime
}

// CheckVisitSequence checks that a visit's events follow the order depart →
// arrive → complete|no_show, with at most one of each and not both complete
// and no_show. Times are EventTimes, and phones' clocks may disagree by up to
// rules' skew, so a later step is refused only when it happened more than
// that before an earlier step: an arrive timed 3 minutes before its depart
// is a clock, an arrive an hour before it is impossible. It names the
// offending event in a conflict.
func CheckVisitSequence(events []*VisitEvent, rules VisitEventRules) error {
	seen := map[VisitEventType]*VisitEvent{}
	for _, e := range events {
		if prev := seen[e.Type]; prev != nil && prev.EventID != e.EventID {
			return Errorf(ECONFLICT, "type", "the visit already has a %s event (%s)", e.Type, prev.EventID)
		}
		seen[e.Type] = e
	}
	if seen[VisitComplete] != nil && seen[VisitNoShow] != nil {
		return Errorf(ECONFLICT, "type", "a visit cannot be both completed and a no-show")
	}
	skew := rules.skew()
	for _, early := range events {
		for _, late := range events {
			// late is a later step than early; it may carry an earlier
			// time only within the skew.
			if late.Type.Order() > early.Type.Order() && early.EventTime().Sub(late.EventTime()) > skew {
				return Errorf(ECONFLICT, "device_time",
					"impossible sequence: %s at %s comes after %s at %s; a visit goes depart → arrive → complete",
					early.Type, early.EventTime().UTC().Format(time.RFC3339), late.Type, late.EventTime().UTC().Format(time.RFC3339))
			}
		}
	}
	return nil
}

// SortVisitEvents returns the events in the order they are applied: by
// EventTime, then by type, except that events within skew of each other
// count as simultaneous (the phones' clocks cannot tell them apart) and go
// by type: depart, arrive, complete. The order is a total one: events are
// grouped into runs whose neighbours are within DefaultClockSkew, and each
// run is sorted by type, then time.
func SortVisitEvents(events []*VisitEvent) []*VisitEvent {
	return sortVisitEvents(events, DefaultClockSkew)
}

func sortVisitEvents(events []*VisitEvent, skew time.Duration) []*VisitEvent {
	out := slices.Clone(events)
	sort.SliceStable(out, func(i, j int) bool {
		ti, tj := out[i].EventTime(), out[j].EventTime()
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return out[i].Type.Order() < out[j].Type.Order()
	})
	for start := 0; start < len(out); {
		end := start + 1
		for end < len(out) && out[end].EventTime().Sub(out[end-1].EventTime()) <= skew {
			end++
		}
		run := out[start:end]
		sort.SliceStable(run, func(i, j int) bool { return run[i].Type.Order() < run[j].Type.Order() })
		start = end
	}
	return out
}

// SortVisitEventsFor is SortVisitEvents with rules' skew.
func SortVisitEventsFor(events []*VisitEvent, rules VisitEventRules) []*VisitEvent {
	return sortVisitEvents(events, rules.skew())
}

// ExceptionMessage is the operator-facing text of an exception alert.
func ExceptionMessage(kind string, e *VisitEvent) string {
	switch kind {
	case ExceptionOutsideGeofence:
		return fmt.Sprintf("check-in of visit %s was outside the geofence around the home", e.VisitID)
	case ExceptionShortVisit:
		return fmt.Sprintf("visit %s was completed in less than half the service's duration", e.VisitID)
	case ExceptionCheckoutFar:
		return fmt.Sprintf("check-out of visit %s was far from the home", e.VisitID)
	}
	return fmt.Sprintf("visit %s: %s", e.VisitID, kind)
}

// VisitEventStore keeps the phones' visit events (the electronic visit
// verification record) and applies them to visits.
type VisitEventStore interface {
	// RecordVisitEvent applies event e of e.ProviderID to visit e.VisitID
	// in one transaction: the event, the visit's moves, alerts for its
	// exceptions and the families' notifications commit together. A repeat
	// of an event_id returns the first result and replayed=true. ENOTFOUND
	// when the visit is not the provider's; ECONFLICT for an impossible
	// sequence.
	RecordVisitEvent(ctx context.Context, e *VisitEvent, rules VisitEventRules) (out *VisitEvent, v *Visit, replayed bool, err error)
	// VisitEvents lists a visit's events by device time.
	VisitEvents(ctx context.Context, visitID string) ([]*VisitEvent, error)
	// FamilyMember returns a family link by its ID.
	FamilyMember(ctx context.Context, id string) (*FamilyMember, error)
}

// Notification is one message for a resident's family, written to the
// outbox in the same transaction as the state change it announces (kinds
// "arriving", "arrived", "completed", "exception", and NotifyCarerChanged from planned care) and delivered at least
// once by the Relay. DedupeKey is the same on every delivery of it, so a
// receiver drops repeats.
type Notification struct {
	ID         string
	DedupeKey  string
	Kind       string
	RequestID  string
	ResidentID string
	Payload    string // JSON
	Attempts   int
	CreateTime time.Time
}

// Outbox is the relay's view of the system of record; *sqlstore.DB
// implements it.
type Outbox interface {
	// ClaimNotifications leases up to limit undelivered notifications that
	// are due at now: none is handed to another relay until lease has
	// passed, so a relay that dies mid-delivery leaves them to the next.
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Notification, error)
	// MarkNotificationSent records a delivery; the notification is done.
	MarkNotificationSent(ctx context.Context, id string, at time.Time) error
}
