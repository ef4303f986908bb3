package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"mailnet/internal/live/ws"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	Name    string  `json:"name"`
	Role    string  `json:"role"`
	Servers []int64 `json:"servers"` // an agent's servers; none: network-wide
}

// apiTokensList answers GET /api/v1/tokens: {"tokens": [...]}, no secrets.
func (s *Server) apiTokensList(w http.ResponseWriter, r *http.Request) {
	toks, err := s.store.Tokens(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	bound, err := s.store.TokenServers(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]boundToken, len(toks))
	for i, t := range toks {
		out[i] = boundToken{Token: t, Servers: nonNilIDs(bound[t.ID]), Scope: tokenScope(t.Role, bound[t.ID])}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// apiTokensCreate answers POST /api/v1/tokens {"name", "role"} with 201
// and the secret, shown once.
func (s *Server) apiTokensCreate(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	t, secret, err := s.actions.CreateBoundToken(r.Context(), req.Name, req.Role, req.Servers)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": t, "secret": secret, "servers": nonNilIDs(req.Servers), "scope": tokenScope(t.Role, req.Servers)})
}

// apiTokensRevoke answers POST /api/v1/tokens/{id}/revoke: the token stops
// working at once and its NOC device sessions end.
func (s *Server) apiTokensRevoke(w http.ResponseWriter, r *http.Request) {
	id, ok := tokenIDParam(r)
	if !ok {
		s.error(w, r, mailnet.NotFound("token", r.PathValue("id")))
		return
	}
	t, err := s.actions.RevokeToken(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.closeStreams(ws.Cred{TokenID: id}, wsTokenRevoked)
	writeJSON(w, http.StatusOK, map[string]any{"token": t})
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, status int, v views.TokensView) {
	toks, err := s.store.Tokens(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	v.Tokens = toks
	if v.Servers, err = s.store.TokenServerNames(r.Context()); err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, status, s.pageFor(r.Context(), "Tokens", "tokens"), views.TokensBody(v))
}

// tokensPage lists the tokens with a form to make one.
func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request) {
	s.renderTokens(w, r, http.StatusOK, views.TokensView{})
}

// tokensCreatePage makes a token from the form. Unlike other form posts it
// answers 201 with a page rather than a redirect: the secret is shown this
// once and must not travel in a URL.
func (s *Server) tokensCreatePage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.error(w, r, mailnet.Errorf(mailnet.KindMalformed, "", "the form could not be read"))
		return
	}
	name, role := r.PostForm.Get("name"), r.PostForm.Get("role")
	servers, err := s.serverIDsByName(r.Context(), r.PostForm.Get("servers"))
	var t mailnet.Token
	var secret string
	if err == nil {
		t, secret, err = s.actions.CreateBoundToken(r.Context(), name, role, servers)
	}
	if err != nil {
		e, ok := mailnet.AsError(err)
		if !ok || e.Kind != mailnet.KindInvalid {
			s.error(w, r, err)
			return
		}
		s.renderTokens(w, r, http.StatusUnprocessableEntity, views.TokensView{Name: name, Role: role, Error: e.Message, ErrorField: e.Field})
		return
	}
	v := views.TokensView{Created: &t, Secret: secret}
	if t.Role == mailnet.RoleViewer {
		v.NocURL = s.publicBase(r) + "/noc/login?token=" + url.QueryEscape(secret)
	}
	s.renderTokens(w, r, http.StatusCreated, v)
}

// publicBase is the console's address as a wall screen should open it:
// the first of Config.PublicURLs, else the address this request came to
// (its Host was checked against the console's own).
func (s *Server) publicBase(r *http.Request) string {
	if len(s.cfg.PublicURLs) > 0 {
		return strings.TrimSuffix(strings.TrimSpace(s.cfg.PublicURLs[0]), "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// tokensRevokeConfirmPage asks before a token is revoked, saying what
// goes dark: its open NOC screens and sockets, counted by the live
// engine, and its signed-in devices. The form on it posts the revocation.
func (s *Server) tokensRevokeConfirmPage(w http.ResponseWriter, r *http.Request) {
	id, ok := tokenIDParam(r)
	if !ok {
		s.error(w, r, mailnet.NotFound("token", r.PathValue("id")))
		return
	}
	toks, err := s.store.Tokens(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	i := slices.IndexFunc(toks, func(t mailnet.Token) bool { return t.ID == id })
	if i < 0 {
		s.error(w, r, mailnet.NotFound("token", r.PathValue("id")))
		return
	}
	v := views.TokenRevokeView{Token: toks[i]}
	v.Sockets, v.Screens = s.wsEngine().OpenFor(ws.Cred{TokenID: id})
	if v.Devices, err = s.store.CountTokenSessions(r.Context(), id); err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, s.pageFor(r.Context(), "Revoke token", "tokens"), views.TokenRevokeBody(v))
}

// tokensRevokePage revokes a token from the list and goes back to it.
func (s *Server) tokensRevokePage(w http.ResponseWriter, r *http.Request) {
	id, ok := tokenIDParam(r)
	if !ok {
		s.error(w, r, mailnet.NotFound("token", r.PathValue("id")))
		return
	}
	if _, err := s.actions.RevokeToken(r.Context(), id); err != nil {
		s.error(w, r, err)
		return
	}
	s.closeStreams(ws.Cred{TokenID: id}, wsTokenRevoked)
	http.Redirect(w, r, "/tokens", http.StatusSeeOther)
}

// tokenIDParam reads the {id} path value as a positive integer.
func tokenIDParam(r *http.Request) (int64, bool) {
	id, ok := parseID(r.PathValue("id"))
	return id, ok && id > 0
}

// boundToken is a token with the servers an agent speaks for.
type boundToken struct {
	mailnet.Token
	Servers []int64 `json:"servers"`
	// Scope is "servers" for a bound agent, "network-wide" for an agent
	// without servers, "" for other roles.
	Scope string `json:"scope"`
}

func nonNilIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

func tokenScope(role mailnet.Role, servers []int64) string {
	switch {
	case role != mailnet.RoleAgent:
		return ""
	case len(servers) > 0:
		return "servers"
	}
	return "network-wide"
}

// serverIDsByName reads a comma-separated list of server names (the
// tokens form's servers field) as ids; an unknown name is invalid.
func (s *Server) serverIDsByName(ctx context.Context, list string) ([]int64, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	idx, err := s.store.EventNameIndex(ctx)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		ref, ok := idx.Servers[store.FoldName(n)]
		if !ok {
			return nil, mailnet.Invalid("servers", "no server named %q", n)
		}
		ids = append(ids, ref.ID)
	}
	return ids, nil
}

// MarshalJSON is the token's own JSON with servers and scope added.
func (b boundToken) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(b.Token)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m["servers"], _ = json.Marshal(b.Servers)
	m["scope"], _ = json.Marshal(b.Scope)
	return json.Marshal(m)
}
