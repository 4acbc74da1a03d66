package loadbench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Report is what `carehex bench load` prints last, as one JSON line.
type Report struct {
	Bench   string    `json:"bench"`
	Machine string    `json:"machine"`
	Runs    []*Result `json:"runs"`
}

// PrintTable writes the runs side by side, one column per backend and
// transport, then the errors by code.
func PrintTable(w io.Writer, runs []*Result) {
	if len(runs) == 0 {
		return
	}
	const label = "%-30s"
	fmt.Fprintf(w, label, "")
	for _, r := range runs {
		fmt.Fprintf(w, " %17s", r.Backend+"/"+r.Transport)
	}
	fmt.Fprintln(w)
	row := func(name string, f func(r *Result) string) {
		fmt.Fprintf(w, label, name)
		for _, r := range runs {
			fmt.Fprintf(w, " %17s", f(r))
		}
		fmt.Fprintln(w)
	}
	num := func(f func(r *Result) float64) func(r *Result) string {
		return func(r *Result) string { return fmt.Sprintf("%.1f", f(r)) }
	}
	count := func(f func(r *Result) int) func(r *Result) string {
		return func(r *Result) string { return fmt.Sprint(f(r)) }
	}
	row("target rate /s", num(func(r *Result) float64 { return r.Rate }))
	row("achieved rate /s", num(func(r *Result) float64 { return r.AchievedRate }))
	row("requests due", count(func(r *Result) int { return r.Requests }))
	row("created", count(func(r *Result) int { return r.Created }))
	row("errors", count(func(r *Result) int { return r.Errors }))
	row("create p50 ms", num(func(r *Result) float64 { return r.CreateP50ms }))
	row("create p95 ms", num(func(r *Result) float64 { return r.CreateP95ms }))
	row("create p99 ms", num(func(r *Result) float64 { return r.CreateP99ms }))
	row("create max ms", num(func(r *Result) float64 { return r.CreateMaxms }))
	row("request→offer p50 ms", num(func(r *Result) float64 { return r.OfferP50ms }))
	row("request→offer p95 ms", num(func(r *Result) float64 { return r.OfferP95ms }))
	row("request→offer p99 ms", num(func(r *Result) float64 { return r.OfferP99ms }))
	row("request→offer max ms", num(func(r *Result) float64 { return r.OfferMaxms }))
	row("not offered", count(func(r *Result) int { return r.NotOffered }))
	row("offer seen by phone p50 ms", num(func(r *Result) float64 { return r.SeenP50ms }))
	row("offer seen by phone p99 ms", num(func(r *Result) float64 { return r.SeenP99ms }))
	row("visits completed", count(func(r *Result) int { return r.Visits }))
	row("cancelled after offer", count(func(r *Result) int { return r.Cancelled }))
	row("phone calls", func(r *Result) string { return fmt.Sprint(r.PhoneCalls) })
	row("CPU cores used", func(r *Result) string { return fmt.Sprintf("%.2f", r.CPUCores) })
	row("CPU measured", func(r *Result) string { return r.CPUSource })
	row("CPU ms per request", num(func(r *Result) float64 { return r.CPUPerRequestMs }))
	row("database pool waits", func(r *Result) string { return fmt.Sprintf("%d (%.0f ms in all)", r.PoolWaits, r.PoolWaitMs) })
	row("generator lag max ms", num(func(r *Result) float64 { return r.GenLagMaxms }))
	row("target", func(r *Result) string { return fmt.Sprintf("%s ≤ %g", r.Target, r.TargetMs) })
	row("target met", func(r *Result) string {
		if r.Pass {
			return "yes"
		}
		return "NO"
	})
	for _, r := range runs {
		if r.Errors == 0 {
			continue
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(r.ErrorsByCode)) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, r.ErrorsByCode[k]))
		}
		fmt.Fprintf(w, "errors %s/%s: %s\n", r.Backend, r.Transport, strings.Join(parts, " "))
	}
}

// PrintJSON writes the report as one line.
func PrintJSON(w io.Writer, rep Report) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
