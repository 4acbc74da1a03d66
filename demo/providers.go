package demo

import (
	"math/rand/v2"
	"slices"

	"github.com/carehex/carehex"
)

// skillWeights says how common each catalogue skill is among care workers:
// most do meals, cleaning and personal care; few are nurses, therapists or
// teachers. A skill missing here (one added to the catalogue later) gets
// defaultSkillWeight.
var skillWeights = map[string]int{
	"meal_service": 12, "cleaning": 12, "personal_care": 11, "companionship": 7, "errands": 7,
	"bathing": 5, "mobility_aid": 5, "emergency_response": 5, "medical_escort": 4, "nursing": 4,
	"rehab_therapy": 3, "haircut": 2, "foot_care": 2, "repair_plumbing": 1, "repair_electrical": 1,
	"repair_appliance": 1, "repair_general": 1, "consulting": 2, "counselling": 1, "legal_aid": 1,
	"hospice_care": 1, "teaching": 1,
}

const defaultSkillWeight = 2

// maleSkillBoost multiplies the weight of the trades for male workers: in
// Zibo as elsewhere the plumbers and electricians are mostly men.
var maleSkillBoost = map[string]int{
	"repair_plumbing": 12, "repair_electrical": 12, "repair_appliance": 12, "repair_general": 12,
	"emergency_response": 2,
}

// Organisations are named "<district><brand><kind>", the way civil-affairs
// bureaus list their contracted providers.
var (
	orgBrands = []string{"颐和", "康乐", "福寿", "夕阳红", "安康", "慈爱", "颐养", "乐龄", "幸福里", "孝和",
		"仁和", "德馨", "松鹤", "金晖", "康宁", "惠民"}
	orgKinds = []string{"居家养老服务中心", "养老服务有限公司", "社区养老服务站", "家政服务有限公司", "护理服务中心"}
)

// orgsPerDistrict is how many organisations employ a district's workers.
const orgsPerDistrict = 5

// organisation returns the k-th organisation of district d. The choice of
// brand depends only on d and k, so an organisation's name is the same in
// every demo run whatever the number of providers.
func organisation(di, k int) string {
	brand := orgBrands[(di*orgsPerDistrict+k*3)%len(orgBrands)]
	return Districts[di].Name + brand + orgKinds[k%len(orgKinds)]
}

// Providers returns n synthetic care workers around Zibo, each of which
// passes Validate, with phone numbers unique among them and from a prefix
// range no resident or relative uses. Skills are drawn from skills (1 to 4 each, weighted
// towards everyday care); as long as n ≥ len(skills), every skill is held by
// at least one provider, so the demo can dispatch every service type. The
// same rng state gives the same providers.
func Providers(rng *rand.Rand, n int, skills []string) []*carehex.Provider {
	skills = slices.Compact(slices.Sorted(slices.Values(skills)))
	ph := newPhones(providerPrefixes)
	out := make([]*carehex.Provider, 0, max(n, 0))
	for i := range n {
		// The first providers each bring one skill in turn, so rare skills
		// exist in a small demo too.
		var must string
		if i < len(skills) {
			must = skills[i]
		}
		out = append(out, provider(rng, ph, skills, must))
	}
	return out
}

func provider(rng *rand.Rand, ph *phones, skills []string, must string) *carehex.Provider {
	di := pickDistrict(rng)
	d := &Districts[di]
	// Nine care workers in ten are women, most in their forties and fifties.
	gender := carehex.GenderFemale
	if rng.Float64() < 0.12 {
		gender = carehex.GenderMale
	}
	langs := []string{"普通话", "淄博话"}
	if rng.Float64() < 0.2 { // moved in from elsewhere in Shandong
		langs = []string{"普通话"}
	}
	return &carehex.Provider{
		Name:         youngerName(rng, gender, ""),
		Phone:        ph.next(rng),
		Gender:       gender,
		Skills:       drawSkills(rng, skills, gender, must),
		Languages:    langs,
		Organisation: organisation(di, rng.IntN(orgsPerDistrict)),
		Home:         d.near(rng),
		Active:       true,
	}
}

// drawSkills picks 1–4 distinct skills by weight, always including must if
// it is not empty. Without skills to draw from it returns must alone, or
// "companionship" so the provider still validates.
func drawSkills(rng *rand.Rand, skills []string, gender carehex.Gender, must string) []string {
	var want int
	switch x := rng.IntN(10); {
	case x < 2:
		want = 1
	case x < 6:
		want = 2
	case x < 9:
		want = 3
	default:
		want = 4
	}
	var got []string
	if must != "" {
		got = append(got, must)
	}
	weights := make([]int, len(skills))
	total := 0
	for i, s := range skills {
		w, ok := skillWeights[s]
		if !ok {
			w = defaultSkillWeight
		}
		if gender == carehex.GenderMale && maleSkillBoost[s] > 0 {
			w *= maleSkillBoost[s]
		}
		if slices.Contains(got, s) {
			w = 0
		}
		weights[i], total = w, total+w
	}
	for len(got) < want && total > 0 {
		x := rng.IntN(total)
		for i, w := range weights {
			if x < w {
				got = append(got, skills[i])
				total -= w
				weights[i] = 0
				break
			}
			x -= w
		}
	}
	if len(got) == 0 {
		got = []string{"companionship"}
	}
	slices.Sort(got)
	return got
}
