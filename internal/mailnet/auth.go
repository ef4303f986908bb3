package mailnet

import "context"

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
