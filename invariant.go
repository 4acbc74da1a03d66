package carehex

import (
	"context"
	"time"
)

// LostRequest is a request acknowledged to its caller that the system
// dropped: the system of record does not hold it, or it waits (pending or
// offered) with nobody working on it, that is with no live offer and no open
// alert for an operator.
type LostRequest struct {
	ID     string
	Status Status // "" when the system of record does not hold it
	Why    string
}

// InvariantScan is what the scan of the system of record found. Every field
// must be empty: the fault test, the simulator and the engine's race test
// all ask the same scan (InvariantScanner), so "lost" means one thing.
type InvariantScan struct {
	// Overlaps are a provider's visits committed into one another's time
	// (VisitStore.OverlappingVisits; invariant 1).
	Overlaps [][2]*Visit
	// Lost are the acknowledged requests dropped (invariant 2).
	Lost []LostRequest
	// MultiAccepted are requests more than one of whose offers was accepted.
	MultiAccepted []string
}

// Patience is the slack a scan allows the dispatcher at its edges. The zero
// value allows none: what the fault test asks of replicas that have had time
// to settle.
type Patience struct {
	// OfferGrace keeps an open offer live this long past its expiry: the
	// engine closes an offer ExpiryGrace after it expires, at its next pass.
	OfferGrace time.Duration
	// Unalerted is how old a waiting request may be (by CreateTime) before
	// it needs a live offer or an open alert: the engine alerts only once a
	// request's deadline has passed. Nil means at once.
	Unalerted func(r *ServiceRequest) time.Duration
}

// InvariantScanner runs the invariant scan over the requests requestIDs
// acknowledged to their callers, at now.
type InvariantScanner interface {
	ScanInvariants(ctx context.Context, requestIDs []string, now time.Time, p Patience) (*InvariantScan, error)
}
