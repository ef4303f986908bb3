package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// signIn fills the login form and waits for the page it lands on.
func signIn(t *testing.T, ctx context.Context, c *console, path string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(c.URL+path),
		chromedp.WaitVisible("form#login"),
		chromedp.SendKeys(`form#login input[name="name"]`, c.Name),
		chromedp.SendKeys(`form#login input[name="password"]`, c.Password),
		chromedp.Submit("form#login"),
		chromedp.WaitVisible("form#logout"),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
}

// TestBrowserSignInReportSignOut: a browser that is not signed in is sent
// to the login page; after signing in at /servers it sees the Global Server Report
// with the demo network's duplicate pair marked and linked to its group;
// signing out sends it back to the login page, and the report is closed to
// it again.
func TestBrowserSignInReportSignOut(t *testing.T) {
	c := startConsole(t)
	ctx := browser(t)

	// "/" is the overview; the Global Server Report is /servers.
	signIn(t, ctx, c, "/servers")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, "/servers") {
		t.Errorf("after sign-in landed on %s, want the report at /servers", loc)
	}

	screenshot(t, ctx, "servers")

	// The Q99393 pair of the demo network: two AppleTalk servers at
	// different sites with one serial, each row marked and linked.
	marked, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("tr.dup")).map(tr => tr.innerText)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(marked) != 2 {
		t.Fatalf("got %d rows marked duplicate, want 2: %q", len(marked), marked)
	}
	for _, name := range []string{"MACMAIL-ENG", "MACMAIL-DESIGN"} {
		if !strings.Contains(strings.Join(marked, "\n"), name) {
			t.Errorf("duplicate rows %q do not include %s", marked, name)
		}
	}
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("tr.dup a.badge.dup")).map(a => a.getAttribute("href"))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 || !strings.HasPrefix(links[0], "/duplicates#") {
		t.Errorf("duplicate badges link to %q, want two links to /duplicates#...", links)
	}

	// Following the badge explains the group in Q99393's terms.
	// Wait for the link's own response: the report also has a <main>.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click("tr.dup a.badge.dup")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "duplicates")
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No Connection", "All listing", "MACMAIL-DESIGN"} {
		if !strings.Contains(body, want) {
			t.Errorf("duplicate page does not say %q", want)
		}
	}

	// Sign out: back on the login page, and the report asks for a sign-in.
	if err := chromedp.Do(ctx, chromedp.Submit("form#logout"), chromedp.WaitVisible("form#login")); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(c.URL+"/servers"), chromedp.WaitVisible("form#login")); err != nil {
		t.Fatalf("after sign-out the report did not ask for a sign-in: %v", err)
	}
}
