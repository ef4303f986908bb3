package actions

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Session lifetimes. A browser session ends after SessionIdle without a
// request (sliding) or SessionMax after sign-in, whichever comes first. A
// NOC device session has neither: it lasts until its token is revoked.
const (
	SessionIdle         = 30 * time.Minute
	SessionMax          = 12 * time.Hour
	sessionTouchEvery   = time.Minute // last_seen is written at most this often
	MaxAccountSessions  = 10          // browser sessions per account
	MaxTokenDeviceLogin = 20          // NOC device sessions per viewer token
)

// Why a sign-in past the session limit ends the least recently used
// session instead of being refused: the one signing in has just proved the
// password, and a refusal would lock the owner out behind sessions left on
// browsers she can no longer reach (or that someone else holds). Ending
// the oldest keeps the number bounded, and the audit row of the sign-in
// says how many were ended.

// LoginFailed is the one message every refused sign-in gets, whether the
// name or the password was wrong or the account is disabled.
const LoginFailed = "name or password is wrong"

var errLoginFailed = mailnet.Errorf(mailnet.KindUnauthorized, "", LoginFailed)

// defaultHasher is the production password hasher, made once per process
// (making one hashes a dummy password).
var defaultHasher = sync.OnceValue(func() *auth.Hasher {
	h, err := auth.NewHasher(auth.DefaultParams, 4)
	if err != nil {
		panic("password hasher: " + err.Error()) // crypto/rand failed: nothing works
	}
	return h
})

// ThrottledError refuses a sign-in because a bound of the login limiter
// is reached. It unwraps to a mailnet.Error of KindTooMany.
type ThrottledError struct {
	By   string        // which bound: "address", "name" or "name and address"
	Wait time.Duration // until the next attempt may be made
	err  *mailnet.Error
}

func (e *ThrottledError) Error() string { return e.err.Error() }
func (e *ThrottledError) Unwrap() error { return e.err }

func throttled(r auth.Refusal, msg string) error {
	return &ThrottledError{By: r.By, Wait: r.Wait, err: mailnet.Errorf(mailnet.KindTooMany, "", "%s", msg)}
}

// SignInInput is a sign-in with a name and a password, from Address,
// by a browser that holds OldSecret (its session cookie, or "").
type SignInInput struct {
	Name      string
	Password  string
	Address   string
	OldSecret string
}

// SignedIn is a new session and the secret its cookie holds.
type SignedIn struct {
	Secret  string
	Session mailnet.Session
	Ended   int64 // older sessions ended by the limit per account or token
}

