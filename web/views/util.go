package views

import (
	"context"
	"html"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
)

func queryEscape(s string) string { return url.QueryEscape(s) }

// DateLayout is the one date format of every page: to the second (events
// and audit rows need it), in UTC, with the zone written out
// ("2026-12-01 14:05:09 UTC").
const DateLayout = "2006-01-02 15:04:05 MST"

// FormatDate shows t in DateLayout, or a dash for the zero time.
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(DateLayout)
}

// now is the clock the relative times are measured against.
var now = time.Now

// Relative says how long before (or after) now t is, in the largest whole
// unit: "just now", "5 minutes ago", "3 hours ago", "2 days ago", "in 4
// minutes".
func Relative(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < 45*time.Second:
		return "just now"
	case d < time.Hour:
		s = plural(int(d.Round(time.Minute)/time.Minute), "minute", "minutes")
	case d < 48*time.Hour:
		s = plural(int(d.Round(time.Hour)/time.Hour), "hour", "hours")
	case d < 60*24*time.Hour:
		s = plural(int(d.Round(24*time.Hour)/(24*time.Hour)), "day", "days")
	case d < 730*24*time.Hour:
		s = plural(int(d/(30*24*time.Hour)), "month", "months")
	default:
		s = plural(int(d/(365*24*time.Hour)), "year", "years")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// When is how every page shows a date: a <time> element in DateLayout
// whose title (on hover) is the relative time, and whose datetime is the
// exact instant. The zero time is a dash.
func When(t time.Time) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		if t.IsZero() {
			_, err := io.WriteString(w, "—")
			return err
		}
		u := t.UTC()
		_, err := io.WriteString(w, `<time datetime="`+u.Format(time.RFC3339)+`" title="`+
			html.EscapeString(Relative(u, now()))+`">`+u.Format(DateLayout)+`</time>`)
		return err
	})
}

// WhenPtr is When for an optional time (nil is a dash).
func WhenPtr(t *time.Time) templ.Component {
	if t == nil {
		return When(time.Time{})
	}
	return When(*t)
}

// Count writes n with thousands separators: 1234567 is "1,234,567".
func Count[N ~int | ~int64 | ~int32](n N) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) <= 3 {
		if neg {
			return "-" + s
		}
		return s
	}
	b := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		b = append(b, '-')
	}
	first := len(s) % 3
	if first == 0 {
		first = 3
	}
	b = append(b, s[:first]...)
	for i := first; i < len(s); i += 3 {
		b = append(b, ',')
		b = append(b, s[i:i+3]...)
	}
	return string(b)
}

// KindLabel names a server kind in words, as administrators do.
func KindLabel(kind string) string {
	switch kind {
	case mailnet.ServerKindMSMailMac:
		return "MS Mail (AppleTalk)"
	case mailnet.ServerKindMSMailPC:
		return "MS Mail (PC)"
	case mailnet.ServerKindExchange:
		return "Exchange Server"
	}
	return kind
}

// VersionLabel shows a version with its service pack where the build
// table places it ("5.5.2448.1 · SP2"); a version it cannot read is shown
// as written.
func VersionLabel(s string) string {
	v, err := mta.ParseVersion(s)
	if err != nil || v.IsZero() {
		return s
	}
	return v.Label()
}

// pluralWord is one or many by n (without the number).
func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
