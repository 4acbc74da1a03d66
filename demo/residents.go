package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carehex/carehex"
)

// Mobile-number prefixes, one disjoint range per kind of person, so a
// resident's, a relative's and a provider's numbers can never collide and a
// number's kind can be told at a glance when reading demo data.
var (
	residentPrefixes = []string{"134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159"}
	contactPrefixes  = []string{"180", "181", "182", "183", "185", "186", "187", "188", "189", "199"}
	providerPrefixes = []string{"166", "173", "175", "176", "177", "178"}
)

// phones hands out unique mobile numbers from a set of prefixes.
type phones struct {
	prefixes []string
	used     map[string]bool
}

func newPhones(prefixes []string) *phones {
	return &phones{prefixes: prefixes, used: map[string]bool{}}
}

// next returns an unused 11-digit number. With 10^8 numbers per prefix the
// redraw loop almost never turns twice.
func (p *phones) next(rng *rand.Rand) string {
	for {
		n := p.prefixes[rng.IntN(len(p.prefixes))] + fmt.Sprintf("%08d", rng.IntN(100_000_000))
		if !p.used[n] {
			p.used[n] = true
			return n
		}
	}
}

// Birth years of the demo's residents: the hotline serves people over 65.
const (
	minBirthYear = 1930
	maxBirthYear = 1960
)

// Share of residents whose record holds an ID number; the rest registered
// by phone and never gave one.
const idNumberShare = 0.6

// residentNotes are remarks operators leave on records; the English is for
// readers of this file.
var residentNotes = []weighted{
	{"听力不好，说话请大声", 14}, // hard of hearing
	{"行动不便，使用轮椅", 10},  // uses a wheelchair
	{"独居", 16},         // lives alone
	{"视力差", 6},         // poor eyesight
	{"患糖尿病", 8},        // diabetic
	{"高血压", 10},        // high blood pressure
	{"轻度认知障碍，重要事项请与子女确认", 5}, // mild dementia: confirm important things with the children
	{"老伴卧床", 4},     // spouse is bedridden
	{"上门前请先打电话", 6}, // phone before coming
	{"住顶楼无电梯", 6},   // top floor, no lift
	{"家里养狗", 3},     // has a dog
	{"低盐饮食", 4},     // low-salt diet
	{"素食", 2},       // vegetarian
}

// contradicts pairs notes that cannot both be true (in either order).
var contradicts = map[string]string{
	"独居":   "老伴卧床",
	"老伴卧床": "独居",
}

var contactRelations = []weighted{
	{"儿子", 40}, {"女儿", 40}, {"儿媳", 8}, {"女婿", 5}, {"孙子", 3}, {"孙女", 3}, {"侄子", 2}, {"邻居", 2},
}

// residentGen draws residents one at a time. It keeps the numbers already
// handed out, so that Seed can draw in batches and still get exactly the
// sequence Residents would.
type residentGen struct {
	rng      *rand.Rand
	phones   *phones
	contacts *phones
	ids      map[string]bool
}

func newResidentGen(rng *rand.Rand) *residentGen {
	return &residentGen{rng: rng, phones: newPhones(residentPrefixes), contacts: newPhones(contactPrefixes),
		ids: map[string]bool{}}
}

// Residents returns n synthetic elderly residents of Zibo, each of which
// passes Validate, with unique phone numbers and ID numbers. The same rng
// state gives the same residents.
func Residents(rng *rand.Rand, n int) []*carehex.Resident {
	return newResidentGen(rng).take(n)
}

func (g *residentGen) take(n int) []*carehex.Resident {
	out := make([]*carehex.Resident, 0, max(n, 0))
	for range n {
		out = append(out, g.next())
	}
	return out
}

func (g *residentGen) next() *carehex.Resident {
	rng := g.rng
	d := &Districts[pickDistrict(rng)]
	// Women outlive men, so they are the majority of the very old.
	gender := carehex.GenderMale
	if rng.Float64() < 0.56 {
		gender = carehex.GenderFemale
	}
	// Skewed towards the younger end: there are more people in their
	// seventies than in their nineties.
	span := float64(maxBirthYear - minBirthYear + 1)
	year := maxBirthYear - int(span*math.Pow(rng.Float64(), 1.4))
	r := &carehex.Resident{
		Name:      elderName(rng, gender, year),
		Phone:     g.phones.next(rng),
		Gender:    gender,
		BirthYear: year,
		District:  d.Name,
		Address:   address(rng, d),
		Location:  d.near(rng),
	}
	if rng.Float64() < idNumberShare {
		r.IDNumber = g.idNumber(d, gender, year)
	}
	r.EmergencyContacts = g.emergencyContacts(r)
	r.Preferences = preferences(rng, gender)
	return r
}

