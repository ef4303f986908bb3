package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"mailnet/web/views"
)

//go:embed static
var staticFS embed.FS

// HTMXVersion is the vendored htmx (web/static/htmx-VERSION.min.js, from
// the npm package htmx.org, with its licence in htmx-LICENSE.txt).
const HTMXVersion = "2.0.11"

// asset is one embedded static file, served at a URL that carries a hash of
// its content, so it can be cached for a year and a new build never serves
// a stale copy.
type asset struct {
	name        string // plain name: app.css
	url         string // /static/app.3f2a9c1b.css
	contentType string
	etag        string
	body        []byte
}

// assets indexes the embedded static files by hashed name and plain name.
type assets struct {
	byHashed map[string]*asset // "app.3f2a9c1b.css"
	urls     map[string]string // "app.css" -> "/static/app.3f2a9c1b.css"
}

// hashedName inserts the first 8 hex digits of sum before name's last
// extension: app.css -> app.3f2a9c1b.css, htmx-2.0.11.min.js ->
// htmx-2.0.11.min.3f2a9c1b.js.
func hashedName(name, sum string) string {
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + sum + ext
}

func loadAssets() (*assets, error) {
	a := &assets{byHashed: map[string]*asset{}, urls: map[string]string{}}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])[:8]
		hn := hashedName(e.Name(), h)
		ct := mime.TypeByExtension(path.Ext(e.Name()))
		switch path.Ext(e.Name()) {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".txt":
			ct = "text/plain; charset=utf-8"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		as := &asset{name: e.Name(), url: "/static/" + hn, contentType: ct, etag: strconv.Quote(h), body: body}
		a.byHashed[hn] = as
		a.urls[e.Name()] = as.url
	}
	return a, nil
}

// staticAssets is computed once from the embedded files: they are part of
// the binary and cannot change while it runs.
var staticAssets = func() *assets {
	a, err := loadAssets()
	if err != nil {
		panic("web: embedded static files: " + err.Error())
	}
	views.SetAssetURLs(a.urls)
	return a
}()

// serveStatic serves /static/{name} where name is a content-hashed file
// name; anything else is 404.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := staticAssets.byHashed[r.PathValue("name")]
	if !ok {
		http.Error(w, "no such static file", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", a.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
}
