package carehex

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// The trail is tamper-evident (DESIGN.md invariant 7): audit records and
// request events each form one hash chain. Every record carries its place in
// the chain (Seq, 1, 2, 3…), the hash of the record before it (PrevHash) and
// its own hash over PrevHash and a canonical encoding of its content. Editing
// a record breaks its own hash; removing or reordering records breaks the
// link from the next one; cutting off the tail is caught against an anchor (a
// head hash and count kept elsewhere). This file holds the encoding and the
// verification as pure functions; the store appends and reads the links.

// TrailChain names one hash chain.
type TrailChain string

const (
	ChainAudit  TrailChain = "audit"  // audit_records
	ChainEvents TrailChain = "events" // request_events
)

// TrailChains lists every chain, in the order the store locks their heads.
var TrailChains = []TrailChain{ChainEvents, ChainAudit}

// Table is the SQL table a chain lives in, for messages that name a record.
func (c TrailChain) Table() string {
	switch c {
	case ChainAudit:
		return "audit_records"
	case ChainEvents:
		return "request_events"
	}
	return string(c)
}

// GenesisHash is the PrevHash of a chain's first record.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// TrailCanonical is the canonical encoding of a record's content: a fixed
// byte layout, independent of any map order or JSON library.
//
//	field 0: the chain name ("audit" or "events"), so a record of one chain
//	         cannot be passed off as one of the other;
//	field 1…: the record's fields in the order AuditContent / EventContent
//	         list them; times as UTC unix microseconds in decimal, integers
//	         in decimal, text as its UTF-8 bytes.
//
// Each field is written as a 4-byte big-endian length followed by its bytes,
// so no choice of field values can make two different records encode alike.
func TrailCanonical(chain TrailChain, fields []string) []byte {
	n := 4 + len(chain)
	for _, f := range fields {
		n += 4 + len(f)
	}
	b := make([]byte, 0, n)
	put := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	put(string(chain))
	for _, f := range fields {
		put(f)
	}
	return b
}

