package views

import "sync/atomic"

// assetURLs maps a static file's plain name ("app.css") to its
// content-hashed URL ("/static/app.3f2a9c1b.css"). The web package
// registers it once at start-up from the embedded files; it never changes
// afterwards, since the files are compiled into the binary.
var assetURLs atomic.Pointer[map[string]string]

// SetAssetURLs registers the hashed URLs of the embedded static files.
func SetAssetURLs(m map[string]string) { assetURLs.Store(&m) }

// Asset returns the content-hashed URL of the static file name, so that a
// page always loads the version it was built with and browsers may cache it
// for a year. An unknown name returns "/static/" + name, which 404s loudly
// rather than silently serving something stale.
func Asset(name string) string {
	if m := assetURLs.Load(); m != nil {
		if u, ok := (*m)[name]; ok {
			return u
		}
	}
	return "/static/" + name
}
