package web

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"mailnet/internal/mailnet"
)

// contentSecurityPolicy forbids inline script and style (script-src 'self'
// with no 'unsafe-inline'), framing, plugins and foreign form targets.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// securityHeaders sets the headers every response carries. Cache-Control:
// no-store is added per route by require for everything behind a sign-in.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.auth != nil && s.auth.proxies.Secure(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// checkCrossOrigin refuses a state-changing request that a browser sent
// from another origin (Go's http.CrossOriginProtection: Sec-Fetch-Site, or
// Origin against Host, with the configured extra origins trusted). It runs
// for every request that is not authenticated by a bearer token: a cookie
// rides along on cross-site requests, an Authorization header never does.
// Requests without Sec-Fetch-Site and Origin (curl, agents) pass, as do
// GET, HEAD and OPTIONS: nothing changes state on those.
func (s *Server) checkCrossOrigin(w http.ResponseWriter, r *http.Request) bool {
	if err := s.auth.cop.Check(r); err != nil {
		s.log.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		s.error(w, r, mailnet.Errorf(mailnet.KindForbidden, "", "cross-origin request refused"))
		return false
	}
	return true
}

// originAllowed reports whether r's Origin header names the console itself
// (scheme, host and port, from r.Host and whether the request came over
// TLS) or one of the configured origins. It is the websocket upgrade's
// CheckOrigin: http.CrossOriginProtection lets every GET through, and the
// upgrade is a GET. A request without Origin is not from a browser page
// (browsers always send it on websocket handshakes) and is allowed; it
// still needs a token or session to get anywhere.
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	got, ok := normalOrigin(o)
	if !ok {
		return false
	}
	scheme := "http"
	if s.auth.proxies.Secure(r) {
		scheme = "https"
	}
	if self, ok := normalOrigin(scheme + "://" + r.Host); ok && got == self {
		return true
	}
	for _, t := range s.auth.origins {
		if got == t {
			return true
		}
	}
	return false
}

// normalOrigin reduces an origin to scheme://host:port with the default
// port made explicit and the host lower-cased, or reports that it is not
// an http(s) origin (e.g. "null").
func normalOrigin(o string) (string, bool) {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	switch scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
	default:
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", false
	}
	return scheme + "://" + net.JoinHostPort(host, port), true
}

// Router exposes the routes for the route table test (chi.Walk).
func (s *Server) Router() chi.Routes {
	rt, _ := s.handler.(chi.Routes)
	return rt
}
