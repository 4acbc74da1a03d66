package catalog

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

func load(t *testing.T) []*carehex.ServiceType {
	t.Helper()
	types, err := Load()
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	return types
}

func TestLoad(t *testing.T) {
	types := load(t)
	if n := len(types); n < 100 || n > 130 {
		t.Errorf("catalogue has %d types, want 100 to 130", n)
	}
	perCategory := map[carehex.Category]int{}
	codes := map[string]bool{}
	for _, st := range types {
		perCategory[st.Category]++
		if codes[st.Code] {
			t.Errorf("code %s appears twice", st.Code)
		}
		codes[st.Code] = true
		if st.Category == carehex.CategoryEmergency && st.UrgencyClass != carehex.ClassEmergency {
			t.Errorf("%s is an emergency type with urgency class %s", st.Code, st.UrgencyClass)
		}
		if st.Category != carehex.CategoryEmergency && st.UrgencyClass == carehex.ClassEmergency {
			t.Errorf("%s is class emergency outside the emergency category", st.Code)
		}
		// Realistic visits; the parser's wider bounds are for future types.
		if st.DefaultDuration < 15*time.Minute || st.DefaultDuration > 4*time.Hour {
			t.Errorf("%s lasts %v, want 15m to 4h", st.Code, st.DefaultDuration)
		}
		if !containsHan(st.NameZH) {
			t.Errorf("%s: name_zh %q has no Chinese characters", st.Code, st.NameZH)
		}
	}
	for _, c := range carehex.Categories {
		if perCategory[c] < 5 {
			t.Errorf("category %s has %d types, want at least 5", c, perCategory[c])
		}
	}
	if len(perCategory) != len(carehex.Categories) {
		t.Errorf("types use %d categories, want %d", len(perCategory), len(carehex.Categories))
	}
	// Codes other packages and the design brief name must keep existing.
	for _, code := range []string{"DL-MEAL-DELIVERY", "EM-FALL-RESPONSE", "HC-BP-CHECK", "HK-PLUMBING",
		"ED-SMARTPHONE", "INF-POLICY-CONSULT"} {
		if !codes[code] {
			t.Errorf("code %s is missing", code)
		}
	}
}

func TestLoadReturnsFreshValues(t *testing.T) {
	a, b := load(t), load(t)
	a[0].NameZH = "changed"
	if b[0].NameZH == "changed" {
		t.Fatal("Load shares values between calls")
	}
}

func TestSkills(t *testing.T) {
	types := load(t)
	skills := Skills(types)
	if !slices.IsSorted(skills) {
		t.Errorf("Skills() is not sorted: %v", skills)
	}
	if n := len(skills); n < 15 || n > 25 {
		t.Errorf("%d skills, want a controlled vocabulary of 15 to 25: %v", n, skills)
	}
	if len(slices.Compact(slices.Clone(skills))) != len(skills) {
		t.Errorf("Skills() has duplicates: %v", skills)
	}
	for _, want := range []string{"meal_service", "cleaning", "personal_care", "nursing", "emergency_response"} {
		if !slices.Contains(skills, want) {
			t.Errorf("skill %s is missing from %v", want, skills)
		}
	}
	for _, st := range types {
		if !slices.Contains(skills, st.RequiredSkill) {
			t.Errorf("%s needs %s, not in Skills()", st.Code, st.RequiredSkill)
		}
	}
	if got := Skills([]*carehex.ServiceType{nil, {RequiredSkill: "b"}, {RequiredSkill: "a"}, {RequiredSkill: "b"}}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Skills() = %v, want [a b]", got)
	}
}

func TestEveryCategoryHasAPrefix(t *testing.T) {
	for _, c := range carehex.Categories {
		if codePrefix[c] == "" {
			t.Errorf("category %s has no code prefix", c)
		}
	}
}

