package reports

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// X.400 check statuses.
const (
	X400OK           = "ok"           // every connection from A is accepted
	X400Intermittent = "intermittent" // some of A's addresses are accepted: about (n-k)/n fail
	X400Failing      = "failing"      // the override is not accepted: every connection fails
	X400NoFlow       = "no_flow"      // no address of A is accepted: mail does not flow (KB 193380)
)

// OverrideMinVersion is the first MTA build with the Stack IP Address
// Override: Exchange Server 5.5 Service Pack 2 (KB197378).
const OverrideMinVersion = "5.5.2431.0"

// X400Window is how far back observed Event 9301 are counted.
const X400Window = 24 * time.Hour

// X400Input is what the rule of KB197378 needs about one connector from
// server A to server B.
type X400Input struct {
	AName      string   // A's server name (a Stack entry may name it)
	AAddresses []string // A's network addresses
	Override   string   // the connector's Stack IP Address Override, if set
	// BStack is every entry on the Stack property page of every x400
	// connector installed on B: "any incoming connections ... with an IP
	// address or server name that is not configured on the Stack property
	// page for any locally installed connectors causes an Event ID 9301".
	BStack []string
}

// X400Verdict is the rule's prediction.
type X400Verdict struct {
	Addresses    int      // n: A's addresses
	Accepted     int      // k: those B accepts
	AcceptedList []string // which, in A's order
	// ByName: B's stack names A itself, which accepts all of A.
	ByName       bool
	FailureRatio float64 // share of connections that log 9301, 0..1
	Status       string
}

// stackAccepts reports whether an entry of stack is addr or names server.
func stackAccepts(stack []string, name, addr string) bool {
	for _, e := range stack {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if (addr != "" && e == addr) || (name != "" && strings.EqualFold(e, name)) {
			return true
		}
	}
	return false
}

// X400Rule applies KB197378. Without an override the transport picks
// among all n of A's addresses, so with k of them accepted by B about
// (n-k)/n of connections fail ("approximately half" for two addresses,
// one configured). With an override, A always connects from it: 0 if B
// accepts it, 1 ("fails every time") if not. With k = 0 the ratio is 1
// and mail does not flow.
func X400Rule(in X400Input) X400Verdict {
	v := X400Verdict{Addresses: len(in.AAddresses), AcceptedList: []string{}}
	v.ByName = stackAccepts(in.BStack, in.AName, "")
	for _, a := range in.AAddresses {
		if v.ByName || stackAccepts(in.BStack, "", a) {
			v.AcceptedList = append(v.AcceptedList, a)
		}
	}
	v.Accepted = len(v.AcceptedList)
	switch {
	case v.ByName:
		v.FailureRatio, v.Status = 0, X400OK
	case v.Accepted == 0:
		v.FailureRatio, v.Status = 1, X400NoFlow
	case in.Override != "":
		if stackAccepts(in.BStack, "", in.Override) {
			v.FailureRatio, v.Status = 0, X400OK
		} else {
			v.FailureRatio, v.Status = 1, X400Failing
		}
	case v.Accepted == v.Addresses:
		v.FailureRatio, v.Status = 0, X400OK
	default:
		v.FailureRatio = float64(v.Addresses-v.Accepted) / float64(v.Addresses)
		v.Status = X400Intermittent
	}
	return v
}

// X400Finding is the check of one x400 connector from A (ServerID) to B
// (RemoteServerID).
type X400Finding struct {
	ConnectorID     int64    `json:"connector_id"`
	Connector       string   `json:"connector"` // the RDN
	ServerID        int64    `json:"server_id"`
	Server          string   `json:"server"`
	RemoteServerID  int64    `json:"remote_server_id"`
	RemoteServer    string   `json:"remote_server"`
	ServerAddresses []string `json:"server_addresses"` // A's addresses
	Override        string   `json:"override_address"`
	RemoteStack     []string `json:"remote_stack"` // every stack entry of B's x400 connectors
	Addresses       int      `json:"addresses"`    // n
	Accepted        int      `json:"accepted"`     // k
	AcceptedList    []string `json:"accepted_addresses"`
	FailureRatio    float64  `json:"failure_ratio"`
	Status          string   `json:"status"`
	Prediction      string   `json:"prediction"`
	Observed9301    int      `json:"observed_9301"` // by B, naming A or the connector, last 24 h
	Note            string   `json:"note"`          // observed against predicted
	Fix             string   `json:"fix"`
	// RegistryValue is where the override lives on A (KB197378).
	RegistryValue string `json:"registry_value"`
}

