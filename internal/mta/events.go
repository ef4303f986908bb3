// Package mta reads the Exchange message transfer agent's own words: the
// descriptions of the events it logs (9301, 9298/9299, 9156, 9202) as the
// Knowledge Base articles quote them, the network address encodings of
// Event 9301, and server versions as administrators write them, placed on
// the MTA build table of Q163294. It is pure: no store, no clock.
package mta

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Event IDs of MSExchangeMTA that the console reads.
const (
	EventGatewayNotFound = 9301 // "The message transfer gateway ... could not be found"
	EventSocketsError    = 9202 // "A sockets error ... on an accept() call"
	EventStartupX400     = 9298 // MTA service startup complete (X.400 Service)
	EventStartup         = 9299 // MTA service startup complete
	EventNoControlBlocks = 9156 // "There are no free control blocks available"
)

// Gateway is Event 9301: a receiving MTA could not match an incoming
// connection to any of its connectors. The transport stack names the
// receiving server; the network address names the caller.
type Gateway struct {
	Address string     // the network address as logged, in hex
	IP      netip.Addr // the caller's IPv4 address, when the address has 8 hex digits
	Name    string     // the caller's name, when the address is longer (hex-encoded ASCII)
	Stack   string     // the transport stack's DN
	Org     string     // o= of the stack DN
	Site    string     // ou= of the stack DN
	Server  string     // the receiving server: cn= after cn=Servers
	MTA     string     // the name in parentheses after the stack, if any
}

// Caller is the caller as the address gives it: a dotted IP or a name.
func (g Gateway) Caller() string {
	if g.IP.IsValid() {
		return g.IP.String()
	}
	return g.Name
}

var (
	re9301 = regexp.MustCompile(`(?i)network address (?P<addr>[0-9A-Fa-f]+) and the transport stack (?P<stack>\S+)(?: \((?P<mta>[^)]*)\))?`)
	// "Microsoft Exchange Server MTA Service startup complete, version 5.0 (build 1457.8)."
	reStartup = regexp.MustCompile(`(?i)version\s+(\d+\.\d+)\s+\(build\s+(\d+)\.(\d+)\)`)
	re9156    = regexp.MustCompile(`(?i)The configured count is (\d+)`)
	re9202    = regexp.MustCompile(`(?i)A sockets error (-?\d+) on an? (\w+)\(\) call`)
)

// ErrNoMatch is returned when a description is not the event's text.
var ErrNoMatch = errors.New("description does not match the event's text")

// collapse folds runs of white space (the articles wrap the text across
// lines, and agents ship it as logged) into single spaces.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// Parse9301 reads an Event 9301 description: "The message transfer
// gateway that uses the network address 91F5C11B and the transport stack
// /o=Org/ou=Site/cn=Configuration/cn=Servers/cn=LocalMTA/cn=TCP (LocalMTA)
// could not be found. ..." (Q193380).
func Parse9301(desc string) (Gateway, error) {
	d := collapse(desc)
	// The articles wrap the DN itself across lines ("...cn=Servers
	// /cn=servername..."); rejoin a DN broken before a slash.
	d = strings.ReplaceAll(d, " /cn=", "/cn=")
	d = strings.ReplaceAll(d, " /ou=", "/ou=")
	m := re9301.FindStringSubmatch(d)
	if m == nil {
		return Gateway{}, ErrNoMatch
	}
	g := Gateway{Address: m[1], Stack: m[2], MTA: m[3]}
	ip, name, err := DecodeAddress(g.Address)
	if err != nil {
		return Gateway{}, err
	}
	g.IP, g.Name = ip, name
	g.Org, g.Site, g.Server = parseStackDN(g.Stack)
	return g, nil
}

// DecodeAddress decodes Event 9301's network address: eight hex digits are
// an IPv4 address, one byte per pair ("91F5C11B" is 145.245.193.27,
// Q193380); a longer string is hex-encoded ASCII, a name
// ("52656d6f74654d5441" is "RemoteMTA").
func DecodeAddress(h string) (netip.Addr, string, error) {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) == 0 {
		return netip.Addr{}, "", errors.New("network address is not hexadecimal")
	}
	if len(b) == 4 {
		return netip.AddrFrom4([4]byte(b)), "", nil
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return netip.Addr{}, "", errors.New("network address is neither an IPv4 address nor a printable name")
		}
	}
	return netip.Addr{}, string(b), nil
}

