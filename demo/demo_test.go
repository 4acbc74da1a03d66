package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/catalog"
)

// Zibo's extent (117°32′–118°31′ E, 35°56′–37°18′ N).
const (
	ziboMinLat, ziboMaxLat = 35.93, 37.30
	ziboMinLng, ziboMaxLng = 117.53, 118.52
)

func inZibo(p carehex.LatLng) bool {
	return p.Lat >= ziboMinLat && p.Lat <= ziboMaxLat && p.Lng >= ziboMinLng && p.Lng <= ziboMaxLng
}

func catalogSkills(t testing.TB) []string {
	t.Helper()
	types, err := catalog.Load()
	if err != nil {
		t.Fatalf("catalog.Load() = %v", err)
	}
	return catalog.Skills(types)
}

func TestDistricts(t *testing.T) {
	total := 0
	codes := map[string]bool{}
	for _, d := range Districts {
		total += d.Weight
		if !inZibo(d.Centre) {
			t.Errorf("%s centre %v is outside Zibo", d.Name, d.Centre)
		}
		if codes[d.Code] || !strings.HasPrefix(d.Code, "3703") || len(d.Code) != 6 {
			t.Errorf("%s has a bad or repeated division code %s", d.Name, d.Code)
		}
		codes[d.Code] = true
		if len(d.roads) < 5 {
			t.Errorf("%s has only %d roads", d.Name, len(d.roads))
		}
		if d.Weight > Districts[0].Weight {
			t.Errorf("%s outweighs Zhangdian", d.Name)
		}
		if d.SpreadKM < 1 || d.SpreadKM > 4 {
			t.Errorf("%s spreads %v km", d.Name, d.SpreadKM)
		}
	}
	if total != 100 {
		t.Errorf("weights sum to %d, want 100", total)
	}
	if km := distanceKM(ZiboCentre, Districts[0].Centre); km > 5 {
		t.Errorf("ZiboCentre is %.1f km from Zhangdian's centre", km)
	}
}

func TestResidentsDeterministic(t *testing.T) {
	a, b := SeedResidents(7, 1500), SeedResidents(7, 1500)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different residents")
	}
	if c := SeedResidents(8, 1500); reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same residents")
	}
	// Drawing in batches (as Seed does) gives the same sequence as one go.
	g := newResidentGen(newRand(7, residentStream))
	var batched []*carehex.Resident
	for _, n := range []int{1, 499, 1000} {
		batched = append(batched, g.take(n)...)
	}
	if !reflect.DeepEqual(a, batched) {
		t.Fatal("batched generation differs from Residents")
	}
	// A longer run starts with the shorter one.
	if long := SeedResidents(7, 2000); !reflect.DeepEqual(a, long[:1500]) {
		t.Fatal("more residents changed the first ones")
	}
}

func TestProvidersDeterministic(t *testing.T) {
	skills := catalogSkills(t)
	a, b := SeedProviders(3, 400, skills), SeedProviders(3, 400, skills)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different providers")
	}
	if c := SeedProviders(4, 400, skills); reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same providers")
	}
	// The order skills are passed in does not matter.
	rev := slices.Clone(skills)
	slices.Reverse(rev)
	if c := SeedProviders(3, 400, rev); !reflect.DeepEqual(a, c) {
		t.Fatal("providers depend on the order of skills")
	}
}

