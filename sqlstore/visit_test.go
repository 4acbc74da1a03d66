package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// visitDay is the day the test visits are planned for; testNow is early
// that morning.
var visitDay = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// at returns hh:mm on visitDay.
func at(h, m int) time.Time {
	return visitDay.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func mustCreateProvider(t *testing.T, e *env, name string) *carehex.Provider {
	t.Helper()
	p := &carehex.Provider{Name: name, Phone: "13700000000", Skills: []string{"meals"},
		Home: carehex.LatLng{Lat: 36.81, Lng: 118.06}}
	if err := e.CreateProvider(opCtx(), p); err != nil {
		t.Fatalf("CreateProvider(%s): %v", name, err)
	}
	return p
}

// claim is the Assignment a dispatcher sends when provider p accepts request r.
func claim(r *carehex.ServiceRequest, p *carehex.Provider, fence int64, start, end time.Time) carehex.Assignment {
	return carehex.Assignment{RequestID: r.ID, ProviderID: p.ID, Fence: fence, Start: start, End: end,
		Actor: "provider:" + p.ID, Reason: "offer accepted"}
}

func mustAssign(t *testing.T, e *env, a carehex.Assignment) *carehex.Visit {
	t.Helper()
	_, v, err := e.AssignRequest(context.Background(), a)
	if err != nil {
		t.Fatalf("AssignRequest(fence %d, [%s, %s)): %v", a.Fence, a.Start.Format("15:04"), a.End.Format("15:04"), err)
	}
	return v
}

func mustMove(t *testing.T, e *env, v *carehex.Visit, to carehex.Status, when time.Time) *carehex.Visit {
	t.Helper()
	out, err := e.TransitionVisit(context.Background(), v.ID, to, "provider:"+v.ProviderID, "", when)
	if err != nil {
		t.Fatalf("TransitionVisit(%s → %s): %v", v.Status, to, err)
	}
	return out
}

// wantConflict checks that err is ECONFLICT whose message contains want.
func wantConflict(t *testing.T, err error, want string) {
	t.Helper()
	if carehex.ErrorCode(err) != carehex.ECONFLICT || !strings.Contains(carehex.ErrorMessage(err), want) {
		t.Fatalf("err = %v, want conflict saying %q", err, want)
	}
}

// heldOf reads the stored hold of a visit.
func heldOf(t *testing.T, e *env, id string) (start, end time.Time) {
	t.Helper()
	var s, en int64
	if err := e.db.QueryRow(e.rebind(`SELECT held_start, held_end FROM visits WHERE id = ?`), id).Scan(&s, &en); err != nil {
		t.Fatalf("read hold of %s: %v", id, err)
	}
	return fromMicros(s), fromMicros(en)
}

// wantHeld checks the stored hold of v against v.Held() and against want.
func wantHeld(t *testing.T, e *env, v *carehex.Visit, wantStart, wantEnd time.Time) {
	t.Helper()
	s, en := heldOf(t, e, v.ID)
	if !s.Equal(wantStart) || !en.Equal(wantEnd) {
		t.Errorf("%s visit holds [%v, %v), want [%v, %v)", v.Status, s, en, wantStart, wantEnd)
	}
	if hs, he := v.Held(); he.After(hs) && (!s.Equal(hs) || !en.Equal(he)) {
		t.Errorf("%s visit: stored hold [%v, %v) is not Held() = [%v, %v)", v.Status, s, en, hs, he)
	}
}

// writes counts the rows every visit write touches, to prove a refused call
// wrote nothing.
func writes(t *testing.T, e *env) string {
	t.Helper()
	fences, err := e.ProviderFences(context.Background())
	if err != nil {
		t.Fatalf("ProviderFences: %v", err)
	}
	var n []string
	for _, tb := range []string{"visits", "request_events", "audit_records"} {
		n = append(n, fmt.Sprintf("%s=%d", tb, rows(t, e, tb)))
	}
	return fmt.Sprintf("%v fences=%v", n, fences)
}

func wantNoOverlap(t *testing.T, e *env) {
	t.Helper()
	pairs, err := e.OverlappingVisits(context.Background())
	if err != nil {
		t.Fatalf("OverlappingVisits: %v", err)
	}
	show := func(v *carehex.Visit) string {
		return fmt.Sprintf("%s (fence %d, %s, [%s, %s))", v.ID, v.Fence, v.Status,
			v.PlannedStart.Format("15:04"), v.PlannedEnd.Format("15:04"))
	}
	for _, p := range pairs {
		t.Errorf("provider %s is committed to overlapping visits %s and %s", p[0].ProviderID, show(p[0]), show(p[1]))
	}
}

func TestAssignRequest(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p := mustCreateProvider(t, e, "王芳")
		r := mustCreateRequest(t, e, res.ID)
		e.clock.Advance(time.Minute)
		now := precise(e.clock.Now())

		req, v, err := e.AssignRequest(ctx, claim(r, p, 7, at(10, 0), at(11, 0)))
		if err != nil {
			t.Fatalf("AssignRequest: %v", err)
		}
		if req.Status != carehex.StatusAssigned || req.ProviderID != p.ID || req.VisitID != v.ID || !req.UpdateTime.Equal(now) {
			t.Errorf("request after assign: %+v", req)
		}
		if !strings.HasPrefix(v.ID, "vis_") || v.RequestID != r.ID || v.ProviderID != p.ID || v.Fence != 7 ||
			v.Status != carehex.StatusAssigned || !v.Live() || !v.PlannedStart.Equal(at(10, 0)) ||
			!v.PlannedEnd.Equal(at(11, 0)) || !v.FinishTime.IsZero() || !v.CreateTime.Equal(now) {
			t.Errorf("visit: %+v", v)
		}
		wantHeld(t, e, v, at(10, 0), at(11, 0))
		if got, err := e.Visit(ctx, v.ID); err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", v) {
			t.Errorf("Visit() = %+v, %v\nwant %+v", got, err, v)
		}
		if got, err := e.ServiceRequest(ctx, r.ID); err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", req) {
			t.Errorf("ServiceRequest() = %+v, %v\nwant %+v", got, err, req)
		}
		evs, err := e.RequestEvents(ctx, r.ID)
		if err != nil || len(evs) != 2 {
			t.Fatalf("events = %+v, %v", evs, err)
		}
		if ev := evs[1]; ev.Seq != 2 || ev.Type != carehex.EventStatusChange || ev.FromStatus != carehex.StatusPending ||
			ev.ToStatus != carehex.StatusAssigned || ev.Actor != "provider:"+p.ID || ev.Reason != "offer accepted" {
			t.Errorf("assign event: %+v", ev)
		}
		if recs := auditOf(t, e, v.ID); len(recs) != 1 || recs[0].Action != "visit.assign" || recs[0].Actor != "provider:"+p.ID {
			t.Errorf("audit of visit = %+v", recs)
		}
		for _, live := range []bool{true, false} {
			if vs, err := e.ProviderVisits(ctx, p.ID, live); err != nil || len(vs) != 1 || vs[0].ID != v.ID {
				t.Errorf("ProviderVisits(live %v) = %+v, %v", live, vs, err)
			}
		}
		if vs, err := e.ProviderVisits(ctx, "prv_other", false); err != nil || len(vs) != 0 {
			t.Errorf("ProviderVisits of another provider = %+v, %v", vs, err)
		}
		if f, err := e.ProviderFences(ctx); err != nil || !maps.Equal(f, map[string]int64{p.ID: 7}) {
			t.Errorf("ProviderFences = %v, %v", f, err)
		}

		// An offer that is accepted goes from offered to assigned; the
		// actor defaults to whoever is asking.
		r2 := mustCreateRequest(t, e, res.ID)
		if _, err := e.TransitionRequest(ctx, r2.ID, carehex.StatusOffered, "system:dispatch", ""); err != nil {
			t.Fatal(err)
		}
		a2 := claim(r2, p, 8, at(12, 0), at(13, 0))
		a2.Actor = ""
		if _, _, err := e.AssignRequest(ctx, a2); err != nil {
			t.Fatalf("assign an offered request: %v", err)
		}
		if evs, _ := e.RequestEvents(ctx, r2.ID); evs[len(evs)-1].FromStatus != carehex.StatusOffered ||
			evs[len(evs)-1].Actor != operator.Actor() {
			t.Errorf("events of the offered request: %+v", evs)
		}
		if vs, _ := e.ProviderVisits(ctx, p.ID, true); len(vs) != 2 || vs[0].Fence != 8 || vs[1].Fence != 7 {
			t.Errorf("ProviderVisits not newest first: %+v", vs)
		}

		cancelled := mustCreateRequest(t, e, res.ID)
		if _, err := e.TransitionRequest(ctx, cancelled.ID, carehex.StatusCancelled, "", "duplicate"); err != nil {
			t.Fatal(err)
		}
		idle := mustCreateProvider(t, e, "赵强")
		if _, err := e.db.Exec(e.rebind(`UPDATE providers SET active = 0 WHERE id = ?`), idle.ID); err != nil {
			t.Fatal(err)
		}
		free := mustCreateRequest(t, e, res.ID)
		ok := claim(free, p, 100, at(15, 0), at(16, 0))
		tests := []struct {
			name        string
			edit        func(a *carehex.Assignment)
			code, field string
		}{
			{"no request", func(a *carehex.Assignment) { a.RequestID = "" }, carehex.EINVALID, "request_id"},
			{"no provider", func(a *carehex.Assignment) { a.ProviderID = "" }, carehex.EINVALID, "provider_id"},
			{"no fence", func(a *carehex.Assignment) { a.Fence = 0 }, carehex.EINVALID, "fence"},
			{"negative fence", func(a *carehex.Assignment) { a.Fence = -3 }, carehex.EINVALID, "fence"},
			{"no start", func(a *carehex.Assignment) { a.Start = time.Time{} }, carehex.EINVALID, "start_time"},
			{"empty slot", func(a *carehex.Assignment) { a.End = a.Start.Add(time.Nanosecond) }, carehex.EINVALID, "end_time"},
			{"ends before it starts", func(a *carehex.Assignment) { a.End = a.Start.Add(-time.Hour) }, carehex.EINVALID, "end_time"},
			{"days long", func(a *carehex.Assignment) { a.End = a.Start.Add(25 * time.Hour) }, carehex.EINVALID, "end_time"},
			{"bad reason", func(a *carehex.Assignment) { a.Reason = "\xff" }, carehex.EINVALID, "reason"},
			{"unknown provider", func(a *carehex.Assignment) { a.ProviderID = "prv_nope" }, carehex.ENOTFOUND, "provider_id"},
			{"inactive provider", func(a *carehex.Assignment) { a.ProviderID = idle.ID }, carehex.ECONFLICT, "provider_id"},
			// These pass the fence and must not keep it.
			{"unknown request", func(a *carehex.Assignment) { a.RequestID = "req_nope" }, carehex.ENOTFOUND, "request_id"},
			{"assigned request", func(a *carehex.Assignment) { a.RequestID = r.ID }, carehex.ECONFLICT, "request_id"},
			{"cancelled request", func(a *carehex.Assignment) { a.RequestID = cancelled.ID }, carehex.ECONFLICT, "request_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := writes(t, e)
				a := ok
				tt.edit(&a)
				req, v, err := e.AssignRequest(ctx, a)
				wantErr(t, err, tt.code, tt.field)
				if req != nil || v != nil {
					t.Errorf("returned %+v, %+v with the error", req, v)
				}
				if after := writes(t, e); after != before {
					t.Errorf("a refused assignment wrote: %s → %s", before, after)
				}
			})
		}
		if got, _ := e.ServiceRequest(ctx, free.ID); got.Status != carehex.StatusPending {
			t.Errorf("refusals moved the request to %s", got.Status)
		}
		_, err = e.Visit(ctx, "vis_nope")
		wantErr(t, err, carehex.ENOTFOUND, "id")
	})
}

