package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/web/views"
)

// maxNOCLoginBody bounds the NOC sign-in form: one token.
const maxNOCLoginBody = 4 << 10

// nocLoginPage answers GET /noc/login?token=SECRET with a page whose form
// posts the token; the GET itself signs nobody in or out, so a link to it
// can never end the session of an admin who opens it. The page's script
// takes the token out of the address bar and, in a browser signed in as
// nobody (a wall display has no keyboard), posts the form at once.
func (s *Server) nocLoginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	q := r.URL.Query()
	if len(q["token"]) != 1 || q.Get("token") == "" || len(q.Get("token")) > 512 {
		s.error(w, r, mailnet.Errorf(mailnet.KindMalformed, "token", "open /noc/login?token=TOKEN with a viewer token"))
		return
	}
	f := views.NOCLoginForm{Token: q.Get("token")}
	if p := mailnet.PrincipalFrom(r.Context()); p != nil && p.Session {
		f.SignedInAs = p.Name
	}
	s.render(w, r, http.StatusOK, views.Page{Title: "NOC screen sign-in"}, views.NOCLoginBody(f))
}

// nocLoginSubmit answers POST /noc/login (form field token): it exchanges
// a viewer token for a NOC device session (actions.DeviceSignIn holds the
// rules), sets its cookie and redirects to /noc.
//
// Why a token may sign a browser in without a password: a wall display
// has no keyboard to type one into. The only thing it can ever yield is a
// read-only viewer session: a token of any other role is refused with
// 403, so an admin (or agent) token can never be turned into a cookie that
// a cross-site form could then ride. The post is same-origin only (the
// cross-origin check of authenticate), so another site cannot sign a
// browser in as its own screen either.
func (s *Server) nocLoginSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	r.Body = http.MaxBytesReader(w, r.Body, maxNOCLoginBody)
	if err := r.ParseForm(); err != nil {
		s.error(w, r, mailnet.Errorf(mailnet.KindMalformed, "", "the form could not be read"))
		return
	}
	toks := r.PostForm["token"]
	if len(toks) != 1 || toks[0] == "" {
		s.error(w, r, mailnet.Errorf(mailnet.KindMalformed, "token", "post one token, a viewer token"))
		return
	}
	addr := s.auth.proxies.ClientAddr(r).String()
	in, err := s.actions.DeviceSignIn(ctx, toks[0], s.sessionSecret(r), addr)
	if err != nil {
		var th *actions.ThrottledError
		if errors.As(err, &th) {
			w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(th.Wait.Seconds()))))
		}
		if mailnet.ErrorKind(err) == mailnet.KindForbidden {
			s.log.WarnContext(ctx, "NOC sign-in with a token that is not a viewer token refused", "address", addr)
		}
		s.error(w, r, err)
		return
	}
	s.log.InfoContext(ctx, "NOC screen signed in", "address", addr, "sessions_ended", in.Ended)
	s.setSessionCookie(w, r, in.Secret, true)
	http.Redirect(w, r, "/noc", http.StatusSeeOther)
}
