package mailnet

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the user; the web layer maps it to a status.
type Kind int

const (
	KindInternal     Kind = iota // 500: details go to the log only
	KindMalformed                // 400: the request could not be read
	KindUnauthorized             // 401
	KindForbidden                // 403
	KindNotFound                 // 404
	KindConflict                 // 409: the state of the network refuses it
	KindTooLarge                 // 413
	KindInvalid                  // 422: a field has a bad value
	KindTooMany                  // 429
)

// Error is a domain error with a message that is safe to show and, where
// one field is at fault, that field's name.
type Error struct {
	Kind    Kind
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Errorf builds an Error of kind k about field (which may be empty).
func Errorf(k Kind, field, format string, args ...any) *Error {
	return &Error{Kind: k, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a 422 naming the field at fault.
func Invalid(field, format string, args ...any) *Error {
	return Errorf(KindInvalid, field, format, args...)
}

// Conflict is a 409.
func Conflict(format string, args ...any) *Error {
	return Errorf(KindConflict, "", format, args...)
}

// ErrNotFound is returned (wrapped) when an object does not exist.
// errors.Is(err, ErrNotFound) holds for every not-found of the console,
// this value or one made by NotFound or Errorf(KindNotFound, ...), so
// callers have one idiom whichever helper made the error.
var ErrNotFound = &Error{Kind: KindNotFound, Message: "not found"}

// Is makes every not-found Error match ErrNotFound.
func (e *Error) Is(target error) bool {
	return target == error(ErrNotFound) && e.Kind == KindNotFound
}

// NotFound is a 404 naming what was not found.
func NotFound(what string, id any) *Error {
	return Errorf(KindNotFound, "", "%s %v not found", what, id)
}

// ErrorKind returns the kind of err, KindNotFound for ErrNotFound, and
// KindInternal for anything that is not a domain error.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// AsError returns err's domain error, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
