package catalog

import (
	"testing"

	"github.com/carehex/carehex"
)

// TestNames checks that every skill services.csv requires and every
// category has a Chinese and an English name, and that names.csv names
// nothing else.
func TestNames(t *testing.T) {
	types, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	check := func(kind string, want []string, got []Name) {
		t.Helper()
		named := map[string]bool{}
		for _, n := range got {
			if n.NameZH == "" || n.NameEN == "" {
				t.Errorf("%s %q lacks a name: %+v", kind, n.Code, n)
			}
			named[n.Code] = true
		}
		for _, w := range want {
			if !named[w] {
				t.Errorf("%s %q has no name in names.csv", kind, w)
			}
			delete(named, w)
		}
		for extra := range named {
			t.Errorf("names.csv names %s %q, which the catalogue does not use", kind, extra)
		}
	}
	check("skill", Skills(types), SkillNames())
	var cats []string
	for _, c := range carehex.Categories {
		cats = append(cats, string(c))
	}
	check("category", cats, CategoryNames())
}