// address writes a home address the way residents give it on the phone:
// district, road, house number, then building, unit and flat. Most of the
// elderly live in six-storey walk-ups from the 1980s and 1990s.
func address(rng *rand.Rand, d *District) string {
	road := d.roads[rng.IntN(len(d.roads))]
	no := 1 + rng.IntN(260)
	flat := fmt.Sprintf("%d%02d", 1+rng.IntN(6), 1+rng.IntN(2))
	switch x := rng.IntN(10); {
	case x < 5:
		return fmt.Sprintf("%s%s%d号%d号楼%d单元%s", d.Name, road, no, 1+rng.IntN(24), 1+rng.IntN(4), flat)
	case x < 9:
		return fmt.Sprintf("%s%s%d号%d单元%s", d.Name, road, no, 1+rng.IntN(4), flat)
	default: // a single-storey courtyard house (平房)
		return fmt.Sprintf("%s%s%d号", d.Name, road, no)
	}
}

// idWeights and idCheck implement the check character of GB 11643-1999.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheck = "10X98765432"

// idNumber returns an unused 18-character resident ID number: the district's
// division code, the birth date, a sequence number (odd for men, even for
// women) and a valid check character.
func (g *residentGen) idNumber(d *District, gender carehex.Gender, year int) string {
	for {
		day := time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, g.rng.IntN(365))
		seq := 2 * g.rng.IntN(500) // even: 000…998
		if gender == carehex.GenderMale {
			seq++
		}
		body := d.Code + day.Format("20060102") + fmt.Sprintf("%03d", seq)
		sum := 0
		for i := range 17 {
			sum += int(body[i]-'0') * idWeights[i]
		}
		id := body + string(idCheck[sum%11])
		if !g.ids[id] {
			g.ids[id] = true
			return id
		}
	}
}

// emergencyContacts returns none, one or two relatives, mostly children.
// Children and grandchildren carry the father's surname: the resident's own
// for a man, her husband's for a woman. A nephew (侄子, a brother's son)
// carries the resident's own; in-laws and neighbours anything.
func (g *residentGen) emergencyContacts(r *carehex.Resident) []carehex.Contact {
	rng := g.rng
	var n int
	switch x := rng.IntN(100); {
	case x < 15:
		return nil
	case x < 60:
		n = 1
	default:
		n = 2
	}
	first, _ := utf8.DecodeRuneInString(r.Name)
	own, family := string(first), string(first)
	if r.Gender == carehex.GenderFemale {
		family = pick(rng, surnames)
	}
	out := make([]carehex.Contact, 0, n)
	for len(out) < n {
		rel := pick(rng, contactRelations)
		if len(out) == 1 && out[0].Relation == rel && rel != "儿子" && rel != "女儿" {
			continue // two sons-in-law on one record would be odd
		}
		cg := carehex.GenderFemale
		if strings.ContainsAny(rel, "子婿") {
			cg = carehex.GenderMale
		}
		surname := ""
		switch rel {
		case "儿子", "女儿", "孙子", "孙女":
			surname = family
		case "侄子":
			surname = own
		}
		name := youngerName(rng, cg, surname)
		if name == r.Name {
			continue // children are never named after a parent
		}
		out = append(out, carehex.Contact{Name: name, Phone: g.contacts.next(rng), Relation: rel})
	}
	return out
}

// preferences: most speak the Zibo dialect at home; a few ask for a worker
// of their own sex (usually women, for bathing and personal care); some
// records carry operator notes.
func preferences(rng *rand.Rand, gender carehex.Gender) carehex.Preferences {
	p := carehex.Preferences{Language: "淄博话"}
	if rng.Float64() < 0.4 {
		p.Language = "普通话"
	}
	if rng.Float64() < 0.12 {
		p.PreferredProviderGender = carehex.GenderFemale
		if gender == carehex.GenderMale && rng.IntN(3) == 0 {
			p.PreferredProviderGender = carehex.GenderMale
		}
	}
	var notes []string
	for rng.Float64() < 0.45 && len(notes) < 3 {
		n := pick(rng, residentNotes)
		if !slices.Contains(notes, n) && !slices.Contains(notes, contradicts[n]) {
			notes = append(notes, n)
		}
	}
	p.Notes = strings.Join(notes, "；")
	return p
}
