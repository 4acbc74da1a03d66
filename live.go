package carehex

import (
	"context"
	"time"
)

// Live availability: where each provider last reported being, whether they
// want work, and the short-lived claims that reserve one for an offer. It is
// state that can be rebuilt from the system of record (invariant 3); package
// providers keeps it in Redis. These are the values that cross the border,
// and LiveStore is what the dispatch engine asks of it.

// LiveStatus is where a provider stands for dispatch.
type LiveStatus string

const (
	LiveOffline   LiveStatus = "offline"   // not working, or said so in its last heartbeat
	LiveAvailable LiveStatus = "available" // wants offers; found by Candidates if fresh
	LiveOffered   LiveStatus = "offered"   // claimed for one request's offer until accepted, declined or expired
	LiveBusy      LiveStatus = "busy"      // the claim became a visit; free again after Finish
)

// ErrNoLiveState answers a provider the live availability does not know
// (no heartbeat or registration since Redis last started). Compare with
// errors.Is.
var ErrNoLiveState = &Error{Code: ENOTFOUND, Field: "provider_id",
	Message: "provider has no live state (no heartbeat or registration since Redis last started)"}

// LiveMaxRadiusM bounds a candidate search, so one bad request cannot scan a
// province.
const LiveMaxRadiusM = 50_000

// Heartbeat is what a provider's phone reports every few seconds.
type Heartbeat struct {
	ProviderID string
	Position   LatLng
	AccuracyM  float64
	Available  bool // the provider wants offers
	// Skills, when not nil, replace the stored skills (the roster's). A
	// heartbeat of a provider the live state does not know answers
	// ErrNoLiveState unless they are given.
	Skills []string
}

// LiveState is one provider's live state.
type LiveState struct {
	ProviderID    string
	Status        LiveStatus
	Position      LatLng // zero until the first position
	AccuracyM     float64
	Cell          Cell      // of Position at the finer index resolution
	LastSeen      time.Time // last heartbeat; zero if none
	Skills        []string
	WantsOffers   bool   // what the last heartbeat said; where an offer or visit returns to
	Token         uint64 // fencing token of the latest claim
	RequestID     string // of the current offer or visit
	OfferDeadline time.Time
}

// LiveQuery asks for the nearest qualified, available, fresh providers.
type LiveQuery struct {
	Origin     LatLng
	Skill      string        // the service type's required skill
	MaxRadiusM float64       // nobody farther than this, in metres
	Want       int           // how many candidates, at most
	Exclude    []string      // provider IDs not to return (declined, blocked by the resident, already offered)
	Now        time.Time     // zero: the store's clock
	MaxAge     time.Duration // a provider whose last heartbeat is older is stale
}

// LiveCandidate is a provider that passed the hard filters: the skill,
// available, fresh, not excluded, within the radius.
type LiveCandidate struct {
	ProviderID string
	Position   LatLng
	DistanceM  float64
	Cell       Cell      // the index cell it was found in, at either resolution
	LastSeen   time.Time // to the second
}

// ClaimRequest asks to reserve a provider for one request's offer.
type ClaimRequest struct {
	ProviderID string
	RequestID  string
	TTL        time.Duration // how long the provider has to answer the offer
	MaxAge     time.Duration // a provider whose last heartbeat is older is stale
	// ByPhone: the operator reached the provider by telephone, so one
	// offline or stale may be claimed too (never one holding another
	// request's live offer, nor one busy with a visit).
	ByPhone bool
}

// Claim is a reservation of a provider for an offer. Token is the fencing
// token: it increases with every claim of the provider, and the SQL commit of
// the assignment refuses a token older than one it has already seen, so a
// claimer that was paused past its deadline cannot commit late.
type Claim struct {
	ProviderID string
	RequestID  string
	Token      uint64
	Deadline   time.Time
}

// ExpiredClaim is an offer's claim whose holder died; the sweep released it.
type ExpiredClaim struct {
	ProviderID string
	RequestID  string
	Token      uint64
}

// LiveSnapshot is one provider's live state as the system of record knows
// it, to rebuild the live availability after it was lost.
type LiveSnapshot struct {
	ProviderID string
	Skills     []string
	Position   LatLng // zero: no position; found only after its next heartbeat
	AccuracyM  float64
	LastSeen   time.Time // last heartbeat SQL recorded; zero: none
	// Status is LiveOffline, LiveAvailable or LiveBusy (a visit in
	// progress). Offers are not restored: the dispatcher treats the offers
	// outstanding at the loss as expired, and SQL refuses their tokens.
	Status      LiveStatus
	WantsOffers bool
	Token       uint64 // highest fencing token SQL has accepted; claims continue above it
	RequestID   string // the visit's request, for LiveBusy
}

// LiveStore is the live availability of one dispatch zone, as the dispatch
// engine uses it; *providers.Store implements it. Redis decides fast; the
// system of record decides last, so every answer here is provisional.
type LiveStore interface {
	// Zone names the dispatch zone, for logs.
	Zone() string
	// Heartbeat records a provider's position and wish to work and returns
	// their status afterwards; an offer or a visit is not changed by it.
	Heartbeat(ctx context.Context, hb Heartbeat) (LiveStatus, error)
	// Live returns one provider's live state, or ErrNoLiveState.
	Live(ctx context.Context, providerID string) (*LiveState, error)
	// Lives returns the live state of each provider, in order, in one
	// round trip; nil for one it does not know.
	Lives(ctx context.Context, providerIDs []string) ([]*LiveState, error)
	// Candidates lists the nearest providers that pass q's hard filters,
	// nearest first.
	Candidates(ctx context.Context, q LiveQuery) ([]LiveCandidate, error)
	// Claim reserves an available, fresh provider for one offer; of
	// concurrent claims exactly one succeeds.
	Claim(ctx context.Context, r ClaimRequest) (Claim, error)
	// Fence returns a new fencing token for work booked ahead (a
	// rostered planned visit), above floor, changing no status; refused
	// while the provider holds a live offer.
	Fence(ctx context.Context, providerID string, floor uint64) (uint64, error)
	// Release ends a claim (declined, expired, lost in SQL), Commit turns
	// it into a visit (busy), Finish ends the visit (available again); each
	// only while token is the provider's latest, and reports whether it
	// changed anything.
	Release(ctx context.Context, providerID string, token uint64) (bool, error)
	Commit(ctx context.Context, providerID string, token uint64) (bool, error)
	Finish(ctx context.Context, providerID string, token uint64) (bool, error)
	// Remove deletes a provider's live state at once (a revoked phone, a
	// provider taken off the roster); it reports whether there was any.
	Remove(ctx context.Context, providerID string) (bool, error)
	// Sweep releases the claims whose holders died and returns them.
	Sweep(ctx context.Context) ([]ExpiredClaim, error)
	// Lost reports whether the state was lost and must be rebuilt; Rebuild
	// recreates it from the system of record's snapshots.
	Lost(ctx context.Context) (bool, error)
	Rebuild(ctx context.Context, snaps []LiveSnapshot) (int, error)
	// Register creates one provider's live state from its snapshot if
	// there is none (a new provider), otherwise applies the snapshot's
	// skills and token floor; it reports whether it created the state.
	Register(ctx context.Context, snap LiveSnapshot) (bool, error)
}
