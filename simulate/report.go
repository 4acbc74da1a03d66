package simulate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/stats"
	"github.com/carehex/carehex/matching"
	"github.com/carehex/carehex/settle"
)

// Result is what a simulated day came to.
type Result struct {
	cfg   Config
	world *World

	mu         sync.Mutex
	counts     map[string]int // server errors and phone-side events, by name
	exceptions map[string]int // visit-event exceptions and alert kinds
	heartbeats int
	completed  int

	reqs   []*reqRun
	live   []*reqRun // while running, for progress
	phones []*phone

	planned *plannedDay

	DoubleBookings int
	LostRequests   int
	Lost           []string // the lost requests, for the report

	// Settlement is the day's month settled as `carehex settle --month`
	// would, when the run had the system of record (nil otherwise).
	Settlement *settle.Figures
}

func newResult(cfg Config, w *World) *Result {
	return &Result{cfg: cfg, world: w, counts: map[string]int{}, exceptions: map[string]int{}}
}

func (r *Result) count(name string) {
	r.mu.Lock()
	r.counts[name]++
	r.mu.Unlock()
}

func (r *Result) countHB() {
	r.mu.Lock()
	r.heartbeats++
	r.mu.Unlock()
}

func (r *Result) exception(kind string) { r.mu.Lock(); r.exceptions[kind]++; r.mu.Unlock() }
func (r *Result) alert(kind string)     { r.mu.Lock(); r.exceptions["alert:"+kind]++; r.mu.Unlock() }

func (r *Result) matched() int {
	n := 0
	for _, q := range r.live {
		if !q.accepted.IsZero() {
			n++
		}
	}
	return n
}

func (r *Result) collect(reqs []*reqRun, phones []*phone) {
	r.reqs, r.phones = reqs, phones
}

// Summary is the report's last line, one JSON object.
type Summary struct {
	Requests       int     `json:"requests"`
	Matched        int     `json:"matched"`
	Completed      int     `json:"completed"`
	FillRate       float64 `json:"fill_rate"`
	AcceptP50S     float64 `json:"accept_p50_s"`
	AcceptP95S     float64 `json:"accept_p95_s"`
	ArriveP50S     float64 `json:"arrive_p50_s"`
	ArriveP95S     float64 `json:"arrive_p95_s"`
	KMPerVisit     float64 `json:"km_per_visit"`
	OffersPerMatch float64 `json:"offers_per_match"`
	Exceptions     int     `json:"exceptions"`
	Unfilled       int     `json:"unfilled"`
	DoubleBookings int     `json:"double_bookings"`
	LostRequests   int     `json:"lost_requests"`
	Residents      int     `json:"residents"`
	Providers      int     `json:"providers"`
	Heartbeats     int     `json:"heartbeats"`
	SimulatedS     float64 `json:"simulated_s"`
	Clock          string  `json:"clock"` // "simulated" or "real"
	Seed           uint64  `json:"seed"`
	// Planned care (simulate/planned.go): residents on plans, today's
	// rostered planned visits and how many were done, the share arrived
	// by start + 15 min, the week's roster (share placed, continuity of
	// carers), and carers' utilisation (time in visits of both halves
	// over time on shift in the played window).
	PlanResidents     int     `json:"plan_residents"`
	PlannedVisits     int     `json:"planned_visits"`
	PlannedCompleted  int     `json:"planned_completed"`
	PlannedOnTimeRate float64 `json:"planned_on_time_rate"`
	RosterAssigned    float64 `json:"roster_assigned_share"`
	Continuity        float64 `json:"continuity"`
	Utilisation       float64 `json:"carer_utilisation"`
	// RosterRequests are the service requests the week's roster made
	// (beside the calls' Requests): one per placed planned visit.
	RosterRequests int `json:"roster_requests"`
	// Settlement is `carehex settle`'s figures for the day's month
	// (statements left open); its mismatches must be 0.
	Settlement *settle.Figures `json:"settlement,omitempty"`
}