func TestResidents(t *testing.T) {
	const n = 6000
	rs := SeedResidents(1, n)
	if len(rs) != n {
		t.Fatalf("got %d residents, want %d", len(rs), n)
	}
	phones, ids, names := map[string]bool{}, map[string]bool{}, map[string]int{}
	var withID, withContacts, withNotes, dialect, female, near30 int
	for i, r := range rs {
		if err := r.Validate(); err != nil {
			t.Fatalf("resident %d (%s) does not validate: %v", i, r.Name, err)
		}
		if phones[r.Phone] {
			t.Errorf("phone %s is used twice", r.Phone)
		}
		phones[r.Phone] = true
		checkMobile(t, r.Phone, residentPrefixes)
		if n := utf8.RuneCountInString(r.Name); n < 2 || n > 3 {
			t.Errorf("name %q has %d characters", r.Name, n)
		}
		names[r.Name]++
		if r.BirthYear < minBirthYear || r.BirthYear > maxBirthYear {
			t.Errorf("%s born %d", r.Name, r.BirthYear)
		}
		if r.Gender != carehex.GenderFemale && r.Gender != carehex.GenderMale {
			t.Errorf("%s has gender %q", r.Name, r.Gender)
		}
		if r.Gender == carehex.GenderFemale {
			female++
		}
		d := districtByName(r.District)
		if d == nil {
			t.Fatalf("%s lives in unknown district %q", r.Name, r.District)
		}
		if !strings.HasPrefix(r.Address, r.District) || !strings.Contains(r.Address, "号") {
			t.Errorf("address %q does not look like one in %s", r.Address, r.District)
		}
		if km := distanceKM(r.Location, d.Centre); km > d.SpreadKM*MaxSpreadSigmas+0.01 {
			t.Errorf("%s lives %.1f km from the centre of %s", r.Name, km, d.Name)
		}
		if !inZibo(r.Location) {
			t.Errorf("%s lives at %v, outside Zibo", r.Name, r.Location)
		}
		if distanceKM(r.Location, ZiboCentre) <= 30 {
			near30++
		}
		if r.IDNumber != "" {
			withID++
			if ids[r.IDNumber] {
				t.Errorf("ID number %s is used twice", r.IDNumber)
			}
			ids[r.IDNumber] = true
			checkIDNumber(t, r, d)
		}
		if len(r.EmergencyContacts) > 2 {
			t.Errorf("%s has %d emergency contacts", r.Name, len(r.EmergencyContacts))
		}
		if len(r.EmergencyContacts) > 0 {
			withContacts++
		}
		for _, c := range r.EmergencyContacts {
			checkMobile(t, c.Phone, contactPrefixes)
			if c.Relation == "" || c.Name == r.Name {
				t.Errorf("%s has contact %+v", r.Name, c)
			}
		}
		switch r.Preferences.Language {
		case "淄博话":
			dialect++
		case "普通话":
		default:
			t.Errorf("%s speaks %q", r.Name, r.Preferences.Language)
		}
		if notes := r.Preferences.Notes; notes != "" {
			withNotes++
			if strings.Contains(notes, "独居") && strings.Contains(notes, "老伴") {
				t.Errorf("%s lives alone with a spouse: %s", r.Name, notes)
			}
		}
	}
	// Shares: wide bounds that catch a broken generator, not sampling noise.
	share := func(what string, got int, lo, hi float64) {
		t.Helper()
		if f := float64(got) / n; f < lo || f > hi {
			t.Errorf("%s: %.2f, want %.2f to %.2f", what, f, lo, hi)
		}
	}
	share("with ID numbers", withID, 0.5, 0.7)
	share("with emergency contacts", withContacts, 0.75, 0.95)
	share("with notes", withNotes, 0.3, 0.6)
	share("speaking the Zibo dialect", dialect, 0.5, 0.7)
	share("women", female, 0.5, 0.62)
	share("within 30 km of the city centre", near30, 0.8, 0.9)
	// As in real life, some names recur: 王秀英 is on every hotline's list.
	repeated := 0
	for _, c := range names {
		if c > 1 {
			repeated++
		}
	}
	if repeated < 100 || len(names) < n/2 {
		t.Errorf("%d distinct names, %d of them repeated: want variety with some repeats", len(names), repeated)
	}
}

// checkMobile checks an 11-digit mainland mobile number from prefixes.
func checkMobile(t *testing.T, phone string, prefixes []string) {
	t.Helper()
	if len(phone) != 11 || phone[0] != '1' || phone[1] < '3' || phone[1] > '9' {
		t.Errorf("%q is not a mainland mobile number", phone)
	}
	if _, err := strconv.ParseUint(phone, 10, 64); err != nil {
		t.Errorf("%q has non-digits", phone)
	}
	if !slices.Contains(prefixes, phone[:3]) {
		t.Errorf("%q does not start with one of %v", phone, prefixes)
	}
}

