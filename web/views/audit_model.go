package views

import (
	"mailnet/internal/mailnet"
	"strconv"
)

// auditObject is how a page shows the object of an audit row: its name
// (the alias of "user 1911") and where it links, from the store (AuditNames).
func auditObject(names map[mailnet.AuditObject]mailnet.AuditName, typ string, id int64) (label, href string) {
	if id == 0 {
		return typ, ""
	}
	n, ok := names[mailnet.AuditObject{Type: typ, ID: id}]
	label = typ + " " + strconv.FormatInt(id, 10)
	if ok && n.Name != "" {
		label = typ + " " + n.Name
	}
	switch typ {
	case "server", "dx_server", "connector":
		if n.ServerID != 0 {
			href = serverHref(n.ServerID)
		} else if typ != "connector" {
			href = serverHref(id)
		}
	case "user":
		if n.ServerID != 0 {
			href = serverHref(n.ServerID)
		}
	case "job":
		href = jobHref(id)
		label = "job #" + strconv.FormatInt(id, 10)
	case "requestor":
		href = "/dirsync"
	case "account":
		href = "/accounts"
	case "token":
		href = "/tokens"
	case "site":
		href = "/servers?site_id=" + strconv.FormatInt(id, 10)
	}
	if !ok && typ != "job" {
		label += " (deleted)"
		if typ == "server" || typ == "dx_server" {
			href = serverHref(id)
		}
	}
	return label, href
}