func TestStaleFence(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p := mustCreateProvider(t, e, "王芳")
		r1, r2 := mustCreateRequest(t, e, res.ID), mustCreateRequest(t, e, res.ID)
		req1, v1, err := e.AssignRequest(ctx, claim(r1, p, 5, at(10, 0), at(11, 0)))
		if err != nil {
			t.Fatal(err)
		}

		// A paused replica wakes up with an older token, or replays the
		// same one for another request: the claim loses, whatever its slot.
		for _, fence := range []int64{4, 5} {
			before := writes(t, e)
			req, v, err := e.AssignRequest(ctx, claim(r2, p, fence, at(14, 0), at(15, 0)))
			wantConflict(t, err, fmt.Sprintf("stale claim: fence %d is not newer than 5", fence))
			if carehex.ErrorField(err) != "fence" || req != nil || v != nil {
				t.Errorf("fence %d: %+v, %+v, field %q", fence, req, v, carehex.ErrorField(err))
			}
			if after := writes(t, e); after != before {
				t.Errorf("fence %d: a stale claim wrote: %s → %s", fence, before, after)
			}
			if got, _ := e.ServiceRequest(ctx, r2.ID); got.Status != carehex.StatusPending || got.ProviderID != "" {
				t.Errorf("fence %d: request after a stale claim: %+v", fence, got)
			}
		}

		// The dispatcher that committed fence 5 retries after losing the
		// reply: it gets the first answer, and nothing is written again.
		before := writes(t, e)
		again, av, err := e.AssignRequest(ctx, claim(r1, p, 5, at(10, 0), at(11, 0)))
		if err != nil || av.ID != v1.ID || again.VisitID != req1.VisitID {
			t.Errorf("retry of the committed claim = %+v, %+v, %v", again, av, err)
		}
		if after := writes(t, e); after != before {
			t.Errorf("a retry wrote: %s → %s", before, after)
		}

		if _, _, err := e.AssignRequest(ctx, claim(r2, p, 6, at(14, 0), at(15, 0))); err != nil {
			t.Fatalf("a newer fence: %v", err)
		}
		// Fences are per provider.
		p2 := mustCreateProvider(t, e, "李强")
		mustAssign(t, e, claim(mustCreateRequest(t, e, res.ID), p2, 1, at(10, 0), at(11, 0)))
		if f, _ := e.ProviderFences(ctx); !maps.Equal(f, map[string]int64{p.ID: 6, p2.ID: 1}) {
			t.Errorf("ProviderFences = %v", f)
		}
	})
}