// SignIn checks a name and password and starts a session.
//
// The attempt is reserved with the login limiter before the password is
// verified, so however many guesses arrive at once, at most the limiter's
// bounds are ever verified; the others are refused with a ThrottledError
// and verify nothing. Every refusal of a reserved attempt looks the same
// (LoginFailed) and costs the same time: an unknown name still verifies a
// dummy hash. A refused sign-in is audited with the name tried and the
// address, never the password.
//
// The session replaces the one the browser held (a sign-in always gets a
// new session id). Expired sessions are purged, and past
// MaxAccountSessions the account's least recently used ones end.
func (a *Actions) SignIn(ctx context.Context, in SignInInput) (SignedIn, error) {
	name := strings.TrimSpace(in.Name)
	at, refusal := a.Logins.Reserve(strings.ToLower(name), in.Address, a.Store.Now())
	if at == nil {
		mins := int(math.Ceil(refusal.Wait.Minutes()))
		return SignedIn{}, throttled(refusal, fmt.Sprintf("too many failed sign-ins; try again in %d minutes", max(1, mins)))
	}
	acct, hash, err := a.Store.AccountForLogin(ctx, name)
	if err != nil && !errors.Is(err, mailnet.ErrNotFound) {
		at.Cancel()
		return SignedIn{}, err
	}
	if name == "" || in.Password == "" {
		hash = "" // still pay for one hash: an empty field must not answer faster
	}
	ok, err := a.Passwords.Verify(ctx, in.Password, hash)
	if err != nil {
		if ctx.Err() != nil {
			at.Cancel() // the client went away while waiting for a hash slot
			return SignedIn{}, ctx.Err()
		}
		a.Log.ErrorContext(ctx, "password hash unreadable", "account", acct.ID, "err", err)
		ok = false
	}
	if !ok || acct.Disabled {
		at.Fail(a.Store.Now())
		if err := a.auditSignInFailure(ctx, name, acct.ID, in.Address); err != nil {
			a.Log.ErrorContext(ctx, "audit of failed sign-in", "err", err)
		}
		return SignedIn{}, errLoginFailed
	}
	at.Succeed(a.Store.Now())

	out := SignedIn{Secret: auth.NewSecret()}
	err = a.Store.Write(ctx, func(tx *store.Tx) error {
		acct, err := tx.AccountByID(ctx, acct.ID)
		if errors.Is(err, mailnet.ErrNotFound) || (err == nil && acct.Disabled) {
			return errLoginFailed // deleted or disabled since it was read
		}
		if err != nil {
			return err
		}
		if err := a.endOldSession(ctx, tx, in.OldSecret); err != nil {
			return err
		}
		if err := a.purgeSessions(ctx, tx); err != nil {
			return err
		}
		if out.Ended, err = tx.TrimAccountSessions(ctx, acct.ID, MaxAccountSessions-1); err != nil {
			return err
		}
		out.Session = mailnet.Session{Hash: auth.HashSecret(out.Secret), AccountID: acct.ID, Role: acct.Role, Name: acct.Name,
			CreatedAt: tx.Now(), LastSeen: tx.Now(), ExpiresAt: tx.Now().Add(SessionMax)}
		if err := tx.InsertSession(ctx, out.Session); err != nil {
			return err
		}
		detail := "signed in from " + in.Address
		if out.Ended > 0 {
			detail += fmt.Sprintf("; %d least recently used sessions ended (at most %d per account)", out.Ended, MaxAccountSessions)
		}
		ctx := mailnet.WithPrincipal(ctx, out.Session.Principal())
		return tx.Audit(ctx, "auth.login", "account", acct.ID, nil, map[string]string{"name": acct.Name, "address": in.Address}, detail)
	})
	if err != nil {
		return SignedIn{}, err
	}
	return out, nil
}

func (a *Actions) auditSignInFailure(ctx context.Context, name string, accountID int64, address string) error {
	return a.Store.Write(ctx, func(tx *store.Tx) error {
		ctx := mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: "anonymous"})
		return tx.Audit(ctx, "auth.login_failed", "account", accountID, nil,
			map[string]string{"name": name, "address": address}, fmt.Sprintf("sign-in as %q refused from %s", name, address))
	})
}

// endOldSession deletes the session the browser held before signing in.
func (a *Actions) endOldSession(ctx context.Context, tx *store.Tx, oldSecret string) error {
	if oldSecret == "" {
		return nil
	}
	_, err := tx.DeleteSession(ctx, auth.HashSecret(oldSecret))
	return err
}

func (a *Actions) purgeSessions(ctx context.Context, tx *store.Tx) error {
	n, err := tx.PurgeSessions(ctx, tx.Now(), SessionIdle)
	if n > 0 {
		a.Log.InfoContext(ctx, "expired sessions purged", "count", n)
	}
	return err
}

