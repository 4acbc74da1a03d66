package sqlstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// visitWithArrival makes a request of resident r, assigns it and records
// an arrival at pos with a note; it returns the request and the event id.
func visitWithArrival(t *testing.T, e *env, r *carehex.Resident, pos carehex.LatLng, eventID string) *carehex.ServiceRequest {
	t.Helper()
	req := mustCreateRequest(t, e, r.ID)
	p := mustCreateProvider(t, e, "李师傅"+eventID)
	now := e.clock.Now()
	v := mustAssign(t, e, claim(req, p, 1, now.Add(time.Hour), now.Add(2*time.Hour)))
	mustMove(t, e, v, carehex.StatusEnRoute, time.Time{})
	ev := &carehex.VisitEvent{EventID: eventID, VisitID: v.ID, ProviderID: p.ID, Type: carehex.VisitArrive,
		Position: pos, AccuracyM: 12, DeviceTime: e.clock.Now(), Note: "老人说腿疼"}
	if _, _, _, err := e.RecordVisitEvent(opCtx(), ev, carehex.VisitEventRules{}); err != nil {
		t.Fatal(err)
	}
	return req
}

func gpsOf(t *testing.T, e *env, eventID string) (lat, lng float64, reduced, distance int) {
	t.Helper()
	err := e.db.QueryRowContext(context.Background(), e.rebind(`SELECT lat, lng, gps_reduced, distance_m FROM visit_events WHERE event_id = ?`), eventID).
		Scan(&lat, &lng, &reduced, &distance)
	if err != nil {
		t.Fatal(err)
	}
	return
}

// TestReduceVisitGPS keeps the points of recent visit events and reduces
// older ones to the verification summary, once.
func TestReduceVisitGPS(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		r := resident("张桂兰", "13905330001")
		mustCreateResident(t, e, r)
		// 300 m north of the home.
		old := carehex.LatLng{Lat: r.Location.Lat + 0.0027, Lng: r.Location.Lng}
		visitWithArrival(t, e, r, old, "evt-old")
		e.clock.Advance(91 * 24 * time.Hour)
		visitWithArrival(t, e, r, r.Location, "evt-new")

		cutoff := e.clock.Now().Add(-90 * 24 * time.Hour)
		n, err := e.ReduceVisitGPS(context.Background(), cutoff)
		if err != nil || n != 1 {
			t.Fatalf("ReduceVisitGPS = %d, %v; want the one event older than 90 days", n, err)
		}
		lat, lng, reduced, dist := gpsOf(t, e, "evt-old")
		if lat != 0 || lng != 0 || reduced != 1 || dist < 280 || dist > 320 || dist%10 != 0 {
			t.Errorf("old event after reduction: %v,%v reduced %d distance %d m; want no position and ~300 m", lat, lng, reduced, dist)
		}
		if lat, _, reduced, _ := gpsOf(t, e, "evt-new"); lat == 0 || reduced != 0 {
			t.Errorf("recent event reduced: lat %v, reduced %d", lat, reduced)
		}
		evs, err := e.VisitEvents(context.Background(), visitOfEvent(t, e, "evt-old"))
		if err != nil || len(evs) != 1 || len(evs[0].Exceptions) != 0 && !evs[0].Verified {
			t.Errorf("the verification summary is still readable: %v, %v", evs, err)
		}
		if n, err := e.ReduceVisitGPS(context.Background(), cutoff); err != nil || n != 0 {
			t.Errorf("second run = %d, %v; want nothing to do", n, err)
		}
	})
}

