package web

import (
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
	"mailnet/web/views"
)

// maxLoginBody bounds the sign-in form: a name, a password and a path.
const maxLoginBody = 8 << 10

// loginFailed is the one message every refused sign-in gets, whether the
// name or the password was wrong or the account is disabled.
const loginFailed = "name or password is wrong"

// loginForm is the sign-in form as posted.
type loginForm struct {
	Name     string
	Password string
	Next     string
}

// parseLoginForm reads an application/x-www-form-urlencoded sign-in form
// of at most maxLoginBody bytes: one name, one password and an optional
// next path, each bounded and valid UTF-8.
func parseLoginForm(contentType string, body io.Reader) (loginForm, error) {
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return loginForm{}, mailnet.Errorf(mailnet.KindMalformed, "", "the sign-in form must be application/x-www-form-urlencoded")
		}
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxLoginBody+1))
	if err != nil {
		return loginForm{}, mailnet.Errorf(mailnet.KindMalformed, "", "the sign-in form could not be read")
	}
	if len(raw) > maxLoginBody {
		return loginForm{}, mailnet.Errorf(mailnet.KindTooLarge, "", "the sign-in form is larger than %d bytes", maxLoginBody)
	}
	vals, err := url.ParseQuery(string(raw))
	if err != nil {
		return loginForm{}, mailnet.Errorf(mailnet.KindMalformed, "", "the sign-in form is malformed")
	}
	one := func(field string, maxLen int) (string, error) {
		vs := vals[field]
		if len(vs) > 1 {
			return "", mailnet.Errorf(mailnet.KindMalformed, field, "%s is given more than once", field)
		}
		if len(vs) == 0 {
			return "", nil
		}
		if len(vs[0]) > maxLen || !utf8.ValidString(vs[0]) {
			return "", mailnet.Errorf(mailnet.KindMalformed, field, "%s is too long or not UTF-8 text", field)
		}
		return vs[0], nil
	}
	var f loginForm
	if f.Name, err = one("name", 256); err != nil {
		return loginForm{}, err
	}
	if f.Password, err = one("password", auth.MaxPasswordLen); err != nil {
		return loginForm{}, err
	}
	if f.Next, err = one("next", 2048); err != nil {
		return loginForm{}, err
	}
	f.Name = strings.TrimSpace(f.Name)
	return f, nil
}

// localPath returns next if it is a path on this console ("/x?y"), and "/"
// otherwise, so that a sign-in link cannot send the browser elsewhere
// ("//evil.example", "/\evil.example", "https://evil.example").
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	if u.Path == "/login" || u.Path == "/logout" {
		return "/"
	}
	return next
}

func (s *Server) loginView(w http.ResponseWriter, r *http.Request, status int, f views.LoginForm) {
	p := views.Page{Title: "Sign in", Active: "login"}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, p, views.LoginBody(f))
}

// loginPage shows the sign-in form.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if localPath(next) != next {
		next = ""
	}
	s.loginView(w, r, http.StatusOK, views.LoginForm{Next: next})
}

// loginSubmit checks the name and password and starts a session. Every
// refusal looks the same ("name or password is wrong") and costs the same
// time: an unknown name still verifies a (dummy) hash.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := parseLoginForm(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		e, _ := mailnet.AsError(err)
		s.loginView(w, r, statusOf(e.Kind), views.LoginForm{Error: e.Message})
		return
	}
	f.Next = localPath(f.Next)
	addr := s.auth.proxies.ClientAddr(r).String()
	nameKey := strings.ToLower(f.Name)
	now := s.now()
	if ok, wait := s.auth.byAddr.Allowed(addr, now); !ok {
		s.loginThrottled(w, r, f, wait, "address", addr)
		return
	}
	if ok, wait := s.auth.byName.Allowed(nameKey, now); !ok {
		s.loginThrottled(w, r, f, wait, "name", addr)
		return
	}

	acct, hash, err := s.store.AccountForLogin(ctx, f.Name)
	if err != nil && !errors.Is(err, mailnet.ErrNotFound) {
		s.error(w, r, err)
		return
	}
	if f.Name == "" || f.Password == "" {
		hash = "" // still pay for one hash: an empty field must not answer faster
	}
	ok, err := s.auth.hasher.Verify(ctx, f.Password, hash)
	if err != nil {
		if ctx.Err() != nil {
			return // the client went away while waiting for a hash slot
		}
		s.log.ErrorContext(ctx, "password hash unreadable", "account", acct.ID, "err", err)
		ok = false
	}
	if !ok || acct.Disabled {
		s.auth.byAddr.Fail(addr, now)
		s.auth.byName.Fail(nameKey, now)
		if err := s.store.AuditSignInFailure(ctx, f.Name, acct.ID, addr); err != nil {
			s.log.ErrorContext(ctx, "audit of failed sign-in", "err", err)
		}
		s.loginView(w, r, http.StatusUnauthorized, views.LoginForm{Name: f.Name, Next: f.Next, Error: loginFailed})
		return
	}
	s.auth.byName.Reset(nameKey)

	secret, _, err := s.store.SignIn(ctx, acct.ID, now.Add(SessionMax), s.sessionSecret(r), addr)
	if err != nil {
		if e, ok := mailnet.AsError(err); ok && e.Kind == mailnet.KindUnauthorized {
			s.loginView(w, r, http.StatusUnauthorized, views.LoginForm{Name: f.Name, Next: f.Next, Error: loginFailed})
			return
		}
		s.error(w, r, err)
		return
	}
	if n, err := s.store.PurgeSessions(ctx, now, SessionIdle); err != nil {
		s.log.WarnContext(ctx, "purge expired sessions", "err", err)
	} else if n > 0 {
		s.log.InfoContext(ctx, "expired sessions purged", "count", n)
	}
	s.log.InfoContext(ctx, "signed in", "account", acct.Name, "address", addr)
	s.setSessionCookie(w, r, secret, false)
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

func (s *Server) loginThrottled(w http.ResponseWriter, r *http.Request, f loginForm, wait time.Duration, by, addr string) {
	s.log.WarnContext(r.Context(), "sign-in throttled", "by", by, "name", f.Name, "address", addr)
	mins := int(math.Ceil(wait.Minutes()))
	w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
	s.loginView(w, r, http.StatusTooManyRequests, views.LoginForm{Name: f.Name, Next: f.Next,
		Error: fmt.Sprintf("too many failed sign-ins; try again in %d minutes", max(1, mins))})
}

// logoutPage offers the sign-out button (a GET changes nothing).
func (s *Server) logoutPage(w http.ResponseWriter, r *http.Request) {
	p := views.Page{Title: "Sign out"}
	if pr := mailnet.PrincipalFrom(r.Context()); pr != nil && pr.Session {
		p.User, p.Role = pr.Name, string(pr.Role)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, p, views.LogoutBody(p.User != ""))
}

// logoutSubmit ends the browser's session (deleting its row) and clears
// the cookie. With no session it only clears the cookie.
func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	if secret := s.sessionSecret(r); secret != "" {
		if err := s.store.SignOut(r.Context(), secret, s.auth.proxies.ClientAddr(r).String()); err != nil {
			s.error(w, r, err)
			return
		}
		s.closeSessionStreams(secret)
	}
	s.clearSessionCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
