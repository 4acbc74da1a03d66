package carehex

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Message is words meant for a person, carried as a stable code and its
// parameters (DESIGN.md invariant 9): the pages render it in Chinese or
// English from their catalogue (web/static/messages.js), the Twirp edge from
// the Go one (internal/msg) by the caller's Accept-Language. The English
// strings beside a code (Error.Message, Alert.Message) are for logs and API
// users; nothing shows them to an operator, carer or family.
//
// Parameter names say how a value is rendered, the same on both sides:
// field (a request field, named in words), role, from/to/status (request
// statuses), service_code (the catalogue's name), skill (the skill's name),
// radius_m and distance_m (metres or km), after_s (a duration), *_time (an
// RFC 3339 time shown local), reason (a reason code, or a person's own
// words shown as they are); anything else is shown as it is.
type Message struct {
	Code   string
	Params map[string]string
}

// Msg builds a Message from a code and name/value pairs; values are
// formatted with fmt.Sprint.
func Msg(code string, kv ...any) Message {
	m := Message{Code: code}
	if len(kv) > 1 {
		m.Params = make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m.Params[fmt.Sprint(kv[i])] = fmt.Sprint(kv[i+1])
		}
	}
	return m
}

// String is "code {k=v, …}", for logs and test failures.
func (m Message) String() string {
	if len(m.Params) == 0 {
		return m.Code
	}
	keys := make([]string, 0, len(m.Params))
	for k := range m.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m.Params[k]
	}
	return m.Code + " {" + strings.Join(parts, ", ") + "}"
}

// Message codes beyond the error codes (EINVALID and the rest are message
// codes too: an error without its own message is rendered by its kind, with
// the field it names). Each has Chinese and English words in both
// catalogues; a test holds the three lists together.
const (
	// Errors.
	MsgRequired            = "required"             // {field}
	MsgInvalidText         = "invalid_text"         // {field, max}: not text, or longer than max characters
	MsgTextControlChar     = "text_control_char"    // {field}
	MsgInvalidPhone        = "invalid_phone"        // {field, max}
	MsgInvalidLocation     = "invalid_location"     // {field}
	MsgInvalidEnum         = "invalid_enum"         // {field}
	MsgUnknownService      = "unknown_service"      // {field}
	MsgWindowRequired      = "window_required"      // {field}: scheduled requests need a window
	MsgWindowOrder         = "window_order"         // {field}
	MsgWindowPast          = "window_past"          // {field}
	MsgWindowTooFar        = "window_too_far"       // {field, days}
	MsgWindowNotScheduled  = "window_not_scheduled" // {field}
	MsgForbiddenRole       = "forbidden_role"       // {role, method}
	MsgForbiddenToken      = "forbidden_token"      // {kind, method}: a phone or family token on the console API
	MsgBadLogin            = "bad_login"
	MsgTokenInvalid        = "token_invalid"
	MsgAccountDisabled     = "account_disabled"
	MsgLoginLocked         = "login_locked" // {retry_after_s}
	MsgStatusConflict      = "status_conflict"
	MsgRequestMoved        = "request_moved"        // {from, to}: changed meanwhile; reload and retry
	MsgCannotTransition    = "cannot_transition"    // {from, to}
	MsgNotAssignable       = "not_assignable"       // {status}
	MsgProviderInactive    = "provider_inactive"    //
	MsgProviderLacksSkill  = "provider_lacks_skill" // {skill}
	MsgProviderBusy        = "provider_busy"        // committed to another visit then
	MsgProviderRefused     = "provider_refused"     // the resident asked not to be served by them
	MsgIdempotencyMismatch = "idempotency_mismatch"
	MsgOfferClosed         = "offer_closed" // {status}
	MsgJobGone             = "job_gone"
	MsgCancelReasonCode    = "cancel_reason_code" // {field}
	MsgCancelReasonOther   = "cancel_reason_other"
	MsgTooLarge            = "too_large"    // the body is too large (mobile API)
	MsgRateLimited         = "rate_limited" // too many requests for one token (mobile API)

	// Alerts (Alert.Code).
	MsgNoProviderNearby    = "no_provider_nearby"   // {service_code, skill, radius_m}
	MsgEmergencyUnaccepted = "emergency_unaccepted" // {service_code, after_s}
	MsgRequestUnaccepted   = "request_unaccepted"   // {service_code, after_s}
	MsgScheduledUnaccepted = "scheduled_unaccepted" // {service_code, window_start_time}
	MsgLateArrival         = "late_arrival"         // {planned_start_time}
	MsgMissedVisit         = "missed_visit"         // {planned_end_time}
	MsgOutsideGeofence     = "arrival_outside_geofence"
	MsgCheckoutFar         = "checkout_far_from_home"
	MsgShortVisit          = "short_visit"

	// Why an alert closed by itself (Alert.CloseReason): its condition ended.
	MsgClosedAssigned  = "closed_assigned"
	MsgClosedArrived   = "closed_arrived"
	MsgClosedCompleted = "closed_completed"
	MsgClosedCancelled = "closed_cancelled"

	// Timeline reasons (request events, offers).
	MsgOfferedTo       = "offered_to"      // {count}
	MsgOfferDeclined   = "declined"        // {reason}
	MsgOfferExpired    = "expired"         // {after_s}
	MsgOfferWithdrawn  = "withdrawn"       // {reason}
	MsgOfferAccepted   = "accepted"        //
	MsgAssignedByHand  = "assigned_manual" // {reason}
	MsgMarkedUnfilled  = "marked_unfilled" // {reason}
	MsgDispatchRetried = "retried"
	MsgCancelled       = "cancelled"       // {reason, detail}: a cancel reason code and the operator's words
	MsgFreeText        = "text"            // {text}: a person's own words, shown as they are
	MsgProviderLeft    = "provider_out"    // the carer dropped out; dispatched again
	MsgEscalation      = "escalation"      // {reason}: a step code, then who was called ("called_contact: 李勇")
	MsgAssignedByPhone = "assigned_phoned" // {reason}: "phoned", or "phoned: " and the operator's words
	// What the carer's phone reported, moving the request (stored as
	// "provider reported depart" etc.; legacyReasons maps them).
	MsgReportedDepart   = "reported_depart"
	MsgReportedArrive   = "reported_arrive"
	MsgReportedComplete = "reported_complete"
	MsgNoShow           = "no_show"

	// Two-tier dispatch (issue 12, routing.go).
	MsgRoutedTo       = "routed_to"         // {org}: the request was routed to an organisation (timeline)
	MsgOrgSlow        = AlertOrgSlow        // {org, after_s}: the organisation has not assigned a carer
	MsgNoOrganisation = AlertNoOrganisation // {service_code}: no organisation serves the area with a contract
	MsgAssignedByOrg  = "assigned_org"      // timeline: the organisation's dispatcher assigned its carer
)

