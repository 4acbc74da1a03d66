package carehex

import (
	"context"
	"time"
)

// Visit is a provider's commitment to serve one request: created when a
// claim commits, it carries the fencing token of that claim.
type Visit struct {
	ID           string
	RequestID    string
	ProviderID   string
	Fence        int64 // the claim's fencing token; SQL accepts only increasing tokens per provider
	Status       Status
	PlannedStart time.Time // when the provider is expected
	PlannedEnd   time.Time // PlannedStart plus the service's default duration
	FinishTime   time.Time // when it completed or was cancelled
	CreateTime   time.Time
	UpdateTime   time.Time
}

// Forever stands for "until it finishes" in Held.
var Forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Held is the time the visit holds its provider, [start, end): an assigned
// visit holds its planned slot; once the provider has set off it holds them
// until it finishes, however long that takes; a completed visit held them
// until it finished; a cancelled one holds nothing. A new visit is committed
// only into time no other visit of the provider holds (invariant 1). A visit
// that overruns into the next one booked before the provider set off is
// lateness, not a double booking: the store's overlap scan tells them apart.
func (v *Visit) Held() (start, end time.Time) {
	switch v.Status {
	case StatusAssigned:
		return v.PlannedStart, v.PlannedEnd
	case StatusEnRoute, StatusInProgress:
		return v.PlannedStart, Forever
	case StatusCompleted:
		if v.FinishTime.Before(v.PlannedStart) { // finished before it was due
			return v.PlannedStart, v.PlannedStart
		}
		return v.PlannedStart, v.FinishTime
	default:
		return v.PlannedStart, v.PlannedStart
	}
}

// Live reports whether the visit still holds the provider's time.
func (v *Visit) Live() bool {
	return v.Status == StatusAssigned || v.Status == StatusEnRoute || v.Status == StatusInProgress
}

// Assignment asks the system of record to commit a claim: provider
// ProviderID serves request RequestID in [Start, End), under fencing token
// Fence from the Redis claim.
type Assignment struct {
	RequestID  string
	ProviderID string
	Fence      int64
	Start, End time.Time
	Actor      string
	Reason     string // e.g. "offer accepted", "assigned by operator"
}

// VisitStore is where a claim is decided for good. The fast path (Redis)
// decides who may try; AssignRequest decides who wins: it refuses a claim
// whose fence is not newer than the last committed for the provider, or that
// overlaps a live visit of the provider, so a stale claim from a paused or
// partitioned replica loses.
type VisitStore interface {
	// AssignRequest creates the visit and moves the request to assigned in
	// one transaction, appending the event; ECONFLICT when the fence is stale,
	// the provider is committed elsewhere in that time, or the request is no
	// longer pending/offered.
	AssignRequest(ctx context.Context, a Assignment) (*ServiceRequest, *Visit, error)
	Visit(ctx context.Context, id string) (*Visit, error)
	// TransitionVisit moves a visit and its request together to status to
	// (en_route, in_progress, completed or cancelled, by the request state
	// machine), at time at, appending the request event.
	TransitionVisit(ctx context.Context, visitID string, to Status, actor, reason string, at time.Time) (*Visit, error)
	// ProviderVisits lists a provider's visits, newest first; live only if liveOnly.
	ProviderVisits(ctx context.Context, providerID string, liveOnly bool) ([]*Visit, error)
	// ProviderDayVisits lists the provider's visits planned to start in
	// [from, to), and any still live from before, newest first: the
	// phone's day list.
	ProviderDayVisits(ctx context.Context, providerID string, from, to time.Time) ([]*Visit, error)
	// OverdueVisits lists visits not yet arrived at (assigned or en route)
	// planned to start before startBefore, whose request never had an
	// alert of kind, oldest first.
	OverdueVisits(ctx context.Context, kind string, startBefore time.Time, limit int) ([]*Visit, error)
	// PlannedVisitCounts counts, for each of providerIDs, the visits not
	// cancelled planned to start in [from, to): a day's workload of every
	// candidate of one dispatch, in one question. Providers without such
	// visits are absent from the map.
	PlannedVisitCounts(ctx context.Context, providerIDs []string, from, to time.Time) (map[string]int, error)
	// LiveVisits lists every live visit (assigned, en route, in progress) of
	// every provider, grouped by provider and each provider's newest first
	// (by fence): what rebuilding the live availability reads, at once.
	LiveVisits(ctx context.Context) ([]*Visit, error)
	// ProviderFences returns the last committed fencing token per provider,
	// so the Redis state can be rebuilt with tokens that stay ahead of them.
	ProviderFences(ctx context.Context) (map[string]int64, error)
	// ProviderFence is the last committed fencing token of one provider
	// (0: none).
	ProviderFence(ctx context.Context, providerID string) (int64, error)
	// OverlappingVisits is the invariant scan: pairs of visits of one
	// provider where the later-committed one was booked into time the other
	// held at that moment. It must always return none.
	OverlappingVisits(ctx context.Context) ([][2]*Visit, error)
}