func TestVisitOverlap(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p := mustCreateProvider(t, e, "王芳")
		fence := int64(0)
		try := func(from, to time.Time) (*carehex.Visit, error) {
			fence++
			_, v, err := e.AssignRequest(ctx, claim(mustCreateRequest(t, e, res.ID), p, fence, from, to))
			return v, err
		}
		a, err := try(at(10, 0), at(11, 0))
		if err != nil {
			t.Fatal(err)
		}
		_, err = try(at(10, 30), at(11, 30))
		wantConflict(t, err, "provider is committed to visit "+a.ID+" at that time")
		_, err = try(at(9, 0), at(10, 30))
		wantConflict(t, err, a.ID)
		// Slots are half-open: ending as another begins, or beginning as it
		// ends, is free.
		if _, err := try(at(9, 0), at(10, 0)); err != nil {
			t.Fatalf("[09:00, 10:00): %v", err)
		}
		c, err := try(at(11, 0), at(11, 30))
		if err != nil {
			t.Fatalf("[11:00, 11:30): %v", err)
		}

		// Once the provider sets off, the visit holds them until it
		// finishes: nothing new can be booked after it begins.
		e.clock.Set(at(9, 55))
		a = mustMove(t, e, a, carehex.StatusEnRoute, time.Time{})
		wantHeld(t, e, a, at(10, 0), carehex.Forever)
		_, err = try(at(13, 0), at(14, 0))
		wantConflict(t, err, a.ID)
		// a's hold now overlaps c, which was committed before the provider
		// set off: if a runs late, c starts late. That is not a double
		// booking, and the scan says so.
		wantNoOverlap(t, e)

		e.clock.Set(at(10, 5))
		a = mustMove(t, e, a, carehex.StatusInProgress, time.Time{})
		e.clock.Set(at(11, 25))
		a = mustMove(t, e, a, carehex.StatusCompleted, at(11, 20))
		if !a.FinishTime.Equal(at(11, 20)) {
			t.Errorf("FinishTime = %v", a.FinishTime)
		}
		wantHeld(t, e, a, at(10, 0), at(11, 20))
		_, err = try(at(11, 15), at(11, 25))
		wantConflict(t, err, a.ID)
		if _, err := try(at(11, 30), at(12, 30)); err != nil {
			t.Fatalf("[11:30, 12:30) after the visit ended at 11:20: %v", err)
		}
		wantNoOverlap(t, e)
		wantHeld(t, e, c, at(11, 0), at(11, 30))
		live, _ := e.ProviderVisits(ctx, p.ID, true)
		if len(live) != 3 || slices.ContainsFunc(live, func(v *carehex.Visit) bool { return v.ID == a.ID }) {
			t.Errorf("live visits = %+v; want three, not the completed one", live)
		}
	})
}

