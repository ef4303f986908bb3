package web

import (
	"errors"
	"net/http"
	"strings"

	"mailnet/internal/mailnet"
)

// authenticate finds who is calling (bearer token, or session cookie) and
// puts the principal in the request context. It rejects nothing itself:
// require decides per route.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			secret, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				s.error(w, r, mailnet.Errorf(mailnet.KindUnauthorized, "", "Authorization must be \"Bearer TOKEN\""))
				return
			}
			tok, err := s.store.TokenBySecret(r.Context(), strings.TrimSpace(secret))
			if err != nil {
				if errors.Is(err, mailnet.ErrNotFound) {
					s.error(w, r, mailnet.Errorf(mailnet.KindUnauthorized, "", "unknown or revoked token"))
					return
				}
				s.error(w, r, err)
				return
			}
			p := &mailnet.Principal{Name: "token:" + tok.Name, Role: mailnet.Role(tok.Role), TokenID: tok.ID}
			r = r.WithContext(mailnet.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// require refuses the request unless the principal's role allows role:
// 401 when nobody signed in (pages redirect to the login page), 403 when
// the role is not enough. Deny by default: an unknown role allows nothing.
func (s *Server) require(role mailnet.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if role == mailnet.RolePublic {
				next.ServeHTTP(w, r)
				return
			}
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

// unauthenticated answers a request that needs a sign-in.
func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) || r.Method != http.MethodGet {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mailnet"`)
		s.error(w, r, mailnet.Errorf(mailnet.KindUnauthorized, "", "sign in or send Authorization: Bearer TOKEN"))
		return
	}
	http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}
