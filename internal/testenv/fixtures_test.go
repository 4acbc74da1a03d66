package testenv

import (
	"testing"

	"github.com/carehex/carehex/catalog"
)

// TestCatalogMatches: the test catalogue's types keep the category, class,
// duration and skill of their counterparts in the real catalogue, except
// what Catalog's comment names as deliberate.
func TestCatalogMatches(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]int{}
	for i, st := range types {
		byCode[st.Code] = i
	}
	counterpart := map[string]struct {
		code              string
		skill, class, dur bool // which fields must match
	}{
		"bathing":       {"DL-BATH-HOME", true, true, true},
		"fall_help":     {"EM-FALL-RESPONSE", false, true, false},
		"meal_delivery": {"DL-MEAL-DELIVERY", false, false, true},
	}
	for _, st := range Catalog() {
		c, ok := counterpart[st.Code]
		if !ok {
			t.Errorf("%s has no counterpart named in this test", st.Code)
			continue
		}
		i, ok := byCode[c.code]
		if !ok {
			t.Errorf("%s: real catalogue has no %s", st.Code, c.code)
			continue
		}
		r := types[i]
		if st.Category != r.Category {
			t.Errorf("%s: category %s, real %s has %s", st.Code, st.Category, r.Code, r.Category)
		}
		if c.skill && st.RequiredSkill != r.RequiredSkill {
			t.Errorf("%s: skill %s, real %s has %s", st.Code, st.RequiredSkill, r.Code, r.RequiredSkill)
		}
		if c.class && st.UrgencyClass != r.UrgencyClass {
			t.Errorf("%s: class %s, real %s has %s", st.Code, st.UrgencyClass, r.Code, r.UrgencyClass)
		}
		if c.dur && st.DefaultDuration != r.DefaultDuration {
			t.Errorf("%s: duration %s, real %s has %s", st.Code, st.DefaultDuration, r.Code, r.DefaultDuration)
		}
	}
}