func round1(v float64) float64 { return stats.Round(v, 1) }
func round3(v float64) float64 { return stats.Round(v, 3) }

// Summary computes the headline figures.
func (r *Result) Summary() Summary {
	var acc, arr []float64
	km, kmN, offers, matched := 0.0, 0, 0, 0
	unfilled := 0
	for _, q := range r.reqs {
		offers += q.offers
		if q.accepted.IsZero() {
			unfilled++
			continue
		}
		matched++
		acc = append(acc, q.accepted.Sub(q.created).Seconds())
		if !q.arrived.IsZero() {
			arr = append(arr, q.arrived.Sub(q.created).Seconds())
			km += q.km
			kmN++
		}
	}
	slices.Sort(acc)
	slices.Sort(arr)
	s := Summary{Requests: len(r.reqs), Matched: matched, Completed: r.completed,
		AcceptP50S: round1(stats.Percentile(acc, 50)), AcceptP95S: round1(stats.Percentile(acc, 95)),
		ArriveP50S: round1(stats.Percentile(arr, 50)), ArriveP95S: round1(stats.Percentile(arr, 95)),
		Unfilled: unfilled, DoubleBookings: r.DoubleBookings, LostRequests: r.LostRequests,
		Residents: len(r.world.Residents), Providers: len(r.world.Providers), Heartbeats: r.heartbeats,
		SimulatedS: (r.cfg.End - r.cfg.Start + r.cfg.Drain).Seconds(), Seed: r.cfg.Seed, Clock: "simulated",
		Settlement: r.Settlement}
	if pd := r.planned; pd != nil {
		var onTime, util float64
		s.PlannedVisits, s.PlannedCompleted, onTime, util = pd.summary()
		s.PlanResidents, s.PlannedOnTimeRate, s.Utilisation = pd.residents, round3(onTime), round3(util)
		s.Continuity, s.RosterRequests = round3(pd.continuity), pd.requests
		if pd.weekTotal > 0 {
			s.RosterAssigned = round3(float64(pd.weekPlaced) / float64(pd.weekTotal))
		}
	}
	if r.cfg.RealTime > 0 {
		s.Clock = "real"
		s.SimulatedS = (r.cfg.RealTime + r.cfg.Drain).Seconds()
	}
	if len(r.reqs) > 0 {
		s.FillRate = round3(float64(matched) / float64(len(r.reqs)))
	}
	if kmN > 0 {
		s.KMPerVisit = round3(km / float64(kmN))
	}
	if matched > 0 {
		s.OffersPerMatch = round3(float64(offers) / float64(matched))
	}
	for k, n := range r.exceptions {
		if !strings.HasPrefix(k, "alert:unaccepted") && !strings.HasPrefix(k, "alert:no_candidates") {
			s.Exceptions += n
		}
	}
	return s
}

