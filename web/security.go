package web

import (
	"fmt"
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

// allowedHost is a Host a request may name: a public URL's host name and
// port (the scheme's default when the URL names none).
type allowedHost struct{ name, port string }

// loopbackHosts are always accepted, on any port: a DNS-rebinding page
// makes the browser send its own name, never these.
var loopbackHosts = map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}

// parsePublicURLs checks Config.PublicURLs and returns the hosts they
// allow and their origins.
func parsePublicURLs(urls []string) ([]allowedHost, []string, error) {
	var hosts []allowedHost
	var origins []string
	for _, raw := range urls {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, nil, fmt.Errorf("web: Config.PublicURLs: %q is not scheme://host[:port] (http or https, no path)", raw)
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		hosts = append(hosts, allowedHost{name: hostName(u.Hostname()), port: port})
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	return hosts, origins, nil
}

// hostName is a host name as compared: lower case, without a final dot.
func hostName(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// trustOrigins adds the public URLs' origins to those the cross-origin
// checks (forms and the websocket) trust, beside Config.Origins.
func (s *Server) trustOrigins(origins []string) error {
	for _, o := range origins {
		n, ok := normalOrigin(o)
		if !ok {
			return fmt.Errorf("web: Config.PublicURLs: %q is not an origin", o)
		}
		if err := s.auth.cop.AddTrustedOrigin(o); err != nil {
			return fmt.Errorf("web: Config.PublicURLs: %w", err)
		}
		s.auth.origins = append(s.auth.origins, n)
	}
	return nil
}

// hostAllowed reports whether host (a request's Host) names the console:
// a loopback name, or the host of a public URL and, when host carries a
// port, that URL's port.
func (s *Server) hostAllowed(host string) bool {
	name, port := host, ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		name, port = h, p
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		name = host[1 : len(host)-1]
	}
	name = hostName(name)
	if name == "" {
		return false
	}
	if loopbackHosts[name] {
		return true
	}
	for _, a := range s.hosts {
		if a.name == name && (port == "" || port == a.port) {
			return true
		}
	}
	return false
}

// checkHost refuses with 421 Misdirected Request a request whose Host is
// not the console's (Config.PublicURLs): a page on a rebound DNS name
// reaches the console's address but names itself in Host.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			s.log.WarnContext(r.Context(), "request for another host refused", "method", knownMethod(r.Method), "path", r.URL.Path, "host", r.Host)
			s.errorStatus(w, r, http.StatusMisdirectedRequest, "this console does not answer for that host name; use its public address")
			return
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