// parseStackDN returns the organization, site and server of a transport
// stack DN /o=ORG/ou=SITE/cn=Configuration/cn=Servers/cn=SERVER/cn=TCP,
// comparing whole components, never substrings.
func parseStackDN(dn string) (org, site, server string) {
	parts := strings.Split(dn, "/")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		switch strings.ToLower(k) {
		case "o":
			org = v
		case "ou":
			site = v
		case "cn":
			if strings.EqualFold(v, "Servers") && i+1 < len(parts) {
				if k2, v2, ok := strings.Cut(parts[i+1], "="); ok && strings.EqualFold(k2, "cn") {
					server = v2
				}
			}
		}
	}
	return org, site, server
}

// ParseStartup reads the version and build from an MTA startup event
// (9298, 9299): "Microsoft Exchange Server MTA Service startup complete,
// version 5.0 (build 1457.8)." (Q174695, Q163294).
func ParseStartup(desc string) (Version, error) {
	m := reStartup.FindStringSubmatch(collapse(desc))
	if m == nil {
		return Version{}, ErrNoMatch
	}
	major, minor, _ := strings.Cut(m[1], ".")
	v := Version{Major: atoi(major), Minor: atoi(minor), Build: atoi(m[2]), Rev: atoi(m[3]), Exact: true}
	v.SP = v.servicePack()
	return v, nil
}

// ParseControlBlocks reads Event 9156's configured control-block count:
// "... There are no free control blocks available for network type 1.
// The configured count is 70. ..." (Q243632).
func ParseControlBlocks(desc string) (int, error) {
	m := re9156.FindStringSubmatch(collapse(desc))
	if m == nil {
		return 0, ErrNoMatch
	}
	return strconv.Atoi(m[1])
}

// SocketsError is Event 9202: "A sockets error 0 on an accept() call was
// detected." (Q193380).
type SocketsError struct {
	Code int
	Call string
}

// Parse9202 reads Event 9202's error code and call.
func Parse9202(desc string) (SocketsError, error) {
	m := re9202.FindStringSubmatch(collapse(desc))
	if m == nil {
		return SocketsError{}, ErrNoMatch
	}
	code, err := strconv.Atoi(m[1])
	if err != nil {
		return SocketsError{}, ErrNoMatch
	}
	return SocketsError{Code: code, Call: m[2]}, nil
}

// RequiredControlBlocks is Q200259's "(10 * number of X.400 connectors) +
// 10".
func RequiredControlBlocks(connectors int) int { return 10*connectors + 10 }

// StackDN is the DN of a server's TCP transport stack, as Event 9301
// names it: /o=ORG/ou=SITE/cn=Configuration/cn=Servers/cn=SERVER/cn=TCP.
func StackDN(org, site, server string) string {
	return "/o=" + org + "/ou=" + site + "/cn=Configuration/cn=Servers/cn=" + server + "/cn=TCP"
}

// EncodeAddress is the network address as Event 9301 logs it: an IPv4
// address as eight hex digits, anything else as hex-encoded ASCII.
func EncodeAddress(caller string) string {
	if ip, err := netip.ParseAddr(caller); err == nil && ip.Is4() {
		b := ip.As4()
		return strings.ToUpper(hex.EncodeToString(b[:]))
	}
	return hex.EncodeToString([]byte(caller))
}

// Text9301 is Event 9301's description as the MTA writes it (Q193380).
func Text9301(caller, stackDN, mtaName string) string {
	return "The message transfer gateway that uses the network address " + EncodeAddress(caller) +
		" and the transport stack " + stackDN + " (" + mtaName + ") could not be found." +
		" Check the configuration of the mail gateway. [BASE IL TCP/IP DRVR 8 218] (10)"
}

// TextStartup is the MTA's startup event (9298, 9299) for a build, as
// Q174695 quotes it.
func TextStartup(v Version) string {
	return "Microsoft Exchange Server MTA Service startup complete, version " +
		strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) + " (build " +
		strconv.Itoa(v.Build) + "." + strconv.Itoa(v.Rev) + ")."
}
