package carehex_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// chainOf builds a valid chain of n audit records.
func chainOf(t *testing.T, n int) []carehex.TrailLink {
	t.Helper()
	prev := carehex.GenesisHash
	var out []carehex.TrailLink
	base := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		rec := &carehex.AuditRecord{ID: fmt.Sprintf("aud_%d", i), Time: base.Add(time.Duration(i) * time.Second),
			Actor: "user:usr_1", Action: "resident.read", ObjectType: "resident", ObjectID: fmt.Sprintf("res_%d", i)}
		content := carehex.AuditContent(rec)
		h, err := carehex.TrailHash(prev, carehex.ChainAudit, content)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, carehex.TrailLink{ID: rec.ID, Seq: int64(i), PrevHash: prev, Hash: h, Content: content})
		prev = h
	}
	return out
}

var genesis = carehex.TrailAnchor{Chain: carehex.ChainAudit, Seq: 0, Hash: carehex.GenesisHash}

func TestTrailCanonicalIsUnambiguous(t *testing.T) {
	// Moving a byte from one field to the next must change the encoding.
	a := carehex.TrailCanonical(carehex.ChainAudit, []string{"ab", "c"})
	b := carehex.TrailCanonical(carehex.ChainAudit, []string{"a", "bc"})
	if bytes.Equal(a, b) {
		t.Fatal("fields ab|c and a|bc encode alike")
	}
	want := []byte{0, 0, 0, 5, 'a', 'u', 'd', 'i', 't', 0, 0, 0, 2, 'a', 'b', 0, 0, 0, 1, 'c'}
	if !bytes.Equal(a, want) {
		t.Fatalf("layout = %v, want %v", a, want)
	}
	if bytes.Equal(carehex.TrailCanonical(carehex.ChainEvents, []string{"x"}), carehex.TrailCanonical(carehex.ChainAudit, []string{"x"})) {
		t.Fatal("the chain name is not part of the encoding")
	}
}

func TestVerifyTrail(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func([]carehex.TrailLink) []carehex.TrailLink
		anchors []carehex.TrailAnchor
		kind    string
		id      string
	}{
		{name: "intact", tamper: func(l []carehex.TrailLink) []carehex.TrailLink { return l }},
		{name: "content changed", tamper: func(l []carehex.TrailLink) []carehex.TrailLink {
			l[3].Content[6] = "edited"
			return l
		}, kind: carehex.FaultContentChanged, id: "aud_4"},
		{name: "record deleted", tamper: func(l []carehex.TrailLink) []carehex.TrailLink {
			return append(l[:2:2], l[3:]...)
		}, kind: carehex.FaultRecordMissing, id: "aud_4"},
		{name: "first record deleted", tamper: func(l []carehex.TrailLink) []carehex.TrailLink {
			return l[1:]
		}, kind: carehex.FaultRecordMissing, id: "aud_2"},
		{name: "deleted and renumbered", tamper: func(l []carehex.TrailLink) []carehex.TrailLink {
			out := append(l[:2:2], l[3:]...)
			for i := range out {
				out[i].Seq = int64(i + 1)
			}
			return out
		}, kind: carehex.FaultRecordMissing, id: "aud_4"},
		{name: "two records swapped", tamper: func(l []carehex.TrailLink) []carehex.TrailLink {
			l[2], l[5] = l[5], l[2]
			l[2].Seq, l[5].Seq = 3, 6
			return l
		}, kind: carehex.FaultOrderChanged, id: "aud_6"},
		{name: "rewritten with a fresh hash", tamper: func(l []carehex.TrailLink) []carehex.TrailLink {
			l[3].Content[6] = "edited"
			l[3].Hash, _ = carehex.TrailHash(l[3].PrevHash, carehex.ChainAudit, l[3].Content)
			return l
		}, kind: carehex.FaultRecordMissing, id: "aud_5"},
		{name: "tail truncated", tamper: func(l []carehex.TrailLink) []carehex.TrailLink { return l[:5] },
			anchors: []carehex.TrailAnchor{{Chain: carehex.ChainAudit, Seq: 8}}, kind: carehex.FaultTruncated},
		{name: "anchor of the other chain ignored", tamper: func(l []carehex.TrailLink) []carehex.TrailLink { return l[:5] },
			anchors: []carehex.TrailAnchor{{Chain: carehex.ChainEvents, Seq: 8}}},
		{name: "bad prev hash", tamper: func(l []carehex.TrailLink) []carehex.TrailLink {
			l[0].PrevHash = "zz"
			return l
		}, kind: carehex.FaultBadHash, id: "aud_1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			links := chainOf(t, 8)
			anchors := tc.anchors
			for i := range anchors {
				if anchors[i].Hash == "" && int(anchors[i].Seq) <= len(links) {
					anchors[i].Hash = links[anchors[i].Seq-1].Hash
				}
			}
			f := carehex.VerifyTrail(carehex.ChainAudit, genesis, tc.tamper(links), anchors)
			if tc.kind == "" {
				if f != nil {
					t.Fatalf("intact chain reported %v", f)
				}
				return
			}
			if f == nil {
				t.Fatalf("want %s, got no fault", tc.kind)
			}
			if f.Kind != tc.kind || f.ID != tc.id {
				t.Fatalf("got %v, want kind %q at %q", f, tc.kind, tc.id)
			}
		})
	}
}

