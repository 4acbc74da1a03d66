// Package catalog owns the service catalogue as data: the embedded
// services.csv lists every service type the hotline offers, and Load turns it
// into carehex.ServiceType values, refusing a file that would put a bad type
// into service. The SQL store copies the loaded catalogue into its own table
// at start (sqlstore.DB.SyncCatalog), so editing the CSV and restarting is how
// the catalogue changes; codes, once published, must never change meaning.
package catalog

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carehex/carehex"
)

//go:embed services.csv
var servicesCSV string

// fileName is how errors refer to the data file, so a failed start points
// the reader at what to edit.
const fileName = "services.csv"

// columns is the header services.csv must carry, in this order.
var columns = []string{"code", "category", "name_zh", "name_en", "required_skill", "default_duration_min", "urgency_class"}

const (
	colCode = iota
	colCategory
	colNameZH
	colNameEN
	colSkill
	colDuration
	colUrgency
)

// Bounds on a default duration: shorter than a few minutes is not a visit,
// longer than a working shift cannot be booked as one.
const (
	minDurationMin = 5
	maxDurationMin = 480
)

var (
	codePattern  = regexp.MustCompile(`^[A-Z]{2,3}(-[A-Z0-9]+)+$`)
	skillPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
)

// codePrefix is the first segment every code of a category carries, so a
// code read on a printout or in a log says its category at a glance.
var codePrefix = map[carehex.Category]string{
	carehex.CategoryInformation: "INF",
	carehex.CategoryDailyLife:   "DL",
	carehex.CategoryHealth:      "HC",
	carehex.CategoryHousekeep:   "HK",
	carehex.CategoryEducation:   "ED",
	carehex.CategoryEmergency:   "EM",
}

// Load parses and validates the embedded catalogue. It returns the types in
// file order, which is the order the operator console lists them in. Each
// call returns fresh values, so callers may keep or change them.
func Load() ([]*carehex.ServiceType, error) {
	return parse(strings.NewReader(servicesCSV))
}

// Skills returns the distinct required skills of types, sorted: the
// vocabulary a provider's skills are drawn from.
func Skills(types []*carehex.ServiceType) []string {
	var out []string
	for _, t := range types {
		if t != nil && t.RequiredSkill != "" {
			out = append(out, t.RequiredSkill)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// parse reads a catalogue in the services.csv format. Every error is an
// EINVALID *carehex.Error whose Field is the column at fault and whose
// message names the file line, so a bad edit is found without a debugger.
func parse(r io.Reader) ([]*carehex.ServiceType, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(columns)
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, lineErr(1, "header", "the file is empty; want the header %s", strings.Join(columns, ","))
	}
	if err != nil {
		return nil, csvErr(err)
	}
	for i, want := range columns {
		got := header[i]
		if i == 0 {
			got = strings.TrimPrefix(got, "\uFEFF") // spreadsheet programs add a byte-order mark
		}
		if got != want {
			return nil, lineErr(1, "header", "column %d is %q, want %q (header must be %s)",
				i+1, got, want, strings.Join(columns, ","))
		}
	}

	var types []*carehex.ServiceType
	seen := map[string]int{} // code → line it was first defined on
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		t, err := parseRow(line, rec)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[t.Code]; dup {
			return nil, lineErr(line, "code", "%q is already defined on line %d", t.Code, first)
		}
		seen[t.Code] = line
		types = append(types, t)
	}
	if len(types) == 0 {
		return nil, lineErr(2, "code", "no service types follow the header")
	}
	return types, nil
}

// parseRow validates one record; line is its line in the file.
func parseRow(line int, rec []string) (*carehex.ServiceType, error) {
	for i, v := range rec {
		switch {
		case strings.TrimSpace(v) == "":
			return nil, lineErr(line, columns[i], "is empty")
		case v != strings.TrimSpace(v):
			// Refused rather than trimmed: "cleaning " would silently become a
			// skill no provider holds.
			return nil, lineErr(line, columns[i], "%q has leading or trailing spaces", v)
		case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
			return nil, lineErr(line, columns[i], "is not valid UTF-8 text")
		case utf8.RuneCountInString(v) > carehex.MaxNameLen:
			return nil, lineErr(line, columns[i], "is longer than %d characters", carehex.MaxNameLen)
		}
	}
	t := &carehex.ServiceType{
		Code:          rec[colCode],
		Category:      carehex.Category(rec[colCategory]),
		NameZH:        rec[colNameZH],
		NameEN:        rec[colNameEN],
		RequiredSkill: rec[colSkill],
		UrgencyClass:  carehex.UrgencyClass(rec[colUrgency]),
	}
	if !codePattern.MatchString(t.Code) {
		return nil, lineErr(line, "code", "%q must be upper-case segments joined by '-', like DL-MEAL-DELIVERY", t.Code)
	}
	prefix, ok := codePrefix[t.Category]
	if !ok {
		return nil, lineErr(line, "category", "%q is not one of %s", t.Category, categoryList())
	}
	if !strings.HasPrefix(t.Code, prefix+"-") {
		return nil, lineErr(line, "code", "%q is in category %s, so it must start with %s-", t.Code, t.Category, prefix)
	}
	if !skillPattern.MatchString(t.RequiredSkill) {
		return nil, lineErr(line, "required_skill", "%q must be snake_case, like meal_service", t.RequiredSkill)
	}
	d := rec[colDuration]
	minutes, err := strconv.Atoi(d)
	if err != nil || strings.IndexFunc(d, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return nil, lineErr(line, "default_duration_min", "%q is not a whole number of minutes", d)
	}
	if minutes < minDurationMin || minutes > maxDurationMin {
		return nil, lineErr(line, "default_duration_min", "%d must be between %d and %d",
			minutes, minDurationMin, maxDurationMin)
	}
	t.DefaultDuration = time.Duration(minutes) * time.Minute
	switch t.UrgencyClass {
	case carehex.ClassEmergency, carehex.ClassSoon, carehex.ClassScheduled:
	default:
		return nil, lineErr(line, "urgency_class", "%q is not one of emergency, soon, scheduled", t.UrgencyClass)
	}
	// An emergency type booked as "soon" would wait in the ordinary queue
	// while someone lies on the floor; the file may not say so by mistake.
	if t.Category == carehex.CategoryEmergency && t.UrgencyClass != carehex.ClassEmergency {
		return nil, lineErr(line, "urgency_class", "%s is in the emergency category, so it must be emergency, not %s",
			t.Code, t.UrgencyClass)
	}
	return t, nil
}

func lineErr(line int, field, format string, args ...any) *carehex.Error {
	e := carehex.Errorf(carehex.EINVALID, field, format, args...)
	e.Message = fileName + " line " + strconv.Itoa(line) + ": " + field + ": " + e.Message
	return e
}

// csvErr reports a syntax error of the CSV layer (bad quoting, wrong number
// of fields) with its line.
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		field := "record"
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			field = "columns"
		}
		return lineErr(pe.Line, field, "%v (want %d columns: %s)", pe.Err, len(columns), strings.Join(columns, ","))
	}
	return carehex.Internal(err, "read "+fileName)
}

func categoryList() string {
	names := make([]string, len(carehex.Categories))
	for i, c := range carehex.Categories {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}
