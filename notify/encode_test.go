package notify

import (
	"slices"
	"testing"

	"github.com/carehex/carehex"
)

func TestEncodeDecode(t *testing.T) {
	in := []carehex.Notice{{Topic: carehex.TopicProvider, ID: "prv_1"}, carehex.ConsoleNotice,
		{Topic: carehex.TopicRequest, ID: "req_1"}, {Topic: carehex.TopicProvider, ID: "prv_1"},
		{Topic: carehex.TopicResident, ID: "res:with:colons"}}
	from, out, err := decodeNotices(encodeNotices("rep_a", in))
	if err != nil {
		t.Fatal(err)
	}
	if want := dedupeNotices(in); from != "rep_a" || !slices.Equal(out, want) {
		t.Fatalf("decodeNotices(encode) = %q %v, want rep_a %v", from, out, want)
	}
}

func TestDecodeRejectsJunk(t *testing.T) {
	for _, p := range []string{"", "\nprovider:p1", "rep\nprovider", "rep\nplanet:p1", "rep\n:p1", "rep\n\n"} {
		if _, _, err := decodeNotices(p); err == nil {
			t.Errorf("decodeNotices(%q) = nil error, want one", p)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("rep_a\nprovider:p1\nconsole:")
	f.Add("x\n\n:")
	f.Fuzz(func(t *testing.T, p string) {
		from, ns, err := decodeNotices(p)
		if err != nil {
			return
		}
		// Whatever decodes must encode back to something that decodes the same.
		from2, ns2, err := decodeNotices(encodeNotices(from, ns))
		if err != nil || from2 != from || !slices.Equal(ns2, dedupeNotices(ns)) {
			t.Fatalf("round trip of %q: %q %v %v", p, from2, ns2, err)
		}
	})
}
