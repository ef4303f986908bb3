package auth

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fast keeps tests quick; production uses DefaultParams.
var fast = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("got %q, want a PHC argon2id string with its parameters", h)
	}
	h2, _ := Hash("correct horse", fast)
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct horsf", false}, {"", false}, {"correct horse ", false}} {
		got, err := Verify(tc.pw, h)
		if err != nil || got != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.pw, got, err, tc.want)
		}
	}
}

func TestDefaultParamsVerify(t *testing.T) {
	h, err := Hash("a long enough password", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, "$m=19456,t=2,p=1$") {
		t.Errorf("got %q, want the default parameters recorded in the hash", h)
	}
	if ok, err := Verify("a long enough password", h); !ok || err != nil {
		t.Errorf("got %v, %v; want true", ok, err)
	}
}

func TestParsePHCRefuses(t *testing.T) {
	good, _ := Hash("pw", fast)
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	for _, s := range []string{
		"",
		"plaintext",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key, // 95 GiB
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "=$" + key,
	} {
		if _, _, _, err := ParsePHC(s); err == nil {
			t.Errorf("ParsePHC(%q) accepted it, want an error", s)
		}
		if ok, err := Verify("pw", s); ok || err == nil {
			t.Errorf("Verify against %q = %v, %v; want false and an error", s, ok, err)
		}
	}
}

