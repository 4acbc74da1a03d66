package matching

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/internal/stats"
)

// How long a request waits for a provider before the operator gives up on
// it (as the simulator's operator does).
const (
	giveUpSoonS      = 45 * 60
	giveUpEmergencyS = 20 * 60
	replayStepS      = 5 // the replay's clock resolution
)

// Row is one policy's figures on the day.
type Row struct {
	Policy     string  `json:"policy"`
	Requests   int     `json:"requests"`
	Served     int     `json:"served"`
	FillRate   float64 `json:"fill_rate"`
	AcceptP50S float64 `json:"accept_p50_s"`
	AcceptP95S float64 `json:"accept_p95_s"`
	ArriveP50S float64 `json:"arrive_p50_s"`
	ArriveP95S float64 `json:"arrive_p95_s"`
	KMPerVisit float64 `json:"km_per_visit"`
	TotalKM    float64 `json:"total_km"`
	Note       string  `json:"note,omitempty"`
}

// Comparison is the policies' results on one day, side by side.
type Comparison struct {
	Rows    []Row
	BatchS  float64
	Elapsed map[string]time.Duration
}

// Compare replays the day through the greedy policy, the batched optimal
// assignment every batch, and the hindsight bound, and adds the live
// server's recorded outcome when the day has one.
func Compare(d *Day, batch time.Duration) (*Comparison, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("matching: batch must be positive")
	}
	c := &Comparison{BatchS: batch.Seconds(), Elapsed: map[string]time.Duration{}}
	if len(d.Outcomes) > 0 {
		c.Rows = append(c.Rows, live(d))
	}
	cfg := dispatch.DefaultConfig()
	for _, p := range []struct {
		name  string
		batch float64
	}{{"greedy (live ranking weights)", 0}, {fmt.Sprintf("batched optimal every %s", batch), batch.Seconds()}} {
		t0 := time.Now()
		row, err := replay(d, cfg, p.batch)
		if err != nil {
			return nil, err
		}
		row.Policy = p.name
		c.Rows = append(c.Rows, row)
		c.Elapsed[p.name] = time.Since(t0)
	}
	t0 := time.Now()
	h, err := hindsight(d, cfg)
	if err != nil {
		return nil, err
	}
	c.Rows = append(c.Rows, h)
	c.Elapsed[h.Policy] = time.Since(t0)
	return c, nil
}

func live(d *Day) Row {
	r := Row{Policy: "live server (as simulated)", Requests: len(d.Requests), Note: "phones decide, with delays and declines"}
	var acc, arr []float64
	kmN := 0
	for _, o := range d.Outcomes {
		if !o.Matched {
			continue
		}
		r.Served++
		acc = append(acc, o.AcceptS)
		if o.ArriveS > 0 {
			arr = append(arr, o.ArriveS)
			r.TotalKM += o.TravelKM
			kmN++
		}
	}
	finish(&r, acc, arr, kmN)
	return r
}

func finish(r *Row, acc, arr []float64, kmN int) {
	slices.Sort(acc)
	slices.Sort(arr)
	r.AcceptP50S, r.AcceptP95S = stats.Round(stats.Percentile(acc, 50), 0), stats.Round(stats.Percentile(acc, 95), 0)
	r.ArriveP50S, r.ArriveP95S = stats.Round(stats.Percentile(arr, 50), 0), stats.Round(stats.Percentile(arr, 95), 0)
	if r.Requests > 0 {
		r.FillRate = stats.Round(float64(r.Served)/float64(r.Requests), 3)
	}
	if kmN > 0 {
		r.KMPerVisit = stats.Round(r.TotalKM/float64(kmN), 3)
	}
	r.TotalKM = stats.Round(r.TotalKM, 1)
}

// worker is a provider's state during a replay.
type worker struct {
	p      *Provider
	at     Request // where they are (only Lat/Lng used)
	freeAt float64
	visits int
}

func (w *worker) free(t float64) bool { return w.freeAt <= t && w.p.online(t) }

// radius is the dispatcher's widest search for the request's class.
func radius(cfg dispatch.Config, q *Request) float64 {
	if q.Emergency {
		return cfg.Emergency.MaxRadiusM
	}
	return cfg.Soon.MaxRadiusM
}

