package plan_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/plan"
)

// TestPlannedOnDemandRace extends the assignment race (sqlstore's
// TestAssignRace) across the two halves of the work: in each round, hand
// assignments of on-demand requests (Redis claim, then SQL) and rostered
// planned visits (Redis fence, then SQL) for one carer in overlapping time
// all start at once. Exactly one wins, and the overlap scan finds
// nothing, on SQLite and PostgreSQL.
func TestPlannedOnDemandRace(t *testing.T) {
	onEachStore(t, func(t *testing.T, w *world) {
		ctx := testenv.OpCtx()
		res := &carehex.Resident{Name: "张桂兰", Phone: "13905330001", Address: "张店区华光路56号", Location: testenv.Zibo}
		if err := w.db.CreateResident(ctx, res); err != nil {
			t.Fatal(err)
		}
		carer, _ := w.carer("王芳", 300)
		const n = 6 // of each kind per round
		for round := range 3 {
			// The carer is free and on the map again for the round.
			if _, err := w.eng.Heartbeat(ctx, carehex.Heartbeat{ProviderID: carer.ID, Position: carer.Home, AccuracyM: 10,
				Available: true, Skills: carer.Skills}); err != nil {
				t.Fatalf("heartbeat: %v", err)
			}
			now := w.clock.Now()
			var onDemand, planned []*carehex.ServiceRequest
			for range n {
				r, _, err := w.db.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery",
					Urgency: carehex.UrgencySoon}, "")
				if err != nil {
					t.Fatal(err)
				}
				onDemand = append(onDemand, r)
				p, _, err := w.db.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery",
					Urgency: carehex.UrgencyScheduled, WindowStart: now.Add(time.Minute), WindowEnd: now.Add(time.Hour)}, "")
				if err != nil {
					t.Fatal(err)
				}
				planned = append(planned, p)
			}
			var (
				wg      sync.WaitGroup
				go_     = make(chan struct{})
				mu      sync.Mutex
				winners []string
			)
			try := func(kind string, f func() (*carehex.Visit, error)) {
				defer wg.Done()
				<-go_
				v, err := f()
				switch carehex.ErrorCode(err) {
				case "":
					mu.Lock()
					winners = append(winners, kind+" "+v.ID)
					mu.Unlock()
				case carehex.ECONFLICT:
				default:
					t.Errorf("%s: %v", kind, err)
				}
			}
			for i := range n {
				wg.Add(2)
				go try("on-demand", func() (*carehex.Visit, error) {
					_, v, err := w.eng.Assign(ctx, onDemand[i].ID, carer.ID, "operator", "race")
					return v, err
				})
				// Planned slots from 12 minutes before now to 8 after,
				// 30 minutes long: each overlaps every other and the
				// on-demand slot from now.
				start := now.Add(time.Duration(i-n/2) * 4 * time.Minute)
				go try("planned", func() (*carehex.Visit, error) {
					_, v, err := w.eng.AssignPlanned(ctx, planned[i].ID, carer.ID, start, start.Add(30*time.Minute), "system:plan", "race")
					return v, err
				})
			}
			close(go_)
			wg.Wait()
			// The carer was free: exactly one must win (one claim in
			// Redis at a time; SQL refuses the stale fence or the overlap).
			if len(winners) != 1 {
				t.Fatalf("round %d: %d assignments of one carer in overlapping time won, want 1: %v", round, len(winners), winners)
			}
			t.Logf("round %d: %v", round, winners)
			if pairs, err := w.db.OverlappingVisits(context.Background()); err != nil || len(pairs) != 0 {
				t.Fatalf("round %d: overlapping visits %v, %v", round, pairs, err)
			}
			// Finish the round's winner and move on past its time.
			vs, _ := w.db.ProviderVisits(context.Background(), carer.ID, true)
			for _, v := range vs {
				if _, err := w.db.TransitionVisit(ctx, v.ID, carehex.StatusCancelled, "operator", "next round", time.Time{}); err != nil {
					t.Fatalf("cancel winner: %v", err)
				}
			}
			if _, err := w.eng.FreeIfDone(ctx, carer.ID); err != nil {
				t.Fatal(err)
			}
			w.clock.Advance(3 * time.Hour)
		}
	})
}

