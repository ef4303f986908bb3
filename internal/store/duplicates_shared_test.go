package store

import (
	"fmt"
	"strings"
	"testing"
)

// TestSharedOf: shared serials in index order (neighbours) and in any
// other order (counted) are the same.
func TestSharedOf(t *testing.T) {
	for _, list := range [][]string{
		{"A", "B", "B", "B", "C", "D", "D"},
		{"D", "B", "A", "D", "B", "C", "B"},
		{"A", "B", "C"},
	} {
		got := fmt.Sprint(sharedOf(strings.Join(list, "\x1e"), len(list)))
		want := "[B D]"
		if len(list) == 3 {
			want = "[]"
		}
		if got != want {
			t.Errorf("sharedOf(%q) = %s, want %s", list, got, want)
		}
	}
}
