package carehex

import (
	"context"
	"time"
)

// OfferStatus is where an offer of a request to one provider stands.
type OfferStatus string

const (
	OfferOpen      OfferStatus = "open"      // waiting for the provider
	OfferAccepted  OfferStatus = "accepted"  // became a visit
	OfferDeclined  OfferStatus = "declined"  // the provider said no
	OfferExpired   OfferStatus = "expired"   // no answer in time
	OfferWithdrawn OfferStatus = "withdrawn" // someone else took it, or the request was cancelled
)

// Offer is a request offered to one provider, under the fencing token of the
// Redis claim that reserved the provider for it.
type Offer struct {
	ID          string
	RequestID   string
	ProviderID  string
	ServiceCode string
	Fence       int64
	DistanceM   float64
	Status      OfferStatus
	Reason      string // why it was declined, expired or withdrawn
	ExpireTime  time.Time
	CreateTime  time.Time
	CloseTime   time.Time
}

// OfferStore keeps offers in the system of record: they survive Redis, and
// they are how dispatch knows never to offer a request twice to a provider
// who declined it or let it expire.
type OfferStore interface {
	// CreateOffers records open offers of one request and moves the request
	// pending → offered (or keeps it offered), with its event, in one
	// transaction; ECONFLICT when the request is no longer pending/offered.
	CreateOffers(ctx context.Context, offers []*Offer, actor string) error
	Offer(ctx context.Context, id string) (*Offer, error)
	// OpenOffers lists a provider's open, unexpired offers at now.
	OpenOffers(ctx context.Context, providerID string, now time.Time) ([]*Offer, error)
	RequestOffers(ctx context.Context, requestID string) ([]*Offer, error)
	// CloseOffer moves an open offer to status (declined, expired, withdrawn,
	// accepted) with a reason; when the request has no open offer left and is
	// still offered, it returns to pending, with its event. ECONFLICT when the
	// offer is not open.
	CloseOffer(ctx context.Context, id string, status OfferStatus, reason, actor string) (*Offer, error)
	// DueOffers lists open offers whose expiry is before now.
	DueOffers(ctx context.Context, now time.Time, limit int) ([]*Offer, error)
}

// Alert is something an operator must act on: nobody accepted, a visit is
// late, a check-in far from home.
type Alert struct {
	ID        string
	RequestID string
	VisitID   string
	Kind      string // AlertUnaccepted, …
	Message   string // English, for logs and API users
	// Code and Params are the alert's words for a person (see Message);
	// an alert raised before codes existed has none, and its Kind is its code.
	Code       string
	Params     map[string]string
	CreateTime time.Time
	// AckTime is when it stopped being open: acknowledged by AckBy, or
	// closed by itself (CloseReason set) when its condition ended.
	AckTime     time.Time
	AckBy       string
	CloseReason string // MsgClosedAssigned, …; empty unless closed by itself

	// Read with the alert, from its request: whom and what it is about.
	ResidentID   string
	ResidentName string
	ServiceCode  string
}

// Alert kinds.
const (
	AlertUnaccepted   = "unaccepted"    // no provider accepted within the urgency class's deadline
	AlertNoCandidates = "no_candidates" // nobody qualified within the maximum radius
)

// AlertClosers says which open alerts close by themselves when a request
// reaches a status, and with what reason: their condition has ended. The
// store applies it in the transaction that moves the request. Visit
// verification exceptions (far check-in, short visit) are not here: they
// are facts to review, not conditions that end.
var AlertClosers = map[Status]struct {
	Kinds  []string
	Reason string
}{
	StatusAssigned:   {[]string{AlertUnaccepted, AlertNoCandidates, AlertOrgSlow, AlertNoOrganisation}, MsgClosedAssigned},
	StatusInProgress: {[]string{AlertUnaccepted, AlertNoCandidates, AlertOrgSlow, AlertNoOrganisation, ExceptionLateArrival, ExceptionMissedVisit}, MsgClosedArrived},
	StatusCompleted:  {[]string{AlertUnaccepted, AlertNoCandidates, AlertOrgSlow, AlertNoOrganisation, ExceptionLateArrival, ExceptionMissedVisit}, MsgClosedCompleted},
	StatusCancelled:  {[]string{AlertUnaccepted, AlertNoCandidates, AlertOrgSlow, AlertNoOrganisation, ExceptionLateArrival, ExceptionMissedVisit}, MsgClosedCancelled},
}

// AlertHolds reports whether an alert of kind still describes a request in
// status: a late request nobody took is pending, offered or unfilled; a
// carer not yet arrived is assigned or en route. A kind not listed holds
// in any status.
func AlertHolds(kind string, status Status) bool {
	switch kind {
	case AlertUnaccepted, AlertNoCandidates, AlertOrgSlow, AlertNoOrganisation:
		return status == StatusPending || status == StatusOffered || status == StatusUnfilled
	case ExceptionLateArrival, ExceptionMissedVisit:
		return status == StatusAssigned || status == StatusEnRoute
	}
	return true
}

// AlertStore keeps the operators' alert queue.
type AlertStore interface {
	// RaiseAlert adds an alert unless an unacknowledged one of the same kind
	// exists for the request (returns that one, created=false).
	RaiseAlert(ctx context.Context, a *Alert) (created bool, err error)
	Alerts(ctx context.Context, openOnly bool, limit int) ([]*Alert, error)
	AcknowledgeAlert(ctx context.Context, id, actor string) (*Alert, error)
}
