package carehex

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each transport edge maps these in one table (rpc: Twirp
// codes; mobile-api: HTTP statuses).
const (
	EINVALID         = "invalid"         // bad input; Field names it
	ENOTFOUND        = "not_found"       // no such object, or not visible to the caller
	ECONFLICT        = "conflict"        // the object's state forbids the change
	EEXISTS          = "already_exists"  // another record already holds this unique value; Field names it
	EUNAUTHENTICATED = "unauthenticated" // no valid credentials
	EFORBIDDEN       = "forbidden"       // valid credentials, wrong role or object
	EUNAVAILABLE     = "unavailable"     // a dependency is down; retry later
	EINTERNAL        = "internal"        // a bug or unexpected failure; details are logged only
	ETOOMANY         = "too_many"        // too many attempts; RetryAfter says when to try again
)

// Error is the one error type of carehex. Message is safe to show to the
// caller; anything internal is wrapped in Err and only logged.
type Error struct {
	Code    string
	Field   string // the input field at fault, for EINVALID and ENOTFOUND
	Message string
	Err     error // underlying cause, never shown to callers
	// RetryAfter is when an ETOOMANY caller may try again.
	RetryAfter time.Duration
	// Msg is what a person is shown, as a code and parameters (see With
	// and ErrorMsg); Message stays the English text for logs and API users.
	Msg Message
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and field.
func Errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure; the caller sees only "internal error".
func Internal(err error, what string) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error", Err: fmt.Errorf("%s: %w", what, err)}
}

// ErrorCode returns the code of err, EINTERNAL for foreign errors and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorField returns the field an *Error names, or "".
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ErrorMessage returns the caller-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}

// ErrorRetryAfter returns the RetryAfter of an *Error, or 0.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
