package mta

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Facts of the inventory that the cluster and RAS rules need and the
// server and connector records do not hold (KB-RULES R3, R5).

// Cluster says that an Exchange server runs as a virtual server on a
// Microsoft Cluster: the cluster's virtual IP address, which the peers'
// Stack pages list, and the nodes it runs on. Q169113: the sending MTA
// asks for the local address "using the INADDR_ANY flag. Windows NT will
// return the local IP address of the active node and not the Cluster's
// virtual IP address".
type Cluster struct {
	VirtualAddress string        `json:"virtual_address"`
	Nodes          []ClusterNode `json:"nodes"`
}

// ClusterNode is one node of a cluster: its computer name (an Event 9301
// may carry it, hex-encoded, as Q169113's 4E434F5354455354 "NCOSTEST"
// does) and its own IP address.
type ClusterNode struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Node returns the node whose name (case-insensitive) or address is
// caller.
func (c *Cluster) Node(caller string) (ClusterNode, bool) {
	if c == nil || caller == "" {
		return ClusterNode{}, false
	}
	for _, n := range c.Nodes {
		if n.Address == caller || strings.EqualFold(n.Name, caller) {
			return n, true
		}
	}
	return ClusterNode{}, false
}

// Check validates a cluster, naming the field at fault under prefix
// ("cluster"): the virtual address is a dotted IPv4 address; every node
// has a name and an IPv4 address of its own, distinct from the virtual
// one and from the other nodes'. It returns the cluster in canonical
// form (names trimmed, addresses as netip writes them).
func (c Cluster) Check(prefix string) (Cluster, FieldError) {
	out := Cluster{Nodes: []ClusterNode{}}
	v, err := netip.ParseAddr(strings.TrimSpace(c.VirtualAddress))
	if err != nil || !v.Is4() {
		return out, FieldError{prefix + ".virtual_address", fmt.Sprintf("%s.virtual_address must be the cluster's virtual IPv4 address in dotted form, not %q", prefix, c.VirtualAddress)}
	}
	out.VirtualAddress = v.String()
	seen := map[string]bool{out.VirtualAddress: true}
	names := map[string]bool{}
	for i, n := range c.Nodes {
		f := fmt.Sprintf("%s.nodes[%d]", prefix, i)
		name := strings.TrimSpace(n.Name)
		switch {
		case name == "":
			return out, FieldError{f + ".name", f + ".name is required: the node's computer name"}
		case len(name) > 64 || strings.ContainsAny(name, " \t\r\n/\\"):
			return out, FieldError{f + ".name", fmt.Sprintf("%s.name must be a computer name (at most 64 characters, no spaces or slashes), not %q", f, n.Name)}
		case names[strings.ToLower(name)]:
			return out, FieldError{f + ".name", fmt.Sprintf("%s.name %q is given twice", f, name)}
		}
		names[strings.ToLower(name)] = true
		a, err := netip.ParseAddr(strings.TrimSpace(n.Address))
		if err != nil || !a.Is4() {
			return out, FieldError{f + ".address", fmt.Sprintf("%s.address must be the node's own IPv4 address in dotted form, not %q", f, n.Address)}
		}
		if seen[a.String()] {
			return out, FieldError{f + ".address", fmt.Sprintf("%s.address %s is the virtual address or another node's: each node has an address of its own", f, a)}
		}
		seen[a.String()] = true
		out.Nodes = append(out.Nodes, ClusterNode{Name: name, Address: a.String()})
	}
	return out, FieldError{}
}

// FieldError is a refused fact: the field at fault and why. The zero
// value is no error.
type FieldError struct {
	Field, Message string
}

// OK reports that there is no error.
func (e FieldError) OK() bool { return e.Field == "" && e.Message == "" }

// RASPool is the receiving server's IP RAS pool, a range of IPv4
// addresses from First to Last. Q256844: the caller's address "is pulled
// from the IP RAS pool on the receiving server".
type RASPool struct {
	First, Last netip.Addr
}

// ParseRASPool reads a pool as an administrator writes it: a range
// "192.168.50.1-192.168.50.254" or a prefix "192.168.50.0/24" (IPv4).
func ParseRASPool(s string) (RASPool, error) {
	s = strings.TrimSpace(s)
	if pfx, err := netip.ParsePrefix(s); err == nil {
		if !pfx.Addr().Is4() {
			return RASPool{}, fmt.Errorf("the RAS pool must be IPv4, not %q", s)
		}
		pfx = pfx.Masked()
		first := pfx.Addr()
		last := first.As4()
		host := 32 - pfx.Bits()
		for i := 3; i >= 0 && host > 0; i-- {
			bits := min(host, 8)
			last[i] |= byte(1<<bits - 1)
			host -= bits
		}
		return RASPool{First: first, Last: netip.AddrFrom4(last)}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return RASPool{}, fmt.Errorf("the RAS pool must be a range FIRST-LAST or a prefix ADDRESS/BITS of IPv4 addresses, not %q", s)
	}
	first, err1 := netip.ParseAddr(strings.TrimSpace(a))
	last, err2 := netip.ParseAddr(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || !first.Is4() || !last.Is4() {
		return RASPool{}, fmt.Errorf("the RAS pool must be a range of two dotted IPv4 addresses FIRST-LAST, not %q", s)
	}
	if last.Less(first) {
		return RASPool{}, fmt.Errorf("the RAS pool %q ends before it starts", s)
	}
	return RASPool{First: first, Last: last}, nil
}

// Contains reports whether ip (dotted) is in the pool.
func (p RASPool) Contains(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil || !p.First.IsValid() {
		return false
	}
	return !a.Less(p.First) && !p.Last.Less(a)
}

// String writes the pool as FIRST-LAST.
func (p RASPool) String() string {
	if !p.First.IsValid() {
		return ""
	}
	return p.First.String() + "-" + p.Last.String()
}

// Connector transports: how an X.400 connector reaches its peer.
const (
	TransportLAN  = "lan"  // the network (the default)
	TransportRRAS = "rras" // a dial-up Routing and RAS connection (Q256844)
)

// Transports are the values a connector's transport takes.
var Transports = []string{TransportLAN, TransportRRAS}

// ValidTransport reports whether t is a transport.
func ValidTransport(t string) bool { return slices.Contains(Transports, t) }

// ServerFacts are the cluster and RAS facts of one server.
type ServerFacts struct {
	Cluster *Cluster
	RASPool *RASPool
}

// Facts are the cluster and RAS facts of the inventory: per server, and
// the transport of every connector that does not use the network.
type Facts struct {
	Servers    map[int64]ServerFacts
	Transports map[int64]string // connector id -> TransportRRAS
}

// Transport is a connector's transport.
func (f Facts) Transport(connectorID int64) string {
	if t := f.Transports[connectorID]; t != "" {
		return t
	}
	return TransportLAN
}
