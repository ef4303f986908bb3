package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserX400FixBothEnds: at 1920 px the X.400 check's page has
// nothing off the right edge (the registry path wraps); the Fix link of a
// multihomed finding opens the preview of both ends, and applying it
// from the page lands on the preview saying it was applied.
func TestBrowserX400FixBothEnds(t *testing.T) {
	c := startConsole(t)
	ctx := browser(t)
	signIn(t, ctx, c, "/x400?status=all")
	screenshot(t, ctx, "x400")

	over, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const w = document.documentElement.clientWidth, out = [];
		if (document.documentElement.scrollWidth > w) out.push("page scrolls sideways: " + document.documentElement.scrollWidth + " > " + w);
		for (const el of document.querySelectorAll("table.x400 td, code.regpath")) {
			const r = el.getBoundingClientRect();
			if (r.right > w + 1) out.push(el.className + " ends at " + Math.round(r.right) + " > " + w);
		}
		return out;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(over) > 0 {
		t.Errorf("clipped at 1920 px: %q", over)
	}

	fixes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("td.x400-fix a.button").length`))
	if err != nil {
		t.Fatal(err)
	}
	if fixes == 0 {
		t.Fatal("no Fix link on the X.400 page of the demo network")
	}
	if err := chromedp.Do(ctx, chromedp.Click("td.x400-fix a.button"), chromedp.WaitVisible("form.confirm")); err != nil {
		t.Fatal(err)
	}
	main, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "x400-fix")
	for _, want := range []string{"Stack IP Address Override", "Restart the Microsoft Exchange MTA service", "Before", "After"} {
		if !strings.Contains(main, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Submit("form.confirm"), chromedp.WaitVisible(`.callout.ok[role="status"]`)); err != nil {
		t.Fatal(err)
	}
	if main, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(main, "Applied") {
		t.Errorf("after apply the page says %q, want Applied", main)
	}
}
