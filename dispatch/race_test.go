package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/dispatch"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/providers"
	"github.com/carehex/carehex/sqlstore"
)

// TestTwoReplicas: two engines ("replicas"), each with its own database pool
// and Redis connections to one PostgreSQL database and one zone, tick
// continuously over the same 50 requests (a third of them emergencies,
// offered to three providers at once) while 10 providers accept (often on
// both replicas at once), decline, ignore offers and finish their visits.
// The fake clock runs at 100× so offers expire during the run. At the end the
// invariant scan finds no overlapping visits, and every request is accounted
// for: done or assigned, or still waiting with its offers in order.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	const (
		nProviders = 10
		nRequests  = 50
	)
	clock := newClock()
	dsn := testenv.PostgresURL(t)
	zone := uniqueZone()
	cfg := dispatch.DefaultConfig()
	type replica struct {
		db   *sqlstore.DB
		live *providers.Store
		eng  *dispatch.Engine
	}
	reps := make([]replica, 2)
	for i := range reps {
		db := openDB(t, dsn, clock)
		live := openLive(t, zone, clock)
		reps[i] = replica{db, live, newEngine(t, cfg, db, live, clock)}
	}
	db := reps[0].db
	ctx := context.Background()

	// The roster, and the residents, spread over 2 km around zibo.
	rng := rand.New(rand.NewPCG(1, 2))
	spot := func() carehex.LatLng { return at(zibo, rng.Float64()*2000-1000, rng.Float64()*2000-1000) }
	type prov struct {
		id  string
		pos carehex.LatLng
	}
	ps := make([]prov, nProviders)
	for i := range ps {
		p := &carehex.Provider{Name: fmt.Sprintf("护理员%d", i), Phone: "13700000000", Skills: allSkills, Home: spot()}
		if err := db.CreateProvider(opCtx(), p); err != nil {
			t.Fatal(err)
		}
		ps[i] = prov{p.ID, p.Home}
	}
	// Both replicas start at once and find the zone empty: both rebuild.
	var wg sync.WaitGroup
	for _, r := range reps {
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.eng.Tick(ctx) }()
	}
	wg.Wait()
	beat := func(p prov) error {
		_, err := reps[rand.IntN(2)].live.Heartbeat(ctx, providers.Heartbeat{ProviderID: p.id, Position: p.pos, AccuracyM: 10,
			Available: true, Skills: allSkills})
		return err
	}
	for _, p := range ps {
		if err := beat(p); err != nil {
			t.Fatal(err)
		}
	}
	var reqIDs []string
	for i := range nRequests {
		res := &carehex.Resident{Name: fmt.Sprintf("老人%d", i), Phone: "13905330001", Address: "张店区", Location: spot()}
		if err := db.CreateResident(opCtx(), res); err != nil {
			t.Fatal(err)
		}
		// A third are emergencies, offered to three at once: their
		// providers race to accept.
		code, urgency := "meal_delivery", carehex.UrgencySoon
		if i%3 == 0 {
			code, urgency = "fall_help", carehex.UrgencyEmergency
		}
		r, _, err := db.CreateServiceRequest(opCtx(), &carehex.ServiceRequest{ResidentID: res.ID,
			ServiceCode: code, Urgency: urgency}, "")
		if err != nil {
			t.Fatal(err)
		}
		reqIDs = append(reqIDs, r.ID)
	}

	run, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	var (
		loops    sync.WaitGroup
		mu       sync.Mutex
		failures []error
		stats    = map[string]int{}
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, err)
	}
	count := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		stats[what]++
	}
	// Unexpected errors are failures; conflicts are the races this test is about.
	expected := func(err error) bool {
		switch carehex.ErrorCode(err) {
		case "", carehex.ECONFLICT:
			return true
		}
		return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	}
	loop := func(f func()) {
		loops.Add(1)
		go func() {
			defer loops.Done()
			for run.Err() == nil {
				f()
			}
		}()
	}
	loop(func() { // the clock, at 100×
		time.Sleep(10 * time.Millisecond)
		clock.Advance(time.Second)
	})
	for _, r := range reps {
		loop(func() {
			if err := r.eng.Tick(run); err != nil && !expected(err) {
				fail(fmt.Errorf("Tick: %w", err))
			}
			time.Sleep(2 * time.Millisecond)
		})
	}
	for _, p := range ps {
		prng := rand.New(rand.NewPCG(rng.Uint64(), 0))
		loop(func() {
			time.Sleep(time.Duration(prng.IntN(5)) * time.Millisecond)
			if err := beat(p); err != nil && !expected(err) {
				fail(fmt.Errorf("heartbeat: %w", err))
			}
			offers, err := reps[prng.IntN(2)].eng.Offers(run, p.id)
			if err != nil {
				if !expected(err) {
					fail(fmt.Errorf("Offers: %w", err))
				}
				return
			}
			for _, o := range offers {
				switch x := prng.IntN(100); {
				case x < 10:
					if err := reps[prng.IntN(2)].eng.Decline(run, p.id, o.ID, "busy"); !expected(err) {
						fail(fmt.Errorf("Decline: %w", err))
					}
					count("declined")
				case x < 20: // ignored: it expires
				default:
					// Often the phone's accept reaches both replicas (a retry
					// after a timeout, routed elsewhere).
					n := 1 + prng.IntN(2)
					visits := make([]*carehex.Visit, n)
					var both sync.WaitGroup
					first := prng.IntN(2)
					for i := range n {
						both.Add(1)
						go func() {
							defer both.Done()
							v, err := reps[(first+i)%2].eng.Accept(run, p.id, o.ID)
							if !expected(err) {
								fail(fmt.Errorf("Accept: %w", err))
							}
							visits[i] = v
						}()
					}
					both.Wait()
					var v *carehex.Visit
					for _, got := range visits {
						switch {
						case got == nil:
						case v == nil:
							v = got
						case got.ID != v.ID:
							fail(fmt.Errorf("one offer accepted into two visits: %s and %s", v.ID, got.ID))
						}
					}
					if v == nil {
						count("accept lost")
						continue
					}
					count("accepted")
					// Do the job and come back.
					for _, st := range []carehex.Status{carehex.StatusEnRoute, carehex.StatusInProgress, carehex.StatusCompleted} {
						if _, err := reps[prng.IntN(2)].db.TransitionVisit(run, v.ID, st, "provider:"+p.id, "", time.Time{}); !expected(err) {
							fail(fmt.Errorf("TransitionVisit(%s): %w", st, err))
						}
					}
					if _, err := reps[prng.IntN(2)].live.Finish(run, p.id, uint64(v.Fence)); !expected(err) {
						fail(fmt.Errorf("Finish: %w", err))
					}
				}
			}
		})
	}
	// Until every request is served, or time is up.
	for run.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		done := 0
		for _, id := range reqIDs {
			if r, err := db.ServiceRequest(ctx, id); err == nil && r.Status == carehex.StatusCompleted {
				done++
			}
		}
		if done == nRequests {
			break
		}
	}
	stop()
	loops.Wait()
	for _, err := range failures {
		t.Error(err)
	}

	// One last pass at the stopped clock, so that offers past their expiry
	// and requests past their deadline are as the engine leaves them.
	if err := reps[0].eng.Tick(ctx); err != nil {
		t.Fatalf("last Tick: %v", err)
	}
	// The store's scan is the one definition of a lost request and of an
	// overlap (the fault test and the simulator ask it too). A request the
	// run left waiting is not lost before the engine would have alerted on it.
	scan, err := db.ScanInvariants(ctx, reqIDs, clock.Now(), carehex.Patience{
		OfferGrace: cfg.ExpiryGrace,
		Unalerted: func(r *carehex.ServiceRequest) time.Duration {
			if r.Urgency == carehex.UrgencyEmergency {
				return cfg.Emergency.Deadline
			}
			return cfg.Soon.Deadline
		},
	})
	if err != nil {
		t.Fatalf("ScanInvariants: %v", err)
	}
	if len(scan.Overlaps) != 0 {
		t.Errorf("OverlappingVisits = %d pairs; want none", len(scan.Overlaps))
	}
	for _, l := range scan.Lost {
		t.Errorf("request %s lost: %s", l.ID, l.Why)
	}
	for _, id := range scan.MultiAccepted {
		t.Errorf("request %s has more than one accepted offer", id)
	}
	// What this test knows beyond the scan: nobody cancels here, offers
	// never repeat a provider, and the accepted offer is the assignment.
	byStatus := map[carehex.Status]int{}
	for _, id := range reqIDs {
		r, err := db.ServiceRequest(ctx, id)
		if err != nil {
			t.Fatalf("request %s: %v", id, err)
		}
		byStatus[r.Status]++
		offers, err := db.RequestOffers(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		open := 0
		seen := map[string]bool{}
		for _, o := range offers {
			if seen[o.ProviderID] {
				t.Errorf("request %s offered twice to %s", id, o.ProviderID)
			}
			seen[o.ProviderID] = true
			switch o.Status {
			case carehex.OfferOpen:
				open++
			case carehex.OfferAccepted:
				if o.ProviderID != r.ProviderID {
					t.Errorf("request %s: accepted offer of %s, but assigned to %s", id, o.ProviderID, r.ProviderID)
				}
			}
		}
		switch r.Status {
		case carehex.StatusPending:
			if open != 0 {
				t.Errorf("request %s is pending with %d open offers", id, open)
			}
		case carehex.StatusAssigned, carehex.StatusEnRoute, carehex.StatusInProgress, carehex.StatusCompleted:
			v, err := db.Visit(ctx, r.VisitID)
			if err != nil || v.ProviderID != r.ProviderID || v.RequestID != id {
				t.Errorf("request %s (%s): visit %+v, %v", id, r.Status, v, err)
			}
		case carehex.StatusCancelled, carehex.StatusUnfilled:
			t.Errorf("request %s is %s, but nobody here cancels or gives up", id, r.Status)
		}
	}
	t.Logf("requests by status %v; providers: %v", byStatus, stats)
	if byStatus[carehex.StatusCompleted] == 0 {
		t.Errorf("no request was served: %v", byStatus)
	}
}