// TestAssignRace is invariant 1 under contention: many dispatchers (replicas,
// retries) commit claims for one provider in one slot at the same moment,
// each with its own fencing token. Exactly one may win.
func TestAssignRace(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p := mustCreateProvider(t, e, "王芳")
		const n = 20
		var won []*carehex.Visit
		for round := range 3 {
			reqs := make([]*carehex.ServiceRequest, n)
			for i := range reqs {
				reqs[i] = mustCreateRequest(t, e, res.ID)
			}
			slot := at(10+2*round, 0)
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				visits [n]*carehex.Visit
				errs   [n]error
			)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, visits[i], errs[i] = e.AssignRequest(ctx,
						claim(reqs[i], p, int64(100*(round+1)+i), slot, slot.Add(time.Hour)))
				}()
			}
			close(start)
			wg.Wait()
			var winner *carehex.Visit
			for i, err := range errs {
				switch carehex.ErrorCode(err) {
				case "":
					if winner != nil {
						t.Errorf("round %d: fences %d and %d both won", round, winner.Fence, visits[i].Fence)
					}
					winner = visits[i]
				case carehex.ECONFLICT:
					got, _ := e.ServiceRequest(ctx, reqs[i].ID)
					if evs, _ := e.RequestEvents(ctx, reqs[i].ID); got.Status != carehex.StatusPending || len(evs) != 1 {
						t.Errorf("round %d: a losing request is %s with %d events", round, got.Status, len(evs))
					}
				default:
					t.Errorf("round %d: fence %d: %v", round, 100*(round+1)+i, err)
				}
			}
			if winner == nil {
				t.Fatalf("round %d: nobody won", round)
			}
			won = append(won, winner)
			if f, _ := e.ProviderFences(ctx); f[p.ID] != winner.Fence {
				t.Errorf("round %d: provider fence %d, want the winner's %d", round, f[p.ID], winner.Fence)
			}
		}
		vs, err := e.ProviderVisits(ctx, p.ID, false)
		if err != nil || len(vs) != len(won) {
			t.Fatalf("ProviderVisits = %d visits, %v; want %d", len(vs), err, len(won))
		}
		wantNoOverlap(t, e)
	})
}

