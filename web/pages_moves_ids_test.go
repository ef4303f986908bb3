package web

import (
	"net/url"
	"testing"
)

// Form ids are read by the API's rule: "01", "+1", " 1" and "1.0" are not
// 1, in one field or a repeated one.
func TestMoveFormIDsAreCanonical(t *testing.T) {
	for _, raw := range []string{"01", "+1", " 1", "1.0"} {
		if _, err := formID(url.Values{"to": {raw}}, "to"); err == nil {
			t.Errorf("to=%q accepted, want a 422 naming to", raw)
		}
		if _, err := formIDs(url.Values{"user": {"2", raw}}, "user"); err == nil {
			t.Errorf("user=%q accepted, want a 422 naming user", raw)
		}
	}
	if id, err := formID(url.Values{"to": {"12"}}, "to"); err != nil || id != 12 {
		t.Errorf("to=12: %d %v, want 12", id, err)
	}
}
