package carehex

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Why a carer declines an offer: a short list the phone offers (the pages
// render the words, zh first), so supervisors can count why offers go
// unanswered. Only DeclineOther needs the carer's own words, and even then
// they are optional.
const (
	DeclineTooFar   = "too_far"   // 距离太远
	DeclineBusy     = "busy"      // 手头有事
	DeclineNoSkill  = "no_skill"  // 不擅长此项服务
	DeclineUnwell   = "unwell"    // 身体不适
	DeclineOffShift = "off_shift" // 即将下班
	DeclineOther    = "other"     // 其他
)

// DeclineReasonCodes lists the codes in the order the phone offers them.
var DeclineReasonCodes = []string{DeclineTooFar, DeclineBusy, DeclineNoSkill, DeclineUnwell, DeclineOffShift, DeclineOther}

// MaxDeclineTextLen bounds a carer's own words about a refusal.
const MaxDeclineTextLen = 500

// DeclineReason checks a refusal's code and text and returns the reason
// stored with the offer: the code, then ": " and the carer's words when
// there are any ("other: 车坏了"). Without a code the text alone is the
// reason, as phones before the codes sent it, and "declined" when both are
// empty.
func DeclineReason(code, text string) (string, error) {
	return codedReason(DeclineReasonCodes, code, text, "declined")
}

// codedReason is the rule DeclineReason states, for any list of codes:
// the code, then ": " and the carer's words; the words alone without a
// code; the value empty when both are empty.
func codedReason(codes []string, code, text, empty string) (string, error) {
	code, text = Trimmed(code), Trimmed(text)
	if !validText(text) || utf8.RuneCountInString(text) > MaxDeclineTextLen {
		return "", Errorf(EINVALID, "reason", "reason must be text of at most %d characters", MaxDeclineTextLen)
	}
	switch {
	case code == "" && text == "":
		return empty, nil
	case code == "":
		return text, nil
	case !slices.Contains(codes, code):
		return "", Errorf(EINVALID, "reason_code", "reason_code must be one of %s", strings.Join(codes, ", "))
	case text == "":
		return code, nil
	}
	return code + ": " + text, nil
}
