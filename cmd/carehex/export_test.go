package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/carehex/carehex/sqlstore"
)

func TestExportOpenDataFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "open-data", "--to", "2026-03-02", "--out", "x"}, "--from"},
		{[]string{"export", "open-data", "--from", "2026-03-02", "--to", "March", "--out", "x"}, "--to"},
		{[]string{"export", "open-data", "--from", "2026-03-03", "--to", "2026-03-02", "--out", "x"}, "before"},
		{[]string{"export", "open-data", "--from", "2026-03-02", "--to", "2026-03-02"}, "--out"},
		{[]string{"export", "open-data", "--from", "2026-03-02", "--to", "2026-03-02", "--out", "x", "--res", "12"}, "--res"},
		{[]string{"export", "open-data", "--from", "2026-03-02", "--to", "2026-03-02", "--out", "x", "--k", "0"}, "--k"},
		{[]string{"export", "nothing"}, "usage"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append(tt.args, "--data", t.TempDir()), simEnv, strings.NewReader(""), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want one naming %s", tt.args, err, tt.want)
		}
	}
}

// TestSimulateThenOpenData plays the small preset into a kept database and
// exports its day as open data: every published cell stands for at least k
// residents, and no resident's name, phone, ID number or any piece of their
// address appears in any file written.
func TestSimulateThenOpenData(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a simulated morning: a minute or more")
	}
	dir, day := simulatedDay(t)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	var sim struct {
		Requests       int `json:"requests"`
		RosterRequests int `json:"roster_requests"`
	}
	lastJSON(t, day, &sim)

	const k = 5
	err := run(context.Background(), []string{"export", "open-data", "--from", "2026-03-02", "--to", "2026-03-02", "--k", "5", "--data", dir, "--out", out},
		simEnv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("export: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	var f struct {
		Cells               int  `json:"cells"`
		Rows                int  `json:"rows"`
		MinResidentsPerCell *int `json:"min_residents_per_cell"`
		Suppressed          *int `json:"suppressed"`
		Requests            int  `json:"requests"`
	}
	lastJSON(t, stdout.String(), &f)
	t.Logf("simulated %d requests; export: %s", sim.Requests, strings.TrimSpace(stdout.String()))
	if f.Cells == 0 || f.Rows < f.Cells || f.MinResidentsPerCell == nil || f.Suppressed == nil {
		t.Fatalf("figures %+v: want cells, rows and the two privacy figures", f)
	}
	if *f.MinResidentsPerCell < k {
		t.Errorf("min_residents_per_cell = %d, want >= %d", *f.MinResidentsPerCell, k)
	}
	if f.Requests+*f.Suppressed != sim.Requests+sim.RosterRequests {
		t.Errorf("published %d + suppressed %d requests, want the %d simulated calls and %d planned visits rostered",
			f.Requests, *f.Suppressed, sim.Requests, sim.RosterRequests)
	}

	var files [][]byte
	for _, name := range []string{"open-data.csv", "open-data.geojson", "README.md"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	if !bytes.HasPrefix(files[0], []byte("\uFEFF")) {
		t.Error("CSV has no BOM")
	}
	if n := bytes.Count(files[0], []byte("\n")) - 1; n != f.Rows {
		t.Errorf("CSV has %d data rows, the figures say %d", n, f.Rows)
	}
	if !bytes.Contains(files[2], []byte("数据字典")) || !bytes.Contains(files[2], []byte("data dictionary")) {
		t.Error("README.md is not the bilingual data dictionary")
	}

	// Every resident, read back through the store (which decrypts what it
	// keeps encrypted), against every file.
	store, err := sqlstore.Open(context.Background(), filepath.Join(dir, "carehex.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	raw, err := sql.Open("sqlite", filepath.Join(dir, "carehex.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT id FROM residents`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) == 0 {
		t.Fatal("no residents in the simulated database")
	}
	checked, withID := 0, 0
	for _, id := range ids {
		r, err := store.Resident(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		needles := []string{r.ID, r.Name, r.Phone, r.Phone[len(r.Phone)-8:]}
		if r.IDNumber != "" {
			needles = append(needles, r.IDNumber, r.IDNumber[len(r.IDNumber)-8:])
			withID++
		}
		needles = append(needles, addressPieces(r.Address)...)
		for _, n := range needles {
			for i, b := range files {
				if bytes.Contains(b, []byte(n)) {
					t.Fatalf("resident %s: %q appears in output file %d", r.ID, n, i)
				}
			}
		}
		checked++
	}
	t.Logf("checked %d residents (%d with ID numbers) against %d files", checked, withID, len(files))
}

// addressPieces returns every run of four characters of an address that
// holds a Chinese character (road names, compound names, the district with
// its first digits): runs of digits alone would match H3 cell numbers by
// chance and say nothing about where someone lives.
func addressPieces(addr string) []string {
	rs := []rune(addr)
	var out []string
	for i := 0; i+4 <= len(rs); i++ {
		piece := rs[i : i+4]
		for _, c := range piece {
			if unicode.Is(unicode.Han, c) {
				out = append(out, string(piece))
				break
			}
		}
	}
	return out
}
