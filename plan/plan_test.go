package plan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/internal/apicontract"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/internal/testenv/testdb"
	mobileapi "github.com/carehex/carehex/mobile-api"
	"github.com/carehex/carehex/plan"
	"github.com/carehex/carehex/providers"
	"github.com/carehex/carehex/sqlstore"
)

// world is the planned-care stack of one test: the store, live
// availability, the dispatch engine, the planner and the phone API.
type world struct {
	t       *testing.T
	clock   *testenv.Clock
	db      *sqlstore.DB
	eng     *dispatch.Engine
	planner *plan.Planner
	srv     *httptest.Server
	client  *http.Client // every exchange checked against openapi.yaml
}

// onEachDSN runs body on a fresh SQLite file and a fresh PostgreSQL
// database, each a subtest.
func onEachDSN(t *testing.T, body func(t *testing.T, dsn string)) {
	for _, be := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", testenv.SQLitePath}, {"postgres", testenv.PostgresURL}} {
		t.Run(be.name, func(t *testing.T) { body(t, be.dsn(t)) })
	}
}

// onEachStore runs body in a fresh world on SQLite and on PostgreSQL.
func onEachStore(t *testing.T, body func(t *testing.T, w *world)) {
	onEachDSN(t, func(t *testing.T, dsn string) { body(t, newWorld(t, dsn)) })
}

