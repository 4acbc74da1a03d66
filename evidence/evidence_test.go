package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/carehex/carehex"
)

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestFS: a blob is stored under its hash and read back; the same bytes
// again change nothing; bytes that do not match their name, a name that is
// not a hash and a missing blob are refused with their codes.
func TestFS(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "evidence")
	s, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("\xff\xd8\xff a kitchen before lunch")
	sha := hashOf(data)
	for i := 0; i < 2; i++ {
		if err := s.Put(ctx, sha, data, "image/jpeg"); err != nil {
			t.Fatalf("Put #%d: %v", i+1, err)
		}
	}
	got, err := readAll(ctx, s, sha)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get = %q, %v", got, err)
	}
	fi, err := os.Stat(filepath.Join(dir, sha[:2], sha))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("blob file: %v, %v; want 0600", fi, err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, sha[:2]))
	if len(entries) != 1 {
		t.Fatalf("%d files beside the blob, want none (no temporary left)", len(entries)-1)
	}
	if err := s.Put(ctx, sha, []byte("other bytes"), "image/jpeg"); carehex.ErrorCode(err) != carehex.EINVALID {
		t.Fatalf("bytes not matching their hash: %v", err)
	}
	for _, bad := range []string{"", "../../etc/passwd", sha[:63], sha + "0", "ABCDEF" + sha[6:]} {
		if _, err := s.Get(ctx, bad); carehex.ErrorCode(err) != carehex.EINVALID {
			t.Fatalf("Get(%q): %v, want invalid", bad, err)
		}
	}
	if _, err := s.Get(ctx, hashOf([]byte("never stored"))); carehex.ErrorCode(err) != carehex.ENOTFOUND {
		t.Fatalf("a missing blob: %v, want not_found", err)
	}
}

func TestParseS3URL(t *testing.T) {
	for _, c := range []struct {
		in                       string
		endpoint, bucket, prefix string
		secure, ok               bool
	}{
		{"https://oss.example.cn/carehex", "oss.example.cn", "carehex", "", true, true},
		{"http://127.0.0.1:9000/evidence/zibo/2026", "127.0.0.1:9000", "evidence", "zibo/2026", false, true},
		{"ftp://host/bucket", "", "", "", false, false},
		{"https://host/", "", "", "", false, false},
		{"https://key:secret@host/bucket", "", "", "", false, false},
		{"not a url at all", "", "", "", false, false},
	} {
		e, sec, b, p, err := ParseS3URL("url", c.in)
		if (err == nil) != c.ok || (c.ok && (e != c.endpoint || b != c.bucket || p != c.prefix || sec != c.secure)) {
			t.Errorf("ParseS3URL(%q) = %q %v %q %q, %v", c.in, e, sec, b, p, err)
		}
	}
}
