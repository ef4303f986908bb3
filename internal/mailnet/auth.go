package mailnet

import (
	"context"
	"encoding/json"
	"time"
)

// Role is what a principal may do.
type Role string

const (
	RoleAdmin  Role = "admin"  // everything
	RoleViewer Role = "viewer" // read-only: auditors and NOC screens
	RoleAgent  Role = "agent"  // ingest events only
	RolePublic Role = ""       // no sign-in needed (login page, health, static)
)

// Allows reports whether a principal with role r may use a route that
// requires need. Admin may do everything; a viewer may read; an agent may
// only ingest.
func (r Role) Allows(need Role) bool {
	switch need {
	case RolePublic:
		return true
	case RoleViewer:
		return r == RoleAdmin || r == RoleViewer
	case RoleAdmin:
		return r == RoleAdmin
	case RoleAgent:
		return r == RoleAdmin || r == RoleAgent
	}
	return false
}

// ValidRole reports whether s names a role that can be given.
func ValidRole(s string) bool {
	return s == string(RoleAdmin) || s == string(RoleViewer) || s == string(RoleAgent)
}

// Principal is who is making a request: an account signed in, a token, or
// a NOC device session.
type Principal struct {
	Name      string // account or token name; what the audit log shows
	Role      Role
	AccountID int64
	TokenID   int64
	Session   bool // authenticated by a session cookie (CSRF rules apply)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// ActorName is the name the audit log records for ctx's principal.
func ActorName(ctx context.Context) string {
	if p := PrincipalFrom(ctx); p != nil {
		return p.Name
	}
	return "system"
}

// Account is a person who signs in with a name and a password. Its
// password hash is not part of it: the store hands the hash only to
// sign-in.
type Account struct {
	ID        int64
	Name      string
	Role      Role
	Disabled  bool
	CreatedAt time.Time
}

// Token is a bearer token as listed. Only a hash of its secret is kept,
// and that hash is not part of it. LastUsedAt and RevokedAt are zero when
// it was never used or is live.
type Token struct {
	ID         int64
	Name       string
	Role       Role
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// Revoked reports whether the token no longer works.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// Session is a server-side sign-in: a browser's (account) or a NOC
// screen's (device, from a viewer token). The cookie holds a random
// secret; the store holds only its SHA-256 hash.
type Session struct {
	Hash      []byte
	AccountID int64 // set for a browser sign-in
	TokenID   int64 // set for a NOC device session
	Role      Role
	Name      string // the account's name, or "token:NAME" for a device
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // absolute end; zero for a device session (until revoked)
}

// Device reports whether the session belongs to a NOC screen.
func (s Session) Device() bool { return s.TokenID != 0 }

// Principal is who the session signs in.
func (s Session) Principal() *Principal {
	return &Principal{Name: s.Name, Role: s.Role, AccountID: s.AccountID, TokenID: s.TokenID, Session: true}
}

// wireTime is how the API (and the audit log's before/after) write the
// times of tokens and accounts: RFC 3339 in UTC with fixed-width
// nanoseconds, as they were stored and served before these types carried
// time.Time.
const wireTime = "2006-01-02T15:04:05.000000000Z07:00"

func wireTimeOr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(wireTime)
}

// MarshalJSON is the token as GET /api/v1/tokens lists it (and as its
// audit rows record it).
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		Role       Role   `json:"role"`
		CreatedBy  string `json:"created_by"`
		CreatedAt  string `json:"created_at"`
		LastUsedAt string `json:"last_used_at,omitempty"`
		RevokedAt  string `json:"revoked_at,omitempty"`
	}{t.ID, t.Name, t.Role, t.CreatedBy, wireTimeOr(t.CreatedAt), wireTimeOr(t.LastUsedAt), wireTimeOr(t.RevokedAt)})
}

// MarshalJSON is the account as its audit rows record it (the audit log is
// served by GET /api/v1/audit).
func (a Account) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		Role      Role   `json:"role"`
		Disabled  bool   `json:"disabled"`
		CreatedAt string `json:"created_at"`
	}{a.ID, a.Name, a.Role, a.Disabled, wireTimeOr(a.CreatedAt)})
}
