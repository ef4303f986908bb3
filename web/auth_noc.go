package web

import (
	"errors"
	"net/http"

	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
)

// nocLogin exchanges a viewer token (?token=SECRET) for a NOC device
// session, sets its cookie and redirects to /noc, so the secret leaves the
// address bar and the history.
//
// Why a GET may create a session here: it is a sign-in, like following a
// magic link, and a wall display has no keyboard to type a password into.
// It changes no inventory, and the only thing it can ever yield is a
// read-only viewer session: a token of any other role is refused with 403,
// so an admin (or agent) token can never be turned into a cookie that a
// cross-site form could then ride. The worst a forged link can do is sign
// a browser in as the forger's own read-only screen.
func (s *Server) nocLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	addr := s.auth.proxies.ClientAddr(r).String()
	now := s.now()
	if ok, _ := s.auth.byAddr.Allowed(addr, now); !ok {
		s.error(w, r, mailnet.Errorf(mailnet.KindTooMany, "", "too many failed sign-ins from this address; try again later"))
		return
	}
	q := r.URL.Query()
	if len(q["token"]) != 1 || q.Get("token") == "" {
		s.error(w, r, mailnet.Errorf(mailnet.KindMalformed, "token", "open /noc/login?token=TOKEN with a viewer token"))
		return
	}
	secret, err := auth.ParseBearer("Bearer " + q.Get("token"))
	if err != nil {
		s.auth.byAddr.Fail(addr, now)
		s.error(w, r, mailnet.Errorf(mailnet.KindUnauthorized, "token", "unknown or revoked token"))
		return
	}
	sessSecret, _, err := s.store.DeviceSignIn(ctx, secret, s.sessionSecret(r), addr)
	if err != nil {
		if errors.Is(err, mailnet.ErrNotFound) {
			s.auth.byAddr.Fail(addr, now)
			if aerr := s.store.AuditDeviceSignInFailure(ctx, addr); aerr != nil {
				s.log.ErrorContext(ctx, "audit of failed device sign-in", "err", aerr)
			}
			s.error(w, r, mailnet.Errorf(mailnet.KindUnauthorized, "token", "unknown or revoked token"))
			return
		}
		if mailnet.ErrorKind(err) == mailnet.KindForbidden {
			s.log.WarnContext(ctx, "NOC sign-in with a token that is not a viewer token refused", "address", addr)
		}
		s.error(w, r, err)
		return
	}
	s.log.InfoContext(ctx, "NOC screen signed in", "address", addr)
	s.setSessionCookie(w, r, sessSecret, true)
	http.Redirect(w, r, "/noc", http.StatusSeeOther)
}
