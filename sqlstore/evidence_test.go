package sqlstore

import (
	"context"
	"strings"
	"testing"

	"github.com/carehex/carehex"
)

// TestEvidenceAppendOnly: a retake adds a photo beside the first, each
// with its hash in the trail; no UPDATE or DELETE of a photo gets past the
// database, even typed by hand; another carer's or a cancelled visit takes
// none; and the contract's photo requirement is read through the carer's
// organisation.
func TestEvidenceAppendOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		org := mustCreateOrg(t, e, "颐康")
		res := mustCreateResident(t, e, resident("王秀英", "13800000001"))
		p := mustCreateProvider(t, e, "李师傅")
		other := mustCreateProvider(t, e, "张师傅")
		if err := e.SetProviderOrganisation(ctx, p.ID, org.ID); err != nil {
			t.Fatal(err)
		}
		v := completedVisit(t, e, res, p, 1, at(10, 0), true)
		first := &carehex.Photo{VisitID: v.ID, ProviderID: p.ID, Stage: carehex.PhotoArrive, SHA256: strings.Repeat("a", 64),
			ContentType: "image/jpeg", SizeBytes: 10, Width: 4, Height: 3}
		retake := *first
		retake.SHA256 = strings.Repeat("b", 64)
		for _, ph := range []*carehex.Photo{first, &retake} {
			if err := e.AddVisitPhoto(context.Background(), ph); err != nil {
				t.Fatal(err)
			}
		}
		got, err := e.VisitPhotos(ctx, v.ID)
		if err != nil || len(got) != 2 || got[0].SHA256 != first.SHA256 || got[1].SHA256 != retake.SHA256 {
			t.Fatalf("VisitPhotos = %+v, %v; want both, in order", got, err)
		}
		recs, err := e.AuditRecords(ctx, carehex.AuditFilter{ObjectID: v.ID})
		if err != nil {
			t.Fatal(err)
		}
		hashes := 0
		for _, r := range recs {
			if r.Action == "visit.photo" && (strings.Contains(r.Detail, first.SHA256) || strings.Contains(r.Detail, retake.SHA256)) {
				hashes++
			}
		}
		if hashes != 2 {
			t.Fatalf("%d photo hashes in the trail, want 2: %+v", hashes, recs)
		}
		for _, q := range []string{`UPDATE visit_photos SET sha256 = 'x'`, `DELETE FROM visit_photos`} {
			if _, err := e.w.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("%s: %v, want refused as append-only", q, err)
			}
		}
		if got, _ := e.VisitPhotos(ctx, v.ID); len(got) != 2 || got[0].SHA256 != first.SHA256 {
			t.Fatalf("photos changed: %+v", got)
		}

		stranger := *first
		stranger.ProviderID = other.ID
		if err := e.AddVisitPhoto(context.Background(), &stranger); carehex.ErrorCode(err) != carehex.ENOTFOUND {
			t.Fatalf("another carer's photo: %v, want not_found", err)
		}
		bad := *first
		bad.Stage = "during"
		if err := e.AddVisitPhoto(context.Background(), &bad); carehex.ErrorCode(err) != carehex.EINVALID {
			t.Fatalf("a bad stage: %v, want invalid", err)
		}
		r := mustCreateRequest(t, e, res.ID)
		gone := mustAssign(t, e, claim(r, p, 2, at(14, 0), at(15, 0)))
		mustMove(t, e, gone, carehex.StatusCancelled, e.clock.Now())
		late := *first
		late.VisitID = gone.ID
		if err := e.AddVisitPhoto(context.Background(), &late); carehex.ErrorCode(err) != carehex.ECONFLICT {
			t.Fatalf("a cancelled visit's photo: %v, want conflict", err)
		}

		if req, err := e.PhotoRequired(ctx, v.ID); err != nil || req {
			t.Fatalf("PhotoRequired without a contract = %v, %v", req, err)
		}
		c := &carehex.Contract{OrgID: org.ID, Services: []string{r.ServiceCode}, Unit: carehex.UnitVisit, PriceFen: 4000,
			ValidFrom: at(0, 0).AddDate(0, -1, 0)}
		if err := e.CreateContract(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := e.SetContractPhotos(ctx, c.ID, true); err != nil {
			t.Fatal(err)
		}
		if req, err := e.PhotoRequired(ctx, v.ID); err != nil || !req {
			t.Fatalf("PhotoRequired under a contract requiring it = %v, %v", req, err)
		}
		if err := e.SetContractPhotos(ctx, "ctr_none", true); carehex.ErrorCode(err) != carehex.ENOTFOUND {
			t.Fatalf("an unknown contract: %v", err)
		}
	})
}