// TestSetOffRace: a provider setting off (their hold becomes open-ended)
// while a dispatcher books them later that day. Either order is fine; both
// committing unseen by each other is not.
func TestSetOffRace(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		e.clock.Set(at(9, 50))
		for i := range 8 {
			p := mustCreateProvider(t, e, fmt.Sprintf("王芳%d", i))
			v := mustAssign(t, e, claim(mustCreateRequest(t, e, res.ID), p, 1, at(10, 0), at(11, 0)))
			later := claim(mustCreateRequest(t, e, res.ID), p, 2, at(13, 0), at(14, 0))
			var (
				wg              sync.WaitGroup
				start           = make(chan struct{})
				moveErr, asgErr error
			)
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-start
				_, moveErr = e.TransitionVisit(ctx, v.ID, carehex.StatusEnRoute, "provider:"+p.ID, "", time.Time{})
			}()
			go func() {
				defer wg.Done()
				<-start
				_, _, asgErr = e.AssignRequest(ctx, later)
			}()
			close(start)
			wg.Wait()
			if moveErr != nil {
				t.Fatalf("setting off: %v", moveErr)
			}
			if asgErr != nil && carehex.ErrorCode(asgErr) != carehex.ECONFLICT {
				t.Fatalf("booking later: %v", asgErr)
			}
		}
		wantNoOverlap(t, e)
	})
}

func TestAssignSameRequest(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p1, p2 := mustCreateProvider(t, e, "王芳"), mustCreateProvider(t, e, "李强")
		r := mustCreateRequest(t, e, res.ID)
		v := mustAssign(t, e, claim(r, p1, 1, at(10, 0), at(11, 0)))
		before := writes(t, e)
		_, _, err := e.AssignRequest(ctx, claim(r, p2, 1, at(10, 0), at(11, 0)))
		wantConflict(t, err, "is assigned")
		if after := writes(t, e); after != before {
			t.Errorf("a second assignment wrote: %s → %s", before, after)
		}
		if got, _ := e.ServiceRequest(ctx, r.ID); got.ProviderID != p1.ID || got.VisitID != v.ID {
			t.Errorf("request after the second claim: %+v", got)
		}

		t.Run("concurrent", func(t *testing.T) {
			r := mustCreateRequest(t, e, res.ID)
			var ps []*carehex.Provider
			for i := range 6 {
				ps = append(ps, mustCreateProvider(t, e, fmt.Sprintf("张%d", i)))
			}
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				errs  = make([]error, len(ps))
			)
			for i, p := range ps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, _, errs[i] = e.AssignRequest(ctx, claim(r, p, 10, at(15, 0), at(16, 0)))
				}()
			}
			close(start)
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch carehex.ErrorCode(err) {
				case "":
					ok++
				case carehex.ECONFLICT:
				default:
					t.Errorf("racing claim: %v", err)
				}
			}
			var live int
			if err := e.db.QueryRow(e.rebind(`SELECT COUNT(*) FROM visits WHERE request_id = ?`), r.ID).Scan(&live); err != nil {
				t.Fatal(err)
			}
			if ok != 1 || live != 1 {
				t.Errorf("%d claims won, %d visits; want exactly one", ok, live)
			}
		})
	})
}

