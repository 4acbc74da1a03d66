package carehex

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"strings"
	"time"
)

// Service cards (issue 12, "verification before payment"): every resident
// may hold a printed card whose QR carries a signed resident code, with a
// short code printed beside it for a phone without a working camera. Where
// the organisation's contract requires it, the carer's phone scans the card
// at arrival and at completion; the server checks the signature and that the
// card is the visit's resident's, so a visit is proved by something the
// elder holds, without the elder needing a smartphone. The key is the
// district's (CAREHEX_CARD_KEY, or one kept in the database): a card made
// without it does not verify.

// CardPrefix starts every card payload: the format's name and version.
const CardPrefix = "CHXC1"

// cardSigLen is the signature's length in base32 characters (80 bits).
const cardSigLen = 16

// shortCodeLen is the short code's length without its hyphen (40 bits).
const shortCodeLen = 8

// cardAlphabet is Crockford's base32: no I, L, O or U, so a code read off a
// card and typed on a phone is not mistaken.
var cardAlphabet = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// CardKey signs and checks service cards.
type CardKey struct{ key []byte }

// NewCardKey makes a card key from raw key material (at least 16 bytes).
func NewCardKey(raw []byte) (*CardKey, error) {
	if len(raw) < 16 {
		return nil, Errorf(EINVALID, "CAREHEX_CARD_KEY", "the card key must be at least 16 bytes")
	}
	return &CardKey{key: append([]byte(nil), raw...)}, nil
}

// ParseCardKey reads CAREHEX_CARD_KEY: 32 bytes in base64.
func ParseCardKey(spec string) (*CardKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(spec))
	if err != nil || len(raw) != 32 {
		return nil, Errorf(EINVALID, "CAREHEX_CARD_KEY",
			"CAREHEX_CARD_KEY is not 32 bytes in base64 (make one with: head -c32 /dev/urandom | base64)")
	}
	return NewCardKey(raw)
}

func (k *CardKey) mac(label, residentID string) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(label + "|" + residentID))
	return m.Sum(nil)
}

// Payload is what the card's QR carries: "CHXC1:<resident ID>:<signature>".
func (k *CardKey) Payload(residentID string) string {
	return CardPrefix + ":" + residentID + ":" + cardAlphabet.EncodeToString(k.mac("card", residentID))[:cardSigLen]
}

// ShortCode is the code printed on the card for typing, "7K3M-X2QD": it
// is only checked against the visit's own resident, so it need not name
// the resident.
func (k *CardKey) ShortCode(residentID string) string {
	c := cardAlphabet.EncodeToString(k.mac("short", residentID))[:shortCodeLen]
	return c[:4] + "-" + c[4:]
}

// Card scan results: ok, or why the card was refused.
const (
	CardOK            = "ok"
	CardUnreadable    = "card_unreadable"     // not a carehex card at all
	CardForged        = "card_forged"         // a card's shape with a signature that does not verify
	CardOtherResident = "card_other_resident" // a genuine card of someone else
	CardWrongCode     = "card_wrong_code"     // a typed short code that is not this resident's
)

// CardMethod is how the phone read the card.
type CardMethod string

const (
	CardByQR   CardMethod = "qr"   // the camera decoded the QR
	CardByCode CardMethod = "code" // the carer typed the short code
)

// Check judges a scan for a visit to residentID: the QR payload, or the
// typed short code when qr is empty. It returns CardOK or the refusal's
// result code, never an error: a refusal is recorded, not just answered.
func (k *CardKey) Check(residentID string, method CardMethod, text string) string {
	text = strings.TrimSpace(text)
	if method == CardByCode {
		want := strings.ReplaceAll(k.ShortCode(residentID), "-", "")
		got := normaliseShortCode(text)
		if len(got) != shortCodeLen {
			return CardUnreadable
		}
		if !hmac.Equal([]byte(got), []byte(want)) {
			return CardWrongCode
		}
		return CardOK
	}
	parts := strings.Split(text, ":")
	if len(parts) != 3 || parts[0] != CardPrefix || parts[1] == "" || len(parts[2]) != cardSigLen {
		return CardUnreadable
	}
	if !hmac.Equal([]byte(k.Payload(parts[1])), []byte(text)) {
		return CardForged
	}
	if parts[1] != residentID {
		return CardOtherResident
	}
	return CardOK
}

