package views

import (
	"net/url"
	"strconv"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
)

// X400View is one page of the X.400 connector check: the findings the
// filters select (problems first: the default filter is "problems"),
// counted per status over the whole check.
type X400View struct {
	Findings       []reports.X400Finding
	Counts         map[string]int // per status, over every connector
	Total          int
	Query          reports.X400Query
	Next           int64 // after_id of the next page; 0: none
	UnknownCallers []reports.X400UnknownCaller
	// MTA is the rest of the MTA family's findings (R3, R5-R9), all of
	// them: each names one server or connector, so there are few.
	MTA        []reports.Finding
	Sites      []mailnet.Site
	ServerName string // the server filtered on, if any
	Admin      bool   // the viewer may apply fixes
}

// x400StatusOrder is the order statuses are shown in: worst first.
var x400StatusOrder = []string{reports.X400NoFlow, reports.X400Failing, reports.X400Intermittent, reports.X400OK}

// Problems is the number of connectors that are not ok.
func (v *X400View) Problems() int { return v.Total - v.Counts[reports.X400OK] }

// href is the page with the view's filters, changed by kv (key, value
// pairs; an empty value drops the key), from its first page.
func (v *X400View) href(kv ...string) string {
	q := url.Values{}
	if v.Query.Status != "" {
		q.Set("status", v.Query.Status)
	} else {
		q.Set("status", "all")
	}
	if v.Query.SiteID != 0 {
		q.Set("site_id", strconv.FormatInt(v.Query.SiteID, 10))
	}
	if v.Query.ServerID != 0 {
		q.Set("server_id", strconv.FormatInt(v.Query.ServerID, 10))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return "/x400?" + q.Encode()
}

func (v *X400View) nextHref() string {
	return v.href("after_id", strconv.FormatInt(v.Next, 10))
}

func (v *X400View) statusHref(status string) string {
	if status == "" {
		status = "all"
	}
	return v.href("status", status)
}

func (v *X400View) statusCurrent(status string) string {
	if v.Query.Status == status {
		return "page"
	}
	return ""
}

// legend is the fix of one kind of finding, stated once for the page.
type legend struct {
	Kind  string
	Title string
	Steps []string
}

// x400Legends are the fixes of the kinds on the page, in a fixed order;
// each row shows only its own values.
func x400Legends(fs []reports.X400Finding) []legend {
	seen := map[string]bool{}
	for _, f := range fs {
		seen[f.FixKind] = true
	}
	var out []legend
	for _, l := range allLegends {
		if seen[l.Kind] {
			out = append(out, l)
		}
	}
	return out
}

var allLegends = []legend{
	{reports.FixOverride, "A is multihomed: pin its outbound address (KB197378)", []string{
		"If A's MTA is older than Exchange Server 5.5 Service Pack 2 (MTA " + "5.5.2431.0" + "), install SP2 first: older MTAs ignore the override (rows marked \"SP2 first\").",
		`On A, set the registry value shown in the row (REG_SZ, under HKEY_LOCAL_MACHINE\System\CurrentControlSet\Services\MSExchangeMTA\Parameters\<connector RDN>\Stack IP Address Override) to the row's address.`,
		"Restart the Microsoft Exchange MTA service on A.",
		"On B, put the same address on the Stack property page of its X.400 connector to A. Fix… does steps 2 and 4 in the console in one audited change.",
	}},
	{reports.FixStack, "A has one address: let B accept it", []string{
		"On B, add the row's address (A's only address) to the Stack property page of its X.400 connector to A; no override is needed.",
	}},
	{reports.FixLookup, "B names A by host name and the reverse lookup fails (Q193380)", []string{
		"On B, replace the host name on the Stack property page with A's address shown in the row, or have DNS answer the reverse lookup (a PTR record for that address).",
		"Check from B with nslookup on the address.",
	}},
	{reports.FixAddress, "A has no network address", []string{
		"Record A's address in the inventory, then add it to B's Stack property page.",
	}},
	{reports.FixRemote, "The connector names no remote server", []string{
		"Set the connector's remote server; no mail flows over it until then.",
	}},
}

func legendTitle(kind string) string {
	for _, l := range allLegends {
		if l.Kind == kind {
			return l.Title
		}
	}
	return ""
}

func fixHref(f *reports.X400Finding) string {
	return "/x400/fix/" + strconv.FormatInt(f.ConnectorID, 10)
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }
