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
	Page       int    // 1-based; 0 or 1 is the first page
	PerPage    int    // rows per page; 0 is DefaultPerPage
}

// DefaultPerPage is how many rows a paged list shows unless asked; MaxPerPage
// is the most it shows.
const (
	DefaultPerPage = 100
	MaxPerPage     = 500
)

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
	if f.Page > 1 {
		v.Set("page", strconv.Itoa(f.Page))
	}
	if f.PerPage != 0 && f.PerPage != DefaultPerPage {
		v.Set("per_page", strconv.Itoa(f.PerPage))
	}
	return v
}

// WithPage is f on another page (the filter, sort and page size kept).
func (f ServerFilter) WithPage(page int) ServerFilter {
	f.Page = page
	return f
}

// Filtered reports whether any filter (not the sort) is set.
func (f ServerFilter) Filtered() bool {
	return f.Q != "" || f.Site != "" || f.Kind != "" || f.Status != "" || f.Duplicates
}

// ServerReport is the Global Server Report page: one page of the sorted,
// filtered rows.
type ServerReport struct {
	Rows    []reports.ServerRow // this page's rows
	Matched int                 // rows the filter keeps, on every page
	Total   int                 // servers in the inventory, before filtering
	Filter  ServerFilter
	Sites   []mailnet.Site // for the site filter
	Pager   Pager

	// Flagged and Impacted count the servers whose serial is shared, and
	// those whose group spans sites (routing "No Connection").
	Flagged, Impacted int
}

// Pager is the position of one page in a list.
type Pager struct {
	Page, PerPage, Total int // 1-based page; rows per page; rows in all
	// Href links to another page of the same list.
	Href func(page int) string
	// Target, when set, is the htmx target a page link swaps.
	Target string
}

// Pages is how many pages the list has (at least 1).
func (p Pager) Pages() int {
	if p.PerPage <= 0 || p.Total <= p.PerPage {
		return 1
	}
	return (p.Total + p.PerPage - 1) / p.PerPage
}

// First and Last are the 1-based positions of this page's rows.
func (p Pager) First() int {
	if p.Total == 0 {
		return 0
	}
	return (p.Page-1)*p.PerPage + 1
}

func (p Pager) Last() int { return min(p.Page*p.PerPage, p.Total) }

// PageBounds clamps page into [1, pages] and returns the slice bounds of
// its rows in a list of total rows.
func PageBounds(page, perPage, total int) (clamped, lo, hi int) {
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	pages := max(1, (total+perPage-1)/perPage)
	clamped = min(max(page, 1), pages)
	lo = min((clamped-1)*perPage, total)
	return clamped, lo, min(lo+perPage, total)
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
	g.Page = 0
	return "/servers?" + g.Values().Encode()
}

// ServersHref links to the report with f.
func ServersHref(f ServerFilter) string {
	if q := f.Values().Encode(); q != "" {
		return "/servers?" + q
	}
	return "/servers"
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

// exportHref links to the report API in format with the current filter
// and sort (every page: the export is the whole filtered set).
func exportHref(f ServerFilter, format string) string {
	f.Page, f.PerPage = 0, 0
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

// fmtTimePtr shows a time in DateLayout, or a dash for nil.
func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return fmtTime(*t)
}

func siteValue(id int64) string { return strconv.FormatInt(id, 10) }

// sortable reports whether the column can be sorted by.
func sortable(class string) bool { return !strings.Contains(class, "nosort") }

// fmtTime shows a time in DateLayout, or a dash.
func fmtTime(t time.Time) string { return FormatDate(t) }

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
