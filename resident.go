package carehex

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Resident is an elderly person the hotline serves.
type Resident struct {
	ID        string
	Name      string
	Phone     string
	IDNumber  string // national ID number (身份证号), optional
	Gender    Gender
	BirthYear int
	Address   string
	District  string
	// Street (街道/镇) and Community (社区居委会/村委会) are the names from
	// the official division list, and DivisionCode the code of the finest
	// one given (12 digits for a community, 9 for a street); all optional.
	Street            string
	Community         string
	DivisionCode      string
	Location          LatLng
	Cell              Cell // H3 cell of Location at geo.ResidentRes, set on save
	EmergencyContacts []Contact
	Preferences       Preferences
	CreateTime        time.Time
	UpdateTime        time.Time
	// DeactivateReason is empty while the hotline serves her; once she is
	// deactivated (moved away, deceased) it says why (see
	// DeactivateReasonOf) and she takes no new requests.
	DeactivateReason string
	DeactivateTime   time.Time
}

// Contact is someone to call in an emergency.
type Contact struct {
	Name     string
	Phone    string
	Relation string
}

// Preferences are the resident's wishes about who serves them and how.
type Preferences struct {
	Language                string // language or dialect, e.g. "zh-Hans", "Zibo dialect"
	PreferredProviderGender Gender
	PreferredProviderIDs    []string
	BlockedProviderIDs      []string
	Notes                   string // e.g. "hard of hearing"
}

// Gender of a resident or provider; empty means unknown or no preference.
type Gender string

const (
	GenderUnspecified Gender = ""
	GenderFemale      Gender = "female"
	GenderMale        Gender = "male"
)

// FamilyMember is a relative linked to a resident; they see only that
// resident's requests and visits.
type FamilyMember struct {
	ID         string
	ResidentID string
	Name       string
	Phone      string
	Relation   string
	CreateTime time.Time
}

// ResidentFilter selects residents for the operator's incoming-call lookup.
// Query is what the operator typed: digits match a phone number (whole or its
// last digits) or an ID number; anything else matches names by substring.
type ResidentFilter struct {
	Query string
	Limit int
}

// ResidentStore keeps residents and their family links.
type ResidentStore interface {
	CreateResident(ctx context.Context, r *Resident) error
	UpdateResident(ctx context.Context, r *Resident) error
	Resident(ctx context.Context, id string) (*Resident, error)
	SearchResidents(ctx context.Context, f ResidentFilter) ([]*Resident, error)
	LinkFamilyMember(ctx context.Context, m *FamilyMember) error
	FamilyMembers(ctx context.Context, residentID string) ([]*FamilyMember, error)
}

// Limits on free text, so one careless paste cannot fill the database.
const (
	MaxNameLen  = 100
	MaxTextLen  = 2000
	MaxPhoneLen = 20
)

// Validate checks what a resident record must hold before it is saved.
func (r *Resident) Validate() error {
	if err := requireText("name", r.Name, MaxNameLen); err != nil {
		return err
	}
	if err := ValidatePhone("phone", r.Phone); err != nil {
		return err
	}
	if err := requireText("address", r.Address, MaxTextLen); err != nil {
		return err
	}
	if err := r.Location.Validate("location"); err != nil {
		return err
	}
	if err := ValidateIDNumber("id_number", r.IDNumber); err != nil {
		return err
	}
	if err := validGender("gender", r.Gender); err != nil {
		return err
	}
	if err := validGender("preferences.preferred_provider_gender", r.Preferences.PreferredProviderGender); err != nil {
		return err
	}
	if err := ValidateText("district", r.District, MaxTextLen, SingleLine); err != nil {
		return err
	}
	if err := ValidateText("street", r.Street, MaxNameLen, SingleLine); err != nil {
		return err
	}
	if err := ValidateText("community", r.Community, MaxNameLen, SingleLine); err != nil {
		return err
	}
	if err := ValidateDivisionCode("division_code", r.DivisionCode); err != nil {
		return err
	}
	if r.BirthYear != 0 && (r.BirthYear < 1900 || r.BirthYear > time.Now().Year()) {
		return Errorf(EINVALID, "birth_year", "birth_year must be between 1900 and this year")
	}
	for _, c := range r.EmergencyContacts {
		if err := requireText("emergency_contacts.name", c.Name, MaxNameLen); err != nil {
			return err
		}
		if err := ValidatePhone("emergency_contacts.phone", c.Phone); err != nil {
			return err
		}
	}
	if utf8.RuneCountInString(r.Preferences.Notes) > MaxTextLen || !validText(r.Preferences.Notes) {
		return Errorf(EINVALID, "preferences.notes", "preferences.notes is longer than %d characters", MaxTextLen).
			With(MsgInvalidText, "field", "preferences.notes", "max", MaxTextLen)
	}
	return nil
}

// Validate checks a family link before it is saved.
func (m *FamilyMember) Validate() error {
	if m.ResidentID == "" {
		return Required("resident_id")
	}
	if err := requireText("name", m.Name, MaxNameLen); err != nil {
		return err
	}
	if err := ValidatePhone("phone", m.Phone); err != nil {
		return err
	}
	return requireText("relation", m.Relation, MaxNameLen)
}

// validText refuses invalid UTF-8 and NUL bytes (PostgreSQL cannot store them).
func validText(v string) bool { return utf8.ValidString(v) && !strings.ContainsRune(v, 0) }

// ValidatePhone accepts digits with an optional leading +, 5 to 20 long
// (hotline callers give landlines, mobiles and extensions).
func ValidatePhone(field, p string) error {
	if p == "" {
		return Required(field)
	}
	if len(p) > MaxPhoneLen || len(p) < 5 {
		return Errorf(EINVALID, field, "%s must be 5 to %d digits", field, MaxPhoneLen).With(MsgInvalidPhone, "field", field, "max", MaxPhoneLen)
	}
	for i, c := range p {
		if (c < '0' || c > '9') && !(i == 0 && c == '+') {
			return Errorf(EINVALID, field, "%s must contain only digits", field).With(MsgInvalidPhone, "field", field, "max", MaxPhoneLen)
		}
	}
	return nil
}

func validGender(field string, g Gender) error {
	switch g {
	case GenderUnspecified, GenderFemale, GenderMale:
		return nil
	}
	return Errorf(EINVALID, field, "%s must be female, male or empty", field)
}

// ValidateDivisionCode accepts an empty code or a statistical division code
// (统计用区划代码) of a county (6 digits), a street or town (9) or a
// community or village (12).
func ValidateDivisionCode(field, code string) error {
	if code == "" {
		return nil
	}
	if n := len(code); n != 6 && n != 9 && n != 12 {
		return Errorf(EINVALID, field, "%s must be 6, 9 or 12 digits", field)
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return Errorf(EINVALID, field, "%s must contain only digits", field)
		}
	}
	return nil
}
