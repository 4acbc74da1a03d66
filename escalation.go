package carehex

import (
	"context"
	"strings"
)

// Emergency escalation: when nobody accepts an emergency within its class
// deadline, the operator works down a list by telephone (120, the elder's
// emergency contacts, a carer rung by hand). Each step taken is recorded as
// an event of the request, so the trail shows what was done and when.
const (
	EscalationCalled120     = "called_120"     // 已拨打120
	EscalationCalledContact = "called_contact" // 已联系紧急联系人
	EscalationPhonedCarer   = "phoned_carer"   // 已电话联系服务人员并人工派单
)

// AssignedByPhone starts the reason of an assignment made after the
// operator rang the provider (已电话联系), whose phone may be offline.
const AssignedByPhone = "phoned"

// EscalationSteps lists the step codes in the order the console offers them.
var EscalationSteps = []string{EscalationCalled120, EscalationCalledContact, EscalationPhonedCarer}

// EventEscalation is the event type of a recorded escalation step.
const EventEscalation = "escalation"

// MaxEscalationContactLen bounds who was called ("李勇（儿子）").
const MaxEscalationContactLen = 200

// EscalationReason checks one step and returns the reason stored with its
// event: the code, then ": " and the contact and note ("called_contact:
// 李勇（儿子） — 10分钟到"), as CancelReason does for cancellations. Who was
// called is required for a contact or a carer.
func EscalationReason(step, contact, note string) (string, error) {
	step, contact, note = Trimmed(step), Trimmed(contact), Trimmed(note)
	known := false
	for _, s := range EscalationSteps {
		known = known || s == step
	}
	if !known {
		return "", Errorf(EINVALID, "step", "step must be one of %s", strings.Join(EscalationSteps, ", "))
	}
	if err := ValidateText("contact", contact, MaxEscalationContactLen, SingleLine); err != nil {
		return "", err
	}
	if err := ValidateText("note", note, MaxTextLen, MultiLine); err != nil {
		return "", err
	}
	if contact == "" && step != EscalationCalled120 {
		return "", Errorf(EINVALID, "contact", "contact is required for step %s: say who was called", step)
	}
	words := contact
	if note != "" {
		if words != "" {
			words += " — "
		}
		words += note
	}
	if words == "" {
		return step, nil
	}
	return step + ": " + words, nil
}

// RequestNoter appends an event that records an action without moving the
// request (an escalation step), so the history shows it.
type RequestNoter interface {
	// NoteRequest appends an event of type typ with reason to the request,
	// at its current status (from and to alike), and returns it.
	NoteRequest(ctx context.Context, requestID, typ, actor, reason string) (*Event, error)
}
