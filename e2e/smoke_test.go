package e2e

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserStarts checks the harness itself: Chromium starts and renders a
// page served from this process.
func TestBrowserStarts(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><title>ok</title><p id="p">hello</p>`))
	}))
	defer hs.Close()
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL), chromedp.WaitVisible("#p")); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text("#p"))
	if err != nil {
		t.Fatal(err)
	}
	if text != "hello" {
		t.Errorf("got %q, want hello", text)
	}
}
