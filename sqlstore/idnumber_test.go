package sqlstore

import (
	"strings"
	"testing"

	"github.com/carehex/carehex"
)

// TestIDNumberUnique checks that two residents cannot share an ID number,
// by create, update or import, and that the refusal names the resident who
// has it, so the operator can open that record.
func TestIDNumberUnique(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		const id = "37030319450312007X"
		first := resident("张桂兰", "13905330001")
		first.IDNumber = strings.ToLower(id) // the store upper-cases the X
		mustCreateResident(t, e, first)
		wantExists := func(t *testing.T, err error, other string) {
			t.Helper()
			if carehex.ErrorCode(err) != carehex.EEXISTS || carehex.ErrorField(err) != "id_number" {
				t.Fatalf("err = %v, want already_exists naming id_number", err)
			}
			if !strings.Contains(carehex.ErrorMessage(err), other) {
				t.Errorf("message %q does not name the other record %s", carehex.ErrorMessage(err), other)
			}
		}
		before := rows(t, e, "residents")

		dup := resident("张贵兰", "13905330002")
		dup.IDNumber = id
		wantExists(t, e.CreateResident(ctx, dup), first.ID)
		if dup.ID != "" {
			t.Errorf("refused resident has ID %q", dup.ID)
		}

		second := resident("王伟", "13905330003")
		second.IDNumber = "370303194503120029"
		mustCreateResident(t, e, second)
		second.IDNumber = id
		wantExists(t, e.UpdateResident(ctx, second), first.ID)
		got, err := e.Resident(ctx, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.IDNumber != "370303194503120029" {
			t.Errorf("refused update changed the ID number to %q", got.IDNumber)
		}
		// Saving a record with its own number again is no conflict.
		first.Address = "张店区华光路58号"
		if err := e.UpdateResident(ctx, first); err != nil {
			t.Errorf("update keeping its own id_number: %v", err)
		}

		a, b := resident("甲", "13905330004"), resident("乙", "13905330005")
		a.IDNumber = "11010519491231002X"
		b.IDNumber = id
		wantExists(t, e.ImportResidents(ctx, []*carehex.Resident{a, b}), first.ID)
		c, d := resident("丙", "13905330006"), resident("丁", "13905330007")
		c.IDNumber, d.IDNumber = "11010519491231002X", "11010519491231002x"
		if err := e.ImportResidents(ctx, []*carehex.Resident{c, d}); carehex.ErrorCode(err) != carehex.EEXISTS {
			t.Errorf("import of two records with one id_number = %v, want already_exists", err)
		}
		if n := rows(t, e, "residents"); n != before+1 {
			t.Errorf("%d residents, want %d (only the second)", n, before+1)
		}
	})
}

// TestIDNumberUniqueConcurrent saves one ID number from several
// transactions at once: exactly one resident gets it.
func TestIDNumberUniqueConcurrent(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		const n = 8
		errs := make(chan error, n)
		for i := range n {
			go func() {
				r := resident("张桂兰", "1390533000"+string(rune('0'+i)))
				r.IDNumber = "11010519491231002X"
				errs <- e.CreateResident(opCtx(), r)
			}()
		}
		ok := 0
		for range n {
			switch err := <-errs; {
			case err == nil:
				ok++
			case carehex.ErrorCode(err) != carehex.EEXISTS:
				t.Errorf("CreateResident = %v, want nil or already_exists", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d residents got the same ID number, want 1", ok)
		}
	})
}