func visitOfEvent(t *testing.T, e *env, eventID string) string {
	t.Helper()
	var id string
	if err := e.db.QueryRowContext(context.Background(), e.rebind(`SELECT visit_id FROM visit_events WHERE event_id = ?`), eventID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestEraseResident erases a deactivated resident after the retention
// period: her personal data is gone from every table, her requests still
// count with their cell, the erasure is in the trail, and the trail still
// verifies.
func TestEraseResident(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		r := resident("张桂兰", "13905330001")
		r.IDNumber = "37030319450312007X"
		r.Address = "张店区共青团路9号3单元201"
		mustCreateResident(t, e, r)
		keep := resident("王伟", "13905330002")
		mustCreateResident(t, e, keep)
		if err := e.LinkFamilyMember(ctx, &carehex.FamilyMember{ResidentID: r.ID, Name: "李娜", Phone: "13900001111", Relation: "daughter"}); err != nil {
			t.Fatal(err)
		}
		req := visitWithArrival(t, e, r, r.Location, "evt-1")

		if err := e.EraseResident(ctx, r.ID); carehex.ErrorCode(err) != carehex.ECONFLICT {
			t.Fatalf("erasing a served resident: %v, want conflict", err)
		}
		if _, err := e.DeactivateResident(ctx, r.ID, carehex.DeactivateMovedAway); err != nil {
			t.Fatal(err)
		}
		if ids, err := e.ErasableResidents(ctx, e.clock.Now()); err != nil || len(ids) != 0 {
			t.Fatalf("erasable before the period = %v, %v", ids, err)
		}
		e.clock.Advance(time.Hour)
		ids, err := e.ErasableResidents(ctx, e.clock.Now())
		if err != nil || len(ids) != 1 || ids[0] != r.ID {
			t.Fatalf("erasable after the period = %v, %v; want %s only", ids, err, r.ID)
		}
		if err := e.EraseResident(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.EraseResident(ctx, r.ID); carehex.ErrorCode(err) != carehex.ECONFLICT {
			t.Errorf("second erasure: %v, want conflict", err)
		}

		// Nothing of hers in any text column of the tables that held it.
		for _, tbl := range []string{"residents", "family_members", "service_requests", "visit_events", "resident_name_grams",
			"resident_phone_grams", "resident_pinyin", "audit_records", "request_events"} {
			for _, needle := range []string{"张桂兰", "13905330001", "0312007X", "共青团路", "李娜", "13900001111", "腿疼"} {
				if n := countContaining(t, e, tbl, needle); n > 0 {
					t.Errorf("%s: %d rows still hold %q", tbl, n, needle)
				}
			}
		}
		got, err := e.Resident(ctx, r.ID)
		if err != nil || got.Name != ErasedName || got.Cell != r.Cell || got.Phone != "" || got.IDNumber != "" {
			t.Errorf("erased record = %+v, %v; want the cell kept and nothing personal", got, err)
		}
		if res, err := e.SearchResidents(ctx, carehex.ResidentFilter{Query: "0001"}); err != nil || len(res) != 0 {
			t.Errorf("search by her phone's last digits = %v, %v", res, err)
		}
		if other, err := e.Resident(ctx, keep.ID); err != nil || other.Name != "王伟" {
			t.Errorf("another resident was touched: %+v, %v", other, err)
		}
		// Statistics: the request still counts, in her cell.
		recs, err := e.OpenDataRecords(ctx, time.Time{}.Add(time.Second), e.clock.Now().Add(time.Hour))
		if err != nil || len(recs) != 1 || recs[0].Cell != r.Cell || !recs[0].Filled {
			t.Errorf("open-data records after erasure = %+v, %v; want her request, filled, in her cell", recs, err)
		}
		if lat, lng, reduced, dist := gpsOf(t, e, "evt-1"); lat != 0 || lng != 0 || reduced != 1 || dist != 0 {
			t.Errorf("her visit's arrival after erasure: %v,%v reduced %d distance %d; want the summary only (0 m: at the door)", lat, lng, reduced, dist)
		}
		if sr, err := e.ServiceRequest(ctx, req.ID); err != nil || sr.Notes != "" {
			t.Errorf("request after erasure = %+v, %v", sr, err)
		}
		audits, err := e.AuditRecords(ctx, carehex.AuditFilter{ObjectID: r.ID})
		if err != nil {
			t.Fatal(err)
		}
		erased := false
		for _, a := range audits {
			erased = erased || a.Action == "resident.erase"
		}
		if !erased {
			t.Error("no resident.erase record in the trail")
		}
		if err := e.SealTrail(context.Background()); err != nil {
			t.Fatal(err)
		}
		rep, err := e.VerifyTrail(context.Background(), time.Time{}, nil)
		if err != nil || rep.Fault() != nil {
			t.Fatalf("trail after erasure: %v, %v", rep.Fault(), err)
		}
	})
}

// countContaining counts rows of table whose text, all columns joined,
// contains needle.
func countContaining(t *testing.T, e *env, table, needle string) int {
	t.Helper()
	rows, err := e.db.QueryContext(context.Background(), "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			var s string
			switch v := v.(type) {
			case string:
				s = v
			case []byte:
				s = string(v)
			}
			if strings.Contains(s, needle) {
				n++
				break
			}
		}
	}
	return n
}

// TestReduceVisitGPSConcurrent runs the reduction from three goroutines at
// once, as three replicas' daily passes would: every event is reduced, and
// the counts they report add up to the events, none twice.
func TestReduceVisitGPSConcurrent(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		r := resident("张桂兰", "13905330001")
		mustCreateResident(t, e, r)
		const n = 12
		for i := range n {
			visitWithArrival(t, e, r, r.Location, "evt-"+string(rune('a'+i)))
		}
		e.clock.Advance(100 * 24 * time.Hour)
		counts := make(chan int, 3)
		for range 3 {
			go func() {
				c, err := e.ReduceVisitGPS(context.Background(), e.clock.Now().Add(-90*24*time.Hour))
				if err != nil {
					t.Error(err)
				}
				counts <- c
			}()
		}
		total := 0
		for range 3 {
			total += <-counts
		}
		if total != n {
			t.Errorf("the passes reduced %d events in all, want %d", total, n)
		}
		var left int
		if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM visit_events WHERE gps_reduced = 0`).Scan(&left); err != nil || left != 0 {
			t.Errorf("%d events left unreduced (%v)", left, err)
		}
	})
}
