package actions_test

import (
	"encoding/json"
	"testing"

	"mailnet/internal/actions"
)

// TestPatchTriState: a merge-patch field tells absent, null and a value
// apart, and a wrong type names the field.
func TestPatchTriState(t *testing.T) {
	type body struct {
		A actions.Patch[string] `json:"a"`
		B actions.Patch[int]    `json:"b"`
		C actions.Patch[string] `json:"c"`
	}
	var got body
	if err := json.Unmarshal([]byte(`{"a": null, "b": 7}`), &got); err != nil {
		t.Fatal(err)
	}
	if !got.A.Set || !got.A.Null || got.A.Present() {
		t.Errorf("a: %+v, want set and null", got.A)
	}
	if !got.B.Present() || got.B.Value != 7 {
		t.Errorf("b: %+v, want 7", got.B)
	}
	if got.C.Set {
		t.Errorf("c: %+v, want absent", got.C)
	}
	if err := got.A.Required("a"); err == nil || !hasField(err, "a") {
		t.Errorf("Required on null: %v, want an error naming a", err)
	}
	if err := got.C.Required("c"); err != nil {
		t.Errorf("Required on absent: %v", err)
	}
	var bad body
	err := json.Unmarshal([]byte(`{"b": "seven"}`), &bad)
	var typ *json.UnmarshalTypeError
	if !asTypeError(err, &typ) || typ.Field != "b" {
		t.Errorf("wrong type: %v, want an UnmarshalTypeError naming b", err)
	}
	out, _ := json.Marshal(struct {
		A actions.Patch[string] `json:"a,omitzero"`
		B actions.Patch[string] `json:"b,omitzero"`
		C actions.Patch[string] `json:"c,omitzero"`
	}{A: actions.Some("x"), B: actions.Null[string]()})
	if string(out) != `{"a":"x","b":null}` {
		t.Errorf("marshal: %s", out)
	}
}

func asTypeError(err error, dst **json.UnmarshalTypeError) bool {
	e, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*dst = e
	}
	return ok
}
