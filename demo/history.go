package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/carehex/carehex"
)

// HistoryOptions sizes `carehex demo seed --history`: Days China days
// ending the day before End, PerDay requests a day on average (a city of
// 90,000 elderly residents logs about 3,300: 1.2 million a year).
type HistoryOptions struct {
	Days   int
	PerDay int
	End    time.Time
	Seed   uint64
}

const historyStream = 7

// History generates a past of requests for the given residents, carried
// out by the given providers (each request goes to one of the carers
// nearest the home), a day at a time, and hands each day to emit. The
// records follow the request state machine: created, then assigned,
// en route, in progress and completed (most), or cancelled before anyone
// accepted, given up unfilled, or accepted and then a no-show. Times to
// accept and arrive are drawn per urgency class; some arrivals carry an
// EVV exception.
func History(ctx context.Context, o HistoryOptions, residents []*carehex.Resident, providers []*carehex.Provider,
	types []*carehex.ServiceType, emit func(day string, b *carehex.HistoryBatch) error) error {
	if o.Days <= 0 || o.PerDay <= 0 {
		return carehex.Errorf(carehex.EINVALID, "history", "history needs days and requests per day above 0")
	}
	if len(residents) == 0 || len(providers) == 0 || len(types) == 0 {
		return carehex.Errorf(carehex.EINVALID, "history", "history needs residents, providers and the catalogue; seed them first")
	}
	rng := newRand(o.Seed, historyStream)
	near := nearestProviders(rng, residents, providers)
	first := time.Date(o.End.In(carehex.CST).Year(), o.End.In(carehex.CST).Month(), o.End.In(carehex.CST).Day(), 0, 0, 0, 0, carehex.CST).AddDate(0, 0, -o.Days)
	fence := map[string]int64{}
	for d := range o.Days {
		if err := ctx.Err(); err != nil {
			return err
		}
		day := first.AddDate(0, 0, d)
		b := &carehex.HistoryBatch{}
		// Fences are negative and unique per carer and day, so histories
		// written by separate runs never collide (see ImportHistory).
		clear(fence)
		base := -(day.Unix() / 86400) * 1000
		// weekends are quieter; winter a little busier
		n := o.PerDay
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			n = n * 8 / 10
		}
		n = int(float64(n) * (1 + 0.1*math.Cos(2*math.Pi*float64(day.YearDay())/365)))
		for range n {
			ri := rng.IntN(len(residents))
			historyRequest(rng, b, day, residents[ri], near[ri], providers, types[rng.IntN(len(types))], fence, base)
		}
		if err := emit(day.Format("2006-01-02"), b); err != nil {
			return fmt.Errorf("demo history %s: %w", day.Format("2006-01-02"), err)
		}
	}
	return nil
}

// nearestProviders lists, per resident, the indexes of up to 8 providers
// drawn from the same 0.05° grid square and the squares around it (drawn,
// so that every carer of a square gets work, not the first 8 found).
func nearestProviders(rng *rand.Rand, residents []*carehex.Resident, providers []*carehex.Provider) [][]int {
	type sq struct{ x, y int }
	key := func(p carehex.LatLng) sq { return sq{int(math.Floor(p.Lat / 0.05)), int(math.Floor(p.Lng / 0.05))} }
	grid := map[sq][]int{}
	for i, p := range providers {
		grid[key(p.Home)] = append(grid[key(p.Home)], i)
	}
	out := make([][]int, len(residents))
	for i, r := range residents {
		k := key(r.Location)
		var c []int
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				c = append(c, grid[sq{k.x + dx, k.y + dy}]...)
			}
		}
		rng.Shuffle(len(c), func(a, b int) { c[a], c[b] = c[b], c[a] })
		out[i] = slices.Clone(c[:min(len(c), 8)])
	}
	return out
}

func expSeconds(rng *rand.Rand, mean float64) time.Duration {
	return time.Duration(rng.ExpFloat64() * mean * float64(time.Second))
}