// TrailHash is SHA-256 over the 32 bytes of prevHash followed by the
// canonical content, in lower-case hex.
func TrailHash(prevHash string, chain TrailChain, fields []string) (string, error) {
	prev, err := hex.DecodeString(prevHash)
	if err != nil || len(prev) != sha256.Size {
		return "", Errorf(EINVALID, "prev_hash", "prev_hash %q is not a SHA-256 hash in hex", prevHash)
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(TrailCanonical(chain, fields))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// trailMicros is how times enter the encoding: UTC unix microseconds, the
// store's own precision, the zero time as 0.
func trailMicros(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

// AuditContent is an audit record's content in canonical field order:
// id, time, actor, action, object_type, object_id, detail.
func AuditContent(r *AuditRecord) []string {
	return []string{r.ID, trailMicros(r.Time), r.Actor, r.Action, r.ObjectType, r.ObjectID, r.Detail}
}

// EventContent is a request event's content in canonical field order:
// id, request_id, seq (within the request), type, from_status, to_status,
// actor, reason, time.
func EventContent(e *Event) []string {
	return []string{e.ID, e.RequestID, strconv.Itoa(e.Seq), e.Type, string(e.FromStatus), string(e.ToStatus),
		e.Actor, e.Reason, trailMicros(e.Time)}
}

// TrailLink is one record as the verifier sees it: where it sits, the hashes
// it carries and its content (AuditContent or EventContent).
type TrailLink struct {
	ID       string
	Seq      int64
	PrevHash string
	Hash     string
	Time     time.Time
	Content  []string
}

// TrailAnchor is a chain's head at a moment: how many records it held (the
// head's Seq) and the head's hash. Kept outside the database, it shows that a
// tail was cut off even when the remaining chain is intact.
type TrailAnchor struct {
	Chain TrailChain `json:"chain"`
	Seq   int64      `json:"seq"`  // the head's place: the count of records
	Hash  string     `json:"hash"` // the head's hash
	Time  time.Time  `json:"time"` // when the anchor was taken
}

// What is wrong with a record, as TrailFault.Kind.
const (
	FaultContentChanged = "content changed" // its content no longer matches its hash
	FaultRecordMissing  = "record missing"  // a record before it was removed
	FaultOrderChanged   = "order changed"   // it does not follow the record it was written after
	FaultTruncated      = "truncated"       // the chain ends before an anchor's head
	FaultAnchorMismatch = "anchor mismatch" // the record at an anchor's head is not the anchored one
	FaultBadHash        = "bad hash"        // a stored hash is not a hash at all
)

// TrailFault names the first bad record of a chain and what is wrong.
type TrailFault struct {
	Chain  TrailChain
	ID     string // the record at fault ("" when the tail is missing)
	Seq    int64
	Kind   string // one of the Fault… constants
	Detail string
}

func (f *TrailFault) Error() string {
	id := f.ID
	if id == "" {
		id = "-"
	}
	return fmt.Sprintf("%s id=%s seq=%d: %s: %s", f.Chain.Table(), id, f.Seq, f.Kind, f.Detail)
}

// VerifyTrail checks links, one chain's records in ascending Seq as stored,
// and returns the first fault or nil. base is the trusted record before the
// first link: {Seq: 0, Hash: GenesisHash} for a whole chain, or the record
// just before the range when only part of a chain is checked. anchors of this
// chain at or after base are checked against the links: a chain shorter than
// an anchor was truncated.
func VerifyTrail(chain TrailChain, base TrailAnchor, links []TrailLink, anchors []TrailAnchor) *TrailFault {
	prevSeq, prevHash := base.Seq, base.Hash
	for i, l := range links {
		fault := func(kind, format string, args ...any) *TrailFault {
			return &TrailFault{Chain: chain, ID: l.ID, Seq: l.Seq, Kind: kind, Detail: fmt.Sprintf(format, args...)}
		}
		got, err := TrailHash(l.PrevHash, chain, l.Content)
		if err != nil {
			return fault(FaultBadHash, "prev_hash %q is not a SHA-256 hash", l.PrevHash)
		}
		if got != l.Hash {
			return fault(FaultContentChanged, "its content hashes to %s but it carries %s", short(got), short(l.Hash))
		}
		switch {
		case l.Seq > prevSeq+1:
			return fault(FaultRecordMissing, "seq %d to %d are missing before it", prevSeq+1, l.Seq-1)
		case l.Seq <= prevSeq:
			return fault(FaultOrderChanged, "seq %d repeats or goes back after seq %d", l.Seq, prevSeq)
		}
		if l.PrevHash != prevHash {
			// The record is intact but does not follow the one before it.
			// If what it was written after now sits later in the chain,
			// records were reordered; otherwise its predecessor is gone.
			for _, later := range links[i+1:] {
				if later.Hash == l.PrevHash {
					return fault(FaultOrderChanged, "it was written after %s, which now sits at seq %d", later.ID, later.Seq)
				}
			}
			return fault(FaultRecordMissing, "the record it was written after (hash %s) is not at seq %d", short(l.PrevHash), prevSeq)
		}
		prevSeq, prevHash = l.Seq, l.Hash
	}
	for _, a := range anchors {
		if a.Chain != chain || a.Seq <= base.Seq {
			continue
		}
		if a.Seq > prevSeq {
			return &TrailFault{Chain: chain, Seq: prevSeq + 1, Kind: FaultTruncated,
				Detail: fmt.Sprintf("the chain ends at seq %d but the anchor of %s holds %d records",
					prevSeq, a.Time.UTC().Format(time.RFC3339), a.Seq)}
		}
		l := links[a.Seq-base.Seq-1]
		if l.Hash != a.Hash {
			return &TrailFault{Chain: chain, ID: l.ID, Seq: l.Seq, Kind: FaultAnchorMismatch,
				Detail: fmt.Sprintf("the anchor of %s has hash %s at seq %d, the chain has %s",
					a.Time.UTC().Format(time.RFC3339), short(a.Hash), a.Seq, short(l.Hash))}
		}
	}
	return nil
}

// short is the first 12 hex digits of a hash, enough to tell hashes apart
// in a message.
func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}
