package carehex

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Privacy by design (PIPL's minimum-necessary principle): personal data is
// read one resident at a time for a reason, not swept. ReadPolicy bounds how
// many distinct residents one account may read in a sliding window; the
// account that goes over is slowed (refused with ETOOMANY until the window
// moves on) and supervisors get an AccessAlert. A normal operator's hour
// touches tens of residents; a sweep of every four-digit phone ending touches
// thousands.

// ReadPolicy is the bulk-access limit.
type ReadPolicy struct {
	MaxResidents int           // distinct residents one account may read per Window
	Window       time.Duration // the sliding window
}

// DefaultReadPolicy allows 200 distinct residents an hour: several times a
// busy operator's shift, far below a sweep.
func DefaultReadPolicy() ReadPolicy { return ReadPolicy{MaxResidents: 200, Window: time.Hour} }

// OrDefault fills zero fields with the defaults.
func (p ReadPolicy) OrDefault() ReadPolicy {
	d := DefaultReadPolicy()
	if p.MaxResidents <= 0 {
		p.MaxResidents = d.MaxResidents
	}
	if p.Window <= 0 {
		p.Window = d.Window
	}
	return p
}

// AlertBulkAccess is an AccessAlert's kind: an account read more residents'
// personal data in a window than ReadPolicy allows.
const AlertBulkAccess = "bulk_access"

// AccessAlert is raised to supervisors about an account, not a request.
type AccessAlert struct {
	ID          string
	Actor       string // the account, e.g. "user:usr_…"
	Kind        string // AlertBulkAccess
	Residents   int    // distinct residents read in the window when raised
	WindowStart time.Time
	CreateTime  time.Time
	AckTime     time.Time
	AckBy       string
}

// PersonalReadStore remembers whose personal data each account read, and
// keeps the supervisors' access alerts.
type PersonalReadStore interface {
	// NotePersonalReads records that actor read these residents at at.
	NotePersonalReads(ctx context.Context, actor string, residentIDs []string, at time.Time) error
	// PersonalReads counts the distinct residents actor read since, and
	// when the oldest of those reads was (when the count will first drop).
	PersonalReads(ctx context.Context, actor string, since time.Time) (n int, oldest time.Time, err error)
	// RaiseAccessAlert adds a (with an audit record) unless an
	// unacknowledged alert of the same kind about the same actor is open.
	RaiseAccessAlert(ctx context.Context, a *AccessAlert) (created bool, err error)
	AccessAlerts(ctx context.Context, openOnly bool, limit int) ([]*AccessAlert, error)
}

// Fields of a resident that are shown masked and can be revealed.
const (
	FieldPhone    = "phone"
	FieldIDNumber = "id_number"
)

// MaskPhone keeps a phone number's first three and last four digits, as
// Chinese services print them: 13912340001 → 139****0001. Short numbers keep
// only their last four.
func MaskPhone(s string) string { return mask(s, 3, 4) }

// MaskIDNumber keeps an ID number's first four digits (the province and
// city) and last four: 370302195001011234 → 3703**********1234.
func MaskIDNumber(s string) string { return mask(s, 4, 4) }

// mask replaces all but the first head and last tail runes with '*'. At
// least four runes stay hidden, else the head is hidden too; at least three,
// else everything is.
func mask(s string, head, tail int) string {
	n := utf8.RuneCountInString(s)
	if n-head-tail < 4 {
		head = 0
	}
	if n-tail < 3 {
		tail = 0
	}
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i < head || i >= n-tail {
			b.WriteRune(c)
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}