func TestVerifyTrailAnchorMismatch(t *testing.T) {
	links := chainOf(t, 4)
	a := carehex.TrailAnchor{Chain: carehex.ChainAudit, Seq: 3, Hash: carehex.GenesisHash}
	f := carehex.VerifyTrail(carehex.ChainAudit, genesis, links, []carehex.TrailAnchor{a})
	if f == nil || f.Kind != carehex.FaultAnchorMismatch || f.ID != "aud_3" {
		t.Fatalf("got %v, want anchor mismatch at aud_3", f)
	}
}

func TestVerifyTrailFromBase(t *testing.T) {
	links := chainOf(t, 6)
	base := carehex.TrailAnchor{Chain: carehex.ChainAudit, Seq: links[2].Seq, Hash: links[2].Hash}
	if f := carehex.VerifyTrail(carehex.ChainAudit, base, links[3:], nil); f != nil {
		t.Fatalf("partial chain from seq 4 reported %v", f)
	}
	if f := carehex.VerifyTrail(carehex.ChainAudit, base, links[4:], nil); f == nil || f.Kind != carehex.FaultRecordMissing {
		t.Fatalf("got %v, want record missing", f)
	}
}

// FuzzVerifyTrail: whatever is done to a chain, VerifyTrail answers without
// panicking, and any change to a record's content, place or hashes is found.
func FuzzVerifyTrail(f *testing.F) {
	f.Add(uint8(8), uint8(0), uint8(3), uint8(5), "edited", int64(2))
	f.Add(uint8(3), uint8(4), uint8(0), uint8(2), "", int64(-1))
	f.Fuzz(func(t *testing.T, n, op, i, j uint8, text string, seq int64) {
		links := chainOf(t, int(n%16)+1)
		i, j = i%uint8(len(links)), j%uint8(len(links))
		anchors := []carehex.TrailAnchor{{Chain: carehex.ChainAudit, Seq: seq, Hash: text}}
		if carehex.VerifyTrail(carehex.ChainAudit, genesis, links, nil) != nil {
			t.Fatal("an untouched chain reported a fault")
		}
		changed := true
		switch op % 6 {
		case 0:
			changed = links[i].Content[6] != text
			links[i].Content[6] = text
		case 1:
			changed = links[i].Seq != seq
			links[i].Seq = seq
		case 2:
			changed = links[i].PrevHash != text
			links[i].PrevHash = text
		case 3:
			changed = links[i].Hash != text
			links[i].Hash = text
		case 4:
			links = append(links[:i:i], links[i+1:]...)
			changed = int(i) < len(links) // dropping the tail is only seen with an anchor
		case 5:
			links[i], links[j] = links[j], links[i]
			links[i].Seq, links[j].Seq = links[j].Seq, links[i].Seq
			changed = i != j
		}
		f := carehex.VerifyTrail(carehex.ChainAudit, genesis, links, anchors) // must not panic with any anchor
		if changed && carehex.VerifyTrail(carehex.ChainAudit, genesis, links, nil) == nil {
			t.Fatalf("op %d at %d/%d went unnoticed (with anchor: %v)", op%6, i, j, f)
		}
	})
}
