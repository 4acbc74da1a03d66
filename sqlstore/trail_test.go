package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// sqlExec runs plain SQL against the store's database, as someone with
// access to the database file or server (not the application) would.
func sqlExec(t *testing.T, e *env, q string, args ...any) {
	t.Helper()
	if _, err := e.db.Exec(e.rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func idAt(t *testing.T, e *env, table, seqCol string, seq int64) string {
	t.Helper()
	var id string
	if err := e.db.QueryRow(e.rebind(`SELECT id FROM `+table+` WHERE `+seqCol+` = ?`), seq).Scan(&id); err != nil {
		t.Fatalf("id at %s seq %d: %v", table, seq, err)
	}
	return id
}

func verify(t *testing.T, e *env, extra ...carehex.TrailAnchor) TrailReport {
	t.Helper()
	rep, err := e.VerifyTrail(context.Background(), time.Time{}, extra)
	if err != nil {
		t.Fatalf("VerifyTrail: %v", err)
	}
	return rep
}

func wantIntact(t *testing.T, e *env) TrailReport {
	t.Helper()
	rep := verify(t, e)
	if f := rep.Fault(); f != nil {
		t.Fatalf("trail reported %v", f)
	}
	for _, c := range rep.Chains {
		if c.Unsealed != 0 || int64(c.Records) != c.Head.Seq {
			t.Fatalf("%s: %d records checked, head at %d, %d unsealed", c.Chain, c.Records, c.Head.Seq, c.Unsealed)
		}
	}
	return rep
}

// fillTrail writes ten audit records and a few requests with their events.
func fillTrail(t *testing.T, e *env) {
	t.Helper()
	for i := range 10 {
		if err := e.Audit(opCtx(), &carehex.AuditRecord{Action: "resident.read", ObjectType: "resident",
			ObjectID: fmt.Sprintf("res_%d", i)}); err != nil {
			t.Fatalf("Audit: %v", err)
		}
		e.clock.Advance(time.Second)
	}
	r := mustCreateResident(t, e, resident("王秀英", "13900000001"))
	for range 3 {
		req := mustCreateRequest(t, e, r.ID)
		if _, err := e.TransitionRequest(opCtx(), req.ID, carehex.StatusCancelled, "", "family came"); err != nil {
			t.Fatalf("TransitionRequest: %v", err)
		}
	}
}

func TestTrailFreshAndFilled(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		wantIntact(t, e)
		fillTrail(t, e)
		rep := wantIntact(t, e)
		for _, c := range rep.Chains {
			if c.Records == 0 {
				t.Fatalf("%s chain is empty after writes", c.Chain)
			}
		}
		if rep.Chains[0].Chain != carehex.ChainEvents || rep.Chains[0].Records != 6 {
			t.Fatalf("events chain = %+v, want 6 events (3 created, 3 cancelled)", rep.Chains[0])
		}
		// A visit from assignment to completion keeps both chains whole.
		e.clock.Set(at(12, 0))
		req := mustCreateRequest(t, e, mustCreateResident(t, e, resident("赵淑珍", "13900000003")).ID)
		v := mustAssign(t, e, claim(req, mustCreateProvider(t, e, "刘芳"), 1, at(9, 0), at(10, 0)))
		for _, to := range []carehex.Status{carehex.StatusEnRoute, carehex.StatusInProgress, carehex.StatusCompleted} {
			v = mustMove(t, e, v, to, at(9, 30))
		}
		if after := wantIntact(t, e); after.Chains[0].Records <= rep.Chains[0].Records+4 {
			t.Fatalf("events chain grew from %d to %d over a visit; want created, assigned and three moves",
				rep.Chains[0].Records, after.Chains[0].Records)
		}
		// The chain covers what the application reads back unchanged.
		evs, err := e.RequestEvents(context.Background(), idAtReq(t, e))
		if err != nil || len(evs) != 2 {
			t.Fatalf("RequestEvents = %v, %v", evs, err)
		}
	})
}

