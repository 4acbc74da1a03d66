package carehex

import (
	"context"
	"math"
	"sort"
	"strings"
	"time"
)

// The supervisor's dashboard (issue 13) reads rollups: per China day, per
// resident's district and street, the counts each panel sums over a period.
// A DashFact is one request as the dashboard counts it; the store derives it
// from the raw records (the request, its events, its last visit and the
// visit's EVV events) and Rollup turns one day's facts into the rollup rows.
// The same facts answer the drill-downs, so a figure and the records listed
// behind it come from one definition.

// DashCellRes is the H3 resolution of the demand-vs-supply heatmap
// (res 7: edge about 1.4 km, about 5.2 km² a cell, a city in a few hundred).
const DashCellRes = 7

// DashTargets are the service-level targets the dashboard measures against,
// per urgency class: time from the call to a carer's acceptance, and to the
// carer's arrival (for a scheduled request, from the start of its window).
type DashTargets struct {
	Accept map[Urgency]time.Duration
	Arrive map[Urgency]time.Duration
}

// DefaultDashTargets are the targets unless configured
// (CAREHEX_DASHBOARD_TARGETS).
func DefaultDashTargets() DashTargets {
	return DashTargets{
		Accept: map[Urgency]time.Duration{UrgencyEmergency: 3 * time.Minute, UrgencySoon: 15 * time.Minute, UrgencyScheduled: 4 * time.Hour},
		Arrive: map[Urgency]time.Duration{UrgencyEmergency: 30 * time.Minute, UrgencySoon: 2 * time.Hour, UrgencyScheduled: 30 * time.Minute},
	}
}

// DashFact is one request as the dashboard counts it.
type DashFact struct {
	RequestID   string
	ResidentID  string
	ServiceCode string
	Day         string // China day of its creation, 2006-01-02
	District    string
	Street      string
	Category    Category
	Urgency     Urgency
	Status      Status
	Cell        Cell // the home's cell at DashCellRes
	CreateTime  time.Time
	// AcceptS and ArriveS are seconds from the call (for scheduled
	// requests ArriveS counts from the window's start) to the first
	// assignment and the first arrival; -1 when there was none.
	AcceptS, ArriveS float64
	// The last visit: its carer, the carer's organisation, whether any of
	// its EVV events carried an exception, the hours worked (arrival to
	// finish) and the straight-line distance from the carer's base.
	ProviderID string
	OrgID      string
	Completed  bool
	Exception  bool
	WorkS      float64
	TravelM    float64
}

// Filled: a carer accepted the request at some point.
func (f *DashFact) Filled() bool { return f.AcceptS >= 0 }

// Unfilled: nobody accepted it and it was not cancelled (still waiting, or
// given up as unfilled).
func (f *DashFact) Unfilled() bool { return !f.Filled() && f.Status != StatusCancelled }

// Missed: a carer accepted it but nobody arrived and the request ended
// (cancelled, e.g. a no-show, or unfilled after the carer withdrew).
func (f *DashFact) Missed() bool {
	return f.Filled() && f.ArriveS < 0 && (f.Status == StatusCancelled || f.Status == StatusUnfilled)
}

// AcceptLate: accepted later than its class's target.
func (f *DashFact) AcceptLate(t DashTargets) bool {
	return f.Filled() && f.AcceptS > t.Accept[f.Urgency].Seconds()
}

// Late: arrived later than its class's target.
func (f *DashFact) Late(t DashTargets) bool {
	return f.ArriveS >= 0 && f.ArriveS > t.Arrive[f.Urgency].Seconds()
}

// SplitArea reads an account's area (Principal.Area): a district, or a
// district and one of its streets as "district/street".
func SplitArea(area string) (district, street string) {
	district, street, _ = strings.Cut(area, "/")
	return district, street
}

// InArea says whether a resident of district and street lives in area (a
// district, or "district/street"; "" is the whole city).
func InArea(area, district, street string) bool {
	if area == "" {
		return true
	}
	d, s := SplitArea(area)
	return district == d && (s == "" || street == s)
}

