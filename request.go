package carehex

import (
	"context"
	"time"
	"unicode/utf8"
)

// Urgency is how soon the caller needs the service.
type Urgency string

const (
	UrgencyEmergency Urgency = "emergency"
	UrgencySoon      Urgency = "soon"
	UrgencyScheduled Urgency = "scheduled"
)

// Status is where a service request stands. Transitions lists how it moves.
type Status string

const (
	StatusPending    Status = "pending"
	StatusOffered    Status = "offered"
	StatusAssigned   Status = "assigned"
	StatusEnRoute    Status = "en_route"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusCancelled  Status = "cancelled"
	StatusUnfilled   Status = "unfilled"
)

// Statuses lists every status, in the order a request normally passes them.
var Statuses = []Status{StatusPending, StatusOffered, StatusAssigned, StatusEnRoute,
	StatusInProgress, StatusCompleted, StatusCancelled, StatusUnfilled}

// Transitions is the state machine of a service request: the one place that
// says which status may follow which. Anything not listed is refused.
var Transitions = map[Status][]Status{
	// Dispatch offers it, or an operator assigns by hand, cancels or gives up.
	StatusPending: {StatusOffered, StatusAssigned, StatusCancelled, StatusUnfilled},
	// The offer is accepted, declined or expires (back to pending).
	StatusOffered: {StatusPending, StatusAssigned, StatusCancelled, StatusUnfilled},
	// The provider sets off or arrives; or drops out and it is dispatched again.
	StatusAssigned: {StatusEnRoute, StatusInProgress, StatusPending, StatusCancelled},
	StatusEnRoute:  {StatusInProgress, StatusPending, StatusCancelled},
	// A visit ends done, or cancelled when the resident was not home.
	StatusInProgress: {StatusCompleted, StatusCancelled},
	// An operator may reopen a request nobody took.
	StatusUnfilled:  {StatusPending, StatusCancelled},
	StatusCompleted: nil,
	StatusCancelled: nil,
}

