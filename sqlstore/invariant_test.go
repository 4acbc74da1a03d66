package sqlstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// TestScanInvariants checks the one definition of a lost request at its
// edges, and that the scan reports overlaps and double acceptances.
func TestScanInvariants(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		res := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		p := mustCreateProvider(t, e, "王芳")
		q := mustCreateProvider(t, e, "李娜")
		now := e.clock.Now()
		// setStatus and offer write rows directly: the edges need states the
		// engine passes through only for a moment.
		setStatus := func(r *carehex.ServiceRequest, s carehex.Status) {
			t.Helper()
			if _, err := e.db.Exec(e.rebind(`UPDATE service_requests SET status = ? WHERE id = ?`), string(s), r.ID); err != nil {
				t.Fatal(err)
			}
		}
		offer := func(r *carehex.ServiceRequest, who *carehex.Provider, s carehex.OfferStatus, expire time.Time) {
			t.Helper()
			if _, err := e.db.Exec(e.rebind(`INSERT INTO offers (id, request_id, provider_id, service_code, fence, status, expire_time, create_time)
				VALUES (?, ?, ?, 'meal_delivery', 1, ?, ?, ?)`), carehex.NewID("ofr"), r.ID, who.ID, string(s), micros(expire), micros(now)); err != nil {
				t.Fatal(err)
			}
		}

		waiting := mustCreateRequest(t, e, res.ID) // pending, nothing: lost
		alerted := mustCreateRequest(t, e, res.ID) // pending with an open alert
		if _, err := e.RaiseAlert(ctx, &carehex.Alert{RequestID: alerted.ID, Kind: carehex.AlertUnaccepted, Message: "nobody accepted"}); err != nil {
			t.Fatal(err)
		}
		acked := mustCreateRequest(t, e, res.ID) // pending, its alert acknowledged: lost
		a := &carehex.Alert{RequestID: acked.ID, Kind: carehex.AlertUnaccepted, Message: "nobody accepted"}
		if _, err := e.RaiseAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := e.AcknowledgeAlert(opCtx(), a.ID, "user:op"); err != nil {
			t.Fatal(err)
		}
		offered := mustCreateRequest(t, e, res.ID) // offered, offer live
		setStatus(offered, carehex.StatusOffered)
		offer(offered, p, carehex.OfferOpen, now.Add(time.Minute))
		overdue := mustCreateRequest(t, e, res.ID) // offered, offer 5 s past expiry: lost without grace
		setStatus(overdue, carehex.StatusOffered)
		offer(overdue, p, carehex.OfferOpen, now.Add(-5*time.Second))
		twice := mustCreateRequest(t, e, res.ID) // assigned, but two offers accepted
		setStatus(twice, carehex.StatusAssigned)
		offer(twice, p, carehex.OfferAccepted, now)
		offer(twice, q, carehex.OfferAccepted, now)
		cancelled := mustCreateRequest(t, e, res.ID)
		if _, err := e.TransitionRequest(opCtx(), cancelled.ID, carehex.StatusCancelled, "", "duplicate call"); err != nil {
			t.Fatal(err)
		}
		r1, r2 := mustCreateRequest(t, e, res.ID), mustCreateRequest(t, e, res.ID)
		mustAssign(t, e, claim(r1, p, 10, at(10, 0), at(11, 0)))
		mustAssign(t, e, claim(r2, p, 11, at(12, 0), at(13, 0)))

		ids := []string{waiting.ID, alerted.ID, acked.ID, offered.ID, overdue.ID, twice.ID, cancelled.ID, r1.ID, r2.ID, "req_never_made"}
		lostIDs := func(s *carehex.InvariantScan) []string {
			var out []string
			for _, l := range s.Lost {
				out = append(out, l.ID)
			}
			slices.Sort(out)
			return out
		}
		sorted := func(ids ...string) []string { slices.Sort(ids); return ids }

		tests := []struct {
			name string
			p    carehex.Patience
			lost []string
		}{
			{"no patience", carehex.Patience{}, sorted(waiting.ID, acked.ID, overdue.ID, "req_never_made")},
			{"offer grace", carehex.Patience{OfferGrace: 10 * time.Second}, sorted(waiting.ID, acked.ID, "req_never_made")},
			// An unknown request is lost whatever the patience.
			{"young requests wait", carehex.Patience{Unalerted: func(*carehex.ServiceRequest) time.Duration { return time.Hour }},
				sorted("req_never_made")},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				scan, err := e.ScanInvariants(ctx, append(ids, waiting.ID), now, tc.p)
				if err != nil {
					t.Fatalf("ScanInvariants: %v", err)
				}
				if got := lostIDs(scan); !slices.Equal(got, tc.lost) {
					t.Errorf("lost = %v, want %v", got, tc.lost)
				}
				if !slices.Equal(scan.MultiAccepted, []string{twice.ID}) {
					t.Errorf("multi accepted = %v, want [%s]", scan.MultiAccepted, twice.ID)
				}
				if len(scan.Overlaps) != 0 {
					t.Errorf("overlaps = %v, want none", scan.Overlaps)
				}
				for _, l := range scan.Lost {
					if l.Why == "" || (l.ID == "req_never_made") != (l.Status == "") {
						t.Errorf("lost %+v: want a reason, and a status unless unknown", l)
					}
				}
			})
		}

		// A visit booked into another's time by a stale write is reported.
		r3 := mustCreateRequest(t, e, res.ID)
		setStatus(r3, carehex.StatusAssigned)
		if _, err := e.db.Exec(e.rebind(`INSERT INTO visits (id, request_id, provider_id, fence, status, planned_start, planned_end,
			held_start, held_end, create_time, update_time) VALUES (?, ?, ?, 12, 'assigned', ?, ?, ?, ?, ?, ?)`),
			carehex.NewID("vis"), r3.ID, p.ID, micros(at(10, 30)), micros(at(11, 30)), micros(at(10, 30)), micros(at(11, 30)),
			micros(now), micros(now)); err != nil {
			t.Fatal(err)
		}
		scan, err := e.ScanInvariants(ctx, nil, now, carehex.Patience{})
		if err != nil {
			t.Fatal(err)
		}
		if len(scan.Overlaps) != 1 || scan.Overlaps[0][1].RequestID != r3.ID || len(scan.Lost) != 0 {
			t.Errorf("after a double booking: overlaps %v, lost %v; want one overlap with %s", scan.Overlaps, scan.Lost, r3.ID)
		}
	})
}
