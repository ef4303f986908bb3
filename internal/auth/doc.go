// Package auth owns the pieces of signing in that are not HTTP handlers and
// not SQL: password hashing (argon2id in PHC format), login throttling
// (bounded in memory), the client address behind trusted proxies, and the
// parser of the Authorization header.
package auth
