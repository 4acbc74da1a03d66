// Package insight owns what carehex publishes about itself in aggregate:
// the desensitised open-data export (per H3 cell and day, k-anonymous).
// It reads through the root package's store interfaces and writes files;
// it never sees a name, phone, address or ID number.
package insight

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	"github.com/carehex/carehex/internal/stats"
)

// Open-data defaults: resolution 7 (hexagons of about 1.4 km edge and
// 5.2 km², a few neighbourhoods) and k = 5 residents per published cell.
const (
	DefaultRes = 7
	DefaultK   = 5
)

// OpenDataOptions says what to export.
type OpenDataOptions struct {
	From, To time.Time      // days [From, To), midnight in Zone
	Zone     *time.Location // the district's clock: which day a request belongs to
	Res      int            // H3 resolution of the published cells, 1..geo.ResidentRes
	K        int            // fewest distinct residents a published cell may stand for
}

// Validate names the first bad option.
func (o OpenDataOptions) Validate() error {
	switch {
	case o.Zone == nil:
		return carehex.Errorf(carehex.EINVALID, "zone", "a time zone is required")
	case o.From.IsZero() || o.To.IsZero() || !o.From.Before(o.To):
		return carehex.Errorf(carehex.EINVALID, "to", "the period must end after it starts")
	case o.Res < 1 || o.Res > geo.ResidentRes:
		return carehex.Errorf(carehex.EINVALID, "res", "res must be an H3 resolution from 1 to %d (homes are stored at %d), got %d", geo.ResidentRes, geo.ResidentRes, o.Res)
	case o.K < 1 || o.K > 1000:
		return carehex.Errorf(carehex.EINVALID, "k", "k must be from 1 to 1000, got %d", o.K)
	}
	return nil
}

// Figures is the export's last output line.
type Figures struct {
	Cells int `json:"cells"` // published cells
	Rows  int `json:"rows"`  // CSV data rows (cell × day × category)
	// MinResidentsPerCell is the fewest distinct residents behind any
	// published cell over the period; 0 when nothing is published.
	MinResidentsPerCell int `json:"min_residents_per_cell"`
	// Suppressed counts requests left out because even their parent cell
	// stood for fewer than k residents; SuppressedCells the cells so dropped.
	Suppressed      int `json:"suppressed"`
	SuppressedCells int `json:"suppressed_cells"`
	Requests        int `json:"requests"` // requests published
}

// Row is one line of the CSV: a cell, a day and a service category.
type Row struct {
	Date          string // YYYY-MM-DD in the district's zone
	Cell          carehex.Cell
	Category      string
	Requests      int
	Filled        int
	FillRate      float64
	MedianAcceptS int // -1 when none was accepted
	MedianArriveS int // -1 when nobody arrived
}

// CellDay is one feature of the GeoJSON: a cell's figures for one day
// over all categories.
type CellDay struct {
	Date          string
	Cell          carehex.Cell
	Requests      int
	Filled        int
	FillRate      float64
	ByCategory    map[string]int
	MedianAcceptS int
	MedianArriveS int
}

// Result is the aggregated export.
type Result struct {
	Rows    []Row
	Days    []CellDay
	Figures Figures
	Opts    OpenDataOptions
}

// OpenData reads the period's requests and aggregates them per published
// cell, day and category.
func OpenData(ctx context.Context, store carehex.OpenDataStore, o OpenDataOptions) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	recs, err := store.OpenDataRecords(ctx, o.From, o.To)
	if err != nil {
		return nil, err
	}
	return Aggregate(recs, o)
}

