package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// rawGet GETs path as the viewer without the client's transparent
// decompression, sending Accept-Encoding as given (none if empty).
func (e *env) rawGet(path, acceptEncoding string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.HTTP.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.Viewer)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("GET %s: read: %v", path, err)
	}
	return res, body
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// perRequest strips what differs between two renders of one page (the
// CSP nonce and CSRF token, if any).
var perRequest = regexp.MustCompile(`(nonce|csrf[a-z_-]*)="[^"]*"|value="[A-Za-z0-9_-]{20,}"`)

func TestCompression(t *testing.T) {
	e := newEnv(t)
	seedNetwork(t, e.Store)
	_, _, css := e.get("/servers", e.Viewer)
	cssURL := regexp.MustCompile(`/static/app\.[^"]+\.css`).FindString(string(css))
	if cssURL == "" {
		t.Fatalf("no app.css link on /servers")
	}
	for _, path := range []string{"/servers", "/api/v1/servers", cssURL} {
		t.Run(path, func(t *testing.T) {
			plain, pb := e.rawGet(path, "")
			if plain.StatusCode != 200 || plain.Header.Get("Content-Encoding") != "" {
				t.Fatalf("without Accept-Encoding: status %d, Content-Encoding %q; want 200 and none",
					plain.StatusCode, plain.Header.Get("Content-Encoding"))
			}
			zipped, zb := e.rawGet(path, "gzip")
			if zipped.StatusCode != 200 || zipped.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("with Accept-Encoding: gzip: status %d, Content-Encoding %q; want 200 and gzip",
					zipped.StatusCode, zipped.Header.Get("Content-Encoding"))
			}
			if !strings.Contains(zipped.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("Vary = %q, want it to name Accept-Encoding", zipped.Header.Get("Vary"))
			}
			got := gunzip(t, zb)
			if len(zb) >= len(got) && len(got) > 2048 {
				t.Errorf("gzip body %d bytes for %d plain: not compressed", len(zb), len(got))
			}
			a, b := perRequest.ReplaceAll(pb, nil), perRequest.ReplaceAll(got, nil)
			if !bytes.Equal(a, b) {
				t.Errorf("gunzipped body (%d bytes) differs from the plain one (%d bytes)", len(b), len(a))
			}
		})
	}
}

// The websocket upgrade is never compressed by the middleware: a client
// that accepts gzip still gets its 101 and its frames.
func TestCompressionSkipsWebsocket(t *testing.T) {
	e := newEnv(t)
	h := http.Header{}
	h.Set("Authorization", "Bearer "+e.Viewer)
	h.Set("Accept-Encoding", "gzip")
	url := "ws" + strings.TrimPrefix(e.HTTP.URL, "http") + "/ws"
	c, res, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial /ws with Accept-Encoding: gzip: %v (status %d)", err, status)
	}
	defer c.Close()
	if ce := res.Header.Get("Content-Encoding"); ce != "" {
		t.Errorf("upgrade answered with Content-Encoding %q", ce)
	}
}
