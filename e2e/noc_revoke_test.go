package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// apiDo sends an admin's API request and decodes the answer into out.
func apiDo(t *testing.T, method, url, bearer string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: status %d", method, url, res.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
}

// TestBrowserNOCSessionEndedOnRevoke: a wall screen signed in as a NOC
// device with a viewer token says "session ended", within 5 s, when an
// administrator revokes that token through the API; its banner says so
// across the screen, and it does not knock again with the dead
// credential (it stays ended, on the same document).
func TestBrowserNOCSessionEndedOnRevoke(t *testing.T) {
	bin := binary(t)
	ctx := browserFor(t, 2*time.Minute)
	var sockets atomic.Int64 // websockets the page opened, as DevTools saw
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*network.EventWebSocketCreated); ok {
			sockets.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "noc.db")
	addr := freeAddr(t)
	base := "http://" + addr
	serve(t, bin, db, addr, "--demo", "--demo-rate", "0")
	viewer := token(t, bin, db, "noc-wall", "viewer")
	admin := token(t, bin, db, "ops", "admin")
	openNOC(t, ctx, base, viewer)

	var list struct {
		Tokens []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"tokens"`
	}
	apiDo(t, "GET", base+"/api/v1/tokens", admin, &list)
	id := int64(0)
	for _, tk := range list.Tokens {
		if tk.Name == "noc-wall" {
			id = tk.ID
		}
	}
	if id == 0 {
		t.Fatalf("the viewer token is not in the API's list: %+v", list.Tokens)
	}
	revoked := time.Now()
	apiDo(t, "POST", fmt.Sprintf("%s/api/v1/tokens/%d/revoke", base, id), admin, nil)
	took := waitFor(t, ctx, `"session ended" after the revocation`,
		`document.getElementById("noc-status").textContent === "session ended"`, 5*time.Second)
	t.Logf(`"session ended" %s after the revocation (%s after the POST returned)`, time.Since(revoked).Round(10*time.Millisecond), took.Round(10*time.Millisecond))
	waitFor(t, ctx, "the banner says the session ended", `document.getElementById("noc-banner").textContent.startsWith("session ended")`, 3*time.Second)
	if b, _ := chromedp.Run(ctx, chromedp.Evaluate[string](bannerJS)); !strings.HasPrefix(b, "session ended") {
		t.Errorf("the banner says %q; want \"session ended …\" across the screen", b)
	}
	screenshot(t, ctx, "noc-session-ended")
	opened := sockets.Load()

	// No new socket: the screen must not retry with a revoked token. The
	// reconnect backoff starts at 1 s; 3 s would have seen a retry or two.
	waitFor(t, ctx, "3 s after the end", fmt.Sprintf(`Date.now() > %d`, time.Now().Add(3*time.Second).UnixMilli()), 5*time.Second)
	if st, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("noc-status").textContent`)); st != "session ended" {
		t.Errorf("3 s after the end the screen says %q, want still \"session ended\"", st)
	}
	if n := sockets.Load(); n != opened {
		t.Errorf("the screen opened %d more websockets after its session ended; want none", n-opened)
	}
	if mark, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.nocMark === true`)); !mark {
		t.Error("the wall screen reloaded itself; it should stay and say the session ended")
	}
}