// cost is the ranking's score turned into a cost to minimise: minutes of
// estimated travel (the dispatcher's distance at its assumed speed) plus
// the fair-share penalty per visit already made, both with the live
// configuration's weights (dispatch.DefaultConfig().Weights); Forbidden
// when the provider lacks the skill or is beyond the class's radius. The
// soft factors that need the resident's history or preferences
// (continuity, preferred provider, gender, language) are not in the
// recorded day and count zero.
func cost(cfg dispatch.Config, w *worker, q *Request) float64 {
	if !w.p.has(q.Skill) {
		return Forbidden
	}
	dm := distM(w.at.Lat, w.at.Lng, q.Lat, q.Lng)
	if dm > radius(cfg, q) {
		return Forbidden
	}
	etaMin := dm / (cfg.SpeedKmh * 1000 / 60)
	return -cfg.Weights.TravelPerMinute*etaMin - cfg.Weights.VisitToday*float64(w.visits)
}

func distM(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 6371008.8
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

// replay runs the day with providers who accept at once: greedy when
// batchS is 0 (each waiting request, emergencies then oldest first, to the
// best-scoring free provider, as soon as there is one), else batched (every
// batchS seconds one optimal assignment of all waiting routine requests to
// all free providers; emergencies still go greedily at once).
func replay(d *Day, cfg dispatch.Config, batchS float64) (Row, error) {
	reqs := slices.Clone(d.Requests)
	slices.SortStableFunc(reqs, func(a, b Request) int { return cmp.Compare(a.TS, b.TS) })
	ws := make([]*worker, len(d.Providers))
	for i := range d.Providers {
		p := &d.Providers[i]
		ws[i] = &worker{p: p, at: Request{Lat: p.Lat, Lng: p.Lng}}
	}
	row := Row{Requests: len(reqs)}
	var acc, arr []float64
	var pending []*Request
	next := 0
	end := d.Meta.EndS
	if n := len(reqs); n > 0 {
		end = math.Max(end, reqs[n-1].TS+giveUpSoonS)
	}
	start := d.Meta.StartS
	if len(reqs) > 0 {
		start = math.Min(start, reqs[0].TS)
	}
	assign := func(w *worker, q *Request, t float64) {
		km := RoadKM(w.at.pos(), q.pos())
		travel := km / w.p.SpeedKmh * 3600
		w.freeAt = t + travel + q.DurationS
		w.at = Request{Lat: q.Lat, Lng: q.Lng}
		w.visits++
		row.Served++
		row.TotalKM += km
		acc = append(acc, t-q.TS)
		arr = append(arr, t+travel-q.TS)
	}
	greedy := func(q *Request, t float64) bool {
		best, bestC := -1, Forbidden
		for i, w := range ws {
			if !w.free(t) {
				continue
			}
			if c := cost(cfg, w, q); c < bestC {
				best, bestC = i, c
			}
		}
		if best < 0 {
			return false
		}
		assign(ws[best], q, t)
		return true
	}
	for t := start; t <= end; t += replayStepS {
		for next < len(reqs) && reqs[next].TS <= t {
			pending = append(pending, &reqs[next])
			next++
		}
		// Give up on requests nobody took in time.
		kept := pending[:0]
		for _, q := range pending {
			limit := float64(giveUpSoonS)
			if q.Emergency {
				limit = giveUpEmergencyS
			}
			if t-q.TS <= limit {
				kept = append(kept, q)
			}
		}
		pending = kept
		if len(pending) == 0 {
			continue
		}
		slices.SortStableFunc(pending, func(a, b *Request) int {
			if a.Emergency != b.Emergency {
				if a.Emergency {
					return -1
				}
				return 1
			}
			return cmp.Compare(a.TS, b.TS)
		})
		kept = pending[:0]
		for _, q := range pending {
			if (batchS == 0 || q.Emergency) && greedy(q, t) {
				continue
			}
			kept = append(kept, q)
		}
		pending = kept
		// Batches run on the clock's multiples of batchS, whether or not
		// anything waits: a request waits for the next one.
		if batchS == 0 || math.Floor(t/batchS) == math.Floor((t-replayStepS)/batchS) || len(pending) == 0 {
			continue
		}
		var free []*worker
		for _, w := range ws {
			if w.free(t) {
				free = append(free, w)
			}
		}
		if len(free) == 0 {
			continue
		}
		m := make([][]float64, len(pending))
		useful := make([]bool, len(free))
		for i, q := range pending {
			m[i] = make([]float64, len(free))
			for j, w := range free {
				m[i][j] = cost(cfg, w, q)
				if m[i][j] < Forbidden {
					useful[j] = true
				}
			}
		}
		// Drop providers no waiting request can use: a smaller problem.
		var cols []int
		for j, u := range useful {
			if u {
				cols = append(cols, j)
			}
		}
		if len(cols) == 0 {
			continue
		}
		for i := range m {
			row := make([]float64, len(cols))
			for k, j := range cols {
				row[k] = m[i][j]
			}
			m[i] = row
		}
		got, err := Assign(m)
		if err != nil {
			return Row{}, err
		}
		kept = pending[:0]
		for i, q := range pending {
			if got[i] >= 0 {
				assign(free[cols[got[i]]], q, t)
				continue
			}
			kept = append(kept, q)
		}
		pending = kept
	}
	finish(&row, acc, arr, row.Served)
	return row, nil
}

// maxExact bounds the hindsight assignment's size (rows² × columns); past
// it the weaker per-request bound is used.
const maxExact = 4e9

// hindsight bounds what any policy that knew the whole day in advance could
// achieve, by a relaxation of the routing problem: every served request is
// reached from a distinct predecessor — the start of a provider's day (a
// provider with the skill, online within the request's wait) or an earlier
// request whose visit could be over before this one must start, with some
// provider holding both skills — at the road distance between them. Any
// real schedule is such an assignment (each provider's visits form a chain
// from its home), so the minimum-cost assignment serving the most requests
// is an upper bound on the requests servable and, for that many, a lower
// bound on total travel. Solved exactly with Assign when small enough;
// otherwise each request takes its nearest feasible predecessor without
// the "distinct" constraint, a weaker but still valid bound.
func hindsight(d *Day, cfg dispatch.Config) (Row, error) {
	reqs := d.Requests
	n, m := len(reqs), len(d.Providers)
	row := Row{Policy: "hindsight bound", Requests: n}
	pairs := map[[2]string]bool{}
	for _, p := range d.Providers {
		for _, a := range p.Skills {
			for _, b := range p.Skills {
				pairs[[2]string{a, b}] = true
			}
		}
	}
	wait := func(q *Request) float64 {
		if q.Emergency {
			return giveUpEmergencyS
		}
		return giveUpSoonS
	}
	costs := make([][]float64, n)
	for j := range reqs {
		q := &reqs[j]
		c := make([]float64, m+n)
		for k := range c {
			c[k] = Forbidden
		}
		for k := range d.Providers {
			p := &d.Providers[k]
			if !p.has(q.Skill) || !p.onlineDuring(q.TS, q.TS+wait(q)) {
				continue
			}
			c[k] = RoadKM(p.pos(), q.pos())
		}
		for i := range reqs {
			a := &reqs[i]
			if i == j || !pairs[[2]string{a.Skill, q.Skill}] || a.TS+a.DurationS > q.TS+wait(q) {
				continue
			}
			c[m+i] = RoadKM(a.pos(), q.pos())
		}
		costs[j] = c
	}
	var acc, arr []float64
	if float64(n)*float64(n)*float64(n+m) <= maxExact {
		got, err := Assign(costs)
		if err != nil {
			return Row{}, err
		}
		for j, k := range got {
			if k >= 0 {
				row.Served++
				row.TotalKM += costs[j][k]
				acc = append(acc, 0)
				arr = append(arr, costs[j][k]/cfg.SpeedKmh*3600)
			}
		}
		row.Note = "exact min-cost assignment of predecessors: upper bound on fill, lower bound on km; times = its leg at the assumed speed"
	} else {
		for j := range costs {
			best := slices.Min(costs[j])
			if best < Forbidden {
				row.Served++
				row.TotalKM += best
				acc = append(acc, 0)
				arr = append(arr, best/cfg.SpeedKmh*3600)
			}
		}
		row.Note = "nearest feasible predecessor per request (too large for the exact assignment): weaker bounds"
	}
	finish(&row, acc, arr, row.Served)
	return row, nil
}

// Print writes the comparison as a table.
func (c *Comparison) Print(w io.Writer) {
	fmt.Fprintln(w, "matching policies on the recorded day (replays: providers accept at once and travel at their own speed):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tserved\tfill\taccept p50\taccept p95\tarrive p50\tarrive p95\tkm/visit\ttotal km\t")
	for _, r := range c.Rows {
		fmt.Fprintf(tw, "%s\t%d/%d\t%.1f%%\t%s\t%s\t%s\t%s\t%.2f\t%.1f\t\n", r.Policy, r.Served, r.Requests, 100*r.FillRate,
			dur(r.AcceptP50S), dur(r.AcceptP95S), dur(r.ArriveP50S), dur(r.ArriveP95S), r.KMPerVisit, r.TotalKM)
	}
	tw.Flush()
	for _, r := range c.Rows {
		if r.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.Policy, r.Note)
		}
	}
}

// PrintJSON writes the rows as one JSON object on one line.
func (c *Comparison) PrintJSON(w io.Writer) error {
	b, err := json.Marshal(map[string]any{"batch_s": c.BatchS, "policies": c.Rows})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func dur(s float64) string {
	return (time.Duration(s) * time.Second).String()
}