func TestTransitionVisit(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p := mustCreateProvider(t, e, "王芳")
		r := mustCreateRequest(t, e, res.ID)
		v := mustAssign(t, e, claim(r, p, 1, at(10, 0), at(11, 0)))
		actor := "provider:" + p.ID

		steps := []struct {
			to        carehex.Status
			now, when time.Time
			heldEnd   time.Time
		}{
			{carehex.StatusEnRoute, at(9, 40), time.Time{}, carehex.Forever},
			{carehex.StatusInProgress, at(10, 2), at(10, 1), carehex.Forever},
			{carehex.StatusCompleted, at(11, 0), at(10, 55), at(10, 55)},
		}
		for i, st := range steps {
			e.clock.Set(st.now)
			from := v.Status
			out, err := e.TransitionVisit(ctx, v.ID, st.to, actor, "gps", st.when)
			if err != nil {
				t.Fatalf("%s → %s: %v", from, st.to, err)
			}
			if out.Status != st.to || !out.UpdateTime.Equal(st.now) || out.Fence != v.Fence || !out.PlannedStart.Equal(v.PlannedStart) {
				t.Errorf("%s → %s: returned %+v", from, st.to, out)
			}
			v = out
			if got, _ := e.Visit(ctx, v.ID); fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", v) {
				t.Errorf("Visit() = %+v\nwant %+v", got, v)
			}
			wantHeld(t, e, v, at(10, 0), st.heldEnd)
			req, _ := e.ServiceRequest(ctx, r.ID)
			evs, _ := e.RequestEvents(ctx, r.ID)
			last := evs[len(evs)-1]
			if req.Status != st.to || len(evs) != i+3 || last.Seq != i+3 || last.FromStatus != from || last.ToStatus != st.to ||
				last.Actor != actor || last.Reason != "gps" || !last.Time.Equal(st.now) {
				t.Errorf("%s → %s: request %s, events %+v", from, st.to, req.Status, evs)
			}
		}
		if !v.FinishTime.Equal(at(10, 55)) {
			t.Errorf("FinishTime = %v", v.FinishTime)
		}
		if recs := auditOf(t, e, v.ID); len(recs) != 4 || recs[0].Action != "visit.transition" || recs[0].Actor != actor {
			t.Errorf("audit of the visit: %+v", recs)
		}

		// Refusals change nothing.
		fresh := mustAssign(t, e, claim(mustCreateRequest(t, e, res.ID), p, 2, at(12, 0), at(13, 0)))
		refusals := []struct {
			name        string
			id          string
			to          carehex.Status
			reason      string
			when        time.Time
			code, field string
		}{
			{"finished", v.ID, carehex.StatusEnRoute, "", time.Time{}, carehex.ECONFLICT, "status"},
			{"finished, cancel", v.ID, carehex.StatusCancelled, "", time.Time{}, carehex.ECONFLICT, "status"},
			{"skipping in_progress", fresh.ID, carehex.StatusCompleted, "", time.Time{}, carehex.ECONFLICT, "status"},
			{"to assigned", fresh.ID, carehex.StatusAssigned, "", time.Time{}, carehex.ECONFLICT, "status"},
			{"to offered", fresh.ID, carehex.StatusOffered, "", time.Time{}, carehex.ECONFLICT, "status"},
			{"to unfilled", fresh.ID, carehex.StatusUnfilled, "", time.Time{}, carehex.ECONFLICT, "status"},
			{"unknown status", fresh.ID, "teleported", "", time.Time{}, carehex.EINVALID, "status"},
			{"unknown visit", "vis_nope", carehex.StatusEnRoute, "", time.Time{}, carehex.ENOTFOUND, "id"},
			{"bad reason", fresh.ID, carehex.StatusEnRoute, "\xff", time.Time{}, carehex.EINVALID, "reason"},
			{"in the future", fresh.ID, carehex.StatusEnRoute, "", e.clock.Now().Add(time.Hour), carehex.EINVALID, "time"},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				before := writes(t, e)
				out, err := e.TransitionVisit(ctx, tt.id, tt.to, actor, tt.reason, tt.when)
				wantErr(t, err, tt.code, tt.field)
				if out != nil {
					t.Errorf("returned %+v with the error", out)
				}
				if after := writes(t, e); after != before {
					t.Errorf("a refused transition wrote: %s → %s", before, after)
				}
			})
		}
		if got, _ := e.Visit(ctx, fresh.ID); got.Status != carehex.StatusAssigned {
			t.Errorf("refusals moved the visit to %s", got.Status)
		}

		t.Run("provider drops out", func(t *testing.T) {
			e.clock.Set(at(11, 30))
			out := mustMove(t, e, fresh, carehex.StatusPending, time.Time{})
			if out.Status != carehex.StatusCancelled || !out.FinishTime.Equal(at(11, 30)) || out.Live() {
				t.Errorf("visit after drop-out: %+v", out)
			}
			wantHeld(t, e, out, at(12, 0), at(12, 0))
			req, _ := e.ServiceRequest(ctx, out.RequestID)
			if req.Status != carehex.StatusPending || req.ProviderID != "" || req.VisitID != "" {
				t.Errorf("request after drop-out: %+v", req)
			}
			evs, _ := e.RequestEvents(ctx, req.ID)
			if last := evs[len(evs)-1]; last.Type != carehex.EventStatusChange || last.FromStatus != carehex.StatusAssigned ||
				last.ToStatus != carehex.StatusPending {
				t.Errorf("drop-out event: %+v", last)
			}
			// The slot is free again and the request can go to someone else.
			again := mustAssign(t, e, claim(req, p, 3, at(12, 0), at(13, 0)))
			if vs, _ := e.ProviderVisits(ctx, p.ID, false); len(vs) != 3 || vs[0].ID != again.ID || vs[1].ID != fresh.ID {
				t.Errorf("ProviderVisits = %+v", vs)
			}
			wantNoOverlap(t, e)
		})

		t.Run("finished before the planned start", func(t *testing.T) {
			// The provider came early: the visit holds nothing rather than a
			// negative interval.
			w := mustAssign(t, e, claim(mustCreateRequest(t, e, res.ID), p, 4, at(15, 0), at(16, 0)))
			e.clock.Set(at(14, 0))
			w = mustMove(t, e, w, carehex.StatusInProgress, time.Time{})
			e.clock.Set(at(14, 35))
			w = mustMove(t, e, w, carehex.StatusCompleted, at(14, 30))
			wantHeld(t, e, w, at(15, 0), at(15, 0))
		})
	})
}

