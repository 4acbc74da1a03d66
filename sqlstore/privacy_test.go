package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

func TestPersonalReads(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		t0 := testNow.UTC().Truncate(time.Microsecond)
		note := func(at time.Time, ids ...string) {
			t.Helper()
			if err := e.NotePersonalReads(ctx, "user:usr_op", ids, at); err != nil {
				t.Fatalf("NotePersonalReads: %v", err)
			}
		}
		count := func(since time.Time) (int, time.Time) {
			t.Helper()
			n, oldest, err := e.PersonalReads(ctx, "user:usr_op", since)
			if err != nil {
				t.Fatalf("PersonalReads: %v", err)
			}
			return n, oldest
		}
		note(t0, "res_1", "res_2", "res_2")
		note(t0.Add(10*time.Minute), "res_2", "res_3")
		if n, oldest := count(t0.Add(-time.Hour)); n != 3 || !oldest.Equal(t0) {
			t.Fatalf("reads = %d since %v, want 3 distinct since %v", n, oldest, t0)
		}
		// res_1 was last read at t0; res_2 again at +10m.
		if n, _ := count(t0.Add(time.Minute)); n != 2 {
			t.Fatalf("reads after t0 = %d, want 2", n)
		}
		// Another account's reads are its own.
		if err := e.NotePersonalReads(ctx, "user:usr_other", []string{"res_9"}, t0); err != nil {
			t.Fatal(err)
		}
		if n, _ := count(t0.Add(-time.Hour)); n != 3 {
			t.Fatalf("reads = %d after another account read, want 3", n)
		}
		// A day later the old rows are pruned as the account reads on.
		note(t0.Add(25*time.Hour), "res_4")
		if n, _ := count(time.Time{}); n != 1 {
			t.Fatalf("rows kept after a day = %d, want 1", n)
		}
		wantErr(t, e.NotePersonalReads(ctx, " ", []string{"res_1"}, t0), carehex.EINVALID, "actor")
	})
}

func TestAccessAlerts(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := &carehex.AccessAlert{Actor: "user:usr_op", Kind: carehex.AlertBulkAccess, Residents: 201, WindowStart: testNow}
		created, err := e.RaiseAccessAlert(ctx, a)
		if err != nil || !created || a.ID == "" {
			t.Fatalf("RaiseAccessAlert = %v, %v (%+v)", created, err, a)
		}
		for i := range 3 {
			again := &carehex.AccessAlert{Actor: "user:usr_op", Kind: carehex.AlertBulkAccess, Residents: 202 + i}
			if created, err := e.RaiseAccessAlert(ctx, again); err != nil || created {
				t.Fatalf("second raise = %v, %v; want one open alert per account", created, err)
			}
		}
		as, err := e.AccessAlerts(ctx, true, 0)
		if err != nil || len(as) != 1 || as[0].ID != a.ID || as[0].Residents != 201 {
			t.Fatalf("AccessAlerts = %+v, %v", as, err)
		}
		recs := auditOf(t, e, "user:usr_op")
		if len(recs) != 1 || recs[0].Action != "privacy.bulk_access" {
			t.Fatalf("audit = %+v, want one privacy.bulk_access record", recs)
		}
		wantIntact(t, e)
		_, err = e.RaiseAccessAlert(ctx, &carehex.AccessAlert{Actor: "user:usr_op", Kind: "nosy"})
		wantErr(t, err, carehex.EINVALID, "kind")
		_, err = e.RaiseAccessAlert(ctx, &carehex.AccessAlert{Kind: carehex.AlertBulkAccess})
		wantErr(t, err, carehex.EINVALID, "actor")
	})
}
