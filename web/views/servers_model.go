package views

import (
	"net/url"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"strconv"
	"strings"
	"time"
)

// ServerFilter is the report's query string: filter, sort and direction.
type ServerFilter struct {
	Q          string
	Site       string // a site id, as text
	Kind       string
	Status     string
	Duplicates bool
	Sort       string // name, site, kind, version, serial, status, users, messages, connectors, last_event
	Dir        string // asc or desc
}

// Values encodes f as a query string (without the leading "?"), leaving
// out empty fields.
func (f ServerFilter) Values() url.Values {
	v := url.Values{}
	if f.Q != "" {
		v.Set("q", f.Q)
	}
	if f.Site != "" {
		v.Set("site", f.Site)
	}
	if f.Kind != "" {
		v.Set("kind", f.Kind)
	}
	if f.Status != "" {
		v.Set("status", f.Status)
	}
	if f.Duplicates {
		v.Set("duplicates", "1")
	}
	if f.Sort != "" {
		v.Set("sort", f.Sort)
	}
	if f.Dir != "" {
		v.Set("dir", f.Dir)
	}
	return v
}

// Filtered reports whether any filter (not the sort) is set.
func (f ServerFilter) Filtered() bool {
	return f.Q != "" || f.Site != "" || f.Kind != "" || f.Status != "" || f.Duplicates
}

// ServerReport is the Global Server Report page.
type ServerReport struct {
	Rows   []reports.ServerRow
	Total  int // servers in the inventory, before filtering
	Filter ServerFilter
	Sites  []mailnet.Site // for the site filter
}

// serverColumns are the sortable columns, in table order.
var serverColumns = []struct{ key, label, class string }{
	{"name", "Server", ""},
	{"site", "Site", ""},
	{"kind", "Kind", ""},
	{"version", "Version", ""},
	{"serial", "Serial", ""},
	{"status", "Status", ""},
	{"addresses", "Addresses", ""},
	{"users", "Users", "num"},
	{"messages", "Messages", "num"},
	{"connectors", "Connectors", "num nosort"},
	{"last_event", "Last event", ""},
}

// sortHref is the link of a column header: sort by key, ascending unless
// the report is already sorted ascending by key.
func sortHref(f ServerFilter, key string) string {
	g := f
	g.Sort = key
	g.Dir = "asc"
	if f.Sort == key && f.Dir != "desc" {
		g.Dir = "desc"
	}
	return "/servers?" + g.Values().Encode()
}

func sortClass(f ServerFilter, key string) string {
	if f.Sort != key {
		return ""
	}
	if f.Dir == "desc" {
		return "desc"
	}
	return "asc"
}

func ariaSort(f ServerFilter, key string) string {
	switch sortClass(f, key) {
	case "asc":
		return "ascending"
	case "desc":
		return "descending"
	}
	return "none"
}

// exportHref links to the report API in format with the current filter.
func exportHref(f ServerFilter, format string) string {
	u := "/api/v1/reports/servers?format=" + format
	if rest := f.Values().Encode(); rest != "" {
		u += "&" + rest
	}
	return u
}

// SerialAnchor is the fragment id of a duplicate-serial group on
// /duplicates: "serial-" and the serial with anything but letters, digits,
// '-' and '_' replaced by '-'.
func SerialAnchor(serial string) string {
	var b strings.Builder
	b.Grow(7 + len(serial))
	b.WriteString("serial-")
	for _, r := range serial {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

func serverHref(id int64) string { return "/servers/" + strconv.FormatInt(id, 10) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// fmtTimePtr shows a time to the minute in UTC, or a dash for nil.
func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return fmtTime(*t)
}

func siteValue(id int64) string { return strconv.FormatInt(id, 10) }

// sortable reports whether the column can be sorted by.
func sortable(class string) bool { return !strings.Contains(class, "nosort") }

// fmtTime shows a time to the minute in UTC, or a dash.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func rowClass(r *reports.ServerRow) string {
	switch {
	case r.Impacted:
		return "dup"
	case r.DuplicateSerial:
		return "dup-same"
	case r.Status == "decommissioned":
		return "decom"
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
