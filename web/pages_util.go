package web

import (
	"net/http"
	"net/url"
	"strings"
)

// sameOriginPath returns the path and query of ref if ref points at this
// console (same host), or "" otherwise; an error page links back to it.
func sameOriginPath(ref string, r *http.Request) string {
	u, err := url.Parse(ref)
	if err != nil || u.Host != r.Host || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return ""
	}
	if u.RawQuery != "" {
		return u.Path + "?" + u.RawQuery
	}
	return u.Path
}

// pathID reads a positive integer path value, or returns a 404-kind error.
func pathID(r *http.Request, name string) (int64, bool) {
	id, ok := parseID(r.PathValue(name))
	return id, ok && id > 0
}