// DeviceSignIn exchanges a live viewer token for a NOC device session that
// lasts until the token is revoked, and audits it. Unknown or revoked
// tokens count against the address's bound of the login limiter and are
// audited; a token of another role is refused (403): an admin token must
// never become a cookie. Past MaxTokenDeviceLogin the token's least
// recently used device sessions end.
func (a *Actions) DeviceSignIn(ctx context.Context, tokenSecret, oldSecret, address string) (SignedIn, error) {
	at, refusal := a.Logins.Reserve("", address, a.Store.Now())
	if at == nil {
		return SignedIn{}, throttled(refusal, "too many failed sign-ins from this address; try again later")
	}
	unknown := mailnet.Errorf(mailnet.KindUnauthorized, "token", "unknown or revoked token")
	secret, err := auth.ParseBearer("Bearer " + tokenSecret)
	if err != nil {
		at.Fail(a.Store.Now())
		return SignedIn{}, unknown
	}
	out := SignedIn{Secret: auth.NewSecret()}
	err = a.Store.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.LiveTokenByHash(ctx, auth.HashSecret(secret))
		if err != nil {
			return err
		}
		if t.Role != mailnet.RoleViewer {
			return mailnet.Errorf(mailnet.KindForbidden, "token", "only a viewer token can sign in a NOC screen")
		}
		if err := a.endOldSession(ctx, tx, oldSecret); err != nil {
			return err
		}
		if out.Ended, err = tx.TrimTokenSessions(ctx, t.ID, MaxTokenDeviceLogin-1); err != nil {
			return err
		}
		out.Session = mailnet.Session{Hash: auth.HashSecret(out.Secret), TokenID: t.ID, Role: t.Role, Name: "token:" + t.Name,
			CreatedAt: tx.Now(), LastSeen: tx.Now()}
		if err := tx.InsertSession(ctx, out.Session); err != nil {
			return err
		}
		if err := tx.TouchToken(ctx, t.ID, tx.Now(), tx.Now()); err != nil {
			return err
		}
		detail := "NOC screen signed in from " + address
		if out.Ended > 0 {
			detail += fmt.Sprintf("; %d least recently used device sessions ended (at most %d per token)", out.Ended, MaxTokenDeviceLogin)
		}
		ctx := mailnet.WithPrincipal(ctx, out.Session.Principal())
		return tx.Audit(ctx, "auth.device_login", "token", t.ID, nil, map[string]string{"address": address}, detail)
	})
	switch {
	case errors.Is(err, mailnet.ErrNotFound):
		at.Fail(a.Store.Now())
		aerr := a.Store.Write(ctx, func(tx *store.Tx) error {
			ctx := mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: "anonymous"})
			return tx.Audit(ctx, "auth.device_login_failed", "token", 0, nil,
				map[string]string{"address": address}, "NOC sign-in with an unknown or revoked token from "+address)
		})
		if aerr != nil {
			a.Log.ErrorContext(ctx, "audit of failed device sign-in", "err", aerr)
		}
		return SignedIn{}, unknown
	case err != nil:
		at.Cancel()
		return SignedIn{}, err
	}
	at.Succeed(a.Store.Now())
	return out, nil
}

// Session returns the live session whose cookie secret is secret, or
// ErrNotFound. A browser session past its idle or absolute end is deleted
// and not found; a live one has last_seen moved forward at most once a
// minute (a failure to record that is logged, not returned).
func (a *Actions) Session(ctx context.Context, secret string) (mailnet.Session, error) {
	sess, err := a.Store.SessionByHash(ctx, auth.HashSecret(secret))
	if err != nil {
		return mailnet.Session{}, err
	}
	now := a.Store.Now()
	if !sess.Device() && (!now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeen) >= SessionIdle) {
		err := a.Store.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.DeleteSession(ctx, sess.Hash) // expired: nobody acted, no audit row
			return err
		})
		if err != nil {
			return mailnet.Session{}, err
		}
		return mailnet.Session{}, mailnet.ErrNotFound
	}
	if now.Sub(sess.LastSeen) >= sessionTouchEvery {
		err := a.Store.Write(ctx, func(tx *store.Tx) error { return tx.TouchSession(ctx, sess.Hash, now) })
		if err != nil {
			a.Log.WarnContext(ctx, "session last_seen not recorded", "err", err)
		}
	}
	return sess, nil
}

// SignOut ends the session with that secret and audits it as the
// session's owner. Signing out of no session (or an expired one) deletes
// whatever row is left and writes no audit row.
func (a *Actions) SignOut(ctx context.Context, secret, address string) error {
	hash := auth.HashSecret(secret)
	sess, err := a.Store.SessionByHash(ctx, hash)
	if err != nil && !errors.Is(err, mailnet.ErrNotFound) {
		return err
	}
	found := err == nil
	return a.Store.Write(ctx, func(tx *store.Tx) error {
		deleted, err := tx.DeleteSession(ctx, hash)
		if err != nil || !deleted || !found {
			return err
		}
		ctx := mailnet.WithPrincipal(ctx, sess.Principal())
		typ, id := "account", sess.AccountID
		if sess.Device() {
			typ, id = "token", sess.TokenID
		}
		return tx.Audit(ctx, "auth.logout", typ, id, nil, nil, "signed out from "+address)
	})
}
