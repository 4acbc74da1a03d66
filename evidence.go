package carehex

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"time"
)

// Photo evidence: where a contract requires it, the carer's phone takes a
// photo of the scene at arrival and at completion. The bytes are stored
// content-addressed (by their SHA-256) in a BlobStore, the record of who
// took it for which visit in the system of record, with the hash in the
// audit trail. Evidence is append-only: a retake or a correction adds a
// photo, it never replaces or removes one.

// PhotoStage is when in a visit a photo was taken.
type PhotoStage string

const (
	PhotoArrive   PhotoStage = "arrive"   // the scene before
	PhotoComplete PhotoStage = "complete" // the scene after
)

// Valid reports whether s is a stage.
func (s PhotoStage) Valid() bool { return s == PhotoArrive || s == PhotoComplete }

// MaxPhotoPixels bounds a photo's width × height: a decoder told a 60,000
// × 60,000 image is coming is not asked to believe it.
const MaxPhotoPixels = 50_000_000

// Photo is one piece of photo evidence of a visit.
type Photo struct {
	ID          string
	VisitID     string
	ProviderID  string
	Stage       PhotoStage
	SHA256      string // hex, the blob's name
	ContentType string // image/jpeg or image/png
	SizeBytes   int64
	Width       int
	Height      int
	CreateTime  time.Time
}

// CheckPhoto reads an uploaded image: it must be a JPEG or PNG (by its
// bytes, whatever the sender called it) of sane dimensions, and declared
// as the same type when declared is not empty. It returns the photo's
// type, size, dimensions and hash; the caller sets the rest.
func CheckPhoto(data []byte, declared string) (*Photo, error) {
	if len(data) == 0 {
		return nil, Errorf(EINVALID, "body", "the photo is empty")
	}
	var (
		ct  string
		cfg image.Config
		err error
	)
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		ct = "image/jpeg"
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		ct = "image/png"
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	default:
		return nil, Errorf(EINVALID, "content_type", "the photo must be a JPEG or PNG image")
	}
	if err != nil {
		return nil, Errorf(EINVALID, "body", "the photo is not a readable %s image", ct)
	}
	if declared != "" && declared != ct {
		return nil, Errorf(EINVALID, "content_type", "the photo is %s but was sent as %q", ct, declared)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPhotoPixels {
		return nil, Errorf(EINVALID, "body", "the photo's size %d×%d is out of range", cfg.Width, cfg.Height)
	}
	sum := sha256.Sum256(data)
	return &Photo{SHA256: hex.EncodeToString(sum[:]), ContentType: ct, SizeBytes: int64(len(data)),
		Width: cfg.Width, Height: cfg.Height}, nil
}

// ValidSHA256 reports whether s is a lower-case hex SHA-256, the only
// name a blob may be asked for by.
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// BlobStore keeps content-addressed bytes: the filesystem under the data
// directory, or S3-compatible object storage (package evidence).
type BlobStore interface {
	// Put stores data under its SHA-256, which the store checks; storing
	// the same bytes again is a no-op.
	Put(ctx context.Context, sha string, data []byte, contentType string) error
	// Get opens the blob; ENOTFOUND when there is none.
	Get(ctx context.Context, sha string) (io.ReadCloser, error)
}

// EvidenceStore keeps the photo records.
type EvidenceStore interface {
	// AddVisitPhoto appends photo p to its visit (never replacing one),
	// with an audit record carrying its hash, in one transaction.
	// ENOTFOUND when the visit is not p.ProviderID's; ECONFLICT when the
	// visit was cancelled.
	AddVisitPhoto(ctx context.Context, p *Photo) error
	// VisitPhotos lists a visit's photos, oldest first.
	VisitPhotos(ctx context.Context, visitID string) ([]*Photo, error)
	// PhotoRequired reports whether the contract that pays for the visit
	// requires photos.
	PhotoRequired(ctx context.Context, visitID string) (bool, error)
}
