package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// TokenPrefix marks Mailnet Admin tokens so they are recognizable in logs
// and secret scanners.
const TokenPrefix = "mna_"

// HashSecret is how token and session secrets are kept: SHA-256, since the
// secrets are 256 random bits and need no slow hash.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewSecret returns a random secret of 256 bits, URL-safe.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
