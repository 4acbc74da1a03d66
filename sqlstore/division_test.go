package sqlstore

import (
	"testing"

	"github.com/carehex/carehex"
)

// The street, community and division code picked in the registration form
// are kept on create and replaced on update; a malformed code is refused
// and changes nothing.
func TestResidentDivision(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		r := resident("孙秀英", "13905331234")
		r.District, r.Street, r.Community, r.DivisionCode = "张店区", "车站街道", "共青团社区居委会", "370303001001"
		mustCreateResident(t, e, r)
		got, err := e.Resident(ctx, r.ID)
		if err != nil {
			t.Fatalf("Resident: %v", err)
		}
		if got.Street != r.Street || got.Community != r.Community || got.DivisionCode != r.DivisionCode {
			t.Errorf("after create: street %q community %q code %q", got.Street, got.Community, got.DivisionCode)
		}

		r.Street, r.Community, r.DivisionCode = "和平街道", "", "370303002"
		if err := e.UpdateResident(ctx, r); err != nil {
			t.Fatalf("UpdateResident: %v", err)
		}
		got, _ = e.Resident(ctx, r.ID)
		if got.Street != "和平街道" || got.Community != "" || got.DivisionCode != "370303002" {
			t.Errorf("after update: street %q community %q code %q", got.Street, got.Community, got.DivisionCode)
		}
		res, err := e.SearchResidents(ctx, carehex.ResidentFilter{Query: "1234"})
		if err != nil || len(res) != 1 || res[0].Street != "和平街道" {
			t.Errorf("search: %v %+v", err, res)
		}

		for _, code := range []string{"3703", "37030300100x", "3703030010011"} {
			bad := *got
			bad.DivisionCode = code
			wantErr(t, e.UpdateResident(ctx, &bad), carehex.EINVALID, "division_code")
		}
		if got, _ := e.Resident(ctx, r.ID); got.DivisionCode != "370303002" {
			t.Errorf("a refused update changed the code to %q", got.DivisionCode)
		}
	})
}
