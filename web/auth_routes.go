package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"mailnet/internal/mailnet"
)

// authRoutes registers sign-in and sign-out, NOC device sign-in, tokens and
// the audit log. It also builds the authentication state that the
// authenticate middleware (registered before it) uses from the first
// request on.
func (s *Server) authRoutes(r chi.Router) {
	s.auth = newAuthState(s.cfg, s.log)

	s.handle(r, mailnet.RolePublic, http.MethodGet, "/login", s.loginPage)
	s.handle(r, mailnet.RolePublic, http.MethodPost, "/login", s.loginSubmit)
	s.handle(r, mailnet.RolePublic, http.MethodGet, "/logout", s.logoutPage)
	s.handle(r, mailnet.RolePublic, http.MethodPost, "/logout", s.logoutSubmit)
	s.handle(r, mailnet.RolePublic, http.MethodGet, "/noc/login", s.nocLoginPage)
	s.handle(r, mailnet.RolePublic, http.MethodPost, "/noc/login", s.nocLoginSubmit)

	s.handle(r, mailnet.RoleAdmin, http.MethodGet, "/tokens", s.tokensPage)
	s.handle(r, mailnet.RoleAdmin, http.MethodPost, "/tokens", s.tokensCreatePage)
	s.handle(r, mailnet.RoleAdmin, http.MethodPost, "/tokens/{id}/revoke", s.tokensRevokePage)
	s.handle(r, mailnet.RoleAdmin, http.MethodGet, "/api/v1/tokens", s.apiTokensList)
	s.handle(r, mailnet.RoleAdmin, http.MethodPost, "/api/v1/tokens", s.apiTokensCreate)
	s.handle(r, mailnet.RoleAdmin, http.MethodPost, "/api/v1/tokens/{id}/revoke", s.apiTokensRevoke)

	s.handle(r, mailnet.RoleViewer, http.MethodGet, "/audit", s.auditPage)
	s.handle(r, mailnet.RoleViewer, http.MethodGet, "/api/v1/audit", s.apiAudit)
}
