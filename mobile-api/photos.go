package mobileapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/carehex/carehex"
)

// Photo evidence: the carer's phone posts the photo of the scene at
// arrival and at completion as the raw image body. Only the carer holding
// the visit, while they may still see it (reveal), adds one; each is
// stored by its hash (carehex.BlobStore) and recorded beside the visit
// with the hash in the trail (carehex.EvidenceStore). A retake adds.

// Evidence is where photos go; nil turns the endpoint off (503).
type Evidence struct {
	Records carehex.EvidenceStore
	Blobs   carehex.BlobStore
}

type photoOut struct {
	ID          string    `json:"id"`
	VisitID     string    `json:"visit_id"`
	Stage       string    `json:"stage"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	SizeBytes   int64     `json:"size_bytes"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	CreateTime  time.Time `json:"create_time"`
}

// visitPhoto: POST /m/v1/visits/{id}/photos?stage=arrive|complete.
func (s *Server) visitPhoto(w http.ResponseWriter, r *http.Request) {
	if s.evidence == nil {
		s.fail(w, r, carehex.Errorf(carehex.EUNAVAILABLE, "", "photo evidence is not configured on this server"))
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	stage := carehex.PhotoStage(r.URL.Query().Get("stage"))
	if !stage.Valid() {
		s.fail(w, r, carehex.Errorf(carehex.EINVALID, "stage", "stage must be arrive or complete"))
		return
	}
	ctx, pid := r.Context(), subject(r)
	// Who before what: another carer's visit is refused before a byte
	// of the body is read or stored.
	v, err := s.store.Visit(ctx, id)
	if err == nil && v.ProviderID != pid {
		err = carehex.Errorf(carehex.ENOTFOUND, "id", "no visit %q", id)
	}
	if err == nil && !s.reveal(v) {
		err = carehex.Errorf(carehex.ECONFLICT, "id", "visit %s ended too long ago to take photos", id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (ct != "image/jpeg" && ct != "image/png") {
		s.fail(w, r, carehex.Errorf(carehex.EINVALID, "content_type", "the body must be a photo sent as image/jpeg or image/png"))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxPhotoBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.fail(w, r, carehex.Errorf(codeTooLarge, "body", "the photo is larger than %d bytes", s.cfg.MaxPhotoBytes))
		return
	case err != nil:
		s.fail(w, r, carehex.Errorf(carehex.EINVALID, "body", "the photo could not be read"))
		return
	}
	p, err := carehex.CheckPhoto(data, ct)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.VisitID, p.ProviderID, p.Stage = id, pid, stage
	if err := s.evidence.Blobs.Put(ctx, p.SHA256, data, p.ContentType); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.evidence.Records.AddVisitPhoto(ctx, p); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, map[string]any{"photo": photoOut{ID: p.ID, VisitID: p.VisitID, Stage: string(p.Stage),
		SHA256: p.SHA256, ContentType: p.ContentType, SizeBytes: p.SizeBytes, Width: p.Width, Height: p.Height,
		CreateTime: p.CreateTime.UTC()}})
}
