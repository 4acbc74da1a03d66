package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	"github.com/carehex/carehex/internal/testenv"
)

// testNow is the fake clock's time: nanoseconds and a non-UTC zone on
// purpose, so tests see the store keep microseconds and answer in UTC.
var testNow = time.Date(2025, 3, 1, 9, 30, 0, 123456789, time.FixedZone("CST", 8*3600))

// env is one store under test with its clock.
type env struct {
	*DB
	clock *testenv.Clock
}

// dialects opens a fresh store per dialect: SQLite in a temporary file, and
// PostgreSQL in a new empty database on the test server.
var dialects = []struct {
	name string
	dsn  func(t testing.TB) string
}{
	// In a subdirectory that does not exist yet: Open creates it.
	{DialectSQLite, func(t testing.TB) string { return filepath.Join(t.TempDir(), "data", "carehex.db") }},
	{DialectPostgres, func(t testing.TB) string { return testenv.PostgresURL(t) }},
}

// eachStore runs fn against a fresh store of each dialect.
func eachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			fn(t, openEnv(t, d.dsn(t)))
		})
	}
}

func openEnv(t testing.TB, dsn string) *env {
	t.Helper()
	c := testenv.NewClock(testNow)
	s, err := Open(context.Background(), dsn, c.Now)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.SyncCatalog(context.Background(), testCatalog()); err != nil {
		t.Fatalf("SyncCatalog: %v", err)
	}
	return &env{DB: s, clock: c}
}

// The shared fixtures (internal/testenv) under the names these tests use.
// (The store is opened here, not with testdb: these tests are inside the
// package testdb imports.)
var (
	testCatalog = testenv.Catalog
	operator    = testenv.Operator
	opCtx       = testenv.OpCtx
)

func resident(name, phone string) *carehex.Resident {
	return &carehex.Resident{Name: name, Phone: phone, Address: "张店区华光路56号", Location: testenv.Zibo}
}

func mustCreateResident(t *testing.T, e *env, r *carehex.Resident) *carehex.Resident {
	t.Helper()
	if err := e.CreateResident(opCtx(), r); err != nil {
		t.Fatalf("CreateResident(%s): %v", r.Name, err)
	}
	return r
}

func mustCreateRequest(t *testing.T, e *env, residentID string) *carehex.ServiceRequest {
	t.Helper()
	r, _, err := e.CreateServiceRequest(opCtx(), &carehex.ServiceRequest{ResidentID: residentID,
		ServiceCode: "meal_delivery", Urgency: carehex.UrgencySoon}, "")
	if err != nil {
		t.Fatalf("CreateServiceRequest: %v", err)
	}
	return r
}

// rows counts the rows of a table, to prove a refused call wrote nothing.
func rows(t *testing.T, e *env, table string) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func wantErr(t *testing.T, err error, code, field string) {
	t.Helper()
	if carehex.ErrorCode(err) != code || (field != "" && carehex.ErrorField(err) != field) {
		t.Fatalf("err = %v (field %q), want %s on field %q", err, carehex.ErrorField(err), code, field)
	}
}

