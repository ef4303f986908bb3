package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
)

// Cookie names. Over TLS the __Host- prefix makes the browser refuse the
// cookie unless it is Secure, host-only and Path=/, so a sibling subdomain
// cannot plant or shadow it.
const (
	cookieName       = "mailnet_session"
	secureCookieName = "__Host-mailnet_session"
)

// authState is what authentication keeps between requests.
type authState struct {
	proxies auth.Proxies
	origins []string // configured extra origins, normalized
	cop     *http.CrossOriginProtection
}

func newAuthState(cfg Config, log *slog.Logger) *authState {
	a := &authState{cop: http.NewCrossOriginProtection()}
	proxies, err := auth.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		// Fail closed: believe no forwarding header rather than a wrong one.
		log.Warn("trusted proxies ignored", "err", err)
		proxies = nil
	}
	a.proxies = proxies
	for _, o := range cfg.Origins {
		n, ok := normalOrigin(o)
		if !ok {
			log.Warn("allowed origin ignored: want scheme://host[:port]", "origin", o)
			continue
		}
		if err := a.cop.AddTrustedOrigin(o); err != nil {
			log.Warn("allowed origin ignored", "origin", o, "err", err)
			continue
		}
		a.origins = append(a.origins, n)
	}
	return a
}

// authenticate finds who is calling (bearer token, or session cookie) and
// puts the principal in the request context. It rejects nothing for lack
// of a principal: require decides per route. It does reject a malformed or
// unknown bearer token (401) and a cross-origin state-changing request
// that is not bearer-authenticated (403).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if h := r.Header.Get("Authorization"); h != "" {
			secret, err := auth.ParseBearer(h)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="mailnet", error="invalid_request"`)
				s.error(w, r, mailnet.Errorf(mailnet.KindUnauthorized, "", "%s", err.Error()))
				return
			}
			tok, err := s.actions.BearerToken(ctx, secret)
			if err != nil {
				if errors.Is(err, mailnet.ErrNotFound) {
					w.Header().Set("WWW-Authenticate", `Bearer realm="mailnet", error="invalid_token"`)
					s.error(w, r, mailnet.Errorf(mailnet.KindUnauthorized, "", "unknown or revoked token"))
					return
				}
				s.error(w, r, err)
				return
			}
			p := &mailnet.Principal{Name: "token:" + tok.Name, Role: tok.Role, TokenID: tok.ID}
			next.ServeHTTP(w, r.WithContext(mailnet.WithPrincipal(ctx, p)))
			return
		}
		if !s.checkCrossOrigin(w, r) {
			return
		}
		sess, err := s.currentSession(w, r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if sess != nil {
			r = r.WithContext(withSession(mailnet.WithPrincipal(ctx, sess.Principal()), sess))
		}
		next.ServeHTTP(w, r)
	})
}

type sessionKey struct{}

func withSession(ctx context.Context, s *mailnet.Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// sessionCookieName is the cookie this request's session lives in.
func (s *Server) sessionCookieName(r *http.Request) string {
	if s.auth.proxies.Secure(r) {
		return secureCookieName
	}
	return cookieName
}

// sessionSecret is the session secret the browser sent, or "".
func (s *Server) sessionSecret(r *http.Request) string {
	c, err := r.Cookie(s.sessionCookieName(r))
	if err != nil || len(c.Value) > 128 {
		return ""
	}
	return c.Value
}

// currentSession returns the live session of r's cookie, or nil. The
// rules (idle and absolute ends, renewal) are actions.Session's; a cookie
// of no live session is cleared.
func (s *Server) currentSession(w http.ResponseWriter, r *http.Request) (*mailnet.Session, error) {
	secret := s.sessionSecret(r)
	if secret == "" {
		return nil, nil
	}
	sess, err := s.actions.Session(r.Context(), secret)
	if errors.Is(err, mailnet.ErrNotFound) {
		s.clearSessionCookie(w, r)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &sess, nil
}

// setSessionCookie gives the browser its session secret: HttpOnly (no
// script reads it), SameSite=Lax (not sent on cross-site POSTs), Path=/,
// and over TLS Secure with the __Host- prefix. Browser sessions get no
// Max-Age (the server ends them); device sessions keep theirs for a year
// so a wall display survives a browser restart.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, secret string, device bool) {
	c := &http.Cookie{
		Name:     s.sessionCookieName(r),
		Value:    secret,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   s.auth.proxies.Secure(r),
	}
	if device {
		c.MaxAge = 365 * 24 * 3600
	}
	http.SetCookie(w, c)
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: s.sessionCookieName(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.auth.proxies.Secure(r),
	})
}

// require refuses the request unless the principal's role allows role:
// 401 when nobody signed in (pages redirect to the login page), 403 when
// the role is not enough. Deny by default: an unknown role allows nothing.
// Every response behind a sign-in is marked Cache-Control: no-store.
func (s *Server) require(role mailnet.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if role == mailnet.RolePublic {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			p := mailnet.PrincipalFrom(r.Context())
			if p == nil {
				s.unauthenticated(w, r)
				return
			}
			if !p.Role.Allows(role) {
				s.error(w, r, mailnet.Errorf(mailnet.KindForbidden, "", "the %s role may not do this", p.Role))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// unauthenticated answers a request that needs a sign-in: 401 for the API
// and anything but a page GET (or HEAD), a redirect to the login page otherwise.
func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mailnet"`)
		s.error(w, r, mailnet.Errorf(mailnet.KindUnauthorized, "", "sign in or send Authorization: Bearer TOKEN"))
		return
	}
	http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}