// MessageCodes lists every code a person may be shown: the error kinds and
// the Msg constants. The catalogues must cover each.
var MessageCodes = []string{
	EINVALID, ENOTFOUND, ECONFLICT, EEXISTS, EUNAUTHENTICATED, EFORBIDDEN, EUNAVAILABLE, EINTERNAL, ETOOMANY,
	MsgRequired, MsgInvalidText, MsgTextControlChar, MsgInvalidPhone, MsgInvalidLocation, MsgInvalidEnum,
	MsgUnknownService, MsgWindowRequired, MsgWindowOrder, MsgWindowPast, MsgWindowTooFar, MsgWindowNotScheduled,
	MsgForbiddenRole, MsgForbiddenToken, MsgBadLogin, MsgTokenInvalid, MsgAccountDisabled, MsgLoginLocked,
	MsgStatusConflict, MsgRequestMoved, MsgCannotTransition, MsgNotAssignable, MsgProviderInactive,
	MsgProviderLacksSkill, MsgProviderBusy, MsgProviderRefused, MsgIdempotencyMismatch, MsgOfferClosed, MsgJobGone,
	MsgCancelReasonCode, MsgCancelReasonOther, MsgTooLarge, MsgRateLimited,
	AlertUnaccepted, AlertNoCandidates, MsgNoProviderNearby, MsgEmergencyUnaccepted, MsgRequestUnaccepted, MsgScheduledUnaccepted, MsgLateArrival, MsgMissedVisit,
	MsgOutsideGeofence, MsgCheckoutFar, MsgShortVisit,
	MsgClosedAssigned, MsgClosedArrived, MsgClosedCompleted, MsgClosedCancelled,
	MsgOfferedTo, MsgOfferDeclined, MsgOfferExpired, MsgOfferWithdrawn, MsgOfferAccepted, MsgAssignedByHand,
	MsgMarkedUnfilled, MsgDispatchRetried, MsgCancelled, MsgFreeText, MsgProviderLeft, MsgEscalation, MsgAssignedByPhone,
	MsgReportedDepart, MsgReportedArrive, MsgReportedComplete, MsgNoShow,
	MsgRoutedTo, MsgOrgSlow, MsgNoOrganisation, MsgAssignedByOrg,
}

// With gives e the message a person is shown, as a code and name/value
// pairs (see Msg), and returns e: Errorf(…).With(MsgRequired, "field", f).
func (e *Error) With(code string, kv ...any) *Error {
	e.Msg = Msg(code, kv...)
	return e
}

// ErrorMsg returns the message of err for a person: the one it was given
// With, else its kind with the field it names (retry_after_s for ETOOMANY);
// foreign errors are EINTERNAL.
func ErrorMsg(err error) Message {
	code := ErrorCode(err)
	var e *Error
	if code == EINTERNAL || !errors.As(err, &e) {
		return Message{Code: EINTERNAL}
	}
	if e.Msg.Code != "" {
		return e.Msg
	}
	m := Message{Code: e.Code}
	if e.Field != "" {
		m.Params = map[string]string{"field": e.Field}
	}
	if e.RetryAfter > 0 {
		m.Params = map[string]string{"retry_after_s": fmt.Sprint(int64((e.RetryAfter + 999_999_999) / 1_000_000_000))}
	}
	return m
}

// Required is the error for a missing value of field.
func Required(field string) *Error {
	return Errorf(EINVALID, field, "%s is required", field).With(MsgRequired, "field", field)
}
