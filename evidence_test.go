package carehex

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
)

func encoded(t testing.TB, format string, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	var b bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCheckPhoto(t *testing.T) {
	jp, pn := encoded(t, "jpeg", 64, 48), encoded(t, "png", 32, 24)
	for _, c := range []struct {
		name     string
		data     []byte
		declared string
		wantType string
		field    string
	}{
		{"jpeg", jp, "image/jpeg", "image/jpeg", ""},
		{"png, undeclared", pn, "", "image/png", ""},
		{"png declared jpeg", pn, "image/jpeg", "", "content_type"},
		{"empty", nil, "image/png", "", "body"},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00"), "", "", "content_type"},
		{"png header only", pn[:16], "image/png", "", "body"},
		{"jpeg magic, garbage", []byte("\xff\xd8\xff\xe0garbage"), "image/jpeg", "", "body"},
	} {
		p, err := CheckPhoto(c.data, c.declared)
		if c.field != "" {
			if ErrorCode(err) != EINVALID || ErrorField(err) != c.field {
				t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
			}
			continue
		}
		sum := sha256.Sum256(c.data)
		if err != nil || p.ContentType != c.wantType || p.SHA256 != hex.EncodeToString(sum[:]) || p.SizeBytes != int64(len(c.data)) {
			t.Errorf("%s: %+v, %v", c.name, p, err)
		}
	}
}

// FuzzCheckPhoto: whatever the phone sends, the upload's decoder answers
// a photo or a clear invalid error, never panics, and a photo it accepts
// is the type its bytes begin with, hashed right.
func FuzzCheckPhoto(f *testing.F) {
	f.Add(encoded(f, "jpeg", 8, 8), "image/jpeg")
	f.Add(encoded(f, "png", 8, 8), "image/png")
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xff\xff\xff\xff\xff\xff\xff\x08\x02\x00\x00\x00"), "")
	f.Add([]byte("\xff\xd8\xff"), "image/jpeg")
	f.Fuzz(func(t *testing.T, data []byte, declared string) {
		p, err := CheckPhoto(data, declared)
		if err != nil {
			if ErrorCode(err) != EINVALID || ErrorField(err) == "" {
				t.Fatalf("error %v is not invalid with a field", err)
			}
			return
		}
		sum := sha256.Sum256(data)
		switch {
		case p.SHA256 != hex.EncodeToString(sum[:]):
			t.Fatal("wrong hash")
		case p.ContentType == "image/png" && !bytes.HasPrefix(data, []byte("\x89PNG")),
			p.ContentType == "image/jpeg" && !bytes.HasPrefix(data, []byte{0xff, 0xd8}):
			t.Fatalf("accepted %s with other magic", p.ContentType)
		case int64(p.Width)*int64(p.Height) > MaxPhotoPixels || p.Width <= 0 || p.Height <= 0:
			t.Fatalf("accepted %d×%d", p.Width, p.Height)
		}
	})
}
