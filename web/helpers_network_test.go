package web_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// net is the small network the page tests look at: two MS Mail servers at
// different sites with one serial (the Q99393 pair), an Exchange server
// with two addresses, a PC postoffice, routes and an X.400 connector.
type testNet struct {
	Redmond, Paris                mailnet.Site
	MacA, MacB, Exch1, Exch2, PC1 mailnet.Server
	Alice, Bob, Carol             mailnet.User
}

func seedNetwork(t testing.TB, st *store.Store) *testNet {
	t.Helper()
	n := &testNet{}
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "test", Role: mailnet.RoleAdmin})
	err := st.Write(ctx, func(tx *store.Tx) error {
		var err error
		if n.Redmond, err = tx.InsertSite(ctx, "Redmond"); err != nil {
			return err
		}
		if n.Paris, err = tx.InsertSite(ctx, "Paris"); err != nil {
			return err
		}
		servers := []struct {
			dst  *mailnet.Server
			name string
			site int64
			kind string
			ser  string
			addr []string
		}{
			{&n.MacA, "MAC-REDMOND", n.Redmond.ID, mailnet.ServerKindMSMailMac, "31-0042", []string{"10.1.0.5"}},
			{&n.MacB, "MAC-PARIS", n.Paris.ID, mailnet.ServerKindMSMailMac, "31-0042", []string{"10.2.0.5"}},
			{&n.Exch1, "EXCH-RED", n.Redmond.ID, mailnet.ServerKindExchange, "EX-1001", []string{"10.1.0.10", "10.1.0.11"}},
			{&n.Exch2, "EXCH-PAR", n.Paris.ID, mailnet.ServerKindExchange, "EX-1002", []string{"10.2.0.10"}},
			{&n.PC1, "PCPO-ZULU", n.Paris.ID, mailnet.ServerKindMSMailPC, "PC-0900", []string{"10.2.0.20"}},
		}
		for _, s := range servers {
			*s.dst = mailnet.Server{Name: s.name, SiteID: s.site, Kind: s.kind, Version: "3.1", Serial: s.ser, Addresses: s.addr, Status: mailnet.StatusRunning}
			if err := tx.InsertServer(ctx, s.dst); err != nil {
				return err
			}
		}
		users := []struct {
			dst         *mailnet.User
			alias, name string
			server      int64
		}{
			{&n.Alice, "alice", "Alice Martin", n.MacB.ID},
			{&n.Bob, "bob", "Bob Jones", n.MacA.ID},
			{&n.Carol, "carol", "Carol Lee", n.Exch1.ID},
		}
		for _, u := range users {
			*u.dst = mailnet.User{Alias: u.alias, DisplayName: u.name, ServerID: u.server, InAllListing: true}
			if err := tx.InsertUser(ctx, u.dst); err != nil {
				return err
			}
		}
		routes := []mailnet.Route{
			{FromServerID: n.MacA.ID, ToServerID: n.Exch1.ID, Configured: mailnet.RouteDirect},
			{FromServerID: n.Exch1.ID, ToServerID: n.PC1.ID, Configured: mailnet.RouteDirect},
			{FromServerID: n.Exch2.ID, ToServerID: n.MacB.ID, Configured: mailnet.RouteDirect},
			{FromServerID: n.PC1.ID, ToServerID: n.Exch2.ID, Configured: mailnet.RouteIndirect, ViaServerID: n.Exch1.ID},
		}
		for _, rt := range routes {
			if err := tx.UpsertRoute(ctx, rt); err != nil {
				return err
			}
		}
		conns := []mailnet.Connector{
			{Kind: mailnet.ConnectorX400, Name: "TCP to MTA B", ServerID: n.Exch1.ID, RemoteServerID: n.Exch2.ID, StackAddresses: []string{"10.2.0.10"}, Logging: map[string]string{"MSExchangeMTA": "medium"}},
			{Kind: mailnet.ConnectorX400, Name: "TCP to MTA A", ServerID: n.Exch2.ID, RemoteServerID: n.Exch1.ID, StackAddresses: []string{"10.1.0.10"}},
			{Kind: mailnet.ConnectorMSMail, Name: "MS Mail Connector", ServerID: n.Exch2.ID, RemoteServerID: n.PC1.ID, PollMinutes: 5, Logging: map[string]string{"MSExchangePCMTA": "maximum"}},
		}
		for i := range conns {
			if err := tx.InsertConnector(ctx, &conns[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed network: %v", err)
	}
	return n
}

// get sends a GET with the token and headers given as name, value pairs,
// and returns the status, headers and body.
func (e *env) get(path, token string, headers ...string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.HTTP.URL+path, nil)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := *e.HTTP.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("GET %s: read: %v", path, err)
	}
	return res.StatusCode, res.Header, body
}

// page GETs path as the viewer and fails unless the status is want.
func (e *env) page(path string, want int, headers ...string) string {
	e.t.Helper()
	got, _, body := e.get(path, e.Viewer, headers...)
	if got != want {
		e.t.Fatalf("GET %s: status %d, want %d; body %.600s", path, got, want, body)
	}
	return string(body)
}

var assetRef = regexp.MustCompile(`"/static/([^"]+)"`)

// dumpHTML writes body, and the static files it names, under
// $MAILNET_PAGES_DIR (when set) so the pages can be looked at in a browser
// from disk, without weakening auth.
func (e *env) dumpHTML(t *testing.T, name, body string) {
	dir := os.Getenv("MAILNET_PAGES_DIR")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(filepath.Join(dir, "static"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, m := range assetRef.FindAllStringSubmatch(body, -1) {
		_, _, b := e.get("/static/"+m[1], "")
		if err := os.WriteFile(filepath.Join(dir, "static", m[1]), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	body = strings.ReplaceAll(body, `"/static/`, `"static/`)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatalf("dump %s: %v", name, err)
	}
}

var (
	inlineScript = regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>\s*[^<\s]`)
	styleAttr    = regexp.MustCompile(`(?i)\sstyle\s*=`)
	styleElement = regexp.MustCompile(`(?i)<style[\s>]`)
)

// checkCSP fails if body holds an inline script body, a style attribute or
// a style element: the CSP forbids all three.
func checkCSP(t *testing.T, path, body string) {
	t.Helper()
	if m := inlineScript.FindString(body); m != "" {
		t.Errorf("%s: inline script %q", path, m)
	}
	if m := styleAttr.FindString(body); m != "" {
		t.Errorf("%s: style attribute %q", path, m)
	}
	if m := styleElement.FindString(body); m != "" {
		t.Errorf("%s: style element %q", path, m)
	}
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: missing %q", what, w)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
