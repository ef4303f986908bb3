package web

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailnet/internal/actions"
	"mailnet/internal/ingest"
	"mailnet/internal/live"
	"mailnet/internal/store"
)

func TestOriginAllowed(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "o.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hub := live.NewHub()
	defer hub.Close()
	w := ingest.New(st, hub, nil, ingest.Options{})
	defer w.Close()
	log := slog.New(slog.DiscardHandler)
	s, err := New(Config{Store: st, Actions: actions.New(st, hub, log), Live: hub, Hub: hub, Ingest: w, Log: log,
		Registry: prometheus.NewRegistry(), Now: time.Now,
		Origins: []string{"https://noc.example", "bogus"}, TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, host, origin, remote string
		tls, proxyHTTPS            bool
		want                       bool
	}{
		{"own origin", "console.local:8080", "http://console.local:8080", "", false, false, true},
		{"own origin, case and default port", "Console.Local", "HTTP://console.local:80", "", false, false, true},
		{"no Origin header (not a browser)", "console.local:8080", "", "", false, false, true},
		{"foreign origin", "console.local:8080", "https://evil.example", "", false, false, false},
		{"same host, other port", "console.local:8080", "http://console.local:9090", "", false, false, false},
		{"scheme downgrade", "console.local", "http://console.local", "", true, false, false},
		{"tls", "console.local", "https://console.local", "", true, false, true},
		{"trusted proxy said https", "console.local", "https://console.local", "10.1.1.1:1", false, true, true},
		{"untrusted peer said https", "console.local", "https://console.local", "203.0.113.1:1", false, true, false},
		{"configured origin", "console.local:8080", "https://noc.example", "", false, false, true},
		{"configured origin over http", "console.local:8080", "http://noc.example", "", false, false, false},
		{"opaque origin", "console.local:8080", "null", "", false, false, false},
		{"origin with a path", "console.local:8080", "http://console.local:8080/x", "", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ws", nil)
			r.Host = tc.host
			if tc.remote != "" {
				r.RemoteAddr = tc.remote
			}
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.proxyHTTPS {
				r.Header.Set("X-Forwarded-Proto", "https")
			}
			if got := s.originAllowed(r); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
