package views

import (
	"strings"

	"mailnet/internal/mta"
	"mailnet/internal/reports"
)

// ServerMTA is what the server page shows of the MTA family beyond
// KB197378: its cluster and RAS facts (Q169113, Q256844), settable by an
// admin, and the MTA findings (R3, R5-R9) that name it.
type ServerMTA struct {
	ServerID int64
	Exchange bool
	Cluster  *mta.Cluster
	RASPool  string
	Findings []reports.Finding
	Admin    bool
	Done     bool // the facts were just saved
}

// clusterNodesText is the nodes as the form takes them: NAME ADDRESS, one
// a line.
func (m *ServerMTA) clusterNodesText() string {
	if m.Cluster == nil {
		return ""
	}
	var sb strings.Builder
	for _, n := range m.Cluster.Nodes {
		sb.WriteString(n.Name + " " + n.Address + "\n")
	}
	return sb.String()
}

func (m *ServerMTA) virtualAddress() string {
	if m.Cluster == nil {
		return ""
	}
	return m.Cluster.VirtualAddress
}

// ConnectorMTA is what the connector page shows of the MTA family: an
// X.400 connector's transport (Q256844) and the MTA findings that name
// the connector.
type ConnectorMTA struct {
	Transport string
	Findings  []reports.Finding
}

func severityClass(sev string) string {
	switch sev {
	case "error":
		return "badge bad"
	case "warning":
		return "badge warn"
	}
	return "badge"
}

func mtaCalloutClass(fs []reports.Finding) string {
	for _, f := range fs {
		if f.Severity == "error" {
			return "callout bad"
		}
	}
	return "callout warn"
}