// checkIDNumber checks the structure of GB 11643-1999 against the record.
func checkIDNumber(t *testing.T, r *carehex.Resident, d *District) {
	t.Helper()
	id := r.IDNumber
	if len(id) != 18 {
		t.Fatalf("ID number %q is not 18 characters", id)
	}
	if id[:6] != d.Code {
		t.Errorf("ID number %s does not start with %s's code %s", id, d.Name, d.Code)
	}
	if y, _ := strconv.Atoi(id[6:10]); y != r.BirthYear {
		t.Errorf("ID number %s does not embed birth year %d", id, r.BirthYear)
	}
	if m, _ := strconv.Atoi(id[10:12]); m < 1 || m > 12 {
		t.Errorf("ID number %s has month %d", id, m)
	}
	if seq := id[16] - '0'; (seq%2 == 1) != (r.Gender == carehex.GenderMale) {
		t.Errorf("ID number %s: sequence parity does not match gender %s", id, r.Gender)
	}
	sum := 0
	for i := range 17 {
		sum += int(id[i]-'0') * idWeights[i]
	}
	// Check digit rule: (sum + value of check) ≡ 1 (mod 11), X standing for 10.
	check := 10
	if id[17] != 'X' {
		check = int(id[17] - '0')
	}
	if (sum+check)%11 != 1 {
		t.Errorf("ID number %s has a wrong check character", id)
	}
}

func TestDistrictShares(t *testing.T) {
	const n = 20000
	count := map[string]int{}
	for _, r := range SeedResidents(11, n) {
		count[r.District]++
	}
	for _, d := range Districts {
		want := float64(d.Weight) / 100
		got := float64(count[d.Name]) / n
		// Three standard deviations of a binomial share, plus a little.
		tol := 3*math.Sqrt(want*(1-want)/n) + 0.005
		if math.Abs(got-want) > tol {
			t.Errorf("%s: %.3f of residents, want %.3f ± %.3f", d.Name, got, want, tol)
		}
	}
}

func TestProviders(t *testing.T) {
	skills := catalogSkills(t)
	const n = 2000
	ps := SeedProviders(1, n, skills)
	if len(ps) != n {
		t.Fatalf("got %d providers, want %d", len(ps), n)
	}
	residentPhones := map[string]bool{}
	for _, r := range SeedResidents(1, 5000) {
		residentPhones[r.Phone] = true
	}
	phones := map[string]bool{}
	held := map[string]int{}
	var female, tradesMen, tradesWomen, men int
	for i, p := range ps {
		if err := p.Validate(); err != nil {
			t.Fatalf("provider %d (%s) does not validate: %v", i, p.Name, err)
		}
		if phones[p.Phone] || residentPhones[p.Phone] {
			t.Errorf("phone %s is used twice", p.Phone)
		}
		phones[p.Phone] = true
		checkMobile(t, p.Phone, providerPrefixes)
		if len(p.Skills) < 1 || len(p.Skills) > 4 || !slices.IsSorted(p.Skills) ||
			len(slices.Compact(slices.Clone(p.Skills))) != len(p.Skills) {
			t.Errorf("%s has skills %v: want 1–4 distinct, sorted", p.Name, p.Skills)
		}
		trade := false
		for _, s := range p.Skills {
			if !slices.Contains(skills, s) {
				t.Errorf("%s has skill %q, not in the catalogue", p.Name, s)
			}
			held[s]++
			trade = trade || strings.HasPrefix(s, "repair_")
		}
		if p.Gender == carehex.GenderFemale {
			female++
			if trade {
				tradesWomen++
			}
		} else {
			men++
			if trade {
				tradesMen++
			}
		}
		if !slices.Contains(p.Languages, "普通话") {
			t.Errorf("%s speaks %v", p.Name, p.Languages)
		}
		d := providerDistrict(p)
		if d == nil {
			t.Fatalf("%s works for %q, not an organisation of a Zibo district", p.Name, p.Organisation)
		}
		if km := distanceKM(p.Home, d.Centre); km > d.SpreadKM*MaxSpreadSigmas+0.01 {
			t.Errorf("%s lives %.1f km from %s", p.Name, km, d.Name)
		}
		if !p.Active {
			t.Errorf("%s is not active", p.Name)
		}
	}
	if f := float64(female) / n; f < 0.8 || f > 0.95 {
		t.Errorf("%.2f of providers are women, want most", f)
	}
	if tradesMen*female <= tradesWomen*men {
		t.Errorf("trades: %d of %d men, %d of %d women; want men more often", tradesMen, men, tradesWomen, female)
	}
	for _, s := range skills {
		if held[s] == 0 {
			t.Errorf("no provider has skill %s", s)
		}
	}
	for _, common := range []string{"meal_service", "cleaning", "personal_care"} {
		for _, rare := range []string{"teaching", "legal_aid", "hospice_care"} {
			if held[common] <= 3*held[rare] {
				t.Errorf("%s (%d) should be far commoner than %s (%d)", common, held[common], rare, held[rare])
			}
		}
	}
}

