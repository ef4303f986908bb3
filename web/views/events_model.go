package views

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"mailnet/internal/mailnet"
)

// EventFilter is the event log's filters as the URL carries them.
type EventFilter struct {
	Server, Site, Source, EventID, Severity string
}

// Values returns the filters that are set, as URL query values.
func (f EventFilter) Values() url.Values {
	v := url.Values{}
	for _, p := range [][2]string{{"server", f.Server}, {"site", f.Site}, {"source", f.Source}, {"event_id", f.EventID}, {"severity", f.Severity}} {
		if p[1] != "" {
			v.Set(p[0], p[1])
		}
	}
	return v
}

// Any reports whether a filter is set.
func (f EventFilter) Any() bool { return len(f.Values()) > 0 }

// EventsPage is the event log page.
type EventsPage struct {
	Filter EventFilter
	Events []mailnet.Event // newest first
	// Live: the page shows the newest events and the script tails them;
	// false when it shows an older page (before_id).
	Live bool
	// LastID is the highest event id rendered (or the newest id at all when
	// nothing matched), where the stream resumes.
	LastID   int64
	BeforeID int64 // the older page starts below this id; 0: no older page
	Limit    int
	Error    string // a filter that could not be used
	Field    string
	Sources  []string
}

// SeverityProblems is the severity filter's "warnings and errors".
const SeverityProblems = "problems"

// WSQuery is the query string of the websocket for the page's filters.
// "Warnings and errors" is not a stream filter: the script drops the
// info events itself (LiveSeverities).
func (p *EventsPage) WSQuery() string {
	v := p.Filter.Values()
	if p.Filter.Severity == SeverityProblems {
		v.Del("severity")
	}
	v.Set("types", "event")
	return v.Encode()
}

// LiveSeverities are the severities the script keeps from the stream,
// comma-separated ("": all).
func (p *EventsPage) LiveSeverities() string {
	if p.Filter.Severity == SeverityProblems {
		return mailnet.SeverityWarning + "," + mailnet.SeverityError
	}
	return ""
}

// Count is how many of the rendered events have severity sev.
func (p *EventsPage) Count(sev string) int {
	n := 0
	for _, ev := range p.Events {
		if ev.Severity == sev {
			n++
		}
	}
	return n
}

// OlderURL is the link to the page of older events.
func (p *EventsPage) OlderURL() string {
	v := p.Filter.Values()
	v.Set("before_id", strconv.FormatInt(p.BeforeID, 10))
	return "/events?" + v.Encode()
}

// NewestURL is the link back to the live tail with the same filters.
func (p *EventsPage) NewestURL() string {
	if q := p.Filter.Values().Encode(); q != "" {
		return "/events?" + q
	}
	return "/events"
}

// FilterURL is the event log filtered by one more parameter.
func (p *EventsPage) FilterURL(name, value string) string {
	v := p.Filter.Values()
	v.Set(name, value)
	return "/events?" + v.Encode()
}

// IsRequestor reports whether an event's server is a dir-sync requestor's
// NETWORK/POSTOFFICE.
func IsRequestor(server string) bool {
	i := strings.IndexByte(server, '/')
	return i > 0 && i < len(server)-1
}

// SeverityClass is the row's class for its severity.
func SeverityClass(sev string) string { return "ev sev-" + sev }

// FieldsText is an event's fields on one line, "from: a · to: b", in a
// stable order, leaving out the keys in skip (events.js writes the same):
// one text node, since a row's paint and layout grow with its elements.
func FieldsText(f map[string]string, skip ...string) string {
	var parts []string
	for _, kv := range fieldPairs(f) {
		if !slices.Contains(skip, kv[0]) {
			parts = append(parts, kv[0]+": "+kv[1])
		}
	}
	return strings.Join(parts, " · ")
}

// ConnectorHref is where a row's connector link goes: the X.400 check of
// the event's server, every status, when the server is in the inventory
// (the connector is one of its ends), else the whole check.
func ConnectorHref(ev mailnet.Event) string {
	if ev.ServerID != 0 {
		return "/x400?server_id=" + strconv.FormatInt(ev.ServerID, 10) + "&status=all"
	}
	return "/x400"
}

// DescTitle is the description cell's tooltip: the whole description and
// fields, which the one-line cell may cut off.
func DescTitle(ev mailnet.Event) string {
	if fs := FieldsText(ev.Fields); fs != "" {
		return ev.Description + "\n" + fs
	}
	return ev.Description
}

// fieldPairs lists an event's fields in a stable order.
func fieldPairs(f map[string]string) [][2]string {
	order := []string{"from", "to", "remote_address", "connector"}
	var out [][2]string
	seen := map[string]bool{}
	for _, k := range order {
		if v, ok := f[k]; ok && v != "" {
			out = append(out, [2]string{k, v})
			seen[k] = true
		}
	}
	var rest []string
	for k := range f {
		if !seen[k] && f[k] != "" {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, [2]string{k, f[k]})
	}
	return out
}