// An unknown account's sign-in verifies against a dummy hash made with
// the same parameters as every real one, so it costs the same work: the
// timing does not tell which names exist. (Compared by parameters, not by
// a stopwatch, which a busy machine makes meaningless.)
func TestHasherUnknownAccountStillHashes(t *testing.T) {
	h, err := NewHasher(Params{Memory: 8 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}, 1)
	if err != nil {
		t.Fatal(err)
	}
	real, _ := h.Hash(context.Background(), "password1")
	rp, _, rk, err := ParsePHC(real)
	if err != nil {
		t.Fatal(err)
	}
	dp, _, dk, err := ParsePHC(h.dummy)
	if err != nil {
		t.Fatalf("the dummy hash %q does not parse: %v", h.dummy, err)
	}
	if rp != dp || len(rk) != len(dk) {
		t.Errorf("dummy hash parameters %+v (key %d bytes), want the real ones %+v (key %d bytes)", dp, len(dk), rp, len(rk))
	}
	if ok, _ := h.Verify(context.Background(), "no account has this password", ""); ok {
		t.Error("an empty hash verified: want false always")
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{{"", false}, {"1234567", false}, {"12345678", true}, {"éééééééé", true}, {strings.Repeat("x", MaxPasswordLen+1), false}} {
		if err := CheckPassword(tc.pw); (err == nil) != tc.ok {
			t.Errorf("CheckPassword(%q) = %v, want ok=%v", tc.pw, err, tc.ok)
		}
	}
}

var testLimits = LoginLimits{PairFree: 3, PairBackoff: time.Minute, PairMaxWait: 8 * time.Minute,
	NameLimit: 6, AddrLimit: 10, Window: 15 * time.Minute, Cap: 100, KnownFor: time.Hour}

func TestLoginLimiterCountsAttemptsInFlight(t *testing.T) {
	l := NewLoginLimiter(testLimits)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var held []*Attempt
	for range 10 {
		if at, _ := l.Reserve("alice", "a1", t0); at != nil {
			held = append(held, at)
		}
	}
	if len(held) != 3 {
		t.Fatalf("reserved %d attempts at once for one name and address, want PairFree = 3", len(held))
	}
	held[0].Cancel()
	if at, _ := l.Reserve("alice", "a1", t0); at == nil {
		t.Error("a cancelled attempt still holds its slot")
	} else {
		held[0] = at
	}
	for _, at := range held {
		at.Fail(t0)
		at.Fail(t0) // settling twice counts once
	}
	at, r := l.Reserve("alice", "a1", t0.Add(30*time.Second))
	if at != nil || r.By != "name and address" || r.Wait != 30*time.Second {
		t.Errorf("after 3 failures: got %v %+v, want refused for 30s more by name and address", at, r)
	}
	// Backoff: one attempt at a time once it has passed, doubling.
	a1, _ := l.Reserve("alice", "a1", t0.Add(time.Minute))
	a2, _ := l.Reserve("alice", "a1", t0.Add(time.Minute))
	if a1 == nil || a2 != nil {
		t.Fatalf("after the backoff: got %v and %v, want exactly one attempt", a1, a2)
	}
	a1.Fail(t0.Add(time.Minute))
	if at, r := l.Reserve("alice", "a1", t0.Add(2*time.Minute)); at != nil || r.Wait != time.Minute {
		t.Errorf("after the 4th failure: got %v %+v, want 2 min backoff (1 min left)", at, r)
	}
	// The same name from another address is not held back by this pair.
	if at, _ := l.Reserve("alice", "a2", t0.Add(time.Minute)); at == nil {
		t.Error("alice from another address refused for the first address's failures")
	} else {
		at.Succeed(t0.Add(time.Minute))
	}
}

func TestLoginLimiterNameBoundSparesKnownPairs(t *testing.T) {
	l := NewLoginLimiter(testLimits)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at, _ := l.Reserve("alice", "home", t0)
	at.Succeed(t0)
	// Six addresses fail once each: the name bound (6) is reached.
	for i := range 6 {
		at, _ := l.Reserve("alice", string(rune('a'+i)), t0)
		if at == nil {
			t.Fatalf("attempt %d refused before the name bound", i)
		}
		at.Fail(t0)
	}
	if at, r := l.Reserve("alice", "new-address", t0); at != nil || r.By != "name" {
		t.Errorf("a new address after 6 failures for the name: got %v %+v, want refused by name", at, r)
	}
	if at, _ := l.Reserve("alice", "home", t0); at == nil {
		t.Error("the address alice signed in from before is locked out by others' failures")
	}
	if at, _ := l.Reserve("alice", "new-address", t0.Add(15*time.Minute)); at == nil {
		t.Error("still refused after the window")
	}
}

func TestLoginLimiterAddressBound(t *testing.T) {
	l := NewLoginLimiter(testLimits)
	t0 := time.Now()
	for i := range 10 {
		at, _ := l.Reserve(fmt.Sprint("guess", i), "a1", t0)
		if at == nil {
			t.Fatalf("guess %d refused before the address bound", i)
		}
		at.Fail(t0)
	}
	if at, r := l.Reserve("carol", "a1", t0); at != nil || r.By != "address" {
		t.Errorf("after 10 failures from one address: got %v %+v, want refused by address", at, r)
	}
	if at, _ := l.Reserve("", "a1", t0); at != nil {
		t.Error("a nameless attempt (NOC token) from a refused address was allowed")
	}
}

func TestLoginLimiterBounded(t *testing.T) {
	lim := testLimits
	lim.Cap = 50
	l := NewLoginLimiter(lim)
	now := time.Now()
	for i := range 10000 {
		if at, _ := l.Reserve(fmt.Sprint("name", i), fmt.Sprint("addr", i%997), now); at != nil {
			at.Fail(now)
		}
	}
	if n := l.Len(); n > 4*50 {
		t.Errorf("got %d keys, want at most 4 tables of 50", n)
	}
}

func TestClientAddr(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", "192.168.1.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, remote, xff, want string
	}{
		{"direct client, forged header ignored", "203.0.113.9:5000", "1.2.3.4", "203.0.113.9"},
		{"trusted proxy", "10.1.1.1:5000", "198.51.100.7", "198.51.100.7"},
		{"chain of trusted proxies", "10.1.1.1:5000", "198.51.100.7, 192.168.1.1, 10.2.2.2", "198.51.100.7"},
		{"client-written entries left of the real one", "10.1.1.1:5000", "6.6.6.6, 198.51.100.7", "198.51.100.7"},
		{"malformed hop", "10.1.1.1:5000", "garbage", "10.1.1.1"},
		{"no header from proxy", "10.1.1.1:5000", "", "10.1.1.1"},
		{"ipv6 client", "[2001:db8::1]:443", "", "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := proxies.ClientAddr(r).String(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := ParseProxies([]string{"not-a-cidr"}); err == nil {
		t.Error("ParseProxies accepted not-a-cidr")
	}
}

func TestSecure(t *testing.T) {
	proxies, _ := ParseProxies([]string{"10.0.0.0/8"})
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "203.0.113.9:1"
	r.Header.Set("X-Forwarded-Proto", "https")
	if proxies.Secure(r) {
		t.Error("an untrusted client's X-Forwarded-Proto was believed")
	}
	r.RemoteAddr = "10.0.0.1:1"
	if !proxies.Secure(r) {
		t.Error("a trusted proxy's X-Forwarded-Proto: https was ignored")
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.TLS = &tls.ConnectionState{}
	if !proxies.Secure(r) {
		t.Error("a TLS request was not secure")
	}
}

func TestParseBearer(t *testing.T) {
	for _, tc := range []struct {
		h, want string
		ok      bool
	}{
		{"Bearer mna_abc-DEF_123", "mna_abc-DEF_123", true},
		{"bearer tok", "tok", true},
		{"Bearer  tok ", "tok", true},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer a b", "", false},
		{"Bearer tok\x00", "", false},
		{"Bearer " + strings.Repeat("a", 513), "", false},
	} {
		got, err := ParseBearer(tc.h)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseBearer(%q) = %q, %v; want %q ok=%v", tc.h, got, err, tc.want, tc.ok)
		}
	}
}

// BenchmarkHashDefault measures one sign-in's password check with the
// production parameters.
func BenchmarkHashDefault(b *testing.B) {
	h, _ := Hash("correct horse battery", DefaultParams)
	for b.Loop() {
		Verify("correct horse battery", h)
	}
}
