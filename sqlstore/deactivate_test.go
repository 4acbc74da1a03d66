package sqlstore

import (
	"testing"

	"github.com/carehex/carehex"
)

func TestDeactivateResident(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		r := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		mustCreateRequest(t, e, r.ID) // served until now

		_, err := e.DeactivateResident(ctx, "res_nope", carehex.DeactivateMovedAway)
		wantErr(t, err, carehex.ENOTFOUND, "id")
		_, err = e.DeactivateResident(ctx, r.ID, "")
		wantErr(t, err, carehex.EINVALID, "reason_code")

		got, err := e.DeactivateResident(ctx, r.ID, "moved_away: 去北京跟儿子住")
		if err != nil {
			t.Fatalf("DeactivateResident: %v", err)
		}
		if got.DeactivateReason != "moved_away: 去北京跟儿子住" || !got.DeactivateTime.Equal(e.clock.Now().UTC().Truncate(1000)) {
			t.Errorf("deactivated resident = %q at %v", got.DeactivateReason, got.DeactivateTime)
		}
		_, err = e.DeactivateResident(ctx, r.ID, carehex.DeactivateDeceased)
		wantErr(t, err, carehex.ECONFLICT, "id")

		// Found when someone calls about her, marked; no new requests.
		found, err := e.SearchResidents(ctx, carehex.ResidentFilter{Query: "0001"})
		if err != nil || len(found) != 1 || found[0].DeactivateReason == "" {
			t.Errorf("search after deactivation = %+v, %v", found, err)
		}
		before := rows(t, e, "service_requests")
		_, _, err = e.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: r.ID, ServiceCode: "meal_delivery",
			Urgency: carehex.UrgencySoon}, "")
		wantErr(t, err, carehex.ECONFLICT, "resident_id")
		if rows(t, e, "service_requests") != before {
			t.Error("a request was logged for a deactivated resident")
		}
		// An edit of her record keeps the deactivation.
		got.Address = "北京市朝阳区"
		if err := e.UpdateResident(ctx, got); err != nil {
			t.Fatal(err)
		}
		if again, _ := e.Resident(ctx, r.ID); again.DeactivateReason == "" {
			t.Error("an edit reactivated her")
		}
		audited := false
		for _, a := range auditOf(t, e, r.ID) {
			if a.Action == "resident.deactivate" {
				audited = a.Detail == "moved_away" // the code, not the words
			}
		}
		if !audited {
			t.Error("no audit record of the deactivation with its code")
		}
	})
}
