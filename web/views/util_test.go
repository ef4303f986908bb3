package views

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 69098: "69,098",
		1000000: "1,000,000", -1234: "-1,234", 123456: "123,456"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRelative(t *testing.T) {
	base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", 5 * time.Minute: "5 minutes ago", time.Minute: "1 minute ago",
		3 * time.Hour: "3 hours ago", 72 * time.Hour: "3 days ago", -4 * time.Minute: "in 4 minutes",
	} {
		if got := Relative(base.Add(-d), base); got != want {
			t.Errorf("Relative(-%v) = %q, want %q", d, got, want)
		}
	}
}

func TestWhen(t *testing.T) {
	now = func() time.Time { return time.Date(2026, 12, 1, 15, 5, 0, 0, time.UTC) }
	defer func() { now = time.Now }()
	var b bytes.Buffer
	at := time.Date(2026, 12, 1, 14, 5, 30, 0, time.FixedZone("CET", 3600))
	if err := When(at).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	want := `<time datetime="2026-12-01T13:05:30Z" title="2 hours ago">2026-12-01 13:05:30 UTC</time>`
	if b.String() != want {
		t.Errorf("When = %s\nwant   %s", b.String(), want)
	}
	b.Reset()
	_ = WhenPtr(nil).Render(context.Background(), &b)
	if b.String() != "—" {
		t.Errorf("WhenPtr(nil) = %q", b.String())
	}
}

func TestVersionAndKindLabels(t *testing.T) {
	if got := VersionLabel("5.5.2448.1"); !strings.HasPrefix(got, "5.5.2448.1 · SP") {
		t.Errorf("VersionLabel(5.5.2448.1) = %q, want the build and its service pack", got)
	}
	if got := VersionLabel("not a version"); got != "not a version" {
		t.Errorf("VersionLabel(unreadable) = %q, want it as written", got)
	}
	for k, want := range map[string]string{"msmail-mac": "MS Mail (AppleTalk)", "msmail-pc": "MS Mail (PC)", "exchange": "Exchange Server"} {
		if got := KindLabel(k); got != want {
			t.Errorf("KindLabel(%s) = %q, want %q", k, got, want)
		}
	}
}
