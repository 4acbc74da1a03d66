package catalog

import (
	_ "embed"
	"encoding/csv"
	"strings"
)

//go:embed names.csv
var namesCSV string

// Name is a skill's or a category's name in both languages: names.csv,
// beside services.csv, so that the console never shows "meal_service".
type Name struct {
	Code   string
	NameZH string
	NameEN string
}

// names reads names.csv by kind (skill, category); the tests check that it
// parses and names every skill and category services.csv uses.
func names(kind string) []Name {
	rows, err := csv.NewReader(strings.NewReader(namesCSV)).ReadAll()
	if err != nil {
		panic("catalog: names.csv: " + err.Error()) // embedded; TestNames reads it
	}
	var out []Name
	for _, r := range rows[1:] {
		if len(r) == 4 && r[0] == kind {
			out = append(out, Name{Code: r[1], NameZH: r[2], NameEN: r[3]})
		}
	}
	return out
}

// SkillNames lists every skill's names, in names.csv's order.
func SkillNames() []Name { return names("skill") }

// CategoryNames lists the six categories' names, in the catalogue's order.
func CategoryNames() []Name { return names("category") }
