package carehex

import (
	"strings"
	"unicode/utf8"
)

// TextKind says how much layout a text field may carry.
type TextKind int

const (
	// SingleLine is a name, an address, a relation: one line of printable
	// text. A newline there splits a label on the console or a CSV export
	// row; a bell or escape is never typed by a person.
	SingleLine TextKind = iota
	// MultiLine is a free note: tabs and line breaks are fine, other
	// control characters are not.
	MultiLine
)

// ValidateText checks a free-text field and names it in the error:
// valid UTF-8, no NUL (PostgreSQL cannot store it), at most max characters,
// no control characters (except tab and line breaks in MultiLine text), and
// no bidirectional override or isolate characters (U+202A–U+202E,
// U+2066–U+2069), which make a name or an address display as something
// other than what is stored ("Trojan Source" spoofing). Empty text is
// accepted; callers that need a value check for it first.
func ValidateText(field, v string, max int, kind TextKind) error {
	if !utf8.ValidString(v) {
		return Errorf(EINVALID, field, "%s is not valid UTF-8 text", field).With(MsgInvalidText, "field", field, "max", max)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return Errorf(EINVALID, field, "%s is longer than %d characters", field, max).With(MsgInvalidText, "field", field, "max", max)
	}
	for _, c := range v {
		switch {
		case c == 0:
			return Errorf(EINVALID, field, "%s contains a NUL character", field).With(MsgTextControlChar, "field", field)
		case kind == MultiLine && (c == '\t' || c == '\n' || c == '\r'):
			continue
		case c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == '\u2028' || c == '\u2029':
			return Errorf(EINVALID, field, "%s contains a control character (U+%04X); it must be one line of text", field, c).
				With(MsgTextControlChar, "field", field)
		case c >= '\u202a' && c <= '\u202e', c >= '\u2066' && c <= '\u2069':
			return Errorf(EINVALID, field, "%s contains a text-direction override character (U+%04X)", field, c).
				With(MsgTextControlChar, "field", field)
		}
	}
	return nil
}

// requireText is ValidateText for a field that must not be blank.
func requireText(field, v string, max int) error {
	if Trimmed(v) == "" {
		return Required(field)
	}
	return ValidateText(field, v, max, SingleLine)
}

// idWeights are GB 11643-1999's weights of the first 17 digits (2^(17-i) mod
// 11); the sum mod 11 indexes idCheck, the 18th character.
var (
	idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	idCheck   = "10X98765432"
)

// ValidateIDNumber checks a citizen ID number (居民身份证号码) of GB
// 11643-1999: 17 digits and a check character, a digit or X, computed from
// them. The 15-digit first-generation cards expired in 2013. s is expected
// upper-cased and trimmed; empty means "not given" and is accepted.
func ValidateIDNumber(field, s string) error {
	if s == "" {
		return nil
	}
	if len(s) != 18 {
		return Errorf(EINVALID, field, "%s must be 18 characters (17 digits and a check digit or X)", field)
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return Errorf(EINVALID, field, "%s must be 17 digits followed by a check digit or X", field)
		}
		sum += int(c-'0') * idWeights[i]
	}
	if want := idCheck[sum%11]; strings.ToUpper(s[17:]) != string(want) {
		return Errorf(EINVALID, field, "%s has a wrong check digit; please check the number on the card", field)
	}
	return nil
}

// IDCheckDigit returns the GB 11643-1999 check character of the first 17
// digits of an ID number; demo data and tests build valid numbers with it.
func IDCheckDigit(first17 string) byte {
	sum := 0
	for i := 0; i < 17 && i < len(first17); i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheck[sum%11]
}