func TestCancelRequestWithVisit(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p := mustCreateProvider(t, e, "王芳")
		r := mustCreateRequest(t, e, res.ID)
		v := mustAssign(t, e, claim(r, p, 1, at(10, 0), at(11, 0)))
		e.clock.Set(at(8, 0))
		req, err := e.TransitionRequest(ctx, r.ID, carehex.StatusCancelled, operator.Actor(), "family called")
		if err != nil {
			t.Fatalf("TransitionRequest: %v", err)
		}
		if req.Status != carehex.StatusCancelled || req.CancelReason != "family called" {
			t.Errorf("request: %+v", req)
		}
		got, _ := e.Visit(ctx, v.ID)
		if got.Status != carehex.StatusCancelled || !got.FinishTime.Equal(at(8, 0)) || got.Live() {
			t.Errorf("visit of the cancelled request: %+v", got)
		}
		if s, en := got.Held(); !s.Equal(en) {
			t.Errorf("Held() = [%v, %v), want empty", s, en)
		}
		wantHeld(t, e, got, at(10, 0), at(10, 0))
		if live, _ := e.ProviderVisits(ctx, p.ID, true); len(live) != 0 {
			t.Errorf("live visits after cancelling: %+v", live)
		}
		evs, _ := e.RequestEvents(ctx, r.ID)
		if len(evs) != 3 || evs[2].Type != carehex.EventCancelled || evs[2].FromStatus != carehex.StatusAssigned ||
			evs[2].Actor != operator.Actor() {
			t.Errorf("events: %+v", evs)
		}
		if recs := auditOf(t, e, v.ID); len(recs) != 2 || recs[0].Action != "visit.transition" {
			t.Errorf("audit of the visit: %+v", recs)
		}
		if recs := auditOf(t, e, r.ID); recs[0].Action != "request.transition" {
			t.Errorf("audit of the request: %+v", recs)
		}

		// The provider's slot is free again.
		r2 := mustCreateRequest(t, e, res.ID)
		v2 := mustAssign(t, e, claim(r2, p, 2, at(10, 0), at(11, 0)))
		// Moving the request moves its visit, whichever way it is asked.
		if _, err := e.TransitionRequest(ctx, r2.ID, carehex.StatusEnRoute, "", ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.Visit(ctx, v2.ID); got.Status != carehex.StatusEnRoute {
			t.Errorf("visit after the request set off: %s", got.Status)
		}
		req, err = e.TransitionRequest(ctx, r2.ID, carehex.StatusPending, "", "provider's scooter broke down")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := e.Visit(ctx, v2.ID); got.Status != carehex.StatusCancelled || req.ProviderID != "" || req.VisitID != "" {
			t.Errorf("after dropping out through the request: visit %s, request %+v", got.Status, req)
		}
		if evs, _ := e.RequestEvents(ctx, r2.ID); len(evs) != 4 {
			t.Errorf("one event per move, got %+v", evs)
		}
		wantNoOverlap(t, e)
	})
}

