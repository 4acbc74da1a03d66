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
	// DispatchNew is Dispatch of a request just created, taking what its
	// create read instead of reading it again.
	DispatchNew(ctx context.Context, n *NewRequest) ([]*Offer, error)
	// Assign gives the request to a provider the operator chose.
	Assign(ctx context.Context, requestID, providerID, actor, reason string) (*ServiceRequest, *Visit, error)
	// WithdrawOffers closes the request's open offers and frees their providers.
	WithdrawOffers(ctx context.Context, requestID, reason string) (int, error)
	// FreeIfDone frees a provider still shown busy with a visit that is
	// over, and reports whether it did.
	FreeIfDone(ctx context.Context, providerID string) (bool, error)
	// GoOffline takes a provider whose phone lost its tokens out of
	// dispatch at once.
	GoOffline(ctx context.Context, providerID string) error
}
