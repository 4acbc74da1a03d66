package settle_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/settle"
)

// walk is a visit of res by p checked in at arrive from arrivePos and out
// at complete from completePos (device times, the store's clock following).
func (w *world) walk(t *testing.T, res *carehex.Resident, p *carehex.Provider, arrive, complete time.Time,
	arrivePos, completePos carehex.LatLng) *carehex.Visit {
	t.Helper()
	w.clock.Set(arrive.Add(-40 * time.Minute))
	r, _, err := w.db.CreateServiceRequest(testenv.OpCtx(), &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery",
		Urgency: carehex.UrgencySoon}, "")
	must(t, err)
	w.fence++
	_, v, err := w.db.AssignRequest(context.Background(), carehex.Assignment{RequestID: r.ID, ProviderID: p.ID, Fence: w.fence,
		Start: arrive.Add(-5 * time.Minute), End: complete, Actor: "test", Reason: "offer accepted"})
	must(t, err)
	for _, ev := range []*carehex.VisitEvent{
		{Type: carehex.VisitArrive, Position: arrivePos, DeviceTime: arrive, Verified: true},
		{Type: carehex.VisitComplete, Position: completePos, DeviceTime: complete, Verified: true},
	} {
		ev.EventID, ev.VisitID, ev.ProviderID, ev.AccuracyM = carehex.NewID("evt"), v.ID, p.ID, 10
		w.clock.Set(ev.DeviceTime)
		_, out, _, err := w.db.RecordVisitEvent(context.Background(), ev, carehex.VisitEventRules{})
		must(t, err)
		v = out
	}
	if v.Status != carehex.StatusCompleted {
		t.Fatalf("visit is %s", v.Status)
	}
	return v
}

func (w *world) residentAt(t *testing.T, name string, at carehex.LatLng) *carehex.Resident {
	t.Helper()
	r := &carehex.Resident{Name: name, Phone: "13800000000", Address: "张店区华光路56号", Location: at}
	must(t, w.db.CreateResident(testenv.OpCtx(), r))
	return r
}

// jitter is a GPS fix of p: within about 12 m, as a phone reports it.
func jitter(rng *rand.Rand, p carehex.LatLng) carehex.LatLng {
	q := testenv.At(p, rng.Float64()*24-12, rng.Float64()*24-12)
	return carehex.LatLng{Lat: float64(int64(q.Lat*1e6)) / 1e6, Lng: float64(int64(q.Lng*1e6)) / 1e6}
}

func photoOf(t *testing.T, w *world, v *carehex.Visit, stage carehex.PhotoStage, content string) {
	t.Helper()
	sum := sha256.Sum256([]byte(content))
	must(t, w.db.AddVisitPhoto(context.Background(), &carehex.Photo{VisitID: v.ID, ProviderID: v.ProviderID, Stage: stage,
		SHA256: hex.EncodeToString(sum[:]), ContentType: "image/jpeg", SizeBytes: int64(len(content)), Width: 4, Height: 3}))
}

