package actions

import (
	"bytes"
	"encoding/json"

	"mailnet/internal/mailnet"
)

// Patch is one field of a JSON merge patch (RFC 7396): left out (Set is
// false) the field is unchanged; null (Set and Null) clears it; a value
// (Set, Value) replaces it. A *T cannot tell null from absent.
//
// It implements encoding/json's Unmarshaler, which both encoding/json and
// github.com/go-json-experiment/json call, for null too, on a non-pointer
// field.
type Patch[T any] struct {
	Set   bool // the field was in the body
	Null  bool // it was null
	Value T    // its value when Set and not Null
}

// Some is a patch that sets v.
func Some[T any](v T) Patch[T] { return Patch[T]{Set: true, Value: v} }

// Null is a patch that clears the field.
func Null[T any]() Patch[T] { return Patch[T]{Set: true, Null: true} }

// UnmarshalJSON records that the field was present, and whether it was
// null.
func (p *Patch[T]) UnmarshalJSON(b []byte) error {
	var zero T
	p.Set, p.Value = true, zero
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		p.Null = true
		return nil
	}
	p.Null = false
	return json.Unmarshal(b, &p.Value)
}

// MarshalJSON writes the value, or null when it is cleared or absent (a
// client building a patch leaves absent fields out with omitzero).
func (p Patch[T]) MarshalJSON() ([]byte, error) {
	if !p.Set || p.Null {
		return []byte("null"), nil
	}
	return json.Marshal(p.Value)
}

// IsZero reports an absent field, for omitzero.
func (p Patch[T]) IsZero() bool { return !p.Set }

// Present reports a field that is set to a value (not absent, not null).
func (p Patch[T]) Present() bool { return p.Set && !p.Null }

// Required refuses null on a field that cannot be cleared: a 422 naming
// it. An absent field or a value passes.
func (p Patch[T]) Required(field string) error {
	if p.Set && p.Null {
		return mailnet.Invalid(field, "%s cannot be null: it is required (leave it out to keep it)", field)
	}
	return nil
}

// Or returns the value when set, def when the field is null (cleared).
// Callers check Set first.
func (p Patch[T]) Or(def T) T {
	if p.Null {
		return def
	}
	return p.Value
}