// Aggregate is OpenData over records already read. k-anonymity holds over
// the whole period: a cell at o.Res whose requests come from fewer than k
// distinct residents is merged with its under-k siblings into the parent
// cell (o.Res-1); a parent still under k is suppressed. A published parent
// stands only for its merged children, never for siblings published on
// their own.
func Aggregate(recs []carehex.OpenDataRecord, o OpenDataOptions) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	cellAt := make([]carehex.Cell, len(recs))
	residents := map[carehex.Cell]map[string]bool{}
	for i, r := range recs {
		c, err := geo.Parent(r.Cell, o.Res)
		if err != nil {
			return nil, err
		}
		cellAt[i] = c
		addResident(residents, c, r.ResidentID)
	}
	// Merge small cells into their parents, then suppress small parents.
	final := map[carehex.Cell]carehex.Cell{} // cell at o.Res → published cell, absent when suppressed
	merged := map[carehex.Cell]map[string]bool{}
	for c, ids := range residents {
		if len(ids) >= o.K {
			final[c] = c
			continue
		}
		if o.Res == 1 {
			continue // nothing coarser to merge into
		}
		p, err := geo.Parent(c, o.Res-1)
		if err != nil {
			return nil, err
		}
		for id := range ids {
			addResident(merged, p, id)
		}
		final[c] = p
	}
	var f Figures
	published := map[carehex.Cell]int{}
	for c, ids := range residents {
		if len(ids) >= o.K {
			published[c] = len(ids)
		}
	}
	for p, ids := range merged {
		if len(ids) >= o.K {
			published[p] = len(ids)
			continue
		}
		f.SuppressedCells++
		for c, to := range final {
			if to == p && c != p {
				delete(final, c)
			}
		}
	}
	for _, n := range published {
		if f.MinResidentsPerCell == 0 || n < f.MinResidentsPerCell {
			f.MinResidentsPerCell = n
		}
	}
	f.Cells = len(published)

	type key struct {
		date     string
		cell     carehex.Cell
		category string
	}
	type acc struct {
		requests, filled int
		accept, arrive   []float64
		byCategory       map[string]int // per-day totals only
	}
	groups := map[key]*acc{}
	days := map[key]*acc{} // category ""
	for i, r := range recs {
		c, ok := final[cellAt[i]]
		if !ok {
			f.Suppressed++
			continue
		}
		f.Requests++
		k := key{r.CreateTime.In(o.Zone).Format(time.DateOnly), c, r.Category}
		for _, mk := range []struct {
			m map[key]*acc
			k key
		}{{groups, k}, {days, key{k.date, k.cell, ""}}} {
			m, k := mk.m, mk.k
			a := m[k]
			if a == nil {
				a = &acc{}
				m[k] = a
			}
			a.requests++
			if r.Filled {
				a.filled++
			}
			if r.AcceptS >= 0 {
				a.accept = append(a.accept, r.AcceptS)
			}
			if r.ArriveS >= 0 {
				a.arrive = append(a.arrive, r.ArriveS)
			}
		}
	}
	res := &Result{Opts: o}
	for k, a := range groups {
		d := days[key{k.date, k.cell, ""}]
		if d.byCategory == nil {
			d.byCategory = map[string]int{}
		}
		d.byCategory[k.category] = a.requests
		res.Rows = append(res.Rows, Row{Date: k.date, Cell: k.cell, Category: k.category, Requests: a.requests, Filled: a.filled,
			FillRate: stats.Round(float64(a.filled)/float64(a.requests), 3), MedianAcceptS: median(a.accept), MedianArriveS: median(a.arrive)})
	}
	slices.SortFunc(res.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(geo.String(a.Cell), geo.String(b.Cell)), cmp.Compare(a.Category, b.Category))
	})
	for k, a := range days {
		d := CellDay{Date: k.date, Cell: k.cell, Requests: a.requests, Filled: a.filled, ByCategory: a.byCategory,
			FillRate: stats.Round(float64(a.filled)/float64(a.requests), 3), MedianAcceptS: median(a.accept), MedianArriveS: median(a.arrive)}
		res.Days = append(res.Days, d)
	}
	slices.SortFunc(res.Days, func(a, b CellDay) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(geo.String(a.Cell), geo.String(b.Cell)))
	})
	f.Rows = len(res.Rows)
	res.Figures = f
	return res, nil
}