func historyRequest(rng *rand.Rand, b *carehex.HistoryBatch, day time.Time, res *carehex.Resident, near []int,
	providers []*carehex.Provider, st *carehex.ServiceType, fence map[string]int64, base int64) {
	// calls come 07:00–20:00, most in the morning
	created := day.Add(7*time.Hour + time.Duration(math.Min(rng.ExpFloat64()*4, 13)*float64(time.Hour)) + time.Duration(rng.IntN(3600))*time.Second)
	r := &carehex.ServiceRequest{ID: carehex.NewID("req"), ResidentID: res.ID, ServiceCode: st.Code,
		Urgency: carehex.Urgency(st.UrgencyClass), CreatedBy: "user:demo-history", CreateTime: created.UTC()}
	var accept, arrive time.Duration
	switch r.Urgency {
	case carehex.UrgencyEmergency:
		accept, arrive = expSeconds(rng, 70), expSeconds(rng, 900)
	case carehex.UrgencySoon:
		accept, arrive = expSeconds(rng, 300), expSeconds(rng, 2400)
	default:
		r.WindowStart = created.Add(time.Duration(2+rng.IntN(3)) * time.Hour).Truncate(time.Hour).UTC()
		r.WindowEnd = r.WindowStart.Add(2 * time.Hour)
		accept = expSeconds(rng, 1800)
	}
	seq := 0
	event := func(typ string, from, to carehex.Status, actor, reason string, at time.Time) {
		seq++
		b.Events = append(b.Events, carehex.Event{ID: carehex.NewID("evt"), RequestID: r.ID, Seq: seq, Type: typ,
			FromStatus: from, ToStatus: to, Actor: actor, Reason: reason, Time: at.UTC()})
	}
	event(carehex.EventCreated, "", carehex.StatusPending, r.CreatedBy, "", created)
	x := rng.Float64()
	switch {
	case x < 0.02: // the caller cancels before anyone accepts
		r.Status, r.CancelReason = carehex.StatusCancelled, "caller_cancelled"
		at := created.Add(accept / 2)
		event(carehex.EventCancelled, carehex.StatusPending, carehex.StatusCancelled, r.CreatedBy, r.CancelReason, at)
		r.UpdateTime = at.UTC()
		b.Requests = append(b.Requests, r)
		return
	case x < 0.05 || len(near) == 0: // nobody free
		r.Status = carehex.StatusUnfilled
		at := created.Add(2 * time.Hour)
		event(carehex.EventStatusChange, carehex.StatusPending, carehex.StatusUnfilled, "system:dispatch", "no_candidates", at)
		r.UpdateTime = at.UTC()
		b.Requests = append(b.Requests, r)
		return
	}
	p := providers[near[rng.IntN(len(near))]]
	fence[p.ID]++
	acceptAt := created.Add(accept)
	start := acceptAt
	if r.Urgency == carehex.UrgencyScheduled {
		start = r.WindowStart
		arrive = time.Duration(rng.NormFloat64()*900) * time.Second
	}
	v := &carehex.Visit{ID: carehex.NewID("vis"), RequestID: r.ID, ProviderID: p.ID, Fence: base - fence[p.ID],
		PlannedStart: start.UTC(), PlannedEnd: start.Add(st.DefaultDuration).UTC(), CreateTime: acceptAt.UTC()}
	r.ProviderID, r.VisitID = p.ID, v.ID
	actor := "provider:" + p.ID
	event(carehex.EventStatusChange, carehex.StatusPending, carehex.StatusAssigned, actor, "offer accepted", acceptAt)
	arriveAt := start.Add(arrive)
	if arriveAt.Before(acceptAt) {
		arriveAt = acceptAt.Add(time.Minute)
	}
	departAt := acceptAt.Add(arriveAt.Sub(acceptAt) / 2)
	event(carehex.EventStatusChange, carehex.StatusAssigned, carehex.StatusEnRoute, actor, "", departAt)
	if rng.Float64() < 0.02 { // nobody home: no-show
		r.Status, v.Status, r.CancelReason = carehex.StatusCancelled, carehex.StatusCancelled, "no_show"
		v.FinishTime = arriveAt.UTC()
		event(carehex.EventCancelled, carehex.StatusEnRoute, carehex.StatusCancelled, actor, "no_show", arriveAt)
		b.VisitEvents = append(b.VisitEvents, carehex.VisitEvent{EventID: carehex.NewID("vev"), VisitID: v.ID, ProviderID: p.ID,
			Type: carehex.VisitNoShow, Position: res.Location, AccuracyM: 10, DeviceTime: arriveAt.UTC(), ReceiveTime: arriveAt.UTC(), Verified: true, Applied: true})
	} else {
		work := time.Duration(float64(st.DefaultDuration) * (0.6 + 0.7*rng.Float64()))
		doneAt := arriveAt.Add(work)
		r.Status, v.Status, v.FinishTime = carehex.StatusCompleted, carehex.StatusCompleted, doneAt.UTC()
		event(carehex.EventStatusChange, carehex.StatusEnRoute, carehex.StatusInProgress, actor, "", arriveAt)
		event(carehex.EventStatusChange, carehex.StatusInProgress, carehex.StatusCompleted, actor, "", doneAt)
		var exc []string
		pos := res.Location
		if rng.Float64() < 0.04 {
			exc = []string{carehex.ExceptionOutsideGeofence}
			pos = carehex.LatLng{Lat: pos.Lat + 0.003, Lng: pos.Lng}
		}
		b.VisitEvents = append(b.VisitEvents,
			carehex.VisitEvent{EventID: carehex.NewID("vev"), VisitID: v.ID, ProviderID: p.ID, Type: carehex.VisitArrive, Position: pos,
				AccuracyM: 10, DeviceTime: arriveAt.UTC(), ReceiveTime: arriveAt.UTC(), Verified: exc == nil, Exceptions: exc, Applied: true},
			carehex.VisitEvent{EventID: carehex.NewID("vev"), VisitID: v.ID, ProviderID: p.ID, Type: carehex.VisitComplete, Position: res.Location,
				AccuracyM: 10, DeviceTime: doneAt.UTC(), ReceiveTime: doneAt.UTC(), Verified: true, Applied: true})
	}
	v.UpdateTime = v.FinishTime
	r.UpdateTime = v.FinishTime
	b.Requests = append(b.Requests, r)
	b.Visits = append(b.Visits, v)
}