// providerDistrict finds the district a provider's organisation is in.
func providerDistrict(p *carehex.Provider) *District {
	for i := range Districts {
		if strings.HasPrefix(p.Organisation, Districts[i].Name) {
			return &Districts[i]
		}
	}
	return nil
}

func TestProvidersSmall(t *testing.T) {
	skills := catalogSkills(t)
	ps := Providers(rand.New(rand.NewPCG(1, 2)), len(skills), skills)
	held := map[string]bool{}
	for _, p := range ps {
		for _, s := range p.Skills {
			held[s] = true
		}
	}
	for _, s := range skills {
		if !held[s] {
			t.Errorf("with %d providers, no one has skill %s", len(ps), s)
		}
	}
	if got := Providers(rand.New(rand.NewPCG(1, 2)), 0, skills); len(got) != 0 {
		t.Errorf("Providers(0) = %d providers", len(got))
	}
	if got := Residents(rand.New(rand.NewPCG(1, 2)), 0); len(got) != 0 {
		t.Errorf("Residents(0) = %d residents", len(got))
	}
}

// fakeStore keeps people in memory and refuses what the real store would.
type fakeStore struct {
	residents []*carehex.Resident
	providers []*carehex.Provider
	phones    map[string]bool
	calls     int
	failAt    int // fail the failAt-th create call; 0 never
}

var errFake = carehex.Errorf(carehex.EUNAVAILABLE, "", "fake store is down")

func (s *fakeStore) create() error {
	s.calls++
	if s.failAt != 0 && s.calls == s.failAt {
		return errFake
	}
	return nil
}

func (s *fakeStore) addPhone(p string) error {
	if s.phones == nil {
		s.phones = map[string]bool{}
	}
	if s.phones[p] {
		return carehex.Errorf(carehex.ECONFLICT, "phone", "phone %s is taken", p)
	}
	s.phones[p] = true
	return nil
}

func (s *fakeStore) CreateResident(_ context.Context, r *carehex.Resident) error {
	if err := s.create(); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	if err := s.addPhone(r.Phone); err != nil {
		return err
	}
	s.residents = append(s.residents, r)
	return nil
}

func (s *fakeStore) CreateProvider(_ context.Context, p *carehex.Provider) error {
	if err := s.create(); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if err := s.addPhone(p.Phone); err != nil {
		return err
	}
	s.providers = append(s.providers, p)
	return nil
}

func (s *fakeStore) UpdateResident(context.Context, *carehex.Resident) error {
	return errors.ErrUnsupported
}
func (s *fakeStore) Resident(context.Context, string) (*carehex.Resident, error) {
	return nil, errors.ErrUnsupported
}
func (s *fakeStore) SearchResidents(context.Context, carehex.ResidentFilter) ([]*carehex.Resident, error) {
	return nil, errors.ErrUnsupported
}
func (s *fakeStore) LinkFamilyMember(context.Context, *carehex.FamilyMember) error {
	return errors.ErrUnsupported
}
func (s *fakeStore) FamilyMembers(context.Context, string) ([]*carehex.FamilyMember, error) {
	return nil, errors.ErrUnsupported
}
func (s *fakeStore) Provider(context.Context, string) (*carehex.Provider, error) {
	return nil, errors.ErrUnsupported
}
func (s *fakeStore) Providers(context.Context, int) ([]*carehex.Provider, error) {
	return s.providers, nil
}
func (s *fakeStore) ProvidersByID(context.Context, []string) ([]*carehex.Provider, error) {
	return nil, errors.ErrUnsupported
}

// importingStore adds the bulk path, refusing a whole batch if one record is bad.
type importingStore struct {
	fakeStore
	imports []int // batch sizes
}

