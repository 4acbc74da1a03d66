package rpc

import (
	"context"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// Dashboard holds the supervisor dashboard's settings and when this
// process last brought the rollups up to date.
type Dashboard struct {
	// Targets are the service-level targets (zero: carehex.DefaultDashTargets).
	Targets carehex.DashTargets
	// Fresh is how old the rollups may be when a dashboard is asked for
	// before the call runs the catch-up itself (zero: 5 s). The background
	// job (carehex serve) keeps them fresh without anyone asking.
	Fresh time.Duration

	mu   sync.Mutex
	last time.Time
}

func (d *Dashboard) targets() carehex.DashTargets {
	if d == nil || d.Targets.Accept == nil {
		return carehex.DefaultDashTargets()
	}
	return d.Targets
}

// Refresh runs the catch-up now if the last pass of this process is older
// than Fresh, and returns when the rollups were last brought up to date.
func (d *Dashboard) Refresh(ctx context.Context, store carehex.DashStore, now time.Time) (time.Time, error) {
	if d == nil {
		_, err := store.RefreshDashboard(ctx, d.targets())
		return now, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	fresh := d.Fresh
	if fresh == 0 {
		fresh = 5 * time.Second
	}
	if now.Sub(d.last) < fresh {
		return d.last, nil
	}
	if _, err := store.RefreshDashboard(ctx, d.targets()); err != nil {
		return d.last, err
	}
	d.last = now
	return now, nil
}

type superviseService struct{ *Server }

// dashScope turns the request's scope into the store's query, holding an
// account limited to an area to that area: an empty district is the
// account's area, any other area is refused.
func dashScope(ctx context.Context, sc *pb.DashboardScope) (carehex.DashQuery, error) {
	q := carehex.DashQuery{From: sc.GetFromDate(), To: sc.GetToDate(), District: carehex.Trimmed(sc.GetDistrict()), Street: carehex.Trimmed(sc.GetStreet())}
	if q.Street != "" && q.District == "" {
		return q, carehex.Errorf(carehex.EINVALID, "scope.district", "a street needs its district")
	}
	p, _ := carehex.PrincipalFrom(ctx)
	if p.Area == "" {
		return q, nil
	}
	d, s := carehex.SplitArea(p.Area)
	if q.District == "" {
		q.District = d
	}
	if q.Street == "" {
		q.Street = s
	}
	if q.District != d || s != "" && q.Street != s {
		return q, outsideArea("scope", p.Area)
	}
	return q, nil
}

func scopePB(q carehex.DashQuery) *pb.DashboardScope {
	return &pb.DashboardScope{FromDate: q.From, ToDate: q.To, District: q.District, Street: q.Street}
}

func rate(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func (s superviseService) GetDashboard(ctx context.Context, req *pb.GetDashboardRequest) (*pb.GetDashboardResponse, error) {
	q, err := dashScope(ctx, req.GetScope())
	if err != nil {
		return nil, err
	}
	panels := carehex.DashPanels
	if len(req.GetPanels()) > 0 {
		panels = nil
		for _, p := range req.GetPanels() {
			if !slices.Contains(carehex.DashPanels, carehex.DashPanel(p)) {
				return nil, carehex.Errorf(carehex.EINVALID, "panels", "unknown panel %q (counts, trend, latency, orgs, carers, cells)", p)
			}
			panels = append(panels, carehex.DashPanel(p))
		}
	}
	fresh, err := s.Dash.Refresh(ctx, s.Store, s.now())
	if err != nil {
		return nil, err
	}
	t := s.Dash.targets()
	out := &pb.GetDashboardResponse{Scope: scopePB(q), RefreshTime: ts(fresh)}
	for _, p := range panels {
		r, err := s.Store.DashboardPanel(ctx, p, q)
		if err != nil {
			return nil, err
		}
		switch p {
		case carehex.PanelCounts:
			tot := &pb.DashboardTotals{}
			for _, c := range r.Counts {
				out.ByCategory = append(out.ByCategory, &pb.CategoryUrgencyCount{Category: string(c.Category), Urgency: string(c.Urgency),
					Requests: c.Requests, Filled: c.Filled, Unfilled: c.Unfilled, Cancelled: c.Cancelled, Completed: c.Completed,
					Late: c.Late, Missed: c.Missed})
				tot.Requests += c.Requests
				tot.Filled += c.Filled
				tot.Unfilled += c.Unfilled
				tot.Cancelled += c.Cancelled
				tot.Completed += c.Completed
				tot.Late += c.Late
				tot.AcceptLate += c.AcceptLate
				tot.Missed += c.Missed
			}
			tot.FillRate = rate(tot.Filled, tot.Requests)
			out.Totals = tot
		case carehex.PanelTrend:
			out.Days, out.Weeks = trend(r.Counts)
		case carehex.PanelLatency:
			out.Latency = latencyFigures(r.Latency, t)
		case carehex.PanelOrgs:
			for _, o := range r.Orgs {
				out.Organisations = append(out.Organisations, &pb.OrganisationFigure{OrgId: o.OrgID, Name: o.Name, Visits: o.Visits,
					Exceptions: o.Exceptions, ExceptionRate: rate(o.Exceptions, o.Visits)})
			}
		case carehex.PanelCarers:
			for _, c := range r.Carers {
				out.Carers = append(out.Carers, &pb.CarerFigure{ProviderId: c.ProviderID, Name: c.Name, Visits: c.Visits, WorkS: c.WorkS, TravelM: c.TravelM})
			}
			out.CarerSpread = spread(r.Carers)
		case carehex.PanelCells:
			if out.Cells, err = s.heatCells(ctx, r.Cells); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// trend is the per-day rows, and the same summed per week (from Monday).
func trend(days []carehex.DashCount) (daily, weekly []*pb.TrendPoint) {
	point := func(date string, c carehex.DashCount) *pb.TrendPoint {
		return &pb.TrendPoint{Date: date, Requests: c.Requests, Filled: c.Filled, Unfilled: c.Unfilled, Late: c.Late, Missed: c.Missed,
			FillRate: rate(c.Filled, c.Requests)}
	}
	var week *pb.TrendPoint
	for _, c := range days {
		daily = append(daily, point(c.Day, c))
		d, err := time.Parse("2006-01-02", c.Day)
		if err != nil {
			continue
		}
		monday := d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)).Format("2006-01-02")
		if week == nil || week.Date != monday {
			week = &pb.TrendPoint{Date: monday}
			weekly = append(weekly, week)
		}
		week.Requests += c.Requests
		week.Filled += c.Filled
		week.Unfilled += c.Unfilled
		week.Late += c.Late
		week.Missed += c.Missed
		week.FillRate = rate(week.Filled, week.Requests)
	}
	return daily, weekly
}

// latencyFigures reads p50/p90 off each urgency's histogram; the count
// over target is the rollup's exact row (carehex.BucketOverTarget).
func latencyFigures(rows []carehex.DashLatency, t carehex.DashTargets) []*pb.LatencyFigure {
	type key struct {
		u    carehex.Urgency
		kind string
	}
	hist := map[key][]int64{}
	over := map[key]int64{}
	var keys []key
	for _, l := range rows {
		k := key{l.Urgency, l.Kind}
		if hist[k] == nil {
			hist[k] = make([]int64, len(carehex.LatencyBuckets)+1)
			keys = append(keys, k)
		}
		if l.Bucket == carehex.BucketOverTarget {
			over[k] += l.N
		} else if l.Bucket >= 0 && l.Bucket < len(hist[k]) {
			hist[k][l.Bucket] += l.N
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].u != keys[j].u {
			return keys[i].u < keys[j].u
		}
		return keys[i].kind < keys[j].kind
	})
	var out []*pb.LatencyFigure
	for _, k := range keys {
		h := hist[k]
		target := t.Accept[k.u]
		if k.kind == "arrive" {
			target = t.Arrive[k.u]
		}
		var n int64
		var sum float64
		for i, c := range h {
			n += c
			lo := 0.0
			if i > 0 {
				lo = carehex.LatencyBuckets[i-1]
			}
			hi := lo * 2
			if i < len(carehex.LatencyBuckets) {
				hi = carehex.LatencyBuckets[i]
			}
			sum += float64(c) * (lo + hi) / 2
		}
		out = append(out, &pb.LatencyFigure{Urgency: string(k.u), Kind: k.kind, Count: n,
			P50S: carehex.LatencyQuantile(h, 0.5), P90S: carehex.LatencyQuantile(h, 0.9), MeanS: rate(int64(sum), n),
			TargetS: int64(target.Seconds()), OverTarget: over[k]})
	}
	return out
}

// spread summarises how evenly the visits fall on the carers.
func spread(cs []carehex.DashCarer) *pb.WorkloadSpread {
	out := &pb.WorkloadSpread{Carers: int32(len(cs))}
	if len(cs) == 0 {
		return out
	}
	var sum, work, travel float64
	out.MinVisits = math.MaxInt64
	for _, c := range cs {
		sum += float64(c.Visits)
		work += float64(c.WorkS)
		travel += float64(c.TravelM)
		out.MinVisits = min(out.MinVisits, c.Visits)
		out.MaxVisits = max(out.MaxVisits, c.Visits)
	}
	n := float64(len(cs))
	out.MeanVisits, out.MeanWorkS, out.MeanTravelM = sum/n, work/n, travel/n
	var sq float64
	for _, c := range cs {
		sq += (float64(c.Visits) - out.MeanVisits) * (float64(c.Visits) - out.MeanVisits)
	}
	out.StddevVisits = math.Sqrt(sq / n)
	if out.MeanVisits > 0 {
		out.CvVisits = out.StddevVisits / out.MeanVisits
	}
	return out
}

// heatCells adds each cell's outline and the carers based in it.
func (s superviseService) heatCells(ctx context.Context, cells []carehex.DashCellCount) ([]*pb.HeatCell, error) {
	supply, err := s.Store.DashboardSupply(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*pb.HeatCell, 0, len(cells))
	for _, c := range cells {
		b, err := geo.Boundary(c.Cell)
		if err != nil {
			continue // a home without a valid cell
		}
		hc := &pb.HeatCell{Cell: geo.String(c.Cell), Requests: c.Requests, Filled: c.Filled, Providers: supply[c.Cell]}
		for _, v := range b {
			hc.Boundary = append(hc.Boundary, latLngToPB(v))
		}
		out = append(out, hc)
	}
	return out, nil
}

func (s superviseService) ListDashboardRecords(ctx context.Context, req *pb.ListDashboardRecordsRequest) (*pb.ListDashboardRecordsResponse, error) {
	q, err := dashScope(ctx, req.GetScope())
	if err != nil {
		return nil, err
	}
	d := carehex.DashDrill{Figure: carehex.DashFigure(req.GetFigure()), Category: carehex.Category(req.GetCategory()),
		Urgency: carehex.Urgency(req.GetUrgency()), OrgID: req.GetOrgId(), ProviderID: req.GetProviderId()}
	if !slices.Contains(carehex.DashFigures, d.Figure) {
		return nil, carehex.Errorf(carehex.EINVALID, "figure", "unknown figure %q", req.GetFigure())
	}
	if req.GetCell() != "" {
		if d.Cell, err = geo.Parse(req.GetCell()); err != nil {
			return nil, carehex.Errorf(carehex.EINVALID, "cell", "cell %q is not an H3 cell", req.GetCell())
		}
	}
	if n := req.GetPageSize(); n < 0 || n > 500 {
		return nil, carehex.Errorf(carehex.EINVALID, "page_size", "page_size must be 1–500, got %d", n)
	}
	facts, next, err := s.Store.DashboardFacts(ctx, q, d, s.Dash.targets(), req.GetPageToken(), int(req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	out := &pb.ListDashboardRecordsResponse{NextPageToken: next, Records: make([]*pb.DashboardRecord, 0, len(facts))}
	for _, f := range facts {
		out.Records = append(out.Records, &pb.DashboardRecord{RequestId: f.RequestID, ResidentId: f.ResidentID, ServiceCode: f.ServiceCode,
			Category: string(f.Category), Urgency: string(f.Urgency), Status: string(f.Status), District: f.District, Street: f.Street,
			CreateTime: ts(f.CreateTime), AcceptS: f.AcceptS, ArriveS: f.ArriveS, ProviderId: f.ProviderID, OrgId: f.OrgID,
			EvvException: f.Exception, Cell: geo.String(f.Cell)})
	}
	return out, nil
}

func (s superviseService) ListDashboardAreas(ctx context.Context, _ *pb.ListDashboardAreasRequest) (*pb.ListDashboardAreasResponse, error) {
	areas, err := s.Store.DashboardAreas(ctx)
	if err != nil {
		return nil, err
	}
	p, _ := carehex.PrincipalFrom(ctx)
	ld, ls := carehex.SplitArea(p.Area)
	out := &pb.ListDashboardAreasResponse{Limited: p.Area != ""}
	for _, a := range areas {
		if ld != "" && a[0] != ld || ls != "" && a[1] != ls {
			continue
		}
		if n := len(out.Areas); n == 0 || out.Areas[n-1].District != a[0] {
			out.Areas = append(out.Areas, &pb.DashboardArea{District: a[0]})
		}
		last := out.Areas[len(out.Areas)-1]
		last.Streets = append(last.Streets, a[1])
	}
	return out, nil
}
