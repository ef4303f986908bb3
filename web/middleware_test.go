package web_test

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"mailnet/web"
)

// httpSeries counts the series of the request metrics in reg.
func httpSeries(t *testing.T, reg *prometheus.Registry) (int, map[string]bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n, labels := 0, map[string]bool{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "mailnet_http_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			n++
			for _, l := range m.GetLabel() {
				labels[l.GetName()+"="+l.GetValue()] = true
			}
		}
	}
	return n, labels
}

const tokenChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~"

func randomString(r *rand.Rand, alphabet string, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// TestMetricsLabelsBounded: requests with invented methods on invented
// paths add no series to the public /metrics. After one request of each
// kind, 500 more with random methods (and a few known ones) on random
// paths leave the series count where it was.
func TestMetricsLabelsBounded(t *testing.T) {
	var reg *prometheus.Registry
	e, _ := newAuthEnv(t, func(c *web.Config) { reg = c.Registry })
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "BREW"} {
		send(t, e, m, "/warm-up", "")
	}
	before, _ := httpSeries(t, reg)
	rnd := rand.New(rand.NewPCG(9, 6))
	known := []string{"GET", "POST", "DELETE", "OPTIONS"}
	for i := range 500 {
		method := randomString(rnd, tokenChars, 1+rnd.IntN(40))
		if i%10 == 0 {
			method = known[rnd.IntN(len(known))]
		}
		path := "/" + randomString(rnd, "abcdefghijklmnopqrstuvwxyz0123456789-_", 1+rnd.IntN(30))
		if i%3 == 0 {
			path = "/api/v1/" + path[1:]
		}
		send(t, e, method, path, "")
	}
	after, labels := httpSeries(t, reg)
	if after != before {
		t.Errorf("500 requests with invented methods and paths: %d series, was %d", after, before)
	}
	for l := range labels {
		name, value, _ := strings.Cut(l, "=")
		switch name {
		case "method":
			if !map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true, "other": true}[value] {
				t.Errorf("method label %q", value)
			}
		case "route":
			if value != "unmatched" && !strings.HasPrefix(value, "/") {
				t.Errorf("route label %q", value)
			}
		}
	}
	if !labels["method=other"] || !labels["route=unmatched"] {
		t.Errorf("%d labels, want method=other and route=unmatched among them", len(labels))
	}
	// A routed request is labelled by its pattern, not its path.
	send(t, e, http.MethodGet, "/api/v1/servers/424242", e.Viewer)
	if _, labels := httpSeries(t, reg); !labels["route=/api/v1/servers/{id}"] || labels["route=/api/v1/servers/424242"] {
		t.Errorf("GET /api/v1/servers/424242 not labelled by its pattern: %v", labels)
	}
}
