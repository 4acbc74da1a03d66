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
}

// CheckVisitSequence checks that a visit's events, sorted by device time, follow
// the order depart → arrive → complete|no_show, with at most one of each and
// not both complete and no_show. It names the offending event in a conflict.
func CheckVisitSequence(events []*VisitEvent) error {
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
	sorted := SortVisitEvents(events)
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		if a.Type.Order() > b.Type.Order() {
			return Errorf(ECONFLICT, "device_time",
				"impossible sequence: %s at %s comes after %s at %s; a visit goes depart → arrive → complete",
				b.Type, b.DeviceTime.UTC().Format(time.RFC3339), a.Type, a.DeviceTime.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// SortVisitEvents returns the events ordered by device time, then by type.
func SortVisitEvents(events []*VisitEvent) []*VisitEvent {
	out := slices.Clone(events)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].DeviceTime.Equal(out[j].DeviceTime) {
			return out[i].DeviceTime.Before(out[j].DeviceTime)
		}
		return out[i].Type.Order() < out[j].Type.Order()
	})
	return out
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
// "arriving", "arrived", "completed", "exception") and delivered at least
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
