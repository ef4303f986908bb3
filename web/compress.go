package web

import (
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzhttp"
)

// compressedTypes are the responses worth compressing: pages, API answers,
// exports, style sheets and scripts. Anything else (images, archives, a
// body the handler already encoded) passes through untouched.
var compressedTypes = []string{
	"text/html", "application/json", "application/problem+json", "text/css",
	"text/javascript", "application/javascript", "text/csv", "text/plain", "image/svg+xml",
}

// compress returns the middleware that compresses responses (zstd or gzip,
// as the client's Accept-Encoding prefers; identity without one) with
// klauspost/compress's gzhttp. The websocket upgrade is left alone: its
// connection is hijacked and its frames are not HTTP bodies. A response
// that sets Content-Encoding itself is not encoded twice (gzhttp checks).
func compress() func(http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper(gzhttp.ContentTypes(compressedTypes), gzhttp.MinSize(1024))
	if err != nil {
		panic("gzhttp options: " + err.Error()) // static options: a programming error
	}
	return func(next http.Handler) http.Handler {
		zipped := wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isUpgrade(r) {
				next.ServeHTTP(w, r)
				return
			}
			zipped.ServeHTTP(w, r)
		})
	}
}

// isUpgrade reports whether r asks to switch protocols (the websocket).
func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return true
	}
	for _, v := range r.Header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}