func idAtReq(t *testing.T, e *env) string {
	t.Helper()
	var id string
	if err := e.db.QueryRow(`SELECT request_id FROM request_events WHERE chain_seq = 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestTrailTamper(t *testing.T) {
	type tc struct {
		name   string
		chain  carehex.TrailChain
		tamper func(t *testing.T, e *env) (wantID string)
		kind   string
	}
	cases := []tc{
		{"audit content edited", carehex.ChainAudit, func(t *testing.T, e *env) string {
			sqlExec(t, e, `UPDATE audit_records SET detail = 'nothing to see' WHERE seq = 4`)
			return idAt(t, e, "audit_records", "seq", 4)
		}, carehex.FaultContentChanged},
		{"audit time edited", carehex.ChainAudit, func(t *testing.T, e *env) string {
			sqlExec(t, e, `UPDATE audit_records SET time = time + 1 WHERE seq = 2`)
			return idAt(t, e, "audit_records", "seq", 2)
		}, carehex.FaultContentChanged},
		{"audit record deleted", carehex.ChainAudit, func(t *testing.T, e *env) string {
			next := idAt(t, e, "audit_records", "seq", 5)
			sqlExec(t, e, `DELETE FROM audit_records WHERE seq = 4`)
			return next
		}, carehex.FaultRecordMissing},
		{"audit records swapped", carehex.ChainAudit, func(t *testing.T, e *env) string {
			moved := idAt(t, e, "audit_records", "seq", 6)
			sqlExec(t, e, `UPDATE audit_records SET seq = -1 WHERE seq = 3`)
			sqlExec(t, e, `UPDATE audit_records SET seq = 3 WHERE seq = 6`)
			sqlExec(t, e, `UPDATE audit_records SET seq = 6 WHERE seq = -1`)
			return moved
		}, carehex.FaultOrderChanged},
		{"audit tail truncated", carehex.ChainAudit, func(t *testing.T, e *env) string {
			var max int64
			if err := e.db.QueryRow(`SELECT MAX(seq) FROM audit_records`).Scan(&max); err != nil {
				t.Fatal(err)
			}
			sqlExec(t, e, `DELETE FROM audit_records WHERE seq > ?`, max-2)
			return ""
		}, carehex.FaultTruncated},
		{"event reason edited", carehex.ChainEvents, func(t *testing.T, e *env) string {
			sqlExec(t, e, `UPDATE request_events SET reason = 'provider late' WHERE chain_seq = 2`)
			return idAt(t, e, "request_events", "chain_seq", 2)
		}, carehex.FaultContentChanged},
		{"event deleted", carehex.ChainEvents, func(t *testing.T, e *env) string {
			next := idAt(t, e, "request_events", "chain_seq", 4)
			sqlExec(t, e, `DELETE FROM request_events WHERE chain_seq = 3`)
			return next
		}, carehex.FaultRecordMissing},
		{"events swapped", carehex.ChainEvents, func(t *testing.T, e *env) string {
			moved := idAt(t, e, "request_events", "chain_seq", 3)
			sqlExec(t, e, `UPDATE request_events SET chain_seq = -1 WHERE chain_seq = 2`)
			sqlExec(t, e, `UPDATE request_events SET chain_seq = 2 WHERE chain_seq = 3`)
			sqlExec(t, e, `UPDATE request_events SET chain_seq = 3 WHERE chain_seq = -1`)
			return moved
		}, carehex.FaultOrderChanged},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, e *env) {
				fillTrail(t, e)
				wantIntact(t, e)
				wantID := c.tamper(t, e)
				f := verify(t, e).Fault()
				if f == nil || f.Chain != c.chain || f.Kind != c.kind || f.ID != wantID {
					t.Fatalf("got %v, want %s at %s id %q", f, c.kind, c.chain.Table(), wantID)
				}
			})
		})
	}
}

// TestTrailTruncatedAnchor: someone who cuts the tail and also rewinds the
// head row and the stored anchors leaves a chain that verifies on its own;
// the exported anchor still shows the cut.
func TestTrailTruncatedAnchor(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		fillTrail(t, e)
		exported, err := e.WriteTrailAnchor(context.Background())
		if err != nil {
			t.Fatalf("WriteTrailAnchor: %v", err)
		}
		var headSeq int64
		for _, a := range exported {
			if a.Chain == carehex.ChainAudit {
				headSeq = a.Seq
			}
		}
		// The anchor's own audit record came after it: cut it and two more.
		cut := headSeq - 2
		var hash string
		if err := e.db.QueryRow(e.rebind(`SELECT hash FROM audit_records WHERE seq = ?`), cut).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		sqlExec(t, e, `DELETE FROM audit_records WHERE seq > ?`, cut)
		sqlExec(t, e, `UPDATE trail_heads SET seq = ?, hash = ? WHERE chain = 'audit'`, cut, hash)
		sqlExec(t, e, `DELETE FROM trail_anchors`)
		if f := verify(t, e).Fault(); f != nil {
			t.Fatalf("without the exported anchor: %v (the cut is invisible by design)", f)
		}
		f := verify(t, e, exported...).Fault()
		if f == nil || f.Kind != carehex.FaultTruncated || f.Chain != carehex.ChainAudit || f.Seq != cut+1 {
			t.Fatalf("got %v, want the audit chain truncated after seq %d", f, cut)
		}
	})
}

// TestTrailConcurrentAppends: writers on three store handles over one
// database (three replicas) append at once; the chain has every record once,
// in one line.
func TestTrailConcurrentAppends(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			replicas := []*env{openEnv(t, dsn), openEnv(t, dsn), openEnv(t, dsn)}
			r := mustCreateResident(t, replicas[0], resident("李桂兰", "13900000002"))
			const writers, each = 12, 8
			var wg sync.WaitGroup
			errs := make(chan error, writers*each)
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					e := replicas[w%len(replicas)]
					for i := range each {
						if err := e.Audit(opCtx(), &carehex.AuditRecord{Action: "resident.read", ObjectType: "resident",
							ObjectID: fmt.Sprintf("w%d-%d", w, i)}); err != nil {
							errs <- err
							return
						}
						req, _, err := e.CreateServiceRequest(opCtx(), &carehex.ServiceRequest{ResidentID: r.ID,
							ServiceCode: "meal_delivery", Urgency: carehex.UrgencySoon}, "")
						if err != nil {
							errs <- err
							return
						}
						if _, err := e.TransitionRequest(opCtx(), req.ID, carehex.StatusCancelled, "", "test"); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("append: %v", err)
			}
			for _, e := range replicas {
				rep := wantIntact(t, e)
				if ev := rep.Chains[0]; ev.Records != writers*each*2 {
					t.Fatalf("events chain has %d records, want %d", ev.Records, writers*each*2)
				}
			}
		})
	}
}

// TestTrailChainsEarlierRows: rows written before the trail existed (seq
// NULL) are chained in time order when a store opens (or by the first
// sealer pass).
func TestTrailChainsEarlierRows(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			e := openEnv(t, dsn)
			for i, when := range []int64{300, 100, 200} {
				sqlExec(t, e, `INSERT INTO audit_records (id, time, actor, action) VALUES (?, ?, 'system', 'legacy')`,
					fmt.Sprintf("aud_old%d", i), when)
			}
			e2 := openEnv(t, dsn)
			wantIntact(t, e2)
			if id := idAt(t, e2, "audit_records", "seq", 1); id != "aud_old1" {
				t.Fatalf("first chained row = %s, want the oldest, aud_old1", id)
			}
		})
	}
}

// TestTrailSealedOnClose: rows committed just before a clean shutdown are in
// the chain when Close returns, with no verify or later start needed.
func TestTrailSealedOnClose(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			s, err := Open(context.Background(), dsn, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if err := s.Audit(opCtx(), &carehex.AuditRecord{Action: "resident.read", ObjectID: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// Read through a fresh handle that does not seal (sql.Open, not Open).
			driver := "sqlite"
			if d.name == DialectPostgres {
				driver = "pgx"
			}
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var unchained, chained int
			if err := db.QueryRow(`SELECT COUNT(*) FROM audit_records WHERE seq IS NULL`).Scan(&unchained); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(`SELECT COUNT(*) FROM audit_records WHERE seq IS NOT NULL`).Scan(&chained); err != nil {
				t.Fatal(err)
			}
			if unchained != 0 || chained != 5 {
				t.Fatalf("after Close: %d chained, %d unchained; want all 5 chained", chained, unchained)
			}
		})
	}
}
