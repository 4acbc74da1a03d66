package carehex

import (
	"context"
	"time"
)

// A call on the hotline as the telephone system (PBX) reports it: the CTI
// edge receives its events, the console pops the caller's card on ringing,
// and a request logged during the call keeps its call_id, so the recording
// can be found from the request.

// Call events, in the order a PBX sends them.
const (
	CallRinging  = "ringing"  // the call rings at an operator's extension
	CallAnswered = "answered" // the operator picked up
	CallBridged  = "bridged"  // a third party joined (the elder, a carer)
	CallHangup   = "hangup"   // the call ended; the recording is complete
)

// CallStaleAfter is how long a call without a hangup still counts as
// active: a PBX that lost the hangup must not pop a card forever.
const CallStaleAfter = 4 * time.Hour

// Limits on what a PBX sends, so one bad event cannot fill the database.
const (
	MaxCallIDLen       = 128
	MaxExtensionLen    = 32
	MaxRecordingRefLen = 1000
)

// CallEvent is one event a PBX posted.
type CallEvent struct {
	CallID       string
	Event        string
	Caller       string // the calling number, as the PBX gives it
	Extension    string // the operator's extension it rang at
	RecordingRef string // where the recording is (URL or the PBX's own reference), often only at hangup
	Time         time.Time
}

// Call is what is known of a call from its events so far.
type Call struct {
	CallID       string
	Caller       string
	Extension    string
	RecordingRef string
	Status       string // the last event: ringing, answered, bridged or hangup
	StartTime    time.Time
	UpdateTime   time.Time
}

// Validate checks an event before it is stored.
func (e *CallEvent) Validate() error {
	if err := requireText("call_id", e.CallID, MaxCallIDLen); err != nil {
		return err
	}
	switch e.Event {
	case CallRinging, CallAnswered, CallBridged, CallHangup:
	default:
		return Errorf(EINVALID, "event", "event must be ringing, answered, bridged or hangup")
	}
	if e.Caller != "" {
		if err := ValidatePhone("caller", e.Caller); err != nil {
			return err
		}
	}
	if e.Event == CallRinging && e.Extension == "" {
		return Errorf(EINVALID, "extension", "extension is required for ringing")
	}
	if e.Extension != "" {
		if err := requireText("extension", e.Extension, MaxExtensionLen); err != nil {
			return err
		}
	}
	if e.RecordingRef != "" {
		if err := requireText("recording_ref", e.RecordingRef, MaxRecordingRefLen); err != nil {
			return err
		}
	}
	return nil
}

// CallStore keeps calls and their events.
type CallStore interface {
	// RecordCallEvent appends the event and folds it into its call; a
	// later event's empty fields keep what earlier ones said.
	RecordCallEvent(ctx context.Context, e *CallEvent) (*Call, error)
	Call(ctx context.Context, callID string) (*Call, error)
	// ActiveCall is the newest call at an extension that has not hung up
	// (and is younger than CallStaleAfter), or ENOTFOUND.
	ActiveCall(ctx context.Context, extension string) (*Call, error)
}