// TestFraudSignals raises each signal on a crafted case and none on a
// normal working day; the flagged visits are held back by settlement with
// the signal as reason (mismatches 0) until an operator clears the flag,
// and scanning again changes nothing.
func TestFraudSignals(t *testing.T) {
	stores(t, func(t *testing.T, w *world) {
		ctx := testenv.OpCtx()
		org := &carehex.Organisation{Name: "张店区颐康居家养老服务中心", Kind: carehex.OrgContractor}
		must(t, w.db.CreateOrganisation(ctx, org))
		must(t, w.db.CreateContract(ctx, &carehex.Contract{OrgID: org.ID, Services: []string{"meal_delivery"},
			Unit: carehex.UnitVisit, PriceFen: 4000, ValidFrom: march.AddDate(0, -6, 0)}))
		rng := rand.New(rand.NewPCG(12, 34))
		homes := make([]*carehex.Resident, 12)
		for i := range homes {
			// on a ring 1.5 km around the centre: neighbours are about 800 m apart
			a := float64(i) / float64(len(homes)) * 6.283185307179586
			homes[i] = w.residentAt(t, fmt.Sprintf("居民%d", i), testenv.At(testenv.Zibo, 1500*math.Sin(a), 1500*math.Cos(a)))
			must(t, w.db.CreateFunding(ctx, &carehex.Funding{ResidentID: homes[i].ID, Kind: carehex.FundingSubsidy,
				Category: "dibao", ShareBP: carehex.FullShareBP, AllowanceFen: 1_000_000, ValidFrom: march.AddDate(-1, 0, 0)}))
		}
		day := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, cst) }

		// A normal day: an e-bike carer on a round of six homes, 45
		// minutes each with 20 minutes between, every fix jittered, a
		// photo before and after each; and a second carer walking.
		normal := map[string]bool{}
		ebike := w.provider(t, "正常骑车", org.ID)
		must(t, w.db.SetWorkingHours(ctx, &carehex.WorkingHours{ProviderID: ebike.ID, MaxVisitsPerDay: 8,
			MaxWorkPerDay: 8 * time.Hour, Mode: carehex.TravelEBike, Home: testenv.Zibo}))
		at := day(2, 8, 0)
		for i := 0; i < 6; i++ {
			h := homes[i].Location
			v := w.walk(t, homes[i], ebike, at, at.Add(45*time.Minute), jitter(rng, h), jitter(rng, h))
			photoOf(t, w, v, carehex.PhotoArrive, v.ID+"-before")
			photoOf(t, w, v, carehex.PhotoComplete, v.ID+"-after")
			normal[v.ID] = true
			at = at.Add(65 * time.Minute)
		}
		walker := w.provider(t, "正常步行", org.ID)
		must(t, w.db.SetWorkingHours(ctx, &carehex.WorkingHours{ProviderID: walker.ID, MaxVisitsPerDay: 8,
			MaxWorkPerDay: 8 * time.Hour, Mode: carehex.TravelWalk, Home: testenv.Zibo}))
		at = day(3, 9, 0)
		for _, i := range []int{6, 7} { // about 780 m apart: 10 minutes' walk, given 30
			h := homes[i].Location
			normal[w.walk(t, homes[i], walker, at, at.Add(time.Hour), jitter(rng, h), jitter(rng, h)).ID] = true
			at = at.Add(90 * time.Minute)
		}

		// Crafted cases.
		want := map[string]string{} // visit → the signal it must carry
		// Impossible travel: from home 0 to home 6 (3 km) in 5 minutes on foot.
		fast := w.provider(t, "瞬移", org.ID)
		must(t, w.db.SetWorkingHours(ctx, &carehex.WorkingHours{ProviderID: fast.ID, MaxVisitsPerDay: 8,
			MaxWorkPerDay: 8 * time.Hour, Mode: carehex.TravelWalk, Home: testenv.Zibo}))
		w.walk(t, homes[0], fast, day(4, 9, 0), day(4, 10, 0), jitter(rng, homes[0].Location), jitter(rng, homes[0].Location))
		v := w.walk(t, homes[6], fast, day(4, 10, 5), day(4, 11, 0), jitter(rng, homes[6].Location), jitter(rng, homes[6].Location))
		want[v.ID] = carehex.SignalImpossibleTravel
		// The same coordinates, to the millionth, on three visits.
		fixed := w.provider(t, "定位固定", org.ID)
		spot := carehex.LatLng{Lat: 36.812345, Lng: 118.061234}
		for i, h := range []int{8, 9, 10} {
			v := w.walk(t, homes[h], fixed, day(5, 8+2*i, 0), day(5, 9+2*i, 0), spot, spot)
			want[v.ID] = carehex.SignalRepeatedGPS
		}
		// A carer capped at 2 h a day doing three hours.
		capped := w.provider(t, "超时", org.ID)
		must(t, w.db.SetWorkingHours(ctx, &carehex.WorkingHours{ProviderID: capped.ID, MaxVisitsPerDay: 8,
			MaxWorkPerDay: 2 * time.Hour, Mode: carehex.TravelEBike, Home: testenv.Zibo}))
		for i, h := range []int{1, 2, 3} {
			v := w.walk(t, homes[h], capped, day(6, 8+2*i, 0), day(6, 9+2*i, 0), jitter(rng, homes[h].Location), jitter(rng, homes[h].Location))
			if i == 2 {
				want[v.ID] = carehex.SignalCarerHoursOverCap
			}
		}
		// A resident's order moved to another carer once the first had
		// served 4 h: 7 h in the day, over the 6 h cap.
		first, second := w.provider(t, "甲", org.ID), w.provider(t, "乙", org.ID)
		h4 := homes[4].Location
		w.walk(t, homes[4], first, day(7, 8, 0), day(7, 12, 0), jitter(rng, h4), jitter(rng, h4))
		v = w.walk(t, homes[4], second, day(7, 13, 0), day(7, 16, 0), jitter(rng, h4), jitter(rng, h4))
		want[v.ID] = carehex.SignalResidentHoursOverCap
		// Checked in at home 11 from where home 5's visit ended, 3 km away.
		still := w.provider(t, "未移动", org.ID)
		end := jitter(rng, homes[5].Location)
		w.walk(t, homes[5], still, day(8, 9, 0), day(8, 10, 0), jitter(rng, homes[5].Location), end)
		v = w.walk(t, homes[11], still, day(8, 10, 30), day(8, 11, 30), testenv.At(end, 3, 2), jitter(rng, homes[11].Location))
		want[v.ID] = carehex.SignalNoMovement
		// One photo as the evidence of two visits of two carers.
		lender, borrower := w.provider(t, "出借", org.ID), w.provider(t, "借用", org.ID)
		h0, h3 := homes[0].Location, homes[3].Location
		a := w.walk(t, homes[0], lender, day(9, 9, 0), day(9, 10, 0), jitter(rng, h0), jitter(rng, h0))
		b := w.walk(t, homes[3], borrower, day(9, 14, 0), day(9, 15, 0), jitter(rng, h3), jitter(rng, h3))
		photoOf(t, w, a, carehex.PhotoArrive, "the same kitchen")
		photoOf(t, w, b, carehex.PhotoArrive, "the same kitchen")
		want[a.ID], want[b.ID] = carehex.SignalSharedPhoto, carehex.SignalSharedPhoto

		m := carehex.Month{Year: 2026, Month: time.March}
		from, to := m.Bounds(cst)
		settings := carehex.DefaultFraudSettings()
		n, err := carehex.ScanFraud(ctx, w.db, from, to, settings, cst)
		must(t, err)
		flags, err := w.db.FraudFlags(ctx, "", 0)
		must(t, err)
		if n != len(flags) {
			t.Fatalf("ScanFraud reported %d new flags, %d stored", n, len(flags))
		}
		got := map[string]map[string]*carehex.FraudFlag{}
		for _, f := range flags {
			if normal[f.VisitID] {
				t.Errorf("normal visit %s flagged %s: %s", f.VisitID, f.Signal, f.Evidence)
			}
			if got[f.VisitID] == nil {
				got[f.VisitID] = map[string]*carehex.FraudFlag{}
			}
			got[f.VisitID][f.Signal] = f
		}
		for id, sig := range want {
			if got[id][sig] == nil {
				t.Errorf("visit %s: no %s flag; got %v", id, sig, got[id])
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("visit %s flagged %v but is not a crafted case", id, got[id])
			}
		}
		if t.Failed() {
			t.FailNow()
		}

		res, err := settle.Month(ctx, w.db, m, cst, false)
		must(t, err)
		held := map[string]string{}
		for _, s := range res.Statements {
			for _, h := range s.Held {
				held[h.VisitID] = h.Reason
			}
		}
		for id := range want {
			if r := held[id]; r != carehex.FraudHold(statuses(got[id])) || r == "" {
				t.Errorf("visit %s: held as %q, flags %v", id, r, got[id])
			}
		}
		for id := range normal {
			if held[id] != "" {
				t.Errorf("normal visit %s held back: %s", id, held[id])
			}
		}
		if res.Mismatches != 0 || res.HeldBack != len(want) {
			t.Fatalf("mismatches %d, held back %d, want 0 and %d", res.Mismatches, res.HeldBack, len(want))
		}

		// The operator clears the borrower's flag (the photo was the
		// lender's by mistake) and confirms the teleport.
		clear := got[b.ID][carehex.SignalSharedPhoto]
		if _, err := w.db.ReviewFraudFlag(ctx, &carehex.FlagReview{FlagID: clear.ID, Decision: carehex.FlagCleared,
			Reason: "照片误传，已电话核实"}); err != nil {
			t.Fatal(err)
		}
		for id, sig := range want {
			if sig == carehex.SignalImpossibleTravel {
				_, err := w.db.ReviewFraudFlag(ctx, &carehex.FlagReview{FlagID: got[id][sig].ID, Decision: carehex.FlagConfirmed,
					Reason: "核实未到场"})
				must(t, err)
			}
		}
		if _, err := w.db.ReviewFraudFlag(ctx, &carehex.FlagReview{FlagID: clear.ID, Decision: "maybe", Reason: "x"}); carehex.ErrorCode(err) != carehex.EINVALID {
			t.Fatalf("a bad decision: %v", err)
		}
		// Scanning again raises nothing new and leaves the review alone.
		n, err = carehex.ScanFraud(ctx, w.db, from, to, settings, cst)
		must(t, err)
		if n != 0 {
			t.Fatalf("second scan raised %d new flags", n)
		}
		res, err = settle.Month(ctx, w.db, m, cst, false)
		must(t, err)
		paid := map[string]bool{}
		held = map[string]string{}
		for _, s := range res.Statements {
			for _, l := range s.Lines {
				paid[l.VisitID] = true
			}
			for _, h := range s.Held {
				held[h.VisitID] = h.Reason
			}
		}
		if !paid[b.ID] || held[a.ID] != carehex.FraudHoldPrefix+carehex.SignalSharedPhoto || res.Mismatches != 0 ||
			res.HeldBack != len(want)-1 {
			t.Fatalf("after review: borrower paid %v, lender held %q, mismatches %d, held %d", paid[b.ID], held[a.ID],
				res.Mismatches, res.HeldBack)
		}
		recs, err := w.db.AuditRecords(ctx, carehex.AuditFilter{ObjectID: b.ID})
		must(t, err)
		var actions []string
		for _, r := range recs {
			actions = append(actions, r.Action)
		}
		if !contains(actions, "visit.fraud_flag") || !contains(actions, "visit.fraud_cleared") || !contains(actions, "visit.photo") {
			t.Fatalf("the trail of %s: %v", b.ID, actions)
		}
	})
}

func statuses(fs map[string]*carehex.FraudFlag) map[string]carehex.FlagStatus {
	out := map[string]carehex.FlagStatus{}
	for s, f := range fs {
		out[s] = f.Status
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
