package auth

import (
	"strings"
	"testing"
)

// FuzzParsePHC: the parser of stored hashes never panics, and whatever it
// accepts is within the bounds that make verifying it safe.
func FuzzParsePHC(f *testing.F) {
	good, _ := Hash("pw", fast)
	f.Add(good)
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := ParsePHC(s)
		if err != nil {
			return
		}
		if p.Memory > maxMemory || p.Time == 0 || p.Time > maxTime || p.Threads == 0 || len(salt) < minSaltLen || len(key) < minKeyLen {
			t.Fatalf("accepted out-of-bounds %q: %+v", s, p)
		}
		if !strings.HasPrefix(s, "$argon2id$v=19$") {
			t.Fatalf("accepted %q, not an argon2id v19 hash", s)
		}
	})
}

// FuzzParseBearer: the Authorization header parser never panics and only
// returns bounded tokens of token68 characters.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer mna_abc", "bearer x", "Basic abc", "Bearer", "Bearer \x00", "Bearer  a=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := ParseBearer(h)
		if err != nil {
			if tok != "" {
				t.Fatalf("error with a token %q", tok)
			}
			return
		}
		if tok == "" || len(tok) > maxTokenLen || strings.ContainsAny(tok, " \t\r\n\x00") {
			t.Fatalf("accepted bad token %q from %q", tok, h)
		}
	})
}