// TestRosterKeepsOnDemandTime: work already committed (an on-demand visit
// taken by hand) is time the roster leaves free, so the planned visit goes
// after it rather than losing at the fence.
func TestRosterKeepsOnDemandTime(t *testing.T) {
	w := newWorld(t, testenv.SQLitePath(t))
	ctx := testenv.OpCtx()
	res := &carehex.Resident{Name: "张桂兰", Phone: "13905330001", Address: "张店区华光路56号", Location: testenv.Zibo}
	if err := w.db.CreateResident(ctx, res); err != nil {
		t.Fatal(err)
	}
	carer, _ := w.carer("王芳", 300)
	w.clock.Set(time.Date(2026, 3, 2, 10, 50, 0, 0, carehex.CST))
	if _, err := w.eng.Heartbeat(ctx, carehex.Heartbeat{ProviderID: carer.ID, Position: carer.Home, AccuracyM: 10,
		Available: true, Skills: carer.Skills}); err != nil {
		t.Fatal(err)
	}
	r, _, err := w.db.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery",
		Urgency: carehex.UrgencySoon}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, od, err := w.eng.Assign(ctx, r.ID, carer.ID, "operator", "by hand")
	if err != nil {
		t.Fatalf("on-demand Assign: %v", err)
	}
	p := &carehex.CarePlan{ResidentID: res.ID, StartDate: w.clock.Now(), Items: []carehex.PlanItem{{
		ServiceCode: "meal_delivery", RRule: "FREQ=DAILY", WindowStart: 11 * 60, WindowEnd: 12*60 + 30, Duration: 30 * time.Minute}}}
	if err := w.db.CreateCarePlan(ctx, p, plan.Parse); err != nil {
		t.Fatal(err)
	}
	if _, err := w.planner.Project(ctx); err != nil {
		t.Fatal(err)
	}
	day := carehex.Day(w.clock.Now())
	got, err := w.planner.Roster(ctx, day, day.AddDate(0, 0, 1))
	if err != nil || len(got.Assigned) != 1 {
		t.Fatalf("Roster = %+v, %v", got, err)
	}
	v, err := w.db.Visit(ctx, got.Assigned[0].VisitID)
	if err != nil {
		t.Fatal(err)
	}
	if v.PlannedStart.Before(od.PlannedEnd) {
		t.Fatalf("planned visit at %v, inside the on-demand visit until %v", v.PlannedStart, od.PlannedEnd)
	}
}

// TestCantDoRace: a carer's "can't do" repairs the roster through the
// fenced claim while the hotline assigns the only other carer by hand to
// on-demand visits at the same time. Whatever order they land in, the
// other carer is never booked twice (the overlap scan finds nothing), the
// planned visit is either hers or left open with a reason, and of the
// on-demand visits (overlapping each other) at most one wins. SQLite and
// PostgreSQL, three rounds each.
func TestCantDoRace(t *testing.T) {
	onEachDSN(t, func(t *testing.T, dsn string) {
		w := newChangeWorld(t, dsn)
		ctx := testenv.OpCtx()
		if _, err := w.eng.Heartbeat(ctx, carehex.Heartbeat{ProviderID: w.b.ID, Position: w.b.Home, AccuracyM: 10,
			Available: true, Skills: w.b.Skills}); err != nil {
			t.Fatal(err)
		}
		const n = 4
		for round, pv := range w.days[1:] {
			var reqs []*carehex.ServiceRequest
			for range n {
				r, _, err := w.db.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: w.res.ID, ServiceCode: "meal_delivery",
					Urgency: carehex.UrgencyScheduled, WindowStart: pv.Earliest, WindowEnd: pv.Earliest.Add(30 * time.Minute)}, "")
				if err != nil {
					t.Fatal(err)
				}
				reqs = append(reqs, r)
			}
			var (
				wg       sync.WaitGroup
				go_      = make(chan struct{})
				mu       sync.Mutex
				onDemand int
				change   *plan.Change
			)
			wg.Add(n + 1)
			go func() {
				defer wg.Done()
				<-go_
				ch, err := w.planner.CantDo(ctx, w.a.ID, pv.ID, carehex.CantDoUnwell, "")
				if err != nil {
					t.Errorf("round %d CantDo: %v", round, err)
					return
				}
				change = ch
			}()
			for _, r := range reqs {
				go func() {
					defer wg.Done()
					<-go_
					_, _, err := w.eng.Assign(ctx, r.ID, w.b.ID, "operator", "race")
					switch carehex.ErrorCode(err) {
					case "":
						mu.Lock()
						onDemand++
						mu.Unlock()
					case carehex.ECONFLICT:
					default:
						t.Errorf("round %d Assign: %v", round, err)
					}
				}()
			}
			close(go_)
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			if onDemand > 1 {
				t.Fatalf("round %d: %d overlapping on-demand visits of one carer won", round, onDemand)
			}
			if pairs, err := w.db.OverlappingVisits(context.Background()); err != nil || len(pairs) != 0 {
				t.Fatalf("round %d: overlapping visits %v, %v", round, pairs, err)
			}
			got, _ := w.db.PlannedVisit(ctx, pv.ID)
			switch {
			case got.Status == carehex.PlannedAssigned && got.ProviderID == w.b.ID && len(change.Rostered) == 1:
			case got.Status == carehex.PlannedOpen && len(change.Unplaced) == 1 && change.Unplaced[0].Reason != "":
			default:
				t.Fatalf("round %d: planned visit %+v after the race, change %+v", round, got, change)
			}
			t.Logf("round %d: on-demand won %d, planned %s (%+v)", round, onDemand, got.Status, change.Unplaced)
		}
	})
}
