// Package auth owns the pieces of signing in that are not HTTP handlers,
// not SQL and not business rules: password hashing (argon2id in PHC
// format), the login limiter (bounded in memory, reserving attempts
// before the hash), secrets and their hashes, the client address behind
// trusted proxies, and the parser of the Authorization header. The rules
// that use them (sign-in, sessions, tokens) are in internal/actions.
package auth
