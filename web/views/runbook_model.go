package views

import (
	"net/url"
	"strconv"
)

// runbookQuery is the runbook's selection as a query (id, network,
// drive): the fix forms carry it back, so that the page comes back for
// the same requestors.
func runbookQuery(p *RunbookPage) string {
	q := url.Values{}
	for _, id := range p.IDs {
		q.Add("id", strconv.FormatInt(id, 10))
	}
	if p.Network != "" && len(p.IDs) == 0 {
		q.Set("network", p.Network)
	}
	if p.Drive != "" {
		q.Set("drive", p.Drive)
	}
	return q.Encode()
}