// CanTransition reports whether a request may move from one status to another.
func CanTransition(from, to Status) bool {
	for _, s := range Transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Terminal reports whether no transition leaves s.
func (s Status) Terminal() bool { return len(Transitions[s]) == 0 }

// ServiceRequest is one call's ask for a service for a resident.
type ServiceRequest struct {
	ID             string
	ResidentID     string
	ServiceCode    string
	Urgency        Urgency
	Status         Status
	Notes          string
	WindowStart    time.Time // zero unless Urgency is scheduled
	WindowEnd      time.Time
	ProviderID     string // set once assigned
	VisitID        string // set once assigned
	CancelReason   string
	IdempotencyKey string
	CallID         string // the hotline call it was logged during, if the PBX reported it
	CreatedBy      string // actor that logged it
	CreateTime     time.Time
	UpdateTime     time.Time
}

// MaxScheduleAhead bounds how far ahead a visit may be booked.
const MaxScheduleAhead = 90 * 24 * time.Hour

// Validate checks a new request's own fields (that the resident and service
// type exist is checked by the store against the records).
func (r *ServiceRequest) Validate(now time.Time) error {
	if r.ResidentID == "" {
		return Required("resident_id")
	}
	if r.ServiceCode == "" {
		return Required("service_code")
	}
	if utf8.RuneCountInString(r.Notes) > MaxTextLen || !validText(r.Notes) {
		return Errorf(EINVALID, "notes", "notes must be valid text of at most %d characters", MaxTextLen).
			With(MsgInvalidText, "field", "notes", "max", MaxTextLen)
	}
	if len(r.IdempotencyKey) > 200 {
		return Errorf(EINVALID, "idempotency_key", "idempotency_key is longer than 200 characters")
	}
	if len(r.CallID) > MaxCallIDLen || !validText(r.CallID) {
		return Errorf(EINVALID, "call_id", "call_id must be valid text of at most %d characters", MaxCallIDLen)
	}
	switch r.Urgency {
	case UrgencyEmergency, UrgencySoon:
		if !r.WindowStart.IsZero() || !r.WindowEnd.IsZero() {
			return Errorf(EINVALID, "window_start_time", "a time window is only for URGENCY_SCHEDULED requests").
				With(MsgWindowNotScheduled, "field", "window_start_time")
		}
	case UrgencyScheduled:
		switch {
		case r.WindowStart.IsZero():
			return Errorf(EINVALID, "window_start_time", "window_start_time is required for URGENCY_SCHEDULED").
				With(MsgWindowRequired, "field", "window_start_time")
		case r.WindowEnd.IsZero():
			return Errorf(EINVALID, "window_end_time", "window_end_time is required for URGENCY_SCHEDULED").
				With(MsgWindowRequired, "field", "window_end_time")
		case !r.WindowEnd.After(r.WindowStart):
			return Errorf(EINVALID, "window_end_time", "window_end_time must be after window_start_time").
				With(MsgWindowOrder, "field", "window_end_time")
		case r.WindowEnd.Before(now):
			return Errorf(EINVALID, "window_end_time", "window_end_time is in the past").With(MsgWindowPast, "field", "window_end_time")
		case r.WindowStart.After(now.Add(MaxScheduleAhead)):
			return Errorf(EINVALID, "window_start_time", "window_start_time is more than 90 days ahead").
				With(MsgWindowTooFar, "field", "window_start_time", "days", int(MaxScheduleAhead/(24*time.Hour)))
		}
	default:
		return Errorf(EINVALID, "urgency", "urgency must be URGENCY_EMERGENCY, URGENCY_SOON or URGENCY_SCHEDULED").
			With(MsgInvalidEnum, "field", "urgency")
	}
	return nil
}

// Event is one append-only entry in a request's history: every state change
// and notable action, with who did it, when and why.
type Event struct {
	ID         string
	RequestID  string
	Seq        int // 1, 2, 3… within the request
	Type       string
	FromStatus Status
	ToStatus   Status
	Actor      string // e.g. "user:usr_…", "provider:prv_…", "system:dispatch"
	Reason     string
	Time       time.Time
}

// Event types recorded against a request.
const (
	EventCreated      = "created"
	EventStatusChange = "status_changed"
	EventCancelled    = "cancelled"
	EventOffered      = "offered"
	EventOfferClosed  = "offer_" // + the offer's new status: offer_declined, offer_expired…
)

// RequestFilter selects requests for the console's lists.
type RequestFilter struct {
	ResidentID string
	Statuses   []Status
	Limit      int
	// OrgID keeps the requests of one organisation (OrgScopeStore's rule:
	// offered to or visited by its carers, or routed to it); "" is all.
	OrgID string
}

// NewRequest is a request as its create committed it, with the resident and
// the service type read in the same transaction: what dispatching it needs,
// handed over instead of read again.
type NewRequest struct {
	Request     *ServiceRequest
	Resident    *Resident
	ServiceType *ServiceType
}

// ErrIdempotencyMismatch is returned when an idempotency key is reused with a
// different request body.
var ErrIdempotencyMismatch = Errorf(ECONFLICT, "idempotency_key",
	"idempotency_key was already used for a different request").With(MsgIdempotencyMismatch)

// RequestStore keeps service requests and their event history. Every change
// of a request and its event are committed together, before the caller
// answers.
type RequestStore interface {
	// CreateServiceRequest commits r with a "created" event. When r carries
	// an idempotency key already used by the same actor with the same body
	// (fingerprint), it returns the first request and replayed=true; with a
	// different body, ErrIdempotencyMismatch.
	CreateServiceRequest(ctx context.Context, r *ServiceRequest, fingerprint string) (out *ServiceRequest, replayed bool, err error)
	// CreateServiceRequestWith is CreateServiceRequest handing back, with
	// the new request, the resident and service type its transaction read
	// (both nil on a replay): dispatch takes them as they are.
	CreateServiceRequestWith(ctx context.Context, r *ServiceRequest, fingerprint string) (out *NewRequest, replayed bool, err error)
	ServiceRequest(ctx context.Context, id string) (*ServiceRequest, error)
	ServiceRequests(ctx context.Context, f RequestFilter) ([]*ServiceRequest, error)
	// TransitionRequest moves a request to status to, refusing moves the state
	// machine forbids with ECONFLICT, and appends the event.
	TransitionRequest(ctx context.Context, id string, to Status, actor, reason string) (*ServiceRequest, error)
	RequestEvents(ctx context.Context, requestID string) ([]*Event, error)
	// WaitingRequests is the dispatch queue: up to limit pending requests,
	// soonest due first, then up to limit offered ones, likewise (so offered
	// requests never crowd pending ones out); scheduled ones only once their
	// window starts before windowBefore.
	WaitingRequests(ctx context.Context, windowBefore time.Time, limit int) ([]*ServiceRequest, error)
}
