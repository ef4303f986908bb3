package web_test

import (
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestTokensPageNOCAddressAndRevokeConfirmation: a viewer token made on
// the tokens page comes with its ready NOC address (an agent token does
// not); its Revoke button leads to a question that counts the open
// sockets that would go dark and changes nothing; the form there revokes,
// and the open socket closes with "token revoked".
func TestTokensPageNOCAddressAndRevokeConfirmation(t *testing.T) {
	e := newEnv(t)
	status, _, body := e.postForm("/tokens", e.Admin, url.Values{"name": {"lobby wall"}, "role": {"viewer"}})
	if status != http.StatusCreated {
		t.Fatalf("create: status %d", status)
	}
	secret := regexp.MustCompile(`id="token-secret"[^>]*>([^<]+)<`).FindStringSubmatch(body)
	if secret == nil {
		t.Fatalf("no secret on the page: %.2000s", body)
	}
	want := e.HTTP.URL + "/noc/login?token=" + url.QueryEscape(secret[1])
	m := regexp.MustCompile(`id="token-noc-url"[^>]*value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil || html.UnescapeString(m[1]) != want {
		t.Fatalf("NOC address %v, want %q", m, want)
	}
	if _, _, agentBody := e.postForm("/tokens", e.Admin, url.Values{"name": {"agent-x"}, "role": {"agent"}}); strings.Contains(agentBody, "token-noc-url") {
		t.Error("an agent token was given a NOC address")
	}

	list := e.adminPage("/tokens", http.StatusOK)
	link := regexp.MustCompile(`href="(/tokens/(\d+)/revoke)"[^>]*>Revoke`).FindAllStringSubmatch(list, -1)
	var confirm string
	for _, l := range link {
		confirm = l[1] // the newest token is listed... find the wall's by asking the page
		page := e.adminPage(confirm, http.StatusOK)
		if strings.Contains(page, "lobby wall") {
			break
		}
		confirm = ""
	}
	if confirm == "" {
		t.Fatalf("no Revoke link to a confirmation for the wall's token in %.3000s", list)
	}

	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.HTTP.URL, "http")+"/ws",
		http.Header{"Authorization": {"Bearer " + secret[1]}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	page := e.adminPage(confirm, http.StatusOK)
	if !strings.Contains(page, "This will end 1 open socket") {
		t.Errorf("the confirmation does not say 1 open socket goes dark: %.3000s", page)
	}
	if !strings.Contains(page, `method="post" action="`+confirm+`"`) {
		t.Errorf("the confirmation has no form posting to %s", confirm)
	}
	// Asking revoked nothing: the token still works.
	if st, _, _ := e.get("/api/v1/events", secret[1]); st != http.StatusOK {
		t.Fatalf("after the question the token answers %d, want 200", st)
	}

	if st, loc, _ := e.postForm(confirm, e.Admin, nil); st != http.StatusSeeOther || loc != "/tokens" {
		t.Fatalf("revoke: %d to %q, want 303 to /tokens", st, loc)
	}
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4001 || ce.Text != "token revoked" {
				t.Fatalf("socket ended with %v; want close 4001 \"token revoked\"", err)
			}
			break
		}
	}
	if st, _, _ := e.get("/api/v1/events", secret[1]); st != http.StatusUnauthorized {
		t.Errorf("after revocation the token answers %d, want 401", st)
	}
	if page := e.adminPage(confirm, http.StatusOK); !strings.Contains(page, "No screen or stream is open with it") {
		t.Errorf("after revocation the question still counts open sockets")
	}
}