// RegistryValue returns the registry value of a connector's Stack IP
// Address Override: a key named after the connector's RDN.
func RegistryValue(rdn string) string {
	return `HKEY_LOCAL_MACHINE\System\CurrentControlSet\Services\MSExchangeMTA\Parameters\` + rdn + `\Stack IP Address Override`
}

// X400 checks every x400 connector (one finding each, by connector id)
// and counts the Event 9301 that its remote server logged over the last
// X400Window (by the store's clock).
func X400(ctx context.Context, st *store.Store) ([]X400Finding, error) {
	conns, err := st.ReportX400Connectors(ctx)
	if err != nil {
		return nil, err
	}
	ids := []int64{}
	for _, c := range conns {
		ids = append(ids, c.ServerID)
		if c.RemoteServerID != 0 {
			ids = append(ids, c.RemoteServerID)
		}
	}
	slices.Sort(ids)
	servers, err := st.ReportServersByID(ctx, slices.Compact(ids))
	if err != nil {
		return nil, err
	}
	events, err := st.ReportEventsByID(ctx, 9301, st.Now().Add(-X400Window))
	if err != nil {
		return nil, err
	}
	return BuildX400(conns, servers, events), nil
}

// BuildX400 is the pure part of X400.
func BuildX400(conns []mailnet.Connector, servers map[int64]mailnet.Server, events []store.ReportEvent) []X400Finding {
	stacks := map[int64][]string{} // B -> every stack entry of its x400 connectors
	onServer := map[int64][]*mailnet.Connector{}
	for i := range conns {
		c := &conns[i]
		stacks[c.ServerID] = append(stacks[c.ServerID], c.StackAddresses...)
		onServer[c.ServerID] = append(onServer[c.ServerID], c)
	}
	byB := map[int64][]store.ReportEvent{}
	for _, e := range events {
		byB[e.ServerID] = append(byB[e.ServerID], e)
	}
	out := make([]X400Finding, 0, len(conns))
	for i := range conns {
		c := &conns[i]
		a := servers[c.ServerID]
		b := servers[c.RemoteServerID]
		f := X400Finding{
			ConnectorID: c.ID, Connector: c.Name, ServerID: c.ServerID, Server: a.Name,
			RemoteServerID: c.RemoteServerID, RemoteServer: b.Name,
			ServerAddresses: nonNil(a.Addresses), Override: c.OverrideAddress,
			RemoteStack:   nonNil(slices.Clone(stacks[c.RemoteServerID])),
			RegistryValue: RegistryValue(c.Name),
		}
		if c.RemoteServerID == 0 || b.ID == 0 {
			f.Status, f.FailureRatio, f.AcceptedList = X400NoFlow, 1, []string{}
			f.Addresses = len(a.Addresses)
			f.Prediction = "The connector names no remote server, so no mail flows over it."
			f.Fix = fmt.Sprintf("Set the remote server of connector %q on %s.", c.Name, a.Name)
			out = append(out, f)
			continue
		}
		v := X400Rule(X400Input{AName: a.Name, AAddresses: a.Addresses, Override: c.OverrideAddress, BStack: f.RemoteStack})
		f.Addresses, f.Accepted, f.AcceptedList = v.Addresses, v.Accepted, v.AcceptedList
		f.FailureRatio, f.Status = v.FailureRatio, v.Status
		f.Prediction = x400Prediction(&f, v)
		f.Fix = x400Fix(&f, v, a, b, onServer[b.ID])
		for _, e := range byB[b.ID] {
			if eventNames(e, a, c.Name) {
				f.Observed9301++
			}
		}
		f.Note = x400Note(&f)
		out = append(out, f)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func percent(r float64) string {
	return strconv.Itoa(int(math.Round(r*100))) + "%"
}

func x400Prediction(f *X400Finding, v X400Verdict) string {
	switch v.Status {
	case X400OK:
		if v.ByName {
			return fmt.Sprintf("%s accepts connections from %s by server name: no Event 9301 expected.", f.RemoteServer, f.Server)
		}
		if f.Override != "" {
			return fmt.Sprintf("%s always connects from its override %s, which %s's Stack lists: no Event 9301 expected.", f.Server, f.Override, f.RemoteServer)
		}
		return fmt.Sprintf("%s lists every address of %s on its Stack: no Event 9301 expected.", f.RemoteServer, f.Server)
	case X400Intermittent:
		half := ""
		if v.Addresses == 2 && v.Accepted == 1 {
			half = " (approximately half, as KB197378 describes)"
		}
		return fmt.Sprintf("%s is multihomed with %d addresses and no Stack IP Address Override; the transport picks among all of them and %s accepts %d, so about %s of connections%s fail and log Event 9301 on %s.",
			f.Server, v.Addresses, f.RemoteServer, v.Accepted, percent(v.FailureRatio), half, f.RemoteServer)
	case X400Failing:
		return fmt.Sprintf("%s always connects from its override %s, which no X.400 connector on %s lists on its Stack: the connection fails every time and logs Event 9301.", f.Server, f.Override, f.RemoteServer)
	default:
		return fmt.Sprintf("No address of %s is on the Stack of any X.400 connector on %s: every connection logs Event 9301 and mail does not flow (KB 193380).", f.Server, f.RemoteServer)
	}
}

// x400Fix names the remedy of KB197378 for a finding.
func x400Fix(f *X400Finding, v X400Verdict, a, b mailnet.Server, onB []*mailnet.Connector) string {
	if v.Status == X400OK {
		return "No change needed."
	}
	bConn := fmt.Sprintf("the X.400 connector on %s", b.Name)
	for _, c := range onB {
		if c.RemoteServerID == a.ID {
			bConn = fmt.Sprintf("connector %q on %s", c.Name, b.Name)
			break
		}
	}
	if len(onB) == 0 {
		bConn = fmt.Sprintf("a new X.400 connector on %s (it has none)", b.Name)
	}
	// The address A should use: one B already accepts, else the current
	// override if it is A's, else A's first address.
	target, onStack := "", false
	if len(v.AcceptedList) > 0 {
		target, onStack = v.AcceptedList[0], true
	} else if f.Override != "" && a.HasAddress(f.Override) {
		target = f.Override
	} else if len(a.Addresses) > 0 {
		target = a.Addresses[0]
	}
	if target == "" {
		return fmt.Sprintf("Give %s a network address, then add it to the Stack property page of %s.", a.Name, bConn)
	}
	if !a.Multihomed() && f.Override == "" {
		return fmt.Sprintf("Add %s (the address of %s) to the Stack property page of %s; no override is needed for a server with one address.", target, a.Name, bConn)
	}
	var sb strings.Builder
	if f.Override != "" {
		fmt.Fprintf(&sb, "Change the Stack IP Address Override of connector %q on %s from %s to %s", f.Connector, a.Name, f.Override, target)
	} else {
		fmt.Fprintf(&sb, "Set the Stack IP Address Override of connector %q on %s to %s", f.Connector, a.Name, target)
	}
	if onStack {
		fmt.Fprintf(&sb, ", an address that %s's Stack lists", b.Name)
	}
	fmt.Fprintf(&sb, ": registry value %s (REG_SZ) = %s, where the key is the connector's RDN. Restart the Exchange MTA service on %s, then configure %s to accept %s on its Stack property page.",
		RegistryValue(f.Connector), target, a.Name, bConn, target)
	if f.Override != "" && !a.HasAddress(f.Override) {
		fmt.Fprintf(&sb, " The current override %s is not an address of %s.", f.Override, a.Name)
	}
	if a.Kind == mailnet.KindExchange || a.Kind == "" {
		switch {
		case strings.TrimSpace(a.Version) == "":
			fmt.Fprintf(&sb, " The override needs Exchange Server 5.5 Service Pack 2 (MTA %s); the version of %s is not recorded.", OverrideMinVersion, a.Name)
		case CompareVersions(a.Version, OverrideMinVersion) < 0:
			fmt.Fprintf(&sb, " The override needs Exchange Server 5.5 Service Pack 2 (MTA %s); %s runs %s, so install the latest service pack first.", OverrideMinVersion, a.Name, a.Version)
		}
	}
	if v.Status == X400NoFlow {
		sb.WriteString(" (KB 193380)")
	}
	return sb.String()
}

func x400Note(f *X400Finding) string {
	switch {
	case f.FailureRatio > 0 && f.Observed9301 > 0:
		return fmt.Sprintf("%d Event 9301 logged by %s in the last 24 hours, consistent with the prediction.", f.Observed9301, f.RemoteServer)
	case f.FailureRatio > 0:
		return fmt.Sprintf("No Event 9301 logged by %s in the last 24 hours although failures are predicted: either no connection was attempted, or its MTA build does not log 9301 (KB 234962).", f.RemoteServer)
	case f.Observed9301 > 0:
		return fmt.Sprintf("%d Event 9301 logged by %s in the last 24 hours although every connection should be accepted: check the connector's Stack and the MTA's identity (KB 189345).", f.Observed9301, f.RemoteServer)
	}
	return "No Event 9301 observed, as predicted."
}

// eventNames reports whether an Event 9301 names one of A's addresses,
// A's name or the connector, in its fields, description or subject.
func eventNames(e store.ReportEvent, a mailnet.Server, connector string) bool {
	texts := make([]string, 0, len(e.Fields)+2)
	texts = append(texts, e.Description, e.Subject)
	for _, v := range e.Fields {
		texts = append(texts, v)
	}
	for _, t := range texts {
		for _, addr := range a.Addresses {
			if containsToken(t, addr) {
				return true
			}
		}
		if connector != "" && containsToken(strings.ToLower(t), strings.ToLower(connector)) {
			return true
		}
		if a.Name != "" && containsToken(strings.ToLower(t), strings.ToLower(a.Name)) {
			return true
		}
	}
	return false
}

// containsToken reports whether tok occurs in s not glued to a letter,
// digit or dot on either side, so 10.0.0.1 does not match 10.0.0.12.
func containsToken(s, tok string) bool {
	if tok == "" {
		return false
	}
	for from := 0; from <= len(s)-len(tok); {
		i := strings.Index(s[from:], tok)
		if i < 0 {
			return false
		}
		i += from
		j := i + len(tok)
		if (i == 0 || !wordByte(s[i-1])) && (j == len(s) || !wordByte(s[j])) {
			return true
		}
		from = i + 1
	}
	return false
}

func wordByte(c byte) bool {
	return c == '.' || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// CompareVersions compares dotted version numbers ("5.5.2431.0") by their
// leading numeric parts; missing parts count as 0 and text after the
// numbers is compared as text.
func CompareVersions(a, b string) int {
	pa, ra := versionParts(a)
	pb, rb := versionParts(b)
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int64
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(ra, rb)
}

func versionParts(v string) ([]int64, string) {
	v = strings.TrimSpace(v)
	var parts []int64
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == 0 || i > 18 {
			break
		}
		n, _ := strconv.ParseInt(v[:i], 10, 64)
		parts = append(parts, n)
		v = v[i:]
		if len(v) > 1 && v[0] == '.' && v[1] >= '0' && v[1] <= '9' {
			v = v[1:]
			continue
		}
		break
	}
	return parts, v
}