// insertRawVisit writes a visit behind the store's back, as a bug or a
// hand edit might, so the scan can be shown to catch what the guards prevent.
func insertRawVisit(t *testing.T, e *env, r *carehex.ServiceRequest, p *carehex.Provider, fence int64,
	start, end time.Time) string {
	t.Helper()
	id := carehex.NewID("vis")
	if _, err := e.db.Exec(e.rebind(`INSERT INTO visits (id, request_id, provider_id, fence, status,
		planned_start, planned_end, held_start, held_end, create_time, update_time)
		VALUES (?, ?, ?, ?, 'assigned', ?, ?, ?, ?, ?, ?)`), id, r.ID, p.ID, fence, micros(start), micros(end),
		micros(start), micros(end), micros(testNow), micros(testNow)); err != nil {
		t.Fatalf("insert raw visit: %v", err)
	}
	return id
}

func TestOverlappingVisits(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		newReq := func() *carehex.ServiceRequest { return mustCreateRequest(t, e, res.ID) }

		// A double booking in one slot.
		p1 := mustCreateProvider(t, e, "王芳")
		a := mustAssign(t, e, claim(newReq(), p1, 1, at(10, 0), at(11, 0)))
		wantNoOverlap(t, e)
		x := insertRawVisit(t, e, newReq(), p1, 2, at(10, 30), at(11, 30))

		// Lateness: b overran into c, committed before b set off. Not counted.
		p2 := mustCreateProvider(t, e, "李强")
		b := mustAssign(t, e, claim(newReq(), p2, 1, at(10, 0), at(11, 0)))
		mustAssign(t, e, claim(newReq(), p2, 2, at(11, 0), at(12, 0)))
		e.clock.Set(at(9, 50))
		b = mustMove(t, e, b, carehex.StatusEnRoute, time.Time{})
		b = mustMove(t, e, b, carehex.StatusInProgress, time.Time{})
		e.clock.Set(at(11, 30))
		mustMove(t, e, b, carehex.StatusCompleted, at(11, 20))

		// A booking slipped into an open-ended hold after the provider set off.
		p3 := mustCreateProvider(t, e, "赵强")
		d := mustAssign(t, e, claim(newReq(), p3, 1, at(10, 0), at(11, 0)))
		e.clock.Set(at(9, 50))
		mustMove(t, e, d, carehex.StatusEnRoute, time.Time{})
		y := insertRawVisit(t, e, newReq(), p3, 2, at(13, 0), at(14, 0))
		// A visit that holds nothing (as a cancelled one) overlaps nothing.
		insertRawVisit(t, e, newReq(), p3, 3, at(13, 0), at(13, 0))

		pairs, err := e.OverlappingVisits(ctx)
		if err != nil {
			t.Fatalf("OverlappingVisits: %v", err)
		}
		var got []string
		for _, pr := range pairs {
			got = append(got, pr[0].ID+"+"+pr[1].ID)
		}
		want := []string{a.ID + "+" + x, d.ID + "+" + y}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("OverlappingVisits = %q, want %q", got, want)
		}
		if len(pairs) > 0 && (pairs[0][0].Status == "" || pairs[0][1].PlannedStart.IsZero()) {
			t.Errorf("pairs carry incomplete visits: %+v", pairs[0])
		}
	})
}
