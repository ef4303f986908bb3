package auth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies is the set of reverse proxies whose forwarding headers are
// believed. Everyone else's X-Forwarded-For and X-Forwarded-Proto are
// attacker-controlled and ignored.
type Proxies []netip.Prefix

// ParseProxies reads CIDRs (or bare addresses) such as "10.0.0.0/8" or
// "127.0.0.1".
func ParseProxies(list []string) (Proxies, error) {
	var out Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (ps Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func remoteAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// ClientAddr is the address of the client that sent r. When the peer is a
// trusted proxy, X-Forwarded-For is read from the right, skipping trusted
// proxies, and the first address that is not one of them is the client:
// entries further left were written by the client itself and prove
// nothing.
func (ps Proxies) ClientAddr(r *http.Request) netip.Addr {
	peer := remoteAddr(r)
	if !ps.trusts(peer) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	var all []string
	for _, h := range hops {
		all = append(all, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(all) - 1; i >= 0 && i >= len(all)-32; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(all[i]))
		if err != nil {
			return client // a malformed hop: trust nothing further left
		}
		client = a.Unmap()
		if !ps.trusts(client) {
			return client
		}
	}
	return client
}

// Secure reports whether the client reached us over TLS: directly, or
// through a trusted proxy that says so in X-Forwarded-Proto.
func (ps Proxies) Secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !ps.trusts(remoteAddr(r)) {
		return false
	}
	proto := r.Header.Get("X-Forwarded-Proto")
	if i := strings.LastIndexByte(proto, ','); i >= 0 {
		proto = proto[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// ErrBadAuthorization is returned for an Authorization header that is not
// "Bearer TOKEN".
var ErrBadAuthorization = errors.New(`the Authorization header must be "Bearer TOKEN"`)

// maxTokenLen bounds a bearer token; ours are 47 characters.
const maxTokenLen = 512

// ParseBearer returns the token of an "Authorization: Bearer TOKEN" header
// value. The scheme is case-insensitive (RFC 9110); the token must be
// non-empty token68 characters.
func ParseBearer(h string) (string, error) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrBadAuthorization
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || len(tok) > maxTokenLen {
		return "", ErrBadAuthorization
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~+/=", c) >= 0:
		default:
			return "", ErrBadAuthorization
		}
	}
	return tok, nil
}