func TestOpen(t *testing.T) {
	t.Run("sqlite creates the directory and migrates once", func(t *testing.T) {
		dsn := filepath.Join(t.TempDir(), "a", "b", "carehex.db")
		for i := 0; i < 2; i++ {
			s, err := Open(context.Background(), dsn, nil)
			if err != nil {
				t.Fatalf("Open #%d: %v", i+1, err)
			}
			if s.Dialect() != DialectSQLite {
				t.Errorf("Dialect() = %q", s.Dialect())
			}
			if err := s.Ping(context.Background()); err != nil {
				t.Errorf("Ping: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	t.Run("bad dsn", func(t *testing.T) {
		for _, dsn := range []string{"", "  ", "x.db?mode=ro"} {
			if s, err := Open(context.Background(), dsn, nil); err == nil {
				s.Close()
				t.Errorf("Open(%q) succeeded", dsn)
			} else if carehex.ErrorCode(err) != carehex.EINVALID {
				t.Errorf("Open(%q) = %v, want invalid", dsn, err)
			}
		}
	})
	eachStore(t, func(t *testing.T, e *env) {
		var want string
		if strings.HasPrefix(t.Name(), "TestOpen/postgres") {
			want = DialectPostgres
		} else {
			want = DialectSQLite
		}
		if e.Dialect() != want {
			t.Errorf("Dialect() = %q, want %q", e.Dialect(), want)
		}
	})
}

func TestRebind(t *testing.T) {
	pg := &DB{dialect: DialectPostgres}
	if got := pg.rebind("a = ? AND b IN (?, ?)"); got != "a = $1 AND b IN ($2, $3)" {
		t.Errorf("postgres rebind = %q", got)
	}
	lite := &DB{dialect: DialectSQLite}
	if got := lite.rebind("a = ?"); got != "a = ?" {
		t.Errorf("sqlite rebind = %q", got)
	}
}

func TestResidents(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		r := resident("张桂兰", "13905330001")
		r.IDNumber = "37030319450312007x"
		r.Gender, r.BirthYear, r.District = carehex.GenderFemale, 1945, "张店区"
		r.EmergencyContacts = []carehex.Contact{{Name: "李明", Phone: "13800000000", Relation: "son"}}
		r.Preferences = carehex.Preferences{Language: "Zibo dialect", PreferredProviderGender: carehex.GenderFemale,
			BlockedProviderIDs: []string{"prv_x"}, Notes: "hard of hearing"}
		mustCreateResident(t, e, r)

		wantTime := testNow.UTC().Truncate(time.Microsecond)
		wantCell, _ := geo.CellOf(r.Location, geo.ResidentRes)
		switch {
		case !strings.HasPrefix(r.ID, "res_"):
			t.Errorf("ID = %q", r.ID)
		case !r.CreateTime.Equal(wantTime) || r.CreateTime.Location() != time.UTC:
			t.Errorf("CreateTime = %v, want %v in UTC", r.CreateTime, wantTime)
		case r.Cell != wantCell:
			t.Errorf("Cell = %x, want %x", r.Cell, wantCell)
		case r.IDNumber != "37030319450312007X":
			t.Errorf("IDNumber = %q, want upper-case X", r.IDNumber)
		}
		got, err := e.Resident(ctx, r.ID)
		if err != nil {
			t.Fatalf("Resident: %v", err)
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", r) {
			t.Errorf("Resident() =\n%+v\nwant\n%+v", got, r)
		}

		e.clock.Advance(time.Hour)
		r.Name, r.Phone, r.Address = "张桂英", "13905339999", "周村区"
		r.CreateTime = time.Time{} // the store keeps the original, whatever the caller sends
		if err := e.UpdateResident(ctx, r); err != nil {
			t.Fatalf("UpdateResident: %v", err)
		}
		got, err = e.Resident(ctx, r.ID)
		if err != nil {
			t.Fatalf("Resident: %v", err)
		}
		if got.Name != "张桂英" || got.Phone != "13905339999" || !got.CreateTime.Equal(wantTime) ||
			!got.UpdateTime.Equal(wantTime.Add(time.Hour)) {
			t.Errorf("after update: %+v", got)
		}
		if res, _ := e.SearchResidents(ctx, carehex.ResidentFilter{Query: "桂兰"}); len(res) != 0 {
			t.Errorf("old name still found after rename: %v", res)
		}
		if res, _ := e.SearchResidents(ctx, carehex.ResidentFilter{Query: "9999"}); len(res) != 1 {
			t.Errorf("new phone not found after update: %v", res)
		}

		_, err = e.Resident(ctx, "res_nope")
		wantErr(t, err, carehex.ENOTFOUND, "id")
		ghost := resident("王芳", "13900000000")
		ghost.ID = "res_nope"
		wantErr(t, e.UpdateResident(ctx, ghost), carehex.ENOTFOUND, "id")

		before := rows(t, e, "residents")
		bad := resident("王芳", "12ab")
		wantErr(t, e.CreateResident(ctx, bad), carehex.EINVALID, "phone")
		wantErr(t, e.CreateResident(ctx, nil), carehex.EINVALID, "")
		if bad.ID != "" || rows(t, e, "residents") != before {
			t.Error("a refused resident was saved")
		}
		if n := len(auditOf(t, e, r.ID)); n != 2 {
			t.Errorf("audit records of resident = %d, want create and update", n)
		}
	})
}

func auditOf(t *testing.T, e *env, objectID string) []*carehex.AuditRecord {
	t.Helper()
	recs, err := e.AuditRecords(context.Background(), carehex.AuditFilter{ObjectID: objectID})
	if err != nil {
		t.Fatalf("AuditRecords: %v", err)
	}
	return recs
}

func TestSearchResidents(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		add := func(name, phone, idNumber string) {
			r := resident(name, phone)
			r.IDNumber = idNumber
			mustCreateResident(t, e, r)
		}
		add("张桂兰", "13905330001", "37030319450312007X")
		add("李桂兰", "13800000001", "")
		add("阿福", "+8613905330001", "") // same tail as 张桂兰, but not the exact number
		add("王伟", "05332345678", "370303194503120029")
		add("刘_一", "13911112222", "")
		add("刘二一", "13911113333", "")
		add("Ann Lee", "13922224444", "")
		add("张三", "13999999999", "")

		tests := []struct {
			query string
			limit int
			want  []string // names, in order
		}{
			{"0001", 0, []string{"张桂兰", "李桂兰", "阿福"}},
			{"13905330001", 0, []string{"张桂兰", "阿福"}}, // exact number first
			{"+8613905330001", 0, []string{"阿福"}},
			{" 5330001 ", 0, []string{"张桂兰", "阿福"}},
			{"9999", 0, []string{"张三"}}, // all nines: no upper bound
			{"13999999999", 0, []string{"张三"}},
			{"99999999999", 0, nil}, // all nines, longer than the number
			{"05332345678", 0, []string{"王伟"}},
			{"1390", 0, []string{"张桂兰", "阿福"}},       // prefix
			{"0533", 0, []string{"张桂兰", "王伟", "阿福"}}, // prefix of 王伟, middle of the others
			{"3905330", 0, []string{"张桂兰", "阿福"}},    // middle, across two windows
			{"23456", 0, []string{"王伟"}},             // middle
			{"+86139", 0, []string{"阿福"}},            // a + anchors nothing but must be there
			{"1111222", 0, []string{"刘_一"}},          // windows in order
			{"2222111", 0, nil},                      // the same windows, wrong order
			{"wgl", 0, nil},                          // initials: no 王桂兰 here
			{"zgl", 0, []string{"张桂兰"}},              // initials of the whole name
			{"gl", 0, []string{"张桂兰", "李桂兰"}},        // initials of the given name
			{"ZhangGuilan", 0, []string{"张桂兰"}},      // full pinyin, any case
			{"zhang gui", 0, []string{"张桂兰"}},        // full pinyin typed partway, spaces dropped
			{"guilan", 0, []string{"张桂兰", "李桂兰"}},    // from any syllable on
			{"z", 0, []string{"张三", "张桂兰"}},          // one letter: initials only
			{"zs", 0, []string{"张三"}},
			{"zhangsan", 0, []string{"张三"}},
			{"li", 0, []string{"李桂兰"}}, // two letters: a whole syllable (or initials)
			{"wangw", 0, []string{"王伟"}},
			{"afu", 0, []string{"阿福"}},
			{"efu", 0, []string{"阿福"}},      // 阿 has two readings, a and e
			{"lee", 0, []string{"Ann Lee"}}, // letters still match Latin names
			{"zzz", 0, nil},
			{"37030319450312007x", 0, []string{"张桂兰"}},
			{"370303194503120029", 0, []string{"王伟"}},
			{"桂兰", 0, []string{"张桂兰", "李桂兰"}},
			{"桂兰", 1, []string{"张桂兰"}},
			{"张桂兰", 0, []string{"张桂兰"}},
			{"张", 0, []string{"张三", "张桂兰"}},
			{"兰", 0, []string{"张桂兰", "李桂兰"}},
			{"桂兰兰", 0, nil},
			{"ann", 0, []string{"Ann Lee"}},
			{"N L", 0, []string{"Ann Lee"}},
			{"刘_", 0, []string{"刘_一"}},
			{"_", 0, []string{"刘_一"}},
			{"%", 0, nil},
			{"刘%一", 0, nil},
			{`\`, 0, nil},
			{strings.Repeat("张", 300), 0, nil},
		}
		for _, tt := range tests {
			got, err := e.SearchResidents(ctx, carehex.ResidentFilter{Query: tt.query, Limit: tt.limit})
			if err != nil {
				t.Errorf("SearchResidents(%q): %v", tt.query, err)
				continue
			}
			var names []string
			for _, r := range got {
				names = append(names, r.Name)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("SearchResidents(%q) = %q, want %q", tt.query, names, tt.want)
			}
		}
		// Empty, and too few digits to mean a number: a hint on "query".
		for _, q := range []string{"", "   ", "1", "123", "+123"} {
			_, err := e.SearchResidents(ctx, carehex.ResidentFilter{Query: q})
			wantErr(t, err, carehex.EINVALID, "query")
		}
		// Odd input gets an answer or a clear refusal, never a panic or an internal error.
		for _, q := range []string{"张\x00兰", "\xff\xfe", "'; DROP TABLE residents; --", "+", "++1234"} {
			if _, err := e.SearchResidents(ctx, carehex.ResidentFilter{Query: q}); err != nil &&
				carehex.ErrorCode(err) != carehex.EINVALID {
				t.Errorf("SearchResidents(%q) = %v", q, err)
			}
		}
	})
}

func TestFamilyMembers(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		r := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		m := &carehex.FamilyMember{ResidentID: "res_nope", Name: "李明", Phone: "13800000000", Relation: "son"}
		wantErr(t, e.LinkFamilyMember(ctx, m), carehex.ENOTFOUND, "resident_id")
		if m.ID != "" || rows(t, e, "family_members") != 0 {
			t.Error("a link to an unknown resident was saved")
		}
		wantErr(t, e.LinkFamilyMember(ctx, &carehex.FamilyMember{ResidentID: r.ID, Name: "李明", Relation: "son"}),
			carehex.EINVALID, "phone")

		m.ResidentID = r.ID
		if err := e.LinkFamilyMember(ctx, m); err != nil {
			t.Fatalf("LinkFamilyMember: %v", err)
		}
		if !strings.HasPrefix(m.ID, "fam_") {
			t.Errorf("ID = %q", m.ID)
		}
		got, err := e.FamilyMembers(ctx, r.ID)
		if err != nil || len(got) != 1 || *got[0] != *m {
			t.Fatalf("FamilyMembers = %+v, %v; want [%+v]", got, err, m)
		}
		if got, _ := e.FamilyMembers(ctx, "res_other"); len(got) != 0 {
			t.Errorf("FamilyMembers of another resident = %+v", got)
		}
	})
}

func TestProviders(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		p := &carehex.Provider{Name: "王芳", Phone: "13700000000", Gender: carehex.GenderFemale,
			Skills: []string{"meals", "bathing", "meals", " first_aid "}, Languages: []string{"zh-Hans", "Zibo dialect"},
			Organisation: "张店区居家养老服务中心", Home: carehex.LatLng{Lat: 36.81, Lng: 118.06}}
		if err := e.CreateProvider(ctx, p); err != nil {
			t.Fatalf("CreateProvider: %v", err)
		}
		wantCell, _ := geo.CellOf(p.Home, geo.ResidentRes)
		if !strings.HasPrefix(p.ID, "prv_") || !p.Active || p.Cell != wantCell {
			t.Errorf("created %+v", p)
		}
		got, err := e.Provider(ctx, p.ID)
		if err != nil {
			t.Fatalf("Provider: %v", err)
		}
		if want := []string{"bathing", "first_aid", "meals"}; !slices.Equal(got.Skills, want) {
			t.Errorf("Skills = %q, want %q", got.Skills, want)
		}
		slices.Sort(p.Skills)
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", p) {
			t.Errorf("Provider() =\n%+v\nwant\n%+v", got, p)
		}
		var bySkill []string
		qr, err := e.db.Query(e.rebind(`SELECT provider_id FROM provider_skills WHERE skill = ?`), "first_aid")
		if err != nil {
			t.Fatal(err)
		}
		for qr.Next() {
			var id string
			_ = qr.Scan(&id)
			bySkill = append(bySkill, id)
		}
		qr.Close()
		if !slices.Equal(bySkill, []string{p.ID}) {
			t.Errorf("providers with first_aid = %q", bySkill)
		}

		_, err = e.Provider(ctx, "prv_nope")
		wantErr(t, err, carehex.ENOTFOUND, "id")
		wantErr(t, e.CreateProvider(ctx, &carehex.Provider{Name: "x", Phone: "13700000000",
			Home: carehex.LatLng{Lat: 36.8, Lng: 118}}), carehex.EINVALID, "skills")

		p2 := &carehex.Provider{Name: "李强", Phone: "13700000001", Skills: []string{"meals"},
			Home: carehex.LatLng{Lat: 36.8, Lng: 118}}
		e.clock.Advance(time.Second)
		if err := e.CreateProvider(ctx, p2); err != nil {
			t.Fatalf("CreateProvider: %v", err)
		}
		all, err := e.Providers(ctx, 0)
		if err != nil || len(all) != 2 || all[0].ID != p.ID || all[1].ID != p2.ID || len(all[1].Skills) != 1 {
			t.Fatalf("Providers = %+v, %v", all, err)
		}
		if one, _ := e.Providers(ctx, 1); len(one) != 1 {
			t.Errorf("Providers(1) returned %d", len(one))
		}

		// ProvidersByID: the named ones with their skills, unknown IDs left out.
		byID, err := e.ProvidersByID(ctx, []string{p2.ID, "prv_nope", p.ID})
		if err != nil {
			t.Fatalf("ProvidersByID: %v", err)
		}
		slices.SortFunc(byID, func(a, b *carehex.Provider) int { return strings.Compare(a.ID, b.ID) })
		want := []*carehex.Provider{got, all[1]}
		slices.SortFunc(want, func(a, b *carehex.Provider) int { return strings.Compare(a.ID, b.ID) })
		show := func(ps []*carehex.Provider) string {
			var b strings.Builder
			for _, p := range ps {
				fmt.Fprintf(&b, "%+v\n", *p)
			}
			return b.String()
		}
		if show(byID) != show(want) {
			t.Errorf("ProvidersByID =\n%swant\n%s", show(byID), show(want))
		}
		if none, err := e.ProvidersByID(ctx, nil); err != nil || len(none) != 0 {
			t.Errorf("ProvidersByID(nil) = %v, %v", none, err)
		}
		_, err = e.ProvidersByID(ctx, make([]string, maxProvidersByID+1))
		wantErr(t, err, carehex.EINVALID, "ids")
	})
}

func TestCreateServiceRequest(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		now := testNow
		in := &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "bathing", Urgency: carehex.UrgencyScheduled,
			Notes: "请下午来", WindowStart: now.Add(24 * time.Hour), WindowEnd: now.Add(26 * time.Hour)}
		r, replayed, err := e.CreateServiceRequest(ctx, in, "fp")
		if err != nil || replayed {
			t.Fatalf("CreateServiceRequest = %v, replayed %v", err, replayed)
		}
		if !strings.HasPrefix(r.ID, "req_") || r.Status != carehex.StatusPending || r.CreatedBy != operator.Actor() ||
			!r.CreateTime.Equal(precise(now)) || r.WindowStart.Location() != time.UTC {
			t.Errorf("created %+v", r)
		}
		got, err := e.ServiceRequest(ctx, r.ID)
		if err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", r) {
			t.Errorf("ServiceRequest() = %+v, %v\nwant %+v", got, err, r)
		}
		evs, err := e.RequestEvents(ctx, r.ID)
		if err != nil || len(evs) != 1 || evs[0].Seq != 1 || evs[0].Type != carehex.EventCreated ||
			evs[0].ToStatus != carehex.StatusPending || evs[0].Actor != operator.Actor() {
			t.Errorf("events = %+v, %v", evs, err)
		}
		if recs := auditOf(t, e, r.ID); len(recs) != 1 || recs[0].Action != "request.create" || recs[0].Actor != operator.Actor() {
			t.Errorf("audit = %+v", recs)
		}

		// CreateServiceRequestWith hands back what its transaction read.
		with, replayed, err := e.CreateServiceRequestWith(ctx, &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery",
			Urgency: carehex.UrgencySoon, IdempotencyKey: "with-1"}, "fp-with")
		if err != nil || replayed {
			t.Fatalf("CreateServiceRequestWith = %v, replayed %v", err, replayed)
		}
		wantRes, _ := e.Resident(ctx, res.ID)
		wantSvc, _ := e.ServiceType(ctx, "meal_delivery")
		if fmt.Sprintf("%+v", with.Resident) != fmt.Sprintf("%+v", wantRes) ||
			fmt.Sprintf("%+v", with.ServiceType) != fmt.Sprintf("%+v", wantSvc) || with.Request.Status != carehex.StatusPending {
			t.Errorf("CreateServiceRequestWith = %+v / %+v / %+v\nwant %+v / %+v", with.Request, with.Resident, with.ServiceType, wantRes, wantSvc)
		}
		again, replayed, err := e.CreateServiceRequestWith(ctx, &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery",
			Urgency: carehex.UrgencySoon, IdempotencyKey: "with-1"}, "fp-with")
		if err != nil || !replayed || again.Request.ID != with.Request.ID || again.Resident != nil || again.ServiceType != nil {
			t.Errorf("replayed CreateServiceRequestWith = %+v, %v, %v", again, replayed, err)
		}
		if _, err := e.TransitionRequest(ctx, with.Request.ID, carehex.StatusCancelled, "", "test"); err != nil {
			t.Fatal(err)
		}

		anon, _, err := e.CreateServiceRequest(context.Background(), &carehex.ServiceRequest{ResidentID: res.ID,
			ServiceCode: "fall_help", Urgency: carehex.UrgencyEmergency}, "")
		if err != nil || anon.CreatedBy != "system" {
			t.Errorf("without a principal: %+v, %v", anon, err)
		}

		list, err := e.ServiceRequests(ctx, carehex.RequestFilter{ResidentID: res.ID})
		if err != nil || len(list) != 3 {
			t.Fatalf("ServiceRequests = %v, %v", list, err)
		}
		if _, err := e.TransitionRequest(ctx, anon.ID, carehex.StatusCancelled, "", "duplicate"); err != nil {
			t.Fatal(err)
		}
		list, _ = e.ServiceRequests(ctx, carehex.RequestFilter{Statuses: []carehex.Status{carehex.StatusPending}})
		if len(list) != 1 || list[0].ID != r.ID {
			t.Errorf("pending requests = %+v", list)
		}
		list, _ = e.ServiceRequests(ctx, carehex.RequestFilter{Limit: 1})
		if len(list) != 1 {
			t.Errorf("limit 1 gave %d", len(list))
		}
		_, err = e.ServiceRequest(ctx, "req_nope")
		wantErr(t, err, carehex.ENOTFOUND, "id")
	})
}

func TestCreateServiceRequestRefusals(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		tables := []string{"service_requests", "request_events", "idempotency_keys", "audit_records"}
		count := func() []int {
			var n []int
			for _, tb := range tables {
				n = append(n, rows(t, e, tb))
			}
			return n
		}
		tests := []struct {
			name        string
			r           *carehex.ServiceRequest
			code, field string
		}{
			{"unknown resident", &carehex.ServiceRequest{ResidentID: "res_nope", ServiceCode: "meal_delivery",
				Urgency: carehex.UrgencySoon, IdempotencyKey: "k1"}, carehex.ENOTFOUND, "resident_id"},
			{"unknown service", &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "teleport",
				Urgency: carehex.UrgencySoon, IdempotencyKey: "k2"}, carehex.EINVALID, "service_code"},
			{"window ends before it starts", &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "bathing",
				Urgency: carehex.UrgencyScheduled, WindowStart: testNow.Add(2 * time.Hour),
				WindowEnd: testNow.Add(time.Hour), IdempotencyKey: "k3"}, carehex.EINVALID, "window_end_time"},
			{"window in the past", &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "bathing",
				Urgency: carehex.UrgencyScheduled, WindowStart: testNow.Add(-3 * time.Hour),
				WindowEnd: testNow.Add(-time.Hour)}, carehex.EINVALID, "window_end_time"},
			{"no urgency", &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "bathing"}, carehex.EINVALID, "urgency"},
			{"nil", nil, carehex.EINVALID, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := count()
				out, _, err := e.CreateServiceRequest(ctx, tt.r, "fp")
				wantErr(t, err, tt.code, tt.field)
				if out != nil {
					t.Errorf("returned %+v with the error", out)
				}
				if after := count(); !slices.Equal(before, after) {
					t.Errorf("rows of %v went from %v to %v", tables, before, after)
				}
			})
		}
		_, _, err := e.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "teleport",
			Urgency: carehex.UrgencySoon}, "")
		if !strings.Contains(carehex.ErrorMessage(err), "unknown service_code") {
			t.Errorf("message = %q", carehex.ErrorMessage(err))
		}
	})
}

func TestIdempotency(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		req := func(key string) *carehex.ServiceRequest {
			return &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery",
				Urgency: carehex.UrgencySoon, IdempotencyKey: key}
		}
		first, replayed, err := e.CreateServiceRequest(ctx, req("call-1"), "fp-a")
		if err != nil || replayed {
			t.Fatalf("first create: %v, replayed %v", err, replayed)
		}
		again, replayed, err := e.CreateServiceRequest(ctx, req("call-1"), "fp-a")
		if err != nil || !replayed || again.ID != first.ID {
			t.Fatalf("replay = %+v, %v, replayed %v; want %s", again, err, replayed, first.ID)
		}
		_, _, err = e.CreateServiceRequest(ctx, req("call-1"), "fp-b")
		if err != carehex.ErrIdempotencyMismatch {
			t.Fatalf("other body, same key: %v, want ErrIdempotencyMismatch", err)
		}
		// Keys belong to the actor that chose them.
		other := carehex.WithPrincipal(context.Background(), carehex.Principal{Kind: carehex.KindUser, Subject: "usr_op2"})
		theirs, replayed, err := e.CreateServiceRequest(other, req("call-1"), "fp-a")
		if err != nil || replayed || theirs.ID == first.ID {
			t.Fatalf("another actor's key: %+v, %v, replayed %v", theirs, err, replayed)
		}
		if n := rows(t, e, "service_requests"); n != 2 {
			t.Fatalf("requests = %d, want 2", n)
		}
		// No key, no idempotency.
		a, _, _ := e.CreateServiceRequest(ctx, req(""), "fp-a")
		b, _, _ := e.CreateServiceRequest(ctx, req(""), "fp-a")
		if a == nil || b == nil || a.ID == b.ID {
			t.Fatalf("keyless creates: %+v %+v", a, b)
		}

		t.Run("concurrent", func(t *testing.T) {
			before := rows(t, e, "service_requests")
			const n = 10
			var (
				wg       sync.WaitGroup
				ids      [n]string
				fresh    [n]bool
				failures [n]error
			)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					out, replayed, err := e.CreateServiceRequest(ctx, req("call-race"), "fp-race")
					if err != nil {
						failures[i] = err
						return
					}
					ids[i], fresh[i] = out.ID, !replayed
				}()
			}
			wg.Wait()
			created := 0
			for i := 0; i < n; i++ {
				if failures[i] != nil {
					t.Fatalf("goroutine %d: %v", i, failures[i])
				}
				if ids[i] != ids[0] {
					t.Errorf("goroutine %d got %s, goroutine 0 got %s", i, ids[i], ids[0])
				}
				if fresh[i] {
					created++
				}
			}
			if created != 1 {
				t.Errorf("%d calls created, want exactly 1", created)
			}
			if after := rows(t, e, "service_requests"); after != before+1 {
				t.Errorf("requests went from %d to %d, want one more", before, after)
			}
		})
	})
}

// pathTo returns a shortest sequence of legal moves from pending to target,
// found in carehex.Transitions itself so the test follows the state machine.
func pathTo(target carehex.Status) []carehex.Status {
	prev := map[carehex.Status]carehex.Status{}
	seen := map[carehex.Status]bool{carehex.StatusPending: true}
	queue := []carehex.Status{carehex.StatusPending}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s == target {
			var path []carehex.Status
			for ; s != carehex.StatusPending; s = prev[s] {
				path = append([]carehex.Status{s}, path...)
			}
			return path
		}
		for _, n := range carehex.Transitions[s] {
			if !seen[n] {
				seen[n], prev[n] = true, s
				queue = append(queue, n)
			}
		}
	}
	return nil
}

func TestTransitionMatrix(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		for _, from := range carehex.Statuses {
			path := pathTo(from)
			if path == nil && from != carehex.StatusPending {
				t.Fatalf("no way from pending to %s", from)
			}
			for _, to := range carehex.Statuses {
				r := mustCreateRequest(t, e, res.ID)
				for _, st := range path {
					if _, err := e.TransitionRequest(ctx, r.ID, st, "system:dispatch", "setup"); err != nil {
						t.Fatalf("forcing %s to %s: %v", r.ID, st, err)
					}
				}
				e.clock.Advance(time.Second)
				out, err := e.TransitionRequest(ctx, r.ID, to, "user:usr_op1", "because")
				want := carehex.CanTransition(from, to)
				switch {
				case want && err != nil:
					t.Errorf("%s → %s: %v, want success", from, to, err)
					continue
				case !want:
					wantErr(t, err, carehex.ECONFLICT, "")
					if msg := carehex.ErrorMessage(err); !strings.Contains(msg, string(from)) || !strings.Contains(msg, string(to)) {
						t.Errorf("%s → %s refused with %q, which names neither", from, to, msg)
					}
					if got, _ := e.ServiceRequest(ctx, r.ID); got.Status != from {
						t.Errorf("%s → %s refused but status is now %s", from, to, got.Status)
					}
					if evs, _ := e.RequestEvents(ctx, r.ID); len(evs) != len(path)+1 {
						t.Errorf("%s → %s refused but %d events, want %d", from, to, len(evs), len(path)+1)
					}
					continue
				}
				if out.Status != to || !out.UpdateTime.Equal(precise(e.clock.Now())) {
					t.Errorf("%s → %s: returned %+v", from, to, out)
				}
				if to == carehex.StatusCancelled && out.CancelReason != "because" {
					t.Errorf("cancel reason = %q", out.CancelReason)
				}
				evs, err := e.RequestEvents(ctx, r.ID)
				if err != nil || len(evs) != len(path)+2 {
					t.Fatalf("%s → %s: events %+v, %v", from, to, evs, err)
				}
				for i, ev := range evs {
					if ev.Seq != i+1 {
						t.Errorf("event %d has seq %d", i, ev.Seq)
					}
				}
				last := evs[len(evs)-1]
				wantType := carehex.EventStatusChange
				if to == carehex.StatusCancelled {
					wantType = carehex.EventCancelled
				}
				if last.FromStatus != from || last.ToStatus != to || last.Actor != "user:usr_op1" ||
					last.Reason != "because" || last.Type != wantType {
					t.Errorf("%s → %s: last event %+v", from, to, last)
				}
				recs := auditOf(t, e, r.ID)
				if len(recs) != len(path)+2 || recs[0].Action != "request.transition" || recs[0].Actor != "user:usr_op1" {
					t.Errorf("%s → %s: audit %+v", from, to, recs)
				}
			}
		}

		_, err := e.TransitionRequest(ctx, "req_nope", carehex.StatusCancelled, "user:x", "")
		wantErr(t, err, carehex.ENOTFOUND, "id")
		r := mustCreateRequest(t, e, res.ID)
		_, err = e.TransitionRequest(ctx, r.ID, "teleported", "user:x", "")
		wantErr(t, err, carehex.EINVALID, "status")

		t.Run("race", func(t *testing.T) {
			// Two writers move the same pending request at once: exactly one wins.
			r := mustCreateRequest(t, e, res.ID)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, to := range []carehex.Status{carehex.StatusOffered, carehex.StatusCancelled} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = e.TransitionRequest(ctx, r.ID, to, "system:dispatch", "")
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch carehex.ErrorCode(err) {
				case "":
					ok++
				case carehex.ECONFLICT:
				default:
					t.Errorf("racing transition: %v", err)
				}
			}
			got, _ := e.ServiceRequest(ctx, r.ID)
			evs, _ := e.RequestEvents(ctx, r.ID)
			// Offered then cancelled is legal too, so both may win in turn.
			if ok == 0 || len(evs) != ok+1 || evs[len(evs)-1].ToStatus != got.Status {
				t.Errorf("%d winners, status %s, events %+v", ok, got.Status, evs)
			}
		})
	})
}

func TestAuth(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := &carehex.User{Username: " op1 ", Role: carehex.RoleOperator, PasswordHash: "$2a$10$hash"}
		if err := e.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if !strings.HasPrefix(u.ID, "usr_") || u.Username != "op1" {
			t.Errorf("created %+v", u)
		}
		wantErr(t, e.CreateUser(ctx, &carehex.User{Username: "op1", Role: carehex.RoleAdmin, PasswordHash: "h"}),
			carehex.ECONFLICT, "username")
		wantErr(t, e.CreateUser(ctx, &carehex.User{Username: "op2", Role: "root", PasswordHash: "h"}), carehex.EINVALID, "role")
		got, err := e.UserByUsername(ctx, "op1")
		if err != nil || *got != *u {
			t.Errorf("UserByUsername = %+v, %v; want %+v", got, err, u)
		}
		_, err = e.UserByUsername(ctx, "nobody")
		wantErr(t, err, carehex.ENOTFOUND, "")

		now := testNow
		p := carehex.Principal{Kind: carehex.KindUser, Subject: u.ID, Role: u.Role, Name: u.Username}
		dev := carehex.Principal{Kind: carehex.KindProvider, Subject: "prv_1", Name: "王芳"}
		for _, tok := range []struct {
			hash string
			p    carehex.Principal
		}{{"h-session", p}, {"h-phone-1", dev}, {"h-phone-2", dev}} {
			if err := e.CreateToken(ctx, tok.hash, tok.p, now.Add(time.Hour)); err != nil {
				t.Fatalf("CreateToken: %v", err)
			}
		}
		tests := []struct {
			name string
			hash string
			at   time.Time
			want *carehex.Principal
		}{
			{"valid", "h-session", now, &p},
			{"just before expiry", "h-session", now.Add(time.Hour - time.Microsecond), &p},
			{"at expiry", "h-session", now.Add(time.Hour), nil},
			{"unknown", "h-nope", now, nil},
			{"device", "h-phone-1", now, &dev},
		}
		for _, tt := range tests {
			got, err := e.TokenPrincipal(ctx, tt.hash, tt.at)
			if tt.want == nil {
				if carehex.ErrorCode(err) != carehex.EUNAUTHENTICATED {
					t.Errorf("%s: TokenPrincipal = %+v, %v; want unauthenticated", tt.name, got, err)
				}
				continue
			}
			if err != nil || got != *tt.want {
				t.Errorf("%s: TokenPrincipal = %+v, %v; want %+v", tt.name, got, err, *tt.want)
			}
		}
		if err := e.RevokeToken(ctx, "h-session"); err != nil {
			t.Fatal(err)
		}
		if err := e.RevokeToken(ctx, "h-session"); err != nil {
			t.Errorf("revoking twice: %v", err)
		}
		if _, err := e.TokenPrincipal(ctx, "h-session", now); carehex.ErrorCode(err) != carehex.EUNAUTHENTICATED {
			t.Errorf("revoked token: %v", err)
		}
		if err := e.RevokeTokensOf(ctx, carehex.KindProvider, "prv_1"); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"h-phone-1", "h-phone-2"} {
			if _, err := e.TokenPrincipal(ctx, h, now); carehex.ErrorCode(err) != carehex.EUNAUTHENTICATED {
				t.Errorf("%s after RevokeTokensOf: %v", h, err)
			}
		}
		wantErr(t, e.CreateToken(ctx, "", p, now), carehex.EINVALID, "")
		if recs := auditOf(t, e, "prv_1"); len(recs) != 3 {
			t.Errorf("audit of the phone's tokens = %d records, want 2 creates and 1 revoke", len(recs))
		}
	})
}

func TestAudit(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for i := 0; i < 5; i++ {
			rec := &carehex.AuditRecord{Actor: "user:a", Action: "resident.read", ObjectType: "resident",
				ObjectID: fmt.Sprintf("res_%d", i%2)}
			if err := e.Audit(ctx, rec); err != nil {
				t.Fatalf("Audit: %v", err)
			}
			if !strings.HasPrefix(rec.ID, "aud_") || !rec.Time.Equal(precise(e.clock.Now())) {
				t.Errorf("Audit set %+v", rec)
			}
			e.clock.Advance(time.Minute)
		}
		if err := e.Audit(ctx, &carehex.AuditRecord{Actor: "user:b", Action: "export", Time: testNow.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.Audit(ctx, &carehex.AuditRecord{Actor: "user:b"}), carehex.EINVALID, "action")
		wantErr(t, e.Audit(ctx, nil), carehex.EINVALID, "action")

		all, err := e.AuditRecords(ctx, carehex.AuditFilter{})
		if err != nil || len(all) != 6 {
			t.Fatalf("AuditRecords = %d, %v", len(all), err)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Time.After(all[i-1].Time) {
				t.Errorf("not newest first: %v after %v", all[i].Time, all[i-1].Time)
			}
		}
		if all[len(all)-1].Actor != "user:b" {
			t.Errorf("oldest = %+v", all[len(all)-1])
		}
		filters := []struct {
			f    carehex.AuditFilter
			want int
		}{
			{carehex.AuditFilter{ObjectID: "res_0"}, 3},
			{carehex.AuditFilter{ObjectID: "res_1", Actor: "user:a"}, 2},
			{carehex.AuditFilter{Actor: "user:b"}, 1},
			{carehex.AuditFilter{Limit: 2}, 2},
			{carehex.AuditFilter{ObjectID: "res_9"}, 0},
		}
		for _, tt := range filters {
			if got, err := e.AuditRecords(ctx, tt.f); err != nil || len(got) != tt.want {
				t.Errorf("AuditRecords(%+v) = %d, %v; want %d", tt.f, len(got), err, tt.want)
			}
		}
	})
}

func TestCatalog(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		codes := func() []string {
			t.Helper()
			ts, err := e.ServiceTypes(ctx)
			if err != nil {
				t.Fatalf("ServiceTypes: %v", err)
			}
			var cs []string
			for _, st := range ts {
				cs = append(cs, st.Code)
			}
			return cs
		}
		want := []string{"meal_delivery", "bathing", "fall_help"}
		if got := codes(); !slices.Equal(got, want) {
			t.Fatalf("codes = %q, want %q", got, want)
		}
		// Loading the same catalogue again changes nothing.
		if err := e.SyncCatalog(ctx, testCatalog()); err != nil {
			t.Fatal(err)
		}
		if got := codes(); !slices.Equal(got, want) || rows(t, e, "service_types") != 3 {
			t.Fatalf("after a second sync: %q", got)
		}
		bath, err := e.ServiceType(ctx, "bathing")
		if err != nil || *bath != *testCatalog()[1] {
			t.Errorf("ServiceType(bathing) = %+v, %v", bath, err)
		}

		// A new edition renames one type and drops another.
		next := testCatalog()[:2]
		next[0].NameEN = "Meals on wheels"
		if err := e.SyncCatalog(ctx, next); err != nil {
			t.Fatal(err)
		}
		if got := codes(); !slices.Equal(got, want[:2]) {
			t.Errorf("codes after dropping fall_help = %q", got)
		}
		if st, _ := e.ServiceType(ctx, "meal_delivery"); st == nil || st.NameEN != "Meals on wheels" {
			t.Errorf("renamed type = %+v", st)
		}
		_, err = e.ServiceType(ctx, "fall_help")
		wantErr(t, err, carehex.ENOTFOUND, "service_code")
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		_, _, err = e.CreateServiceRequest(opCtx(), &carehex.ServiceRequest{ResidentID: res.ID,
			ServiceCode: "fall_help", Urgency: carehex.UrgencyEmergency}, "")
		wantErr(t, err, carehex.EINVALID, "service_code")

		wantErr(t, e.SyncCatalog(ctx, []*carehex.ServiceType{nil}), carehex.EINVALID, "code")
		wantErr(t, e.SyncCatalog(ctx, []*carehex.ServiceType{{Code: "a"}, {Code: "a"}}), carehex.EINVALID, "code")
		if got := codes(); !slices.Equal(got, want[:2]) {
			t.Errorf("a refused sync changed the catalogue: %q", got)
		}
	})
}

func TestImportResidents(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		var rs []*carehex.Resident
		for i := 0; i < 1234; i++ {
			rs = append(rs, resident(fmt.Sprintf("居民%04d", i), fmt.Sprintf("139%08d", i)))
		}
		bad := append(slices.Clone(rs[:3]), resident("", "13900000000"))
		wantErr(t, e.ImportResidents(ctx, bad), carehex.EINVALID, "name")
		if rows(t, e, "residents") != 0 {
			t.Fatal("a refused import saved residents")
		}
		if err := e.ImportResidents(ctx, rs); err != nil {
			t.Fatalf("ImportResidents: %v", err)
		}
		if n := rows(t, e, "residents"); n != len(rs) {
			t.Fatalf("residents = %d", n)
		}
		got, err := e.SearchResidents(ctx, carehex.ResidentFilter{Query: "民1233"})
		if err != nil || len(got) != 1 || got[0].ID != rs[1233].ID {
			t.Errorf("search after import = %+v, %v", got, err)
		}
		if len(auditOf(t, e, rs[0].ID)) != 1 {
			t.Error("imported resident has no audit record")
		}
	})
}

func TestNULInput(t *testing.T) {
	// PostgreSQL text cannot hold NUL; the caller gets a clear refusal, not
	// an internal error, naming the field; and SQLite, which could store it,
	// refuses it the same way so both stores hold the same data.
	cases := []struct {
		field string
		set   func(r *carehex.Resident)
	}{
		{"name", func(r *carehex.Resident) { r.Name = "张\x00兰" }},
		{"address", func(r *carehex.Resident) { r.Address = "张店区\x00华光路56号" }},
		{"district", func(r *carehex.Resident) { r.District = "张店\x00区" }},
		{"preferences.notes", func(r *carehex.Resident) { r.Preferences.Notes = "怕狗\x00" }},
	}
	eachStore(t, func(t *testing.T, e *env) {
		for i, c := range cases {
			phone := fmt.Sprintf("1390533%04d", i+1)
			r := resident("张桂兰", phone)
			c.set(r)
			err := e.CreateResident(opCtx(), r)
			wantErr(t, err, carehex.EINVALID, c.field)
			got, err := e.SearchResidents(opCtx(), carehex.ResidentFilter{Query: phone})
			if err != nil {
				t.Fatalf("SearchResidents(%s): %v", phone, err)
			}
			if len(got) != 0 {
				t.Errorf("NUL in %s: refused, yet stored as %+v", c.field, got)
			}
		}
	})
}
