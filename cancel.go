package carehex

import (
	"strings"
	"unicode/utf8"
)

// Why an operator cancels a request: a short list of codes the console
// offers (pages render the words, zh first), so supervisors can count them.
// Only CancelOther needs the operator's own words.
const (
	CancelCallerCancelled = "caller_cancelled"  // 来电人取消: the caller rang back to cancel
	CancelDuplicate       = "duplicate"         // 重复登记: the same need was logged twice
	CancelResolvedByPhone = "resolved_by_phone" // 电话已解决: settled on the phone, no visit needed
	CancelHospitalised    = "hospitalised"      // 老人住院: the elder is in hospital
	CancelOther           = "other"             // 其他: the text says why
)

// CancelReasonCodes lists the codes in the order the console offers them.
var CancelReasonCodes = []string{CancelCallerCancelled, CancelDuplicate, CancelResolvedByPhone,
	CancelHospitalised, CancelOther}

// CancelReason checks a cancellation's code and text and returns the reason
// stored with the request and its event: the code, then ": " and the
// operator's words when there are any ("other: 家属已自行处理"). Without a
// code the text alone is the reason, as callers before the codes sent it.
func CancelReason(code, text string) (string, error) {
	code, text = Trimmed(code), Trimmed(text)
	if !validText(text) {
		return "", Errorf(EINVALID, "reason", "reason is not valid UTF-8 text").With(MsgInvalidText, "field", "reason", "max", MaxTextLen)
	}
	if utf8.RuneCountInString(text) > MaxTextLen {
		return "", Errorf(EINVALID, "reason", "reason is longer than %d characters", MaxTextLen).With(MsgInvalidText, "field", "reason", "max", MaxTextLen)
	}
	switch {
	case code == "" && text == "":
		return "", Errorf(EINVALID, "reason", "reason is required to cancel a request").With(MsgCancelReasonCode, "field", "reason")
	case code == "":
		return text, nil
	case !isCancelCode(code):
		return "", Errorf(EINVALID, "reason_code", "reason_code must be one of %s", strings.Join(CancelReasonCodes, ", ")).
			With(MsgCancelReasonCode, "field", "reason_code")
	case code == CancelOther && text == "":
		return "", Errorf(EINVALID, "reason", "reason is required when reason_code is other").With(MsgCancelReasonOther)
	case text == "":
		return code, nil
	}
	return code + ": " + text, nil
}

func isCancelCode(c string) bool {
	for _, k := range CancelReasonCodes {
		if k == c {
			return true
		}
	}
	return false
}

// CancelReasonCode returns the code a stored cancel reason starts with, or
// CancelOther for free text (reasons from before the codes).
func CancelReasonCode(reason string) string {
	code, _, _ := strings.Cut(reason, ": ")
	if isCancelCode(code) {
		return code
	}
	return CancelOther
}
