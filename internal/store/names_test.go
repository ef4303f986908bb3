package store_test

import (
	"strings"
	"testing"

	"mailnet/internal/store"
)

func TestFoldName(t *testing.T) {
	tests := []struct{ a, b string }{
		{"KELVIN-1", "\u212aELVIN-1"}, // KELVIN SIGN
		{"KELVIN-1", "ＫＥＬＶＩＮ-1"},      // fullwidth
		{"Straße", "STRASSE"},
		{"e\u0301cole", "\u00e9cole"}, // decomposed and composed é
		{"ΣΊΣΥΦΟΣ", "σίσυφος"},
	}
	for _, tt := range tests {
		if fa, fb := store.FoldName(tt.a), store.FoldName(tt.b); fa != fb {
			t.Errorf("FoldName(%q) = %q, FoldName(%q) = %q; want equal", tt.a, fa, tt.b, fb)
		}
	}
	if store.FoldName("EXCH-1") == store.FoldName("EXCH-\u0406") { // Cyrillic І
		t.Errorf("Latin and Cyrillic fold alike; they are different names (flagged, not merged)")
	}
}

func TestNameWarning(t *testing.T) {
	tests := []struct {
		name string
		want string // "" for none, else a word the warning holds
	}{
		{"EXCH-1", ""},
		{"Zürich", ""},
		{"Москва", ""},
		{"EX\u0421H-1", "Cyrillic"}, // Latin with a Cyrillic С
		{"\u212aELVIN-1", "compatibility"},
		{"ＨＱ", "compatibility"},
	}
	for _, tt := range tests {
		got := store.NameWarning(tt.name)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("NameWarning(%q) = %q, want one holding %q", tt.name, got, tt.want)
		}
	}
}
