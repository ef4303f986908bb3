package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"mailnet/internal/store"
)

// runEnv runs admin-web with args and the environment vars, and returns
// stdout, stderr and the error.
func runEnv(t *testing.T, vars map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return vars[k] }, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func TestServeRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"env duration", map[string]string{"MAILNET_EVENTS_MAX_AGE": "abc"}, nil,
			`--events-max-age (MAILNET_EVENTS_MAX_AGE): "abc" is not a duration`},
		{"env negative duration", map[string]string{"MAILNET_EVENTS_MAX_AGE": "-1h"}, nil,
			`--events-max-age (MAILNET_EVENTS_MAX_AGE): "-1h" must not be negative`},
		{"env count", map[string]string{"MAILNET_EVENTS_MAX_COUNT": "lots"}, nil,
			`--events-max-count (MAILNET_EVENTS_MAX_COUNT): "lots" is not a whole number`},
		{"env queue", map[string]string{"MAILNET_INGEST_QUEUE": "0"}, nil,
			`--ingest-queue (MAILNET_INGEST_QUEUE): "0" must be from 1`},
		{"env prune", map[string]string{"MAILNET_EVENTS_PRUNE_EVERY": "0s"}, nil,
			`--events-prune-every (MAILNET_EVENTS_PRUNE_EVERY): "0s" must be at least 1s`},
		{"env job batch", map[string]string{"MAILNET_JOB_BATCH": "5k"}, nil,
			`--job-batch (MAILNET_JOB_BATCH): "5k" is not a whole number`},
		{"env job pause", map[string]string{"MAILNET_JOB_PAUSE": "fast"}, nil,
			`--job-pause (MAILNET_JOB_PAUSE): "fast" is not a duration`},
		{"env demo rate", map[string]string{"MAILNET_DEMO_RATE": "-3"}, nil,
			`--demo-rate (MAILNET_DEMO_RATE): "-3" must be at least 0`},
		{"env demo", map[string]string{"MAILNET_DEMO": "yes"}, nil,
			`--demo (MAILNET_DEMO): "yes" is not a boolean`},
		{"env log", map[string]string{"MAILNET_LOG": "xml"}, nil,
			`--log (MAILNET_LOG): "xml" is not one of text, json`},
		{"env public url", map[string]string{"MAILNET_PUBLIC_URL": "https://admin.example,admin.example"}, nil,
			`--public-url (MAILNET_PUBLIC_URL): "https://admin.example,admin.example" has "admin.example", which is not an absolute http:// or https:// address`},
		{"env proxies", map[string]string{"MAILNET_TRUSTED_PROXIES": "10.0.0.0/33"}, nil,
			`--trusted-proxies (MAILNET_TRUSTED_PROXIES): "10.0.0.0/33" has "10.0.0.0/33", which is not an address or CIDR`},
		{"flag job batch", nil, []string{"--job-batch", "0"},
			`--job-batch (MAILNET_JOB_BATCH): "0" must be from 1`},
		{"flag duration", nil, []string{"--events-max-age=soon"},
			`--events-max-age (MAILNET_EVENTS_MAX_AGE): "soon" is not a duration`},
		{"flag public url with path", nil, []string{"--public-url", "https://admin.example/console"},
			`--public-url (MAILNET_PUBLIC_URL): "https://admin.example/console" has "https://admin.example/console", which must be scheme://host[:port]`},
		{"flag public url scheme", nil, []string{"--public-url", "ftp://admin.example"},
			`which is not an absolute http:// or https:// address`},
		{"flag origin", nil, []string{"--origins", "javascript:alert(1)"},
			`--origins (MAILNET_ORIGINS): "javascript:alert(1)"`},
		{"flag addr", nil, []string{"--addr", "8080"},
			`--addr (MAILNET_ADDR): "8080" is not HOST:PORT`},
		{"flag wins over a good env", map[string]string{"MAILNET_JOB_PAUSE": "2ms"}, []string{"--job-pause", "x"},
			`--job-pause (MAILNET_JOB_PAUSE): "x" is not a duration`},
		{"env refused even when another flag is fine", map[string]string{"MAILNET_JOB_PAUSE": "x"}, []string{"--job-batch", "10"},
			`--job-pause (MAILNET_JOB_PAUSE): "x" is not a duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "m.db")
			env := map[string]string{"MAILNET_DB": db, "MAILNET_ADDR": "127.0.0.1:0"}
			for k, v := range tc.env {
				env[k] = v
			}
			out, _, err := runEnv(t, env, append([]string{"serve"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if out != "" {
				t.Errorf("stdout %q: want nothing printed before the refusal", out)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the database was touched before the settings were checked: %v", err)
			}
		})
	}
}

func TestServeReportsEveryBadSetting(t *testing.T) {
	_, _, err := runEnv(t, map[string]string{"MAILNET_JOB_PAUSE": "x", "MAILNET_EVENTS_MAX_AGE": "y"}, "serve", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "--job-pause") || !strings.Contains(err.Error(), "--events-max-age") {
		t.Fatalf("got %v, want both bad settings named", err)
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"usage: admin-web COMMAND", "serve"}},
		{[]string{"--help"}, []string{"usage: admin-web COMMAND"}},
		{[]string{"serve", "-h"}, []string{"usage: admin-web serve", "--job-batch N", "MAILNET_JOB_BATCH", "--job-pause DURATION", "MAILNET_JOB_PAUSE",
			"--events-prune-every", "--public-url", "MAILNET_PUBLIC_URL", "default 720h"}},
		{[]string{"serve", "--help"}, []string{"usage: admin-web serve"}},
		{[]string{"migrate", "-h"}, []string{"usage: admin-web migrate", "MAILNET_DB"}},
		{[]string{"backup", "-h"}, []string{"usage: admin-web backup", "--to"}},
		{[]string{"demo", "-h"}, []string{"usage: admin-web demo", "--servers N"}},
		{[]string{"user", "-h"}, []string{"usage: admin-web user add"}},
		{[]string{"user", "add", "-h"}, []string{"usage: admin-web user add", "--role"}},
		{[]string{"token", "--help"}, []string{"usage: admin-web token add"}},
		{[]string{"token", "list", "-h"}, []string{"usage: admin-web token list"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, err := runEnv(t, nil, tc.args...)
			if err != nil {
				t.Fatalf("got error %v, want help and exit 0", err)
			}
			if errOut != "" {
				t.Errorf("stderr %q: want the help on stdout only", errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestServeBusyPortFailsBeforeDemo(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	db := filepath.Join(t.TempDir(), "busy.db")
	out, _, err := runEnv(t, map[string]string{"MAILNET_DB": db}, "serve", "--demo", "--demo-rate", "0", "--addr", busy.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "listen on "+busy.Addr().String()) {
		t.Fatalf("got %v, want the busy port reported", err)
	}
	if strings.Contains(strings.ToLower(out), "password") || strings.Contains(out, "seeded") {
		t.Errorf("stdout %q: a password or demo summary was printed before the port was found busy", out)
	}
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, servers, err := st.BulkInventoryCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := st.CountAccounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if servers != 0 || accounts != 0 {
		t.Errorf("got %d servers and %d accounts seeded, want none before the port was found busy", servers, accounts)
	}
}

// lineWatch is a stdout that goroutines may share; it closes ready when a
// line containing want has been written.
type lineWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	ready chan struct{}
	once  sync.Once
}

func newLineWatch(want string) *lineWatch {
	return &lineWatch{want: want, ready: make(chan struct{})}
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.ready != nil && strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

func (w *lineWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestSecondServeOnOneDatabaseRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "one.db")
	getenv := func(k string) string {
		if k == "MAILNET_DB" {
			return db
		}
		return ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := newLineWatch("is listening on")
	var stderr lineWatch
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, getenv, nil, stdout, &stderr)
	}()
	select {
	case <-stdout.ready:
	case err := <-done:
		t.Fatalf("the first serve ended: %v\n%s", err, stderr.String())
	}

	// A second console on the same file is refused, naming the file and
	// the process; it changes nothing and prints nothing.
	out, _, err := runEnv(t, map[string]string{"MAILNET_DB": db}, "serve", "--addr", "127.0.0.1:0")
	if err == nil {
		t.Fatal("a second serve on a database in use started")
	}
	for _, w := range []string{db, fmt.Sprintf("pid %d", os.Getpid()), "admin-web serve"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %q", err, w)
		}
	}
	if out != "" {
		t.Errorf("the refused serve printed %q", out)
	}
	// So is the demo generator, which would write under the console.
	if _, _, err := runEnv(t, map[string]string{"MAILNET_DB": db}, "demo", "--servers", "1", "--users", "0", "--messages", "0", "--quiet"); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("demo while serving: got %v, want it refused", err)
	}

	// The short CLI commands do not take the lock.
	if _, _, err := runEnv(t, map[string]string{"MAILNET_DB": db}, "migrate"); err != nil {
		t.Errorf("migrate while serving: %v", err)
	}
	if _, _, err := runEnv(t, map[string]string{"MAILNET_DB": db}, "backup", "--to", filepath.Join(dir, "copy.db")); err != nil {
		t.Errorf("backup while serving: %v", err)
	}
	if _, _, err := runEnv(t, map[string]string{"MAILNET_DB": db}, "token", "list"); err != nil {
		t.Errorf("token list while serving: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("the first serve: %v", err)
	}
	// Its lock is gone with it.
	l, err := lockDatabase(db, "test")
	if err != nil {
		t.Fatalf("after the console stopped: %v", err)
	}
	l.Release()
}

func TestServePublicURLs(t *testing.T) {
	cfg, err := parseServe([]string{"--public-url", " HTTPS://Admin.Example/ ,http://10.0.0.5:8080"}, func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://admin.example", "http://10.0.0.5:8080"}
	if strings.Join(cfg.publicURLs, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", cfg.publicURLs, want)
	}
	for _, tc := range []struct {
		addr     string
		want     string
		wildcard bool
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080", false},
		{"[::1]:9000", "http://[::1]:9000", false},
		{"0.0.0.0:8080", "http://localhost:8080 http://127.0.0.1:8080 http://[::1]:8080", true},
		{"[::]:8080", "http://localhost:8080 http://127.0.0.1:8080 http://[::1]:8080", true},
	} {
		ap, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		got, wildcard := derivePublicURLs(ap)
		if strings.Join(got, " ") != tc.want || wildcard != tc.wildcard {
			t.Errorf("%s: got %q %v, want %q %v", tc.addr, got, wildcard, tc.want, tc.wildcard)
		}
	}
}
