// Package actions holds every state-changing workflow of the console:
// inventory writes, moves, decommission, dir-sync toggles, connector
// overrides. Each action validates its input, writes through the store in
// one transaction together with its audit row, and publishes to the live
// hub after commit. Nothing else in the console writes.
package actions

import (
	"log/slog"

	"mailnet/internal/auth"
	"mailnet/internal/live"
	"mailnet/internal/store"
)

// Actions is the write side of the console.
type Actions struct {
	Store *store.Store
	Live  live.Publisher
	Log   *slog.Logger

	// Passwords hashes and verifies passwords, Logins bounds sign-in
	// attempts (sessions.go). New sets the production ones.
	Passwords PasswordHasher
	Logins    *auth.LoginLimiter

	// posted is signalled (without blocking) after a job is queued, to wake
	// a runner at once instead of at its next poll.
	posted chan struct{}
}

// New returns the actions over st, publishing to pub.
func New(st *store.Store, pub live.Publisher, log *slog.Logger) *Actions {
	if pub == nil {
		pub = live.Nop{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Actions{Store: st, Live: pub, Log: log, posted: make(chan struct{}, 1),
		Passwords: defaultHasher(), Logins: auth.NewLoginLimiter(auth.DefaultLoginLimits)}
}
