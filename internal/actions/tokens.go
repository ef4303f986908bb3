package actions

import (
	"context"
	"fmt"
	"time"

	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// tokenTouchEvery: a token's last use is written at most this often, so a
// busy agent does not turn every request into a write.
const tokenTouchEvery = time.Minute

// CreateToken checks the name and the role and stores a new token created
// by ctx's principal, with its audit row. It returns the token and its
// secret, which is shown once and never stored.
func (a *Actions) CreateToken(ctx context.Context, name, role string) (mailnet.Token, string, error) {
	return a.CreateBoundToken(ctx, name, role, nil)
}

// CreateBoundToken is CreateToken for an agent bound to servers: it may
// post events only for them (and the requestors whose postoffice or DX
// server they are). No servers: a network-wide collector.
func (a *Actions) CreateBoundToken(ctx context.Context, name, role string, servers []int64) (mailnet.Token, string, error) {
	if err := checkAccountName("name", name); err != nil {
		return mailnet.Token{}, "", err
	}
	if !mailnet.ValidRole(role) {
		return mailnet.Token{}, "", mailnet.Invalid("role", "role must be admin, viewer or agent")
	}
	if len(servers) > 0 && mailnet.Role(role) != mailnet.RoleAgent {
		return mailnet.Token{}, "", mailnet.Invalid("servers", "only an agent token can be bound to servers")
	}
	if len(servers) > 1000 {
		return mailnet.Token{}, "", mailnet.Invalid("servers", "at most 1000 servers")
	}
	secret := auth.TokenPrefix + auth.NewSecret()
	t := mailnet.Token{Name: name, Role: mailnet.Role(role), CreatedBy: mailnet.ActorName(ctx)}
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		for _, id := range servers {
			if _, err := tx.ServerByID(ctx, id); isNotFound(err) {
				return mailnet.Invalid("servers", "server %d does not exist", id)
			} else if err != nil {
				return err
			}
		}
		if err := tx.InsertToken(ctx, &t, auth.HashSecret(secret)); err != nil {
			return err
		}
		if err := tx.SetTokenServers(ctx, t.ID, servers); err != nil {
			return err
		}
		detail := "network-wide"
		if len(servers) > 0 {
			detail = fmt.Sprintf("bound to servers %v", servers)
		}
		return tx.Audit(ctx, "token.create", "token", t.ID, nil, t, detail)
	})
	if err != nil {
		return mailnet.Token{}, "", err
	}
	return t, secret, nil
}

// RevokeToken revokes the token and ends the NOC device sessions it signed
// in, with its audit row, in one transaction. Revoking a revoked token is
// a conflict.
func (a *Actions) RevokeToken(ctx context.Context, id int64) (mailnet.Token, error) {
	var t mailnet.Token
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = tx.TokenByID(ctx, id); err != nil {
			return err
		}
		if t.Revoked() {
			return mailnet.Conflict("token %d was already revoked at %s", id, t.RevokedAt.Format(store.TimeLayout))
		}
		before := t
		if err := tx.SetTokenRevoked(ctx, id); err != nil {
			return err
		}
		t.RevokedAt = tx.Now()
		n, err := tx.DeleteTokenSessions(ctx, id)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, "token.revoke", "token", id, before, t, fmt.Sprintf("%d device sessions ended", n))
	})
	return t, err
}

// BearerToken returns the live token whose secret is secret, or
// ErrNotFound, and records its use (at most once a minute; a failure to
// record is logged, not returned).
func (a *Actions) BearerToken(ctx context.Context, secret string) (mailnet.Token, error) {
	t, err := a.Store.TokenByHash(ctx, auth.HashSecret(secret))
	if err != nil {
		return mailnet.Token{}, err
	}
	now := a.Store.Now()
	if t.LastUsedAt.IsZero() || now.Sub(t.LastUsedAt) >= tokenTouchEvery {
		err := a.Store.Write(ctx, func(tx *store.Tx) error {
			return tx.TouchToken(ctx, t.ID, now, now.Add(-tokenTouchEvery))
		})
		if err != nil {
			a.Log.WarnContext(ctx, "token last use not recorded", "token", t.ID, "err", err)
		}
	}
	return t, nil
}