// DashFigure names a figure whose records can be listed (drill-down).
type DashFigure string

const (
	FigureRequests   DashFigure = "requests" // every request (by category/urgency when given)
	FigureFilled     DashFigure = "filled"   // accepted by a carer
	FigureUnfilled   DashFigure = "unfilled" // Unfilled
	FigureLate       DashFigure = "late"     // Late
	FigureAcceptLate DashFigure = "accept_late"
	FigureMissed     DashFigure = "missed"    // Missed
	FigureException  DashFigure = "exception" // completed visits with an EVV exception (by organisation)
	FigureCarer      DashFigure = "carer"     // completed visits of one carer
	FigureCell       DashFigure = "cell"      // requests from one heatmap cell
)

// DashFigures lists the figures, for validation.
var DashFigures = []DashFigure{FigureRequests, FigureFilled, FigureUnfilled, FigureLate, FigureAcceptLate, FigureMissed, FigureException, FigureCarer, FigureCell}

// DashQuery is a period of China days [From, To] (inclusive, 2006-01-02)
// and an area: the whole city, a district, or a street of a district.
type DashQuery struct {
	From, To string
	District string
	Street   string
}

// DashDrill narrows a figure's records: by category, urgency,
// organisation, carer or cell as the figure calls for.
type DashDrill struct {
	Figure     DashFigure
	Category   Category
	Urgency    Urgency
	OrgID      string
	ProviderID string
	Cell       Cell
}

// Match reports whether f is one of the records behind d.
func (d DashDrill) Match(f *DashFact, t DashTargets) bool {
	if d.Category != "" && f.Category != d.Category || d.Urgency != "" && f.Urgency != d.Urgency {
		return false
	}
	if d.OrgID != "" && f.OrgID != d.OrgID || d.ProviderID != "" && f.ProviderID != d.ProviderID {
		return false
	}
	if d.Cell != 0 && f.Cell != d.Cell {
		return false
	}
	switch d.Figure {
	case FigureRequests, FigureCell:
		return true
	case FigureFilled:
		return f.Filled()
	case FigureUnfilled:
		return f.Unfilled()
	case FigureLate:
		return f.Late(t)
	case FigureAcceptLate:
		return f.AcceptLate(t)
	case FigureMissed:
		return f.Missed()
	case FigureException:
		return f.Completed && f.Exception
	case FigureCarer:
		return f.Completed
	}
	return false
}

// DashKey is where a rollup row belongs: a day and a street of a district.
type DashKey struct {
	Day, District, Street string
}

// DashCount is the count row per category and urgency.
type DashCount struct {
	DashKey
	Category                                 Category
	Urgency                                  Urgency
	Requests, Filled, Unfilled, Cancelled    int64
	Completed, AcceptLate, Late, Missed      int64
	AcceptSumS, ArriveSumS, AcceptN, ArriveN int64
}

// DashLatency is a histogram bucket of the time to accept or to arrive.
type DashLatency struct {
	DashKey
	Urgency Urgency
	Kind    string // "accept" or "arrive"
	Bucket  int    // index into LatencyBuckets, or BucketOverTarget
	N       int64
}

// DashOrg is completed visits and those with an EVV exception per organisation.
type DashOrg struct {
	DashKey
	OrgID              string
	Name               string // the organisation's name (read with the panel)
	Visits, Exceptions int64
}

// DashCarer is a carer's completed visits, hours and distance.
type DashCarer struct {
	DashKey
	ProviderID     string
	Name           string // the carer's name (read with the panel)
	Visits         int64
	WorkS, TravelM int64
}

// DashCellCount is demand (requests) and service given (filled) per cell.
type DashCellCount struct {
	DashKey
	Cell             Cell
	Requests, Filled int64
}