// Report writes the human report and, as its last line, the summary as
// one JSON object.
func (r *Result) Report(w io.Writer) error {
	s := r.Summary()
	mode := fmt.Sprintf("simulated clock, %s–%s of %s, step %s",
		hhmm(r.cfg.Start), hhmm(r.cfg.End), r.cfg.Date.Format("2006-01-02"), r.cfg.Step)
	if r.cfg.RealTime > 0 {
		mode = fmt.Sprintf("REAL TIME against a running server: the %s–%s window compressed into %s of calls (travel, answers and visits at real speed: most visits cannot finish)",
			hhmm(r.cfg.Start), hhmm(r.cfg.End), r.cfg.RealTime)
	}
	fmt.Fprintf(w, "carehex simulate — %s\n", mode)
	fmt.Fprintf(w, "city: %d residents, %d providers (seed %d); %d heartbeats sent\n\n", s.Residents, s.Providers, s.Seed, s.Heartbeats)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "requests\t%d\n", s.Requests)
	fmt.Fprintf(tw, "matched (accepted)\t%d\t fill rate %.1f%%\n", s.Matched, 100*s.FillRate)
	fmt.Fprintf(tw, "completed visits\t%d\n", s.Completed)
	fmt.Fprintf(tw, "time to accept\tp50 %s\tp95 %s\n", secs(s.AcceptP50S), secs(s.AcceptP95S))
	fmt.Fprintf(tw, "time to arrive\tp50 %s\tp95 %s\n", secs(s.ArriveP50S), secs(s.ArriveP95S))
	fmt.Fprintf(tw, "travel per visit\t%.2f km\t(straight line × %.1f)\n", s.KMPerVisit, matching.DetourFactor)
	fmt.Fprintf(tw, "offers per match\t%.2f\n", s.OffersPerMatch)
	busy, most := 0, 0
	for _, ph := range r.phones {
		if ph != nil && ph.visits > 0 {
			busy++
			most = max(most, ph.visits)
		}
	}
	fmt.Fprintf(tw, "providers who completed a visit\t%d of %d\t(most visits by one: %d)\n", busy, len(r.world.Providers), most)
	fmt.Fprintf(tw, "planned care\t%d residents on plans\t%d visits rostered today, %d done\n", s.PlanResidents, s.PlannedVisits, s.PlannedCompleted)
	fmt.Fprintf(tw, "planned on time\t%.1f%%\t(arrived by start + 15 min)\n", 100*s.PlannedOnTimeRate)
	fmt.Fprintf(tw, "week's roster\t%.1f%% placed\tcontinuity %.1f%%\n", 100*s.RosterAssigned, 100*s.Continuity)
	fmt.Fprintf(tw, "carer utilisation\t%.1f%%\t(time in visits / time on shift)\n", 100*s.Utilisation)
	fmt.Fprintf(tw, "double bookings\t%s\n", scan(s.DoubleBookings))
	fmt.Fprintf(tw, "lost requests\t%s\n", scan(s.LostRequests))
	if f := s.Settlement; f != nil {
		fmt.Fprintf(tw, "settlement %s (open)\t%d organisations, %d lines, %d held back\ttotal ¥%s (subsidy ¥%s, co-pay ¥%s), mismatches %d\n",
			f.Month, f.Orgs, f.Lines, f.HeldBack, carehex.FormatFen(f.TotalFen), carehex.FormatFen(f.SubsidyFen),
			carehex.FormatFen(f.CopayFen), f.Mismatches)
	}
	tw.Flush()

	// By urgency.
	fmt.Fprintln(w, "\nby class:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "class\trequests\tmatched\taccept p50\tarrive p50\tarrive p95\t\n")
	for _, em := range []bool{true, false} {
		var acc, arr []float64
		n, m := 0, 0
		for _, q := range r.reqs {
			if q.call.Emergency != em {
				continue
			}
			n++
			if !q.accepted.IsZero() {
				m++
				acc = append(acc, q.accepted.Sub(q.created).Seconds())
				if !q.arrived.IsZero() {
					arr = append(arr, q.arrived.Sub(q.created).Seconds())
				}
			}
		}
		slices.Sort(acc)
		slices.Sort(arr)
		name := "routine"
		if em {
			name = "emergency"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t\n", name, n, m, secs(stats.Percentile(acc, 50)), secs(stats.Percentile(arr, 50)), secs(stats.Percentile(arr, 95)))
	}
	tw.Flush()

	// Exceptions.
	fmt.Fprintln(w, "\nexceptions and alerts:")
	keys := make([]string, 0, len(r.exceptions))
	for k := range r.exceptions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, k := range keys {
		fmt.Fprintf(w, "  %-34s %d\n", k, r.exceptions[k])
	}
	if len(r.counts) > 0 {
		fmt.Fprintln(w, "\nphone and client events:")
		keys = keys[:0]
		for k := range r.counts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-34s %d\n", k, r.counts[k])
		}
	}

	// Unfilled by district.
	fmt.Fprintln(w, "\nunfilled requests by district:")
	type row struct {
		d       string
		n, miss int
	}
	by := map[string]*row{}
	for _, q := range r.reqs {
		x := by[q.district]
		if x == nil {
			x = &row{d: q.district}
			by[q.district] = x
		}
		x.n++
		if q.accepted.IsZero() {
			x.miss++
		}
	}
	rows := make([]*row, 0, len(by))
	for _, x := range by {
		rows = append(rows, x)
	}
	slices.SortFunc(rows, func(a, b *row) int {
		if c := cmp.Compare(b.miss, a.miss); c != 0 {
			return c
		}
		return strings.Compare(a.d, b.d)
	})
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, x := range rows {
		fmt.Fprintf(tw, "  %s\t%d of %d\t%.0f%%\n", x.d, x.miss, x.n, 100*float64(x.miss)/float64(max(x.n, 1)))
	}
	tw.Flush()
	if len(r.Lost) > 0 {
		fmt.Fprintln(w, "\nlost requests (first 20):")
		for _, l := range r.Lost[:min(20, len(r.Lost))] {
			fmt.Fprintln(w, "  "+l)
		}
	}
	fmt.Fprintln(w)
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func scan(n int) string {
	if n < 0 {
		return "not checked (no access to the system of record)"
	}
	return fmt.Sprint(n)
}

func secs(s float64) string {
	if s == 0 {
		return "–"
	}
	return (time.Duration(s) * time.Second).Round(time.Second).String()
}

func hhmm(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
}

// Day is the recording of the simulated day for `simulate --replay`.
func (r *Result) Day() *matching.Day {
	d := &matching.Day{Meta: matching.Meta{Seed: r.cfg.Seed, Date: r.cfg.Date.Format("2006-01-02"),
		Residents: len(r.world.Residents), StartS: r.cfg.Start.Seconds(), EndS: (r.cfg.End + r.cfg.Drain).Seconds()}}
	for _, ph := range r.phones {
		if ph == nil {
			continue
		}
		sp := ph.sp
		online := slices.Clone(sp.Online)
		if sp.PhoneDead.EndS > sp.PhoneDead.StartS { // silent: offers go unseen
			online = cut(online, sp.PhoneDead)
		}
		d.Providers = append(d.Providers, matching.Provider{ID: ph.id, Lat: sp.P.Home.Lat, Lng: sp.P.Home.Lng,
			Skills: sp.P.Skills, SpeedKmh: sp.SpeedKmh, Online: online})
	}
	for _, q := range r.reqs {
		res := r.world.Residents[q.call.Resident]
		dur := q.call.Service.DefaultDuration
		if dur <= 0 {
			dur = time.Hour
		}
		ts := q.created.Sub(r.cfg.Date).Seconds()
		if r.cfg.RealTime > 0 {
			ts = q.call.At.Seconds() // the wall clock is not the day's
		}
		d.Requests = append(d.Requests, matching.Request{ID: q.id, TS: ts,
			Lat: res.Location.Lat, Lng: res.Location.Lng, Service: q.call.Service.Code, Skill: q.call.Service.RequiredSkill,
			DurationS: dur.Seconds(), Emergency: q.call.Emergency, District: q.district})
		o := matching.Outcome{ID: q.id, Offers: q.offers, Provider: q.provider}
		if !q.accepted.IsZero() {
			o.Matched = true
			o.AcceptS = q.accepted.Sub(q.created).Seconds()
			if !q.arrived.IsZero() {
				o.ArriveS = q.arrived.Sub(q.created).Seconds()
				o.TravelKM = q.km
			}
		}
		d.Outcomes = append(d.Outcomes, o)
	}
	return d
}

// cut removes w from the windows.
func cut(ws []matching.Window, x matching.Window) []matching.Window {
	var out []matching.Window
	for _, w := range ws {
		if x.EndS <= w.StartS || x.StartS >= w.EndS {
			out = append(out, w)
			continue
		}
		if x.StartS > w.StartS {
			out = append(out, matching.Window{StartS: w.StartS, EndS: x.StartS})
		}
		if x.EndS < w.EndS {
			out = append(out, matching.Window{StartS: x.EndS, EndS: w.EndS})
		}
	}
	return out
}
