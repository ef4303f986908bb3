package auth

import (
	"context"
	"fmt"
)

// Hasher hashes and verifies passwords with a cap on how many argon2
// computations run at once: each one takes Params.Memory of RAM, so a burst
// of sign-ins must queue rather than exhaust memory.
type Hasher struct {
	params Params
	sem    chan struct{}
	dummy  string // a hash of nothing anyone knows, verified when the account does not exist
}

// NewHasher returns a hasher using p with at most concurrency hashes at a
// time (at least 1).
func NewHasher(p Params, concurrency int) (*Hasher, error) {
	dummy, err := Hash("no account has this password", p)
	if err != nil {
		return nil, err
	}
	return &Hasher{params: p, sem: make(chan struct{}, max(1, concurrency)), dummy: dummy}, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password hash: %w", ctx.Err())
	}
}

// Hash hashes password with the hasher's parameters.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.sem }()
	return Hash(password, h.params)
}

// Verify reports whether password matches phc. An empty phc (no such
// account) verifies against a dummy hash and returns false, so that the
// time taken does not reveal whether the account exists.
func (h *Hasher) Verify(ctx context.Context, password, phc string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.sem }()
	if phc == "" {
		_, _ = Verify(password, h.dummy)
		return false, nil
	}
	return Verify(password, phc)
}