// DashRollup is one day's rollup rows (or, summed over a period, a panel's).
type DashRollup struct {
	Counts  []DashCount
	Latency []DashLatency
	Orgs    []DashOrg
	Carers  []DashCarer
	Cells   []DashCellCount
}

// LatencyBuckets are the upper edges, in seconds, of the latency
// histogram's buckets; the last bucket is everything above the last edge.
var LatencyBuckets = []float64{30, 60, 120, 180, 300, 420, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200,
	10800, 14400, 21600, 28800, 43200, 86400, 172800}

// BucketOverTarget is the latency rollup's extra row per urgency and kind
// counting, exactly, the times over the class's target (the histogram
// knows them only to a bucket).
const BucketOverTarget = -1

// LatencyBucket is the bucket of s seconds.
func LatencyBucket(s float64) int {
	return sort.SearchFloat64s(LatencyBuckets, s)
}

// LatencyQuantile reads quantile q (0…1) off a histogram (counts per
// bucket), interpolating linearly within the bucket; the open last bucket
// answers its lower edge. -1 for an empty histogram.
func LatencyQuantile(counts []int64, q float64) float64 {
	var total int64
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return -1
	}
	rank := q * float64(total)
	var seen float64
	for i, n := range counts {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			lo := 0.0
			if i > 0 {
				lo = LatencyBuckets[i-1]
			}
			if i >= len(LatencyBuckets) {
				return lo
			}
			hi := LatencyBuckets[i]
			return lo + (hi-lo)*math.Max(0, rank-seen)/float64(n)
		}
		seen += float64(n)
	}
	return LatencyBuckets[len(LatencyBuckets)-1]
}

// Rollup sums one set of facts into rollup rows.
func Rollup(facts []DashFact, t DashTargets) *DashRollup {
	counts := map[DashCount]*DashCount{}
	lat := map[DashLatency]*DashLatency{}
	orgs := map[DashOrg]*DashOrg{}
	carers := map[DashCarer]*DashCarer{}
	cells := map[DashCellCount]*DashCellCount{}
	b2i := func(b bool) int64 {
		if b {
			return 1
		}
		return 0
	}
	for i := range facts {
		f := &facts[i]
		k := DashKey{f.Day, f.District, f.Street}
		ck := DashCount{DashKey: k, Category: f.Category, Urgency: f.Urgency}
		c := counts[ck]
		if c == nil {
			c = &ck
			counts[ck] = c
		}
		c.Requests++
		c.Filled += b2i(f.Filled())
		c.Unfilled += b2i(f.Unfilled())
		c.Cancelled += b2i(f.Status == StatusCancelled)
		c.Completed += b2i(f.Completed)
		c.AcceptLate += b2i(f.AcceptLate(t))
		c.Late += b2i(f.Late(t))
		c.Missed += b2i(f.Missed())
		for _, m := range []struct {
			kind string
			s    float64
		}{{"accept", f.AcceptS}, {"arrive", f.ArriveS}} {
			if m.s < 0 {
				continue
			}
			if m.kind == "accept" {
				c.AcceptN++
				c.AcceptSumS += int64(math.Round(m.s))
			} else {
				c.ArriveN++
				c.ArriveSumS += int64(math.Round(m.s))
			}
			lk := DashLatency{DashKey: k, Urgency: f.Urgency, Kind: m.kind, Bucket: LatencyBucket(m.s)}
			over := m.s > t.Accept[f.Urgency].Seconds()
			if m.kind == "arrive" {
				over = m.s > t.Arrive[f.Urgency].Seconds()
			}
			for _, b := range []int{lk.Bucket, BucketOverTarget} {
				if b == BucketOverTarget && !over {
					continue
				}
				bk := DashLatency{DashKey: k, Urgency: f.Urgency, Kind: m.kind, Bucket: b}
				l := lat[bk]
				if l == nil {
					l = &DashLatency{DashKey: k, Urgency: f.Urgency, Kind: m.kind, Bucket: b}
					lat[bk] = l
				}
				l.N++
			}
		}
		ek := DashCellCount{DashKey: k, Cell: f.Cell}
		e := cells[ek]
		if e == nil {
			e = &ek
			cells[ek] = e
		}
		e.Requests++
		e.Filled += b2i(f.Filled())
		if !f.Completed {
			continue
		}
		ok := DashOrg{DashKey: k, OrgID: f.OrgID}
		o := orgs[ok]
		if o == nil {
			o = &ok
			orgs[ok] = o
		}
		o.Visits++
		o.Exceptions += b2i(f.Exception)
		pk := DashCarer{DashKey: k, ProviderID: f.ProviderID}
		p := carers[pk]
		if p == nil {
			p = &pk
			carers[pk] = p
		}
		p.Visits++
		p.WorkS += int64(math.Round(f.WorkS))
		p.TravelM += int64(math.Round(f.TravelM))
	}
	out := &DashRollup{}
	for _, v := range counts {
		out.Counts = append(out.Counts, *v)
	}
	for _, v := range lat {
		out.Latency = append(out.Latency, *v)
	}
	for _, v := range orgs {
		out.Orgs = append(out.Orgs, *v)
	}
	for _, v := range carers {
		out.Carers = append(out.Carers, *v)
	}
	for _, v := range cells {
		out.Cells = append(out.Cells, *v)
	}
	return out
}

