package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// FraudStore is what FraudService needs of the system of record;
// *sqlstore.DB implements it.
type FraudStore interface {
	carehex.FraudStore
	carehex.EvidenceStore
	SetContractPhotos(ctx context.Context, contractID string, required bool) error
}

// Fraud is FraudService's dependencies: the flags and photo records, and
// where the photos' bytes are. A nil Store is the Server's Store when it
// keeps them (*sqlstore.DB does); nil Blobs answer GetVisitPhoto
// unavailable.
type Fraud struct {
	Store FraudStore
	Blobs carehex.BlobStore
}

type fraudService struct{ *Server }

func (s fraudService) store() (FraudStore, error) {
	if s.Fraud.Store != nil {
		return s.Fraud.Store, nil
	}
	if st, ok := s.Store.(FraudStore); ok {
		return st, nil
	}
	return nil, carehex.Errorf(carehex.EUNAVAILABLE, "", "fraud review is not configured on this server")
}

func flagToPB(f *carehex.FraudFlag) *pb.FraudFlag {
	return &pb.FraudFlag{Id: f.ID, VisitId: f.VisitID, Signal: f.Signal, EvidenceJson: f.Evidence, Status: string(f.Status),
		CreateTime: ts(f.CreateTime), ReviewActor: f.ReviewActor, ReviewReason: f.ReviewReason, ReviewTime: ts(f.ReviewTime),
		ProviderId: f.ProviderID, ResidentId: f.ResidentID, RequestId: f.RequestID, FinishTime: ts(f.FinishTime)}
}

func photoToPB(p *carehex.Photo) *pb.VisitPhoto {
	return &pb.VisitPhoto{Id: p.ID, VisitId: p.VisitID, Stage: string(p.Stage), Sha256: p.SHA256, ContentType: p.ContentType,
		SizeBytes: p.SizeBytes, Width: int32(p.Width), Height: int32(p.Height), CreateTime: ts(p.CreateTime), ProviderId: p.ProviderID}
}

func (s fraudService) ListFraudFlags(ctx context.Context, req *pb.ListFraudFlagsRequest) (*pb.ListFraudFlagsResponse, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	status := carehex.FlagStatus(req.Status)
	switch status {
	case "", carehex.FlagOpen, carehex.FlagCleared, carehex.FlagConfirmed:
	default:
		return nil, carehex.Errorf(carehex.EINVALID, "status", "status must be open, cleared or confirmed, got %q", req.Status)
	}
	flags, err := st.FraudFlags(ctx, status, int(req.Limit))
	if err != nil {
		return nil, err
	}
	out := &pb.ListFraudFlagsResponse{}
	for _, f := range flags {
		out.Flags = append(out.Flags, flagToPB(f))
	}
	return out, nil
}

func (s fraudService) ReviewFraudFlag(ctx context.Context, req *pb.ReviewFraudFlagRequest) (*pb.ReviewFraudFlagResponse, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	f, err := st.ReviewFraudFlag(ctx, &carehex.FlagReview{FlagID: req.FlagId, Decision: carehex.FlagStatus(req.Decision),
		Reason: req.Reason})
	if err != nil {
		return nil, err
	}
	return &pb.ReviewFraudFlagResponse{Flag: flagToPB(f)}, nil
}

// viewed writes who looked at a visit's photos to the trail.
func (s fraudService) viewed(ctx context.Context, action, visitID string, detail map[string]any) error {
	d, _ := json.Marshal(detail)
	return s.Store.Audit(ctx, &carehex.AuditRecord{Action: action, ObjectType: "visit", ObjectID: visitID, Detail: string(d)})
}

func (s fraudService) ListVisitPhotos(ctx context.Context, req *pb.ListVisitPhotosRequest) (*pb.ListVisitPhotosResponse, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	if req.VisitId == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "visit_id", "visit_id is required")
	}
	required, err := st.PhotoRequired(ctx, req.VisitId) // ENOTFOUND for no such visit
	if err != nil {
		return nil, err
	}
	photos, err := st.VisitPhotos(ctx, req.VisitId)
	if err != nil {
		return nil, err
	}
	if err := s.viewed(ctx, "visit.photo_list", req.VisitId, map[string]any{"photos": len(photos)}); err != nil {
		return nil, err
	}
	out := &pb.ListVisitPhotosResponse{Required: required}
	for _, p := range photos {
		out.Photos = append(out.Photos, photoToPB(p))
	}
	return out, nil
}

func (s fraudService) GetVisitPhoto(ctx context.Context, req *pb.GetVisitPhotoRequest) (*pb.GetVisitPhotoResponse, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	photos, err := st.VisitPhotos(ctx, req.VisitId)
	if err != nil {
		return nil, err
	}
	var p *carehex.Photo
	for _, x := range photos {
		if x.ID == req.PhotoId {
			p = x
		}
	}
	if p == nil { // a photo of another visit is not found through this one
		return nil, carehex.Errorf(carehex.ENOTFOUND, "photo_id", "visit %q has no photo %q", req.VisitId, req.PhotoId)
	}
	if s.Fraud.Blobs == nil {
		return nil, carehex.Errorf(carehex.EUNAVAILABLE, "", "photo storage is not configured on this server")
	}
	r, err := s.Fraud.Blobs.Get(ctx, p.SHA256)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(r, p.SizeBytes+1)); err != nil {
		return nil, carehex.Internal(err, "read photo")
	}
	if int64(b.Len()) != p.SizeBytes {
		return nil, carehex.Internal(fmt.Errorf("photo %s: %d bytes stored, %d recorded", p.ID, b.Len(), p.SizeBytes), "read photo")
	}
	if err := s.viewed(ctx, "visit.photo_view", p.VisitID, map[string]any{"photo_id": p.ID, "sha256": p.SHA256}); err != nil {
		return nil, err
	}
	return &pb.GetVisitPhotoResponse{Photo: photoToPB(p), Data: b.Bytes()}, nil
}

func (s fraudService) SetContractPhotos(ctx context.Context, req *pb.SetContractPhotosRequest) (*pb.SetContractPhotosResponse, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	if err := st.SetContractPhotos(ctx, req.ContractId, req.RequirePhotos); err != nil {
		return nil, err
	}
	return &pb.SetContractPhotosResponse{}, nil
}
