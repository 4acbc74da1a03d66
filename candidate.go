package carehex

import (
	"context"
	"time"
)

// Factor names, as the console shows them: the soft terms of a candidate's
// score, each with what its value measures.
const (
	FactorTravelTime = "travel_time"        // value: minutes
	FactorContinuity = "continuity"         // value: 1 if the provider served the resident before
	FactorPreferred  = "preferred_provider" // value: 1 if on the resident's preferred list
	FactorGender     = "gender"             // value: 1 if of the gender the resident prefers
	FactorLanguage   = "language"           // value: 1 if they share the resident's language
	FactorFairShare  = "fair_share"         // value: visits the provider has that day
)

// Factor is one term of a candidate's score: Contribution = Value × Weight.
type Factor struct {
	Name         string
	Value        float64
	Weight       float64
	Contribution float64
}

// Candidate is a provider who passed the hard filters, with its score and
// the factors that make it up: the explanation an operator reads before
// assigning by hand.
type Candidate struct {
	ProviderID string
	Name       string
	DistanceM  float64
	ETA        time.Duration // travel time estimate at the engine's travel speed
	Score      float64
	Factors    []Factor

	// What Qualified fills in besides: where the provider stands for this
	// request. Rankable candidates (online, fresh, not yet asked) carry a
	// score and factors; the others say why the dispatcher passes them by.
	Status      LiveStatus // LiveOffline also for a provider never seen
	LastSeen    time.Time  // last heartbeat; zero if none is known
	Rankable    bool
	Stale       bool // last heartbeat too old for dispatch
	Declined    bool // declined an offer of this request
	NoAnswer    bool // let an offer of this request expire
	OfferedThis bool // holds an open offer of this request
	Blocked     bool // the resident asked not to be served by them
}

// Availability is one provider's live state as the console's roster shows
// it. A provider the live state does not know is LiveOffline, never seen.
type Availability struct {
	ProviderID string
	Status     LiveStatus
	LastSeen   time.Time
	Stale      bool // the last heartbeat is too old for dispatch
}

// Dispatcher is the matching engine as the operator's services use it. It
// lives here, not in the engine's package, so the transports depend on the
// contract and only the binary's wiring knows the implementation.
type Dispatcher interface {
	// Rank lists the providers the engine would offer the request to now,
	// best first, claiming nothing.
	Rank(ctx context.Context, requestID string) ([]Candidate, error)
	// Dispatch offers a pending request now instead of at the next pass.
	Dispatch(ctx context.Context, requestID string) ([]*Offer, error)
	// Qualified lists every active provider with the request's skill
	// within its class's maximum radius, whatever their state: the
	// rankable ones first, by score, then the rest by how reachable they
	// are (see the engine).
	Qualified(ctx context.Context, requestID string) ([]Candidate, error)
	// DispatchNew is Dispatch of a request just created, taking what its
	// create read instead of reading it again.
	DispatchNew(ctx context.Context, n *NewRequest) ([]*Offer, error)
	// Assign gives the request to a provider the operator chose.
	Assign(ctx context.Context, requestID, providerID, actor, reason string) (*ServiceRequest, *Visit, error)
	// AssignByPhone is Assign for a provider the operator reached by
	// telephone: one whose phone is offline or stale, or who let an offer
	// expire, may be assigned as long as no other offer or visit holds them.
	AssignByPhone(ctx context.Context, requestID, providerID, actor, reason string) (*ServiceRequest, *Visit, error)
	// SyncProvider gives an edited provider's live state the roster's
	// skills at once (re-indexing them if they are available), rather than
	// at the next rebuild.
	SyncProvider(ctx context.Context, p *Provider) error
	// Availability returns the live state of each provider, in order.
	Availability(ctx context.Context, providerIDs []string) ([]Availability, error)
	// WithdrawOffers closes the request's open offers and frees their providers.
	WithdrawOffers(ctx context.Context, requestID, reason string) (int, error)
	// FreeIfDone frees a provider still shown busy with a visit that is
	// over, and reports whether it did.
	FreeIfDone(ctx context.Context, providerID string) (bool, error)
	// GoOffline takes a provider whose phone lost its tokens out of
	// dispatch at once.
	GoOffline(ctx context.Context, providerID string) error
}
