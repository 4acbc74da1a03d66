package rpc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/evidence"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/rpc"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// TestFraudService: two carers' visits carry the same photo; the scan
// flags both. A supervisor reads the flags and the photos (each look in
// the trail) but cannot rule; an operator's ruling needs a reason and a
// known decision, and is in the trail; a photo is found only through its
// own visit.
func TestFraudService(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ts := newServer(t, be)
			blobs, err := evidence.NewFS(filepath.Join(t.TempDir(), "evidence"))
			if err != nil {
				t.Fatal(err)
			}
			api := &rpc.Server{Store: ts.Store, Clock: ts.Clock, Fraud: rpc.Fraud{Blobs: blobs}}
			srv := httptest.NewServer(api.Handler())
			t.Cleanup(srv.Close)
			fraud := pb.NewFraudServiceJSONClient(srv.URL, srv.Client())
			op, sup, admin := ts.ctx(t, carehex.RoleOperator), ts.ctx(t, carehex.RoleSupervisor), ts.ctx(t, carehex.RoleAdmin)

			ctx := testenv.OpCtx()
			res := ts.createResident(t, "王秀英", "13800138000")
			photo := []byte("\x89PNG the same kitchen")
			sum := sha256.Sum256(photo)
			sha := hex.EncodeToString(sum[:])
			if err := blobs.Put(ctx, sha, photo, "image/png"); err != nil {
				t.Fatal(err)
			}
			var visits []string
			for i, name := range []string{"出借", "借用"} {
				p := &carehex.Provider{Name: name, Phone: "13700000000", Skills: []string{ts.service().RequiredSkill}, Home: testenv.Zibo}
				if err := ts.Store.CreateProvider(ctx, p); err != nil {
					t.Fatal(err)
				}
				r, _, err := ts.Store.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: res.Id,
					ServiceCode: ts.service().Code, Urgency: carehex.UrgencySoon}, "")
				if err != nil {
					t.Fatal(err)
				}
				start := ts.Clock().Add(-time.Duration(6-2*i) * time.Hour)
				_, v, err := ts.Store.AssignRequest(context.Background(), carehex.Assignment{RequestID: r.ID, ProviderID: p.ID,
					Fence: 1, Start: start, End: start.Add(time.Hour), Actor: "test", Reason: "offer accepted"})
				if err != nil {
					t.Fatal(err)
				}
				for j, typ := range []carehex.VisitEventType{carehex.VisitArrive, carehex.VisitComplete} {
					_, _, _, err := ts.Store.RecordVisitEvent(context.Background(), &carehex.VisitEvent{EventID: carehex.NewID("evt"),
						VisitID: v.ID, ProviderID: p.ID, Type: typ, Position: testenv.At(testenv.Zibo, float64(3*i+j), 0),
						DeviceTime: start.Add(time.Duration(j) * 40 * time.Minute), Verified: true}, carehex.VisitEventRules{})
					if err != nil {
						t.Fatal(err)
					}
				}
				if err := ts.Store.AddVisitPhoto(context.Background(), &carehex.Photo{VisitID: v.ID, ProviderID: p.ID,
					Stage: carehex.PhotoArrive, SHA256: sha, ContentType: "image/png", SizeBytes: int64(len(photo)), Width: 1, Height: 1}); err != nil {
					t.Fatal(err)
				}
				visits = append(visits, v.ID)
			}
			now := ts.Clock()
			if n, err := carehex.ScanFraud(ctx, ts.Store, now.Add(-24*time.Hour), now.Add(time.Hour), carehex.DefaultFraudSettings(),
				time.FixedZone("CST", 8*3600)); err != nil || n != 2 {
				t.Fatalf("ScanFraud = %d, %v; want the 2 visits flagged", n, err)
			}

			list, err := fraud.ListFraudFlags(sup, &pb.ListFraudFlagsRequest{Status: "open"})
			if err != nil || len(list.Flags) != 2 || list.Flags[0].Signal != carehex.SignalSharedPhoto {
				t.Fatalf("supervisor's list = %v, %v", list, err)
			}
			flag := list.Flags[0]
			_, err = fraud.ReviewFraudFlag(sup, &pb.ReviewFraudFlagRequest{FlagId: flag.Id, Decision: "cleared", Reason: "看过了"})
			wantCode(t, err, twirp.PermissionDenied, "")
			_, err = fraud.ReviewFraudFlag(op, &pb.ReviewFraudFlagRequest{FlagId: flag.Id, Decision: "cleared"})
			wantCode(t, err, twirp.InvalidArgument, "reason")
			_, err = fraud.ReviewFraudFlag(op, &pb.ReviewFraudFlagRequest{FlagId: flag.Id, Decision: "deleted", Reason: "x"})
			wantCode(t, err, twirp.InvalidArgument, "decision")
			_, err = fraud.ListFraudFlags(sup, &pb.ListFraudFlagsRequest{Status: "gone"})
			wantCode(t, err, twirp.InvalidArgument, "status")
			_, err = fraud.ReviewFraudFlag(op, &pb.ReviewFraudFlagRequest{FlagId: "flg_none", Decision: "cleared", Reason: "x"})
			wantCode(t, err, twirp.NotFound, "flag_id")
			got, err := fraud.ReviewFraudFlag(op, &pb.ReviewFraudFlagRequest{FlagId: flag.Id, Decision: "cleared", Reason: "已电话回访老人核实"})
			if err != nil || got.Flag.Status != "cleared" || got.Flag.ReviewReason != "已电话回访老人核实" {
				t.Fatalf("ReviewFraudFlag = %v, %v", got, err)
			}
			if open, _ := fraud.ListFraudFlags(sup, &pb.ListFraudFlagsRequest{Status: "open"}); len(open.Flags) != 1 {
				t.Fatalf("%d open flags after clearing one, want 1", len(open.Flags))
			}

			photos, err := fraud.ListVisitPhotos(sup, &pb.ListVisitPhotosRequest{VisitId: visits[0]})
			if err != nil || len(photos.Photos) != 1 || photos.Photos[0].Sha256 != sha {
				t.Fatalf("ListVisitPhotos = %v, %v", photos, err)
			}
			one, err := fraud.GetVisitPhoto(sup, &pb.GetVisitPhotoRequest{VisitId: visits[0], PhotoId: photos.Photos[0].Id})
			if err != nil || !bytes.Equal(one.Data, photo) {
				t.Fatalf("GetVisitPhoto = %v, %v", one, err)
			}
			other, err := fraud.ListVisitPhotos(op, &pb.ListVisitPhotosRequest{VisitId: visits[1]})
			if err != nil || len(other.Photos) != 1 {
				t.Fatalf("ListVisitPhotos(second) = %v, %v", other, err)
			}
			_, err = fraud.GetVisitPhoto(sup, &pb.GetVisitPhotoRequest{VisitId: visits[0], PhotoId: other.Photos[0].Id})
			wantCode(t, err, twirp.NotFound, "photo_id")
			_, err = fraud.ListVisitPhotos(sup, &pb.ListVisitPhotosRequest{VisitId: "vis_none"})
			wantCode(t, err, twirp.NotFound, "")
			_, err = fraud.SetContractPhotos(admin, &pb.SetContractPhotosRequest{ContractId: "ctr_none", RequirePhotos: true})
			wantCode(t, err, twirp.NotFound, "contract_id")

			recs, err := ts.Store.AuditRecords(ctx, carehex.AuditFilter{ObjectID: visits[0]})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]string{}
			for _, r := range recs {
				seen[r.Action] = r.Actor
			}
			for _, a := range []string{"visit.photo", "visit.fraud_flag", "visit.photo_list", "visit.photo_view"} {
				if _, ok := seen[a]; !ok {
					t.Errorf("no %s in the trail of %s: %v", a, visits[0], seen)
				}
			}
			if a := seen["visit.photo_view"]; a == "" || a == "system" {
				t.Errorf("the photo view is not the supervisor's: %q", a)
			}
		})
	}
}