func (s *importingStore) ImportResidents(ctx context.Context, rs []*carehex.Resident) error {
	if err := s.create(); err != nil {
		return err
	}
	for _, r := range rs {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	for _, r := range rs {
		if err := s.addPhone(r.Phone); err != nil {
			return err
		}
	}
	s.residents = append(s.residents, rs...)
	s.imports = append(s.imports, len(rs))
	return nil
}

func TestSeed(t *testing.T) {
	skills := catalogSkills(t)
	// Enough residents for several import batches and a partial one.
	const residents, providers = 2*importBatch + 500, 300
	for _, tt := range []struct {
		name  string
		store interface {
			Store
			people() *fakeStore
		}
	}{
		{"one by one", &fakeStore{}},
		{"bulk import", &importingStore{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var calls [][2]int
			err := Seed(context.Background(), tt.store, 42, residents, providers, skills, func(done, total int) {
				calls = append(calls, [2]int{done, total})
			})
			if err != nil {
				t.Fatalf("Seed() = %v", err)
			}
			fs := tt.store.people()
			if !reflect.DeepEqual(fs.residents, SeedResidents(42, residents)) {
				t.Error("seeded residents differ from SeedResidents")
			}
			if !reflect.DeepEqual(fs.providers, SeedProviders(42, providers, skills)) {
				t.Error("seeded providers differ from SeedProviders")
			}
			if len(calls) < 2 || calls[len(calls)-1] != [2]int{residents + providers, residents + providers} {
				t.Fatalf("progress calls %v: want several, ending with the total", calls)
			}
			for i, c := range calls {
				if c[1] != residents+providers || (i > 0 && c[0] <= calls[i-1][0]) {
					t.Fatalf("progress calls %v are not increasing towards the total", calls)
				}
			}
			if is, ok := tt.store.(*importingStore); ok {
				sum := 0
				for _, b := range is.imports {
					sum += b
					if b > importBatch {
						t.Errorf("import batch of %d, more than %d", b, importBatch)
					}
				}
				if sum != residents || len(is.imports) != 3 {
					t.Errorf("import batches %v: want 3 adding up to %d", is.imports, residents)
				}
			}
		})
	}
}

func (s *fakeStore) people() *fakeStore { return s }

func TestSeedErrors(t *testing.T) {
	skills := catalogSkills(t)
	ctx := context.Background()
	t.Run("store fails", func(t *testing.T) {
		for _, failAt := range []int{1, 5, 25} { // a provider, then a resident
			s := &fakeStore{failAt: failAt}
			err := Seed(ctx, s, 1, 20, 10, skills, nil)
			if !errors.Is(err, errFake) || carehex.ErrorCode(err) != carehex.EUNAVAILABLE {
				t.Errorf("failAt %d: Seed() = %v, want the store's error", failAt, err)
			}
			if got := len(s.residents) + len(s.providers); got != failAt-1 {
				t.Errorf("failAt %d: %d people saved, want %d", failAt, got, failAt-1)
			}
		}
	})
	t.Run("import fails", func(t *testing.T) {
		s := &importingStore{fakeStore: fakeStore{failAt: 11}}
		if err := Seed(ctx, s, 1, 20, 10, skills, nil); !errors.Is(err, errFake) {
			t.Errorf("Seed() = %v, want the store's error", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		s := &fakeStore{}
		err := Seed(cctx, s, 1, 5000, 10, skills, func(done, total int) {
			if done >= 2000 {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Seed() = %v, want context.Canceled", err)
		}
		if n := len(s.residents) + len(s.providers); n > 2001 {
			t.Errorf("%d people saved after cancelling at 2000", n)
		}
	})
	for _, tt := range []struct {
		name                 string
		residents, providers int
		skills               []string
		field                string
	}{
		{"negative residents", -1, 1, skills, "residents"},
		{"negative providers", 1, -1, skills, "providers"},
		{"no skills", 1, 1, nil, "skills"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &fakeStore{}
			err := Seed(ctx, s, 1, tt.residents, tt.providers, tt.skills, nil)
			if carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != tt.field {
				t.Errorf("Seed() = %v, want invalid %s", err, tt.field)
			}
			if s.calls != 0 {
				t.Errorf("the store was called %d times", s.calls)
			}
		})
	}
	t.Run("nothing to do", func(t *testing.T) {
		var calls []string
		if err := Seed(ctx, &fakeStore{}, 1, 0, 0, nil, func(done, total int) {
			calls = append(calls, fmt.Sprint(done, total))
		}); err != nil {
			t.Fatalf("Seed() = %v", err)
		}
		if !slices.Equal(calls, []string{"0 0"}) {
			t.Errorf("progress calls %v, want one (0, 0)", calls)
		}
	})
}

func BenchmarkResidents(b *testing.B) {
	g := newResidentGen(newRand(1, residentStream))
	for b.Loop() {
		g.next()
	}
}

func BenchmarkProviders(b *testing.B) {
	skills := catalogSkills(b)
	rng := newRand(1, providerStream)
	ph := newPhones(providerPrefixes)
	for b.Loop() {
		provider(rng, ph, skills, "")
	}
}
