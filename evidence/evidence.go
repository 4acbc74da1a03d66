// Package evidence keeps the bytes of photo evidence, content-addressed by
// their SHA-256 (carehex.BlobStore): on the filesystem under the data
// directory by default, or in S3-compatible object storage (MinIO, Ceph,
// a cloud's OSS/COS with S3 API) when configured, through minio-go, a
// maintained client that speaks the S3 API to any of them. The records of
// which visit a photo belongs to are the system of record's; a blob is
// written once and never changed, and the same bytes uploaded twice are one
// blob.
package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/carehex/carehex"
)

// checkSum refuses bytes that are not what their name says.
func checkSum(sha string, data []byte) error {
	if !carehex.ValidSHA256(sha) {
		return carehex.Errorf(carehex.EINVALID, "sha256", "sha256 must be 64 lower-case hex digits")
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != sha {
		return carehex.Errorf(carehex.EINVALID, "sha256", "the bytes do not hash to %s", sha)
	}
	return nil
}

// FS keeps blobs as files DIR/ab/abcdef… (the first two hex digits fan the
// files out), 0600 in 0700 directories like the database.
type FS struct {
	dir string
}

// NewFS keeps blobs under dir, created (0700) with the first photo.
func NewFS(dir string) (*FS, error) {
	if dir == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "dir", "the evidence directory is required")
	}
	return &FS{dir: dir}, nil
}

func (f *FS) path(sha string) string { return filepath.Join(f.dir, sha[:2], sha) }

// Put writes data under sha through a temporary file and a rename, so a
// reader never sees half a photo; an existing blob is left alone.
func (f *FS) Put(_ context.Context, sha string, data []byte, _ string) error {
	if err := checkSum(sha, data); err != nil {
		return err
	}
	p := f.path(sha)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return carehex.Internal(err, "create evidence directory")
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return carehex.Internal(err, "write evidence")
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return carehex.Internal(err, "write evidence")
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return carehex.Internal(err, "write evidence")
	}
	if err := tmp.Close(); err != nil {
		return carehex.Internal(err, "write evidence")
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return carehex.Internal(err, "write evidence")
	}
	return nil
}

// Get opens a blob.
func (f *FS) Get(_ context.Context, sha string) (io.ReadCloser, error) {
	if !carehex.ValidSHA256(sha) {
		return nil, carehex.Errorf(carehex.EINVALID, "sha256", "sha256 must be 64 lower-case hex digits")
	}
	r, err := os.Open(f.path(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "sha256", "no evidence %s", sha)
	}
	if err != nil {
		return nil, carehex.Internal(err, "read evidence")
	}
	return r, nil
}

var _ carehex.BlobStore = (*FS)(nil)

// readAll reads a blob whole; the tests and the console use it.
func readAll(ctx context.Context, s carehex.BlobStore, sha string) ([]byte, error) {
	r, err := s.Get(ctx, sha)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return nil, carehex.Internal(fmt.Errorf("%s: %w", sha, err), "read evidence")
	}
	return b.Bytes(), nil
}
