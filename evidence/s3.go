package evidence

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"strings"

	"github.com/carehex/carehex"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 keeps blobs as objects PREFIX/ab/abcdef… in a bucket of an
// S3-compatible store.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
}

// S3Config is where the objects go. The URL is
// https://host[:port]/bucket[/prefix] (http:// for a store on a private
// network); the keys come from the environment, never the URL.
type S3Config struct {
	URL       string
	AccessKey string
	SecretKey string
	Region    string
}

// ParseS3URL splits an object store URL into endpoint, TLS, bucket and
// prefix; field names the setting in errors.
func ParseS3URL(field, raw string) (endpoint string, secure bool, bucket, prefix string, err error) {
	u, perr := url.Parse(raw)
	bad := func(msg string) error {
		return carehex.Errorf(carehex.EINVALID, field, "%s must be http(s)://host[:port]/bucket[/prefix]: %s", field, msg)
	}
	switch {
	case perr != nil:
		return "", false, "", "", bad("not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return "", false, "", "", bad("the scheme must be http or https")
	case u.Host == "":
		return "", false, "", "", bad("the host is missing")
	case u.User != nil:
		return "", false, "", "", bad("put the keys in CAREHEX_EVIDENCE_S3_ACCESS_KEY and _SECRET_KEY, not the URL")
	}
	path := strings.Trim(u.Path, "/")
	bucket, prefix, _ = strings.Cut(path, "/")
	if bucket == "" {
		return "", false, "", "", bad("the bucket is missing")
	}
	return u.Host, u.Scheme == "https", bucket, prefix, nil
}

// NewS3 connects to the store and checks that the bucket is there, so a
// wrong setting fails at start, not at the first photo.
func NewS3(ctx context.Context, c S3Config) (*S3, error) {
	endpoint, secure, bucket, prefix, err := ParseS3URL("CAREHEX_EVIDENCE_S3_URL", c.URL)
	if err != nil {
		return nil, err
	}
	client, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure: secure, Region: c.Region})
	if err != nil {
		return nil, carehex.Errorf(carehex.EINVALID, "CAREHEX_EVIDENCE_S3_URL", "object store: %v", err)
	}
	ok, err := client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, carehex.Errorf(carehex.EUNAVAILABLE, "CAREHEX_EVIDENCE_S3_URL", "object store %s does not answer: %v", endpoint, err)
	}
	if !ok {
		return nil, carehex.Errorf(carehex.EINVALID, "CAREHEX_EVIDENCE_S3_URL", "object store %s has no bucket %q", endpoint, bucket)
	}
	return &S3{client: client, bucket: bucket, prefix: prefix}, nil
}

func (s *S3) key(sha string) string {
	k := sha[:2] + "/" + sha
	if s.prefix != "" {
		k = s.prefix + "/" + k
	}
	return k
}

// Put uploads data unless an object of that name is there already (the
// name is the content's hash, so it is the same bytes).
func (s *S3) Put(ctx context.Context, sha string, data []byte, contentType string) error {
	if err := checkSum(sha, data); err != nil {
		return err
	}
	if _, err := s.client.StatObject(ctx, s.bucket, s.key(sha), minio.StatObjectOptions{}); err == nil {
		return nil
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.key(sha), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return carehex.Errorf(carehex.EUNAVAILABLE, "", "object store: %v", err)
	}
	return nil
}

// Get opens an object.
func (s *S3) Get(ctx context.Context, sha string) (io.ReadCloser, error) {
	if !carehex.ValidSHA256(sha) {
		return nil, carehex.Errorf(carehex.EINVALID, "sha256", "sha256 must be 64 lower-case hex digits")
	}
	if _, err := s.client.StatObject(ctx, s.bucket, s.key(sha), minio.StatObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, carehex.Errorf(carehex.ENOTFOUND, "sha256", "no evidence %s", sha)
		}
		return nil, carehex.Errorf(carehex.EUNAVAILABLE, "", "object store: %v", err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.key(sha), minio.GetObjectOptions{})
	if err != nil {
		return nil, carehex.Errorf(carehex.EUNAVAILABLE, "", "object store: %v", err)
	}
	return obj, nil
}

var _ carehex.BlobStore = (*S3)(nil)