func addResident(m map[carehex.Cell]map[string]bool, c carehex.Cell, id string) {
	if m[c] == nil {
		m[c] = map[string]bool{}
	}
	m[c][id] = true
}

// median is the nearest-rank median in whole seconds, -1 for none.
func median(xs []float64) int {
	if len(xs) == 0 {
		return -1
	}
	return int(math.Round(stats.Percentile(xs, 50)))
}

// File names in the output directory.
const (
	CSVFile        = "open-data.csv"
	GeoJSONFile    = "open-data.geojson"
	DictionaryFile = "README.md"
)

var csvHeadings = []string{"date", "h3_cell", "h3_res", "category", "requests", "filled", "fill_rate", "median_accept_s", "median_arrive_s"}

// WriteCSV writes the rows as CSV in UTF-8 with a BOM (so spreadsheet
// programs read the Chinese right), English column names as in the data
// dictionary.
func (r *Result) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeadings); err != nil {
		return err
	}
	for _, row := range r.Rows {
		if err := cw.Write([]string{row.Date, geo.String(row.Cell), strconv.Itoa(geo.Resolution(row.Cell)), row.Category,
			strconv.Itoa(row.Requests), strconv.Itoa(row.Filled), strconv.FormatFloat(row.FillRate, 'f', 3, 64),
			strconv.Itoa(row.MedianAcceptS), strconv.Itoa(row.MedianArriveS)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteGeoJSON writes one feature per cell and day: the cell's hexagon and
// the day's figures, with the requests per category.
func (r *Result) WriteGeoJSON(w io.Writer) error {
	type props struct {
		Date          string         `json:"date"`
		Cell          string         `json:"h3_cell"`
		Res           int            `json:"h3_res"`
		Requests      int            `json:"requests"`
		Filled        int            `json:"filled"`
		FillRate      float64        `json:"fill_rate"`
		ByCategory    map[string]int `json:"requests_by_category"`
		MedianAcceptS int            `json:"median_accept_s"`
		MedianArriveS int            `json:"median_arrive_s"`
	}
	type feature struct {
		Type     string `json:"type"`
		Geometry struct {
			Type        string         `json:"type"`
			Coordinates [][][2]float64 `json:"coordinates"`
		} `json:"geometry"`
		Properties props `json:"properties"`
	}
	feats := make([]feature, 0, len(r.Days))
	for _, d := range r.Days {
		p := props{Date: d.Date, Cell: geo.String(d.Cell), Res: geo.Resolution(d.Cell), Requests: d.Requests, Filled: d.Filled,
			FillRate: d.FillRate, ByCategory: d.ByCategory, MedianAcceptS: d.MedianAcceptS, MedianArriveS: d.MedianArriveS}
		b, err := geo.Boundary(d.Cell)
		if err != nil {
			return err
		}
		ring := make([][2]float64, 0, len(b)+1)
		for _, v := range b {
			ring = append(ring, [2]float64{stats.Round(v.Lng, 6), stats.Round(v.Lat, 6)})
		}
		ring = append(ring, ring[0])
		var ft feature
		ft.Type, ft.Geometry.Type, ft.Geometry.Coordinates, ft.Properties = "Feature", "Polygon", [][][2]float64{ring}, p
		feats = append(feats, ft)
	}
	enc := json.NewEncoder(w)
	return enc.Encode(struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}{"FeatureCollection", feats})
}

// WriteFiles writes the CSV, the GeoJSON and the data dictionary into dir
// (created 0755: the export is public) and returns their paths.
func (r *Result) WriteFiles(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var paths []string
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{CSVFile, r.WriteCSV}, {GeoJSONFile, r.WriteGeoJSON}, {DictionaryFile, r.WriteDictionary}} {
		p := filepath.Join(dir, f.name)
		file, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		err = f.write(file)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}
