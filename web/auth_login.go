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
	"unicode/utf8"

	"mailnet/internal/actions"
	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
	"mailnet/web/views"
)

// maxLoginBody bounds the sign-in form: a name, a password and a path.
const maxLoginBody = 8 << 10

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

// loginSubmit signs in with the form's name and password
// (actions.SignIn holds the rules: the login limiter, the one message for
// every refusal, the session limit) and sets the session cookie.
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
	in, err := s.actions.SignIn(ctx, actions.SignInInput{Name: f.Name, Password: f.Password, Address: addr, OldSecret: s.sessionSecret(r)})
	if err != nil {
		if ctx.Err() != nil {
			return // the client went away while waiting for a hash slot
		}
		var th *actions.ThrottledError
		if errors.As(err, &th) {
			s.log.WarnContext(ctx, "sign-in throttled", "by", th.By, "name", f.Name, "address", addr)
			w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(th.Wait.Seconds()))))
		}
		if e, ok := mailnet.AsError(err); ok && (e.Kind == mailnet.KindUnauthorized || e.Kind == mailnet.KindTooMany) {
			s.loginView(w, r, statusOf(e.Kind), views.LoginForm{Name: f.Name, Next: f.Next, Error: e.Message})
			return
		}
		s.error(w, r, err)
		return
	}
	s.log.InfoContext(ctx, "signed in", "account", in.Session.Name, "address", addr, "sessions_ended", in.Ended)
	s.setSessionCookie(w, r, in.Secret, false)
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
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
		if err := s.actions.SignOut(r.Context(), secret, s.auth.proxies.ClientAddr(r).String()); err != nil {
			s.error(w, r, err)
			return
		}
		s.closeSessionStreams(secret)
	}
	s.clearSessionCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