// normaliseShortCode reads a typed code as Crockford's base32 does: case
// and hyphens or spaces do not matter, O reads as 0 and I or L as 1.
func normaliseShortCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
		case r == 'O':
			b.WriteByte('0')
		case r == 'I' || r == 'L':
			b.WriteByte('1')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CardScan is one reading of a service card at a visit: accepted or
// refused, every one kept (append-only), with its audit record.
type CardScan struct {
	ID         string
	VisitID    string
	ProviderID string
	ResidentID string         // the visit's resident
	Stage      VisitEventType // VisitArrive or VisitComplete
	Method     CardMethod
	Result     string // CardOK or a refusal
	Time       time.Time
}

// Validate checks the parts of a scan the phone chose.
func (c *CardScan) Validate() error {
	if c.Stage != VisitArrive && c.Stage != VisitComplete {
		return Errorf(EINVALID, "stage", "stage must be arrive or complete, got %q", c.Stage).With(MsgInvalidEnum, "field", "stage")
	}
	if c.Method != CardByQR && c.Method != CardByCode {
		return Errorf(EINVALID, "method", "method must be qr or code, got %q", c.Method).With(MsgInvalidEnum, "field", "method")
	}
	return nil
}

// CardRefusal is the error a refused scan is answered with, after it has
// been recorded.
func CardRefusal(result string) error {
	switch result {
	case CardOK:
		return nil
	case CardUnreadable:
		return Errorf(EINVALID, "card", "this is not a carehex service card, or the code is mistyped").With(result)
	case CardOtherResident:
		return Errorf(EFORBIDDEN, "card", "this card belongs to another resident, not the one this visit is for").With(result)
	case CardWrongCode:
		return Errorf(EFORBIDDEN, "card", "this code is not the code on this resident's card").With(result)
	default:
		return Errorf(EFORBIDDEN, "card", "this card's signature does not verify: it was not issued by the district").With(CardForged)
	}
}

// ContractFor is the contract that pays an organisation's service code at
// t, nil when none does (the one settlement picks).
func ContractFor(cs []*Contract, code string, t time.Time) *Contract {
	return pickContract(cs, code, t)
}

// CardStore keeps card scans and the district's card key.
type CardStore interface {
	// RecordCardScan appends a scan with its audit record.
	RecordCardScan(ctx context.Context, s *CardScan) error
	CardScans(ctx context.Context, visitID string) ([]*CardScan, error)
	// CardKeyMaterial is the key kept in the database, created on first
	// use, for a district that has not set CAREHEX_CARD_KEY.
	CardKeyMaterial(ctx context.Context) ([]byte, error)
	// VisitNeedsCard reports whether the contract paying visit v (its
	// carer's organisation's, for its service, at t) requires card scans.
	VisitNeedsCard(ctx context.Context, visitID string, t time.Time) (bool, error)
}

// The card refusals are message codes a carer is shown; they join the
// catalogue's list here, beside their meaning.
func init() {
	MessageCodes = append(MessageCodes, CardUnreadable, CardForged, CardOtherResident, CardWrongCode)
}

// LoadCardKey is the district's card key: spec (CAREHEX_CARD_KEY) when
// set, else the key kept in the database.
func LoadCardKey(ctx context.Context, spec string, store CardStore) (*CardKey, error) {
	if spec != "" {
		return ParseCardKey(spec)
	}
	raw, err := store.CardKeyMaterial(ctx)
	if err != nil {
		return nil, err
	}
	return NewCardKey(raw)
}
