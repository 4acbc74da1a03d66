package carehex

import (
	"context"
	"strings"
	"unicode/utf8"
)

// Why a resident is no longer served: codes the console offers (pages
// render the words); only DeactivateOther needs the operator's own words.
const (
	DeactivateMovedAway = "moved_away" // 搬离本区
	DeactivateDeceased  = "deceased"   // 已故
	DeactivateCareHome  = "care_home"  // 入住养老机构
	DeactivateOther     = "other"      // 其他: the text says why
)

// DeactivateReasonCodes lists the codes in the order the console offers them.
var DeactivateReasonCodes = []string{DeactivateMovedAway, DeactivateDeceased, DeactivateCareHome, DeactivateOther}

// DeactivateReasonOf checks a deactivation's code and text and returns the
// reason stored with the resident: the code, then ": " and the words if any.
func DeactivateReasonOf(code, text string) (string, error) {
	code, text = Trimmed(code), Trimmed(text)
	if !validText(text) || utf8.RuneCountInString(text) > MaxTextLen {
		return "", Errorf(EINVALID, "reason", "reason must be valid text of at most %d characters", MaxTextLen)
	}
	known := false
	for _, c := range DeactivateReasonCodes {
		known = known || c == code
	}
	switch {
	case !known:
		return "", Errorf(EINVALID, "reason_code", "reason_code must be one of %s", strings.Join(DeactivateReasonCodes, ", "))
	case code == DeactivateOther && text == "":
		return "", Errorf(EINVALID, "reason", "reason is required when reason_code is other")
	case text == "":
		return code, nil
	}
	return code + ": " + text, nil
}

// ResidentDeactivator stops serving a resident, keeping her record.
type ResidentDeactivator interface {
	// DeactivateResident records why (a reason from DeactivateReasonOf);
	// ECONFLICT if she already is deactivated.
	DeactivateResident(ctx context.Context, id, reason string) (*Resident, error)
}