func newWorld(t *testing.T, dsn string) *world {
	t.Helper()
	ctx := context.Background()
	// Monday 2 March 2026, 08:00 CST.
	w := &world{t: t, clock: testenv.NewClock(time.Date(2026, 3, 2, 8, 0, 0, 0, carehex.CST))}
	w.db = testdb.Open(t, dsn, w.clock.Now)
	rdb, _ := testenv.Redis(t)
	zone := testenv.UniqueZone("plan")
	t.Cleanup(func() { _ = providers.DeleteZone(context.Background(), rdb, zone) })
	live, err := providers.New(rdb, providers.Options{Zone: zone, Clock: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	w.eng, err = dispatch.New(dispatch.DefaultConfig(), dispatch.Deps{Store: w.db, Live: live, Clock: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.eng.Tick(ctx); err != nil {
		t.Fatalf("first Tick: %v", err)
	}
	w.planner = plan.New(w.db, w.eng, w.clock.Now, nil, 0)
	w.planner.RosterOptions.TimeLimit = time.Second
	api, err := mobileapi.New(mobileapi.DefaultConfig(), mobileapi.Deps{Store: w.db, Engine: w.eng, Live: live,
		Clock: w.clock.Now, Plans: w.db, Changes: w.planner})
	if err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewServer(api.Handler())
	t.Cleanup(w.srv.Close)
	contract, err := apicontract.Load(ctx, mobileapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	w.client = &http.Client{Timeout: 20 * time.Second, Transport: contract.Transport(w.srv.Client().Transport, func(err error) {
		t.Errorf("contract: %v", err)
	})}
	return w
}

func (w *world) token(p carehex.Principal) string {
	w.t.Helper()
	tok, err := auth.Issue(context.Background(), w.db, p, w.clock.Now().Add(30*24*time.Hour))
	if err != nil {
		w.t.Fatal(err)
	}
	return tok
}

// carer puts a carer with a meals skill on the roster, working every day
// 08:00–18:00 from a home near the resident.
func (w *world) carer(name string, north float64) (*carehex.Provider, string) {
	w.t.Helper()
	ctx := testenv.OpCtx()
	p := &carehex.Provider{Name: name, Phone: "13700000000", Skills: []string{"meals"}, Home: testenv.At(testenv.Zibo, north, 0)}
	if err := w.db.CreateProvider(ctx, p); err != nil {
		w.t.Fatal(err)
	}
	w.hours(p, nil)
	return p, w.token(carehex.Principal{Kind: carehex.KindProvider, Subject: p.ID, Name: p.Name})
}

func (w *world) hours(p *carehex.Provider, off []carehex.TimeOff) {
	w.t.Helper()
	wh := &carehex.WorkingHours{ProviderID: p.ID, MaxVisitsPerDay: 6, MaxWorkPerDay: 6 * time.Hour,
		Mode: carehex.TravelEBike, Home: p.Home, TimeOff: off}
	for d := time.Sunday; d <= time.Saturday; d++ {
		wh.Weekly = append(wh.Weekly, carehex.Shift{Weekday: d, Start: 8 * 60, End: 18 * 60})
	}
	if err := w.db.SetWorkingHours(testenv.OpCtx(), wh); err != nil {
		w.t.Fatalf("SetWorkingHours: %v", err)
	}
}

func (w *world) do(method, path, token string, body any) (int, map[string]any) {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		w.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func (w *world) planned(planID string) []*carehex.PlannedVisit {
	w.t.Helper()
	vs, err := w.db.PlannedVisits(context.Background(), carehex.PlannedFilter{PlanID: planID})
	if err != nil {
		w.t.Fatal(err)
	}
	return vs
}

// upcoming is the family's view: planned visit ID → its entry.
func (w *world) upcoming(token string) []map[string]any {
	w.t.Helper()
	code, body := w.do("GET", "/m/v1/family/upcoming", token, nil)
	if code != http.StatusOK {
		w.t.Fatalf("family upcoming: %d %v", code, body)
	}
	var out []map[string]any
	for _, v := range body["visits"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// TestPlannedCareDoneWhen is issue 11's "done when": a weekly plan
// projected, rostered, visited with verification, edited "this and later",
// paused for a hospital stay and resumed, with the family's upcoming visits
// showing the carers and a change of carer.
func TestPlannedCareDoneWhen(t *testing.T) {
	onEachDSN(t, func(t *testing.T, dsn string) {
		doneWhen(t, newWorld(t, dsn))
	})
}

func doneWhen(t *testing.T, w *world) {
	ctx := testenv.OpCtx()
	res := &carehex.Resident{Name: "张桂兰", Phone: "13905330001", Address: "张店区华光路56号", Location: testenv.Zibo}
	if err := w.db.CreateResident(ctx, res); err != nil {
		t.Fatal(err)
	}
	fm := &carehex.FamilyMember{ResidentID: res.ID, Name: "李娜", Phone: "13800000001", Relation: "daughter"}
	if err := w.db.LinkFamilyMember(ctx, fm); err != nil {
		t.Fatal(err)
	}
	family := w.token(carehex.Principal{Kind: carehex.KindFamily, Subject: fm.ID, Name: fm.Name})
	a, aTok := w.carer("王芳", 300)
	b, _ := w.carer("刘洋", 2500)

	// A meal every Monday, Wednesday and Friday, 11:00–12:30.
	p := &carehex.CarePlan{ResidentID: res.ID, StartDate: w.clock.Now(), Items: []carehex.PlanItem{{
		ServiceCode: "meal_delivery", RRule: "FREQ=WEEKLY;BYDAY=MO,WE,FR", WindowStart: 11 * 60, WindowEnd: 12*60 + 30,
		Duration: 30 * time.Minute}}}
	if err := w.db.CreateCarePlan(ctx, p, plan.Parse); err != nil {
		t.Fatal(err)
	}

	// Projected for the 14-day horizon (15 calendar days from today: 7
	// visits), and a second run writes nothing.
	n, err := w.planner.Project(ctx)
	if err != nil || n != 7 {
		t.Fatalf("Project = %d, %v; want 7", n, err)
	}
	if n, err := w.planner.Project(ctx); err != nil || n != 0 {
		t.Fatalf("second Project = %d, %v; want 0", n, err)
	}

	// Rostered for the week: one carer for all three (continuity), the
	// nearer one, each a real visit through the fenced claim.
	monday := carehex.Day(w.clock.Now())
	r, err := w.planner.Roster(ctx, monday, monday.AddDate(0, 0, 7))
	if err != nil || len(r.Assigned) != 3 || len(r.Unassigned) != 0 {
		t.Fatalf("Roster = %+v, %v", r, err)
	}
	for _, v := range r.Assigned {
		if v.ProviderID != a.ID || v.Status != carehex.PlannedAssigned || v.RequestStatus != carehex.StatusAssigned || v.VisitID == "" {
			t.Fatalf("rostered %+v", v)
		}
		if len(r.Explained[v.ID]) == 0 {
			t.Errorf("assignment of %s has no explanation", v.ID)
		}
	}
	// Rostering again changes nothing.
	if r2, err := w.planner.Roster(ctx, monday, monday.AddDate(0, 0, 7)); err != nil || len(r2.Assigned)+len(r2.Unassigned) != 0 {
		t.Fatalf("second Roster = %+v, %v", r2, err)
	}

	// Today's visit on the carer's phone, done with verification.
	mon := r.Assigned[0]
	code, day := w.do("GET", "/m/v1/visits", aTok, nil)
	listed := false
	for _, v := range day["visits"].([]any) {
		listed = listed || v.(map[string]any)["id"] == mon.VisitID
	}
	if code != http.StatusOK || !listed {
		t.Fatalf("carer's day list lacks today's planned visit %s: %d %v", mon.VisitID, code, day)
	}
	start := mon.Earliest
	for i, step := range []struct {
		typ   string
		at    time.Time
		north float64
	}{{"depart", start.Add(-10 * time.Minute), 300}, {"arrive", start, 5}, {"complete", start.Add(35 * time.Minute), 5}} {
		w.clock.Set(step.at)
		pos := testenv.At(testenv.Zibo, step.north, 0)
		code, body := w.do("POST", "/m/v1/visits/"+mon.VisitID+"/events", aTok, map[string]any{"event_id": fmt.Sprintf("e%d", i),
			"type": step.typ, "lat": pos.Lat, "lng": pos.Lng, "accuracy_m": 10, "device_time": step.at.Format(time.RFC3339)})
		if code != http.StatusCreated {
			t.Fatalf("%s: %d %v", step.typ, code, body)
		}
		if step.typ != "depart" && body["event"].(map[string]any)["verified"] != true {
			t.Fatalf("%s not verified: %v", step.typ, body)
		}
	}
	done, _ := w.db.PlannedVisit(ctx, mon.ID)
	if done.RequestStatus != carehex.StatusCompleted || !done.Locked() {
		t.Fatalf("Monday's visit after completing: %+v", done)
	}

	// A's Wednesday off sick: the roster repairs, B takes it, and the
	// family sees the change of carer.
	wed := r.Assigned[1]
	w.hours(a, []carehex.TimeOff{{From: carehex.Day(wed.Earliest), To: carehex.Day(wed.Earliest).AddDate(0, 0, 1), Reason: "病假"}})
	r, err = w.planner.Roster(ctx, monday, monday.AddDate(0, 0, 7))
	if err != nil || r.Released != 1 || len(r.Assigned) != 1 || r.Assigned[0].ID != wed.ID || r.Assigned[0].ProviderID != b.ID {
		t.Fatalf("repair Roster = %+v, %v", r, err)
	}
	if old, _ := w.db.ServiceRequest(ctx, wed.RequestID); old.Status != carehex.StatusCancelled {
		t.Fatalf("A's Wednesday request is %s, want cancelled", old.Status)
	}
	ns, err := w.db.ClaimNotifications(context.Background(), w.clock.Now(), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	told := 0
	for _, n := range ns {
		if n.Kind == carehex.NotifyCarerChanged && n.ResidentID == res.ID {
			told++
		}
	}
	if told != 1 {
		t.Fatalf("%d carer_changed notifications for the family, want 1 (Wednesday)", told)
	}
	up := w.upcoming(family)
	if len(up) != 3 { // Wednesday and Friday this week, Monday next week (7 days ahead)
		t.Fatalf("family upcoming: %v", up)
	}
	if up[0]["planned_visit_id"] != wed.ID || up[0]["provider_name"] != b.Name || up[0]["carer_changed"] != true ||
		up[0]["previous_provider_name"] != a.Name {
		t.Fatalf("Wednesday for the family: %v", up[0])
	}
	if up[1]["provider_name"] != a.Name || up[1]["carer_changed"] != true { // back to A after B
		t.Fatalf("Friday for the family: %v", up[1])
	}
	w.hours(a, nil)

	// "This and all later" from Friday: 14:00–15:30 instead. Monday (done)
	// and Wednesday stay; Friday's old visit and its request are cancelled.
	fri := r.Assigned[0]
	for _, v := range w.planned(p.ID) {
		if carehex.Day(v.Earliest).Weekday() == time.Friday && v.Earliest.Before(monday.AddDate(0, 0, 7)) {
			fri = v
		}
	}
	item := p.Items[0]
	item.WindowStart, item.WindowEnd = 14*60, 15*60+30
	if _, err := w.db.ReplacePlanItem(ctx, p.ID, item.ID, fri.Earliest, item, plan.Parse); err != nil {
		t.Fatalf("ReplacePlanItem: %v", err)
	}
	if n, err := w.planner.Project(ctx); err != nil || n != 5 { // the new item's Fri, Mon, Wed, Fri, Mon within the horizon
		t.Fatalf("Project after edit = %d, %v", n, err)
	}
	if old, _ := w.db.ServiceRequest(ctx, fri.RequestID); old.Status != carehex.StatusCancelled {
		t.Fatalf("the old Friday request is %s, want cancelled", old.Status)
	}
	if again, _ := w.db.PlannedVisit(ctx, mon.ID); again.Version != done.Version || again.RequestStatus != carehex.StatusCompleted {
		t.Fatalf("the verified Monday visit changed: %+v", again)
	}
	r, err = w.planner.Roster(ctx, monday, monday.AddDate(0, 0, 14))
	if err != nil || len(r.Assigned) != 4 || len(r.Unassigned) != 0 { // Fri, Mon, Wed, Fri of the two weeks
		t.Fatalf("Roster after edit = %+v, %v", r, err)
	}
	for _, v := range r.Assigned {
		if got := carehex.TimeOfDayOf(v.Earliest); got != 14*60 {
			t.Errorf("visit %s rostered at window %s, want 14:00", v.ID, got)
		}
	}

	// Hospital from next Monday to Wednesday: those visits are paused and
	// their requests cancelled; after she is home the pause ends and the
	// roster books them again.
	nextMon := monday.AddDate(0, 0, 7)
	stay := carehex.PlanPause{From: nextMon, To: nextMon.AddDate(0, 0, 2), Reason: "住院"}
	if _, err := w.db.SetPlanPauses(ctx, p.ID, []carehex.PlanPause{stay}, plan.Parse); err != nil {
		t.Fatalf("pause: %v", err)
	}
	if _, err := w.planner.Project(ctx); err != nil {
		t.Fatal(err)
	}
	var paused []*carehex.PlannedVisit
	for _, v := range w.planned(p.ID) {
		if v.Status == carehex.PlannedPaused {
			paused = append(paused, v)
		}
	}
	if len(paused) != 2 {
		t.Fatalf("%d visits paused, want next Monday and Wednesday", len(paused))
	}
	for _, v := range paused {
		if v.RequestID != "" {
			t.Errorf("paused visit %s still holds request %s", v.ID, v.RequestID)
		}
	}
	w.clock.Set(monday.AddDate(0, 0, 4).Add(9 * time.Hour)) // Friday morning
	for _, u := range w.upcoming(family) {
		if u["planned_visit_id"] == paused[0].ID && u["status"] != "paused" {
			t.Errorf("family sees the paused Monday as %v", u)
		}
	}
	if _, err := w.db.SetPlanPauses(ctx, p.ID, nil, plan.Parse); err != nil {
		t.Fatalf("resume: %v", err)
	}
	r, err = w.planner.Roster(ctx, monday, monday.AddDate(0, 0, 14))
	if err != nil || len(r.Assigned) != 2 {
		t.Fatalf("Roster after resume = %+v, %v", r, err)
	}
	for _, v := range w.planned(p.ID) {
		if v.Status == carehex.PlannedPaused {
			t.Errorf("visit %s still paused after resume", v.ID)
		}
	}
	// Nobody else sees them: another resident's family gets her own (none),
	// a carer's device token is refused the family route.
	other := &carehex.Resident{Name: "李秀英", Phone: "13905330002", Address: "张店区共青团路1号", Location: testenv.At(testenv.Zibo, 900, 0)}
	if err := w.db.CreateResident(ctx, other); err != nil {
		t.Fatal(err)
	}
	ofm := &carehex.FamilyMember{ResidentID: other.ID, Name: "李强", Phone: "13800000002", Relation: "son"}
	if err := w.db.LinkFamilyMember(ctx, ofm); err != nil {
		t.Fatal(err)
	}
	if up := w.upcoming(w.token(carehex.Principal{Kind: carehex.KindFamily, Subject: ofm.ID, Name: ofm.Name})); len(up) != 0 {
		t.Fatalf("another resident's family sees %v", up)
	}
	if code, _ := w.do("GET", "/m/v1/family/upcoming", aTok, nil); code != http.StatusForbidden {
		t.Fatalf("a device token on the family route: %d", code)
	}

	// Never two live visits of one carer at once.
	if pairs, err := w.db.OverlappingVisits(context.Background()); err != nil || len(pairs) != 0 {
		t.Fatalf("overlapping visits: %v, %v", pairs, err)
	}
}
