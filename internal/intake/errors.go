// Package intake holds intakebot's domain types and the interfaces that connect
// its parts: turns and replies, sessions and answers, outcomes and cases, the
// Store. It imports only the standard library so every other package can share
// it without pulling in a driver, a platform SDK or configuration.
package intake

import (
	"errors"
	"fmt"
)

// Error codes. Adapters map them to replies for people; only EINTERNAL is logged
// as a fault.
const (
	ECONFLICT  = "conflict"  // the action no longer applies (stale button, already answered)
	EINTERNAL  = "internal"  // a fault in intakebot or a dependency
	EINVALID   = "invalid"   // the input was not acceptable; Message says why
	ENOTFOUND  = "not_found" // the record does not exist
	EFORBIDDEN = "forbidden" // the actor may not do this
)

// Error is a domain error with a code and a message that can be shown to a person.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("intake error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain, or a
// generic message for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