// DashPanel names what one dashboard query reads (the benchmark times each).
type DashPanel string

const (
	PanelCounts  DashPanel = "counts"  // requests by category and urgency; fill rate, unfilled, late, missed
	PanelTrend   DashPanel = "trend"   // the same per day (weeks summed from days)
	PanelLatency DashPanel = "latency" // time to accept / arrive histograms per urgency
	PanelOrgs    DashPanel = "orgs"    // EVV exception rate per organisation
	PanelCarers  DashPanel = "carers"  // workload per carer
	PanelCells   DashPanel = "cells"   // demand vs supply per H3 cell
)

// DashPanels lists every panel.
var DashPanels = []DashPanel{PanelCounts, PanelTrend, PanelLatency, PanelOrgs, PanelCarers, PanelCells}

// DashStore keeps the rollups and answers the dashboard from them.
type DashStore interface {
	// RefreshDashboard is the catch-up: it rebuilds the rollup of every
	// China day holding a request (or a request's visit) changed since the
	// last pass, from the raw records. Idempotent; replicas may run it at
	// once (they take turns per day). It returns how many days it rebuilt.
	RefreshDashboard(ctx context.Context, t DashTargets) (int, error)
	// DashboardPanel sums one panel's rollup rows over q. Counts, Latency,
	// Orgs, Carers and Cells come back with an empty DashKey (summed over
	// the period and area) except the trend (Counts per day).
	DashboardPanel(ctx context.Context, p DashPanel, q DashQuery) (*DashRollup, error)
	// DashboardFacts lists the records behind a figure in creation order,
	// after the (creation time, id) of pageToken; the next token is "" at
	// the end.
	// DashboardSupply counts active providers per DashCellRes cell of
	// their base, now.
	DashboardSupply(ctx context.Context) (map[Cell]int64, error)
	// DashboardAreas lists the districts and streets residents live in.
	DashboardAreas(ctx context.Context) ([][2]string, error)
	DashboardFacts(ctx context.Context, q DashQuery, d DashDrill, t DashTargets, pageToken string, limit int) ([]DashFact, string, error)
}

// HistoryBatch is past records imported at once (`carehex demo seed
// --history`): requests with their events, visits and visit events, as the
// live path would have written them.
type HistoryBatch struct {
	Requests    []*ServiceRequest
	Events      []Event
	Visits      []*Visit
	VisitEvents []VisitEvent
}

// HistoryImporter is a store that imports a HistoryBatch in bulk.
type HistoryImporter interface {
	ImportHistory(ctx context.Context, b *HistoryBatch) error
}