const header = "code,category,name_zh,name_en,required_skill,default_duration_min,urgency_class\n"
const goodRow = "DL-MEAL-DELIVERY,daily_life,送餐上门,Meal delivery,meal_service,30,scheduled\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		line  int
		field string
	}{
		{"empty file", "", 1, "header"},
		{"header only", header, 2, "code"},
		{"wrong header", strings.Replace(header, "name_en", "english", 1) + goodRow, 1, "header"},
		{"too few columns", header + "DL-X,daily_life,送餐,Meal,meal_service,30\n", 2, "columns"},
		{"too many columns", header + goodRow + "DL-X,daily_life,送餐,Meal,meal_service,30,soon,extra\n", 3, "columns"},
		{"bad quoting", header + `DL-X,daily_life,"送餐,Meal,meal_service,30,soon` + "\n", 2, "record"},
		{"empty code", header + ",daily_life,送餐,Meal,meal_service,30,soon\n", 2, "code"},
		{"empty name_zh", header + "DL-X,daily_life, ,Meal,meal_service,30,soon\n", 2, "name_zh"},
		{"empty name_en", header + "DL-X,daily_life,送餐,,meal_service,30,soon\n", 2, "name_en"},
		{"spaces around skill", header + "DL-X,daily_life,送餐,Meal,meal_service ,30,soon\n", 2, "required_skill"},
		{"lower-case code", header + "dl-meal,daily_life,送餐,Meal,meal_service,30,soon\n", 2, "code"},
		{"code without segment", header + "DL,daily_life,送餐,Meal,meal_service,30,soon\n", 2, "code"},
		{"code wrong prefix", header + "HC-MEAL,daily_life,送餐,Meal,meal_service,30,soon\n", 2, "code"},
		{"unknown category", header + "DL-X,meals,送餐,Meal,meal_service,30,soon\n", 2, "category"},
		{"skill not snake_case", header + "DL-X,daily_life,送餐,Meal,Meal Service,30,soon\n", 2, "required_skill"},
		{"duration not a number", header + "DL-X,daily_life,送餐,Meal,meal_service,half an hour,soon\n", 2, "default_duration_min"},
		{"duration signed", header + "DL-X,daily_life,送餐,Meal,meal_service,+30,soon\n", 2, "default_duration_min"},
		{"duration too short", header + "DL-X,daily_life,送餐,Meal,meal_service,4,soon\n", 2, "default_duration_min"},
		{"duration too long", header + "DL-X,daily_life,送餐,Meal,meal_service,481,soon\n", 2, "default_duration_min"},
		{"unknown urgency", header + "DL-X,daily_life,送餐,Meal,meal_service,30,urgent\n", 2, "urgency_class"},
		{"emergency not urgent", header + "EM-FALL,emergency,跌倒,Fall,emergency_response,60,soon\n", 2, "urgency_class"},
		{"duplicate code", header + goodRow + "DL-X,daily_life,送餐,Meal,meal_service,30,soon\n" + goodRow, 4, "code"},
		{"invalid utf-8", header + "DL-X,daily_life,\xff\xfe,Meal,meal_service,30,soon\n", 2, "name_zh"},
		{"name too long", header + "DL-X,daily_life," + strings.Repeat("餐", 101) + ",Meal,meal_service,30,soon\n", 2, "name_zh"},
		{"error on a later line", header + goodRow + "\n" + "DL-Y,daily_life,送餐,Meal,meal_service,0,soon\n", 4, "default_duration_min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			types, err := parse(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("parse() = %d types, want an error", len(types))
			}
			if carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != tt.field {
				t.Errorf("parse() = %v (code %s, field %q), want invalid %q", err, carehex.ErrorCode(err), carehex.ErrorField(err), tt.field)
			}
			want := "services.csv line " + strconv.Itoa(tt.line) + ": " + tt.field + ": "
			if msg := carehex.ErrorMessage(err); !strings.HasPrefix(msg, want) {
				t.Errorf("message %q should start with %q", msg, want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	in := "\uFEFF" + header + goodRow + "\r\n" +
		`EM-FALL,emergency,"跌倒救助",Fall response,emergency_response,60,emergency` + "\r\n"
	types, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatalf("parse() = %v", err)
	}
	want := []carehex.ServiceType{
		{Code: "DL-MEAL-DELIVERY", Category: carehex.CategoryDailyLife, NameZH: "送餐上门", NameEN: "Meal delivery",
			RequiredSkill: "meal_service", DefaultDuration: 30 * time.Minute, UrgencyClass: carehex.ClassScheduled},
		{Code: "EM-FALL", Category: carehex.CategoryEmergency, NameZH: "跌倒救助", NameEN: "Fall response",
			RequiredSkill: "emergency_response", DefaultDuration: time.Hour, UrgencyClass: carehex.ClassEmergency},
	}
	if len(types) != len(want) {
		t.Fatalf("parse() = %d types, want %d", len(types), len(want))
	}
	for i := range want {
		if *types[i] != want[i] {
			t.Errorf("type %d = %+v, want %+v", i, *types[i], want[i])
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(servicesCSV)
	f.Add(header + goodRow)
	f.Add(header + `"DL-X",daily_life,"a""b",x,y_z,5,soon` + "\n")
	f.Add(header + "EM-X,emergency,a,b,c,480,emergency\r\n")
	f.Add("")
	f.Add("\uFEFF" + header)
	f.Fuzz(func(t *testing.T, in string) {
		types, err := parse(strings.NewReader(in))
		if err != nil {
			if carehex.ErrorCode(err) != carehex.EINVALID {
				t.Fatalf("parse() = %v, want an invalid-argument error", err)
			}
			if types != nil {
				t.Fatalf("parse() returned types with an error")
			}
			return
		}
		// Whatever parses must satisfy what the rest of carehex relies on.
		codes := map[string]bool{}
		for _, st := range types {
			if codes[st.Code] || !codePattern.MatchString(st.Code) {
				t.Fatalf("bad or duplicate code %q accepted", st.Code)
			}
			codes[st.Code] = true
			if st.DefaultDuration < minDurationMin*time.Minute || st.DefaultDuration > maxDurationMin*time.Minute {
				t.Fatalf("duration %v accepted", st.DefaultDuration)
			}
			if st.Category == carehex.CategoryEmergency && st.UrgencyClass != carehex.ClassEmergency {
				t.Fatalf("non-urgent emergency type %s accepted", st.Code)
			}
		}
	})
}

func containsHan(s string) bool {
	for _, r := range s {
		if r >= 0x4E00 && r <= 0x9FFF {
			return true
		}
	}
	return false
}
