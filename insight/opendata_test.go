package insight

import (
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

var cst = time.FixedZone("CST", 8*3600)

// TestAggregateK builds requests in three res-7 cells: one with k residents
// (published as is), two with fewer that share a parent and together reach
// k (merged into the parent), and a lone resident far away (suppressed).
func TestAggregateK(t *testing.T) {
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, cst)
	at := func(lat, lng float64) carehex.Cell {
		t.Helper()
		c, err := geo.CellOf(carehex.LatLng{Lat: lat, Lng: lng}, geo.ResidentRes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	big := at(36.80, 118.05)
	parent, err := geo.Parent(big, 6)
	if err != nil {
		t.Fatal(err)
	}
	// Two other res-7 children of the same res-6 parent.
	var small []carehex.Cell
	kids, err := geo.Disk(big, 30)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[carehex.Cell]bool{mustParent(t, big, 7): true}
	for _, c := range kids {
		c7 := mustParent(t, c, 7)
		if mustParent(t, c, 6) == parent && !seen[c7] {
			seen[c7] = true
			small = append(small, c)
		}
		if len(small) == 2 {
			break
		}
	}
	if len(small) != 2 {
		t.Fatal("found no two other children of the parent")
	}
	var recs []carehex.OpenDataRecord
	add := func(res string, c carehex.Cell, n int, filled bool) {
		for i := range n {
			r := carehex.OpenDataRecord{ResidentID: res, Cell: c, Category: "daily_life", CreateTime: day.Add(time.Duration(i) * time.Minute),
				Filled: filled, AcceptS: -1, ArriveS: -1}
			if filled {
				r.AcceptS, r.ArriveS = float64(30+i), float64(600+i)
			}
			recs = append(recs, r)
		}
	}
	for i := range 5 {
		add("res_big"+string(rune('a'+i)), big, 2, true) // 5 residents, 10 requests
	}
	for i := range 3 {
		add("res_s1"+string(rune('a'+i)), small[0], 1, i > 0)
	}
	for i := range 2 {
		add("res_s2"+string(rune('a'+i)), small[1], 1, false)
	}
	add("res_far", at(39.90, 116.40), 3, true)

	res, err := Aggregate(recs, OpenDataOptions{From: day.Truncate(24 * time.Hour), To: day.AddDate(0, 0, 1), Zone: cst, Res: 7, K: 5})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Figures
	if f.Cells != 2 || f.MinResidentsPerCell != 5 || f.Suppressed != 3 || f.SuppressedCells != 1 || f.Requests != 15 {
		t.Fatalf("figures %+v, want 2 cells of 5 residents, the far resident's 3 requests suppressed", f)
	}
	byCell := map[carehex.Cell]Row{}
	for _, r := range res.Rows {
		byCell[r.Cell] = r
	}
	b, p := byCell[mustParent(t, big, 7)], byCell[parent]
	if b.Requests != 10 || b.Filled != 10 || b.FillRate != 1 || b.MedianAcceptS != 30 || b.MedianArriveS != 600 {
		t.Errorf("big cell row %+v", b)
	}
	if p.Requests != 5 || p.Filled != 2 || p.FillRate != 0.4 || geo.Resolution(p.Cell) != 6 {
		t.Errorf("merged parent row %+v", p)
	}
	var csv, gj, dict strings.Builder
	if err := res.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteGeoJSON(&gj); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteDictionary(&dict); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{csv.String(), gj.String(), dict.String()} {
		if strings.Contains(s, "res_") {
			t.Errorf("a resident ID leaked into the output:\n%s", s)
		}
	}
	if !strings.Contains(gj.String(), `"requests_by_category":{"daily_life":10}`) {
		t.Errorf("GeoJSON lacks the per-category counts:\n%s", gj.String())
	}
}

func TestOpenDataOptions(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, cst)
	ok := OpenDataOptions{From: day, To: day.AddDate(0, 0, 1), Zone: cst, Res: 7, K: 5}
	for field, o := range map[string]OpenDataOptions{
		"to":   {From: day, To: day, Zone: cst, Res: 7, K: 5},
		"res":  {From: ok.From, To: ok.To, Zone: cst, Res: 10, K: 5},
		"k":    {From: ok.From, To: ok.To, Zone: cst, Res: 7, K: 0},
		"zone": {From: ok.From, To: ok.To, Res: 7, K: 5},
	} {
		if err := o.Validate(); carehex.ErrorField(err) != field {
			t.Errorf("%+v: err %v, want one naming %s", o, err, field)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}

func mustParent(t *testing.T, c carehex.Cell, res int) carehex.Cell {
	t.Helper()
	p, err := geo.Parent(c, res)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
