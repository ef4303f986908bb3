package mta

import (
	"testing"
)

// The descriptions below are the articles' own words, wrapped as they are
// in the articles.
const (
	q193380First = `Event: 9301 The message transfer gateway that uses the network address
91F5C11B and the transport stack
/o=Org/ou=Site/cn=Configuration/cn=Servers/cn=LocalMTA/cn=TCP (LocalMTA)
could not be found. Check the configuration of the mail gateway. [BASE IL
TCP/IP DRVR 8 218] (10)`
	q193380Second = `The message transfer gateway that uses the network address 52656d6f74654d5441 and the transport stack /o=Org/ou=Site/cn=Configuration/cn=Servers/cn=LocalMTA/cn=TCP (LocalMTA) could not be found. Check the configuration of the mail gateway. [BASE IL TCP/IP DRVR 8 218] (10)`
	q169113       = `The message transfer gateway that uses the network
    address 4E434F5354455354 and the transport stack /o=Microsoft/ou=sitename/cn=Configuration/cn=Servers
    /cn=servername/cn=TCP (mtaname) could not be found. Check the configuration of the mail gateway.
    [BASE IL TCP/IP DRVR 36 218] (10)`
	q189345 = `The message transfer gateway that uses the network address xxxxxxxx and the transport
    stack /o=EXORG/ou=EXSITE/cn=Configuration/cn=Servers/cn=EXSERVER/cn=TCP (EXSERVER) could not be
    found. Check the configuration of the mail gateway. [BASE IL TCP/IP DRVR 8 218] (10)`
	q193380_9202 = `Event 9202 A sockets error 0 on an accept() call was detected. The MTA will attempt to recover the
      sockets connection. Control block index: 1. [BASE IL TCP/IP DRVR 8 256] (12)`
	q243632_9156 = `A resource limit has been reached while attempting to open an association. There are
    no free control blocks available for network type 1. The configured count is 70. [BASE IL MAIN BASE 1
    282] (10)`
	q174695Startup = `Microsoft Exchange Server MTA Service startup complete, version 5.0 (build 1457.8).`
)

func TestParse9301(t *testing.T) {
	tests := []struct {
		name, desc                string
		caller, server, org, site string
		mta                       string
	}{
		{"Q193380 IPv4 caller", q193380First, "145.245.193.27", "LocalMTA", "Org", "Site", "LocalMTA"},
		{"Q193380 second event, a name", q193380Second, "RemoteMTA", "LocalMTA", "Org", "Site", "LocalMTA"},
		{"Q169113 cluster node name, DN wrapped", q169113, "NCOSTEST", "servername", "Microsoft", "sitename", "mtaname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse9301(tt.desc)
			if err != nil {
				t.Fatalf("Parse9301: %v", err)
			}
			if g.Caller() != tt.caller || g.Server != tt.server || g.Org != tt.org || g.Site != tt.site || g.MTA != tt.mta {
				t.Errorf("got caller %q server %q org %q site %q mta %q, want %q %q %q %q %q",
					g.Caller(), g.Server, g.Org, g.Site, g.MTA, tt.caller, tt.server, tt.org, tt.site, tt.mta)
			}
		})
	}
	// Q189345 prints the address as the placeholder "xxxxxxxx": not an
	// address, and the parser says so rather than guessing.
	if _, err := Parse9301(q189345); err == nil {
		t.Errorf("Q189345's placeholder address parsed; want an error")
	}
	if _, err := Parse9301(q193380_9202); err == nil {
		t.Errorf("a 9202 text parsed as 9301")
	}
}

func TestParseStackDNWholeComponents(t *testing.T) {
	// MAIL is inside MAIL-2: the server must be MAIL-2, compared whole.
	_, _, server := parseStackDN("/o=Org/ou=Site/cn=Configuration/cn=Servers/cn=MAIL-2/cn=TCP")
	if server != "MAIL-2" {
		t.Errorf("server = %q, want MAIL-2", server)
	}
}

func TestDecodeAddress(t *testing.T) {
	ip, name, err := DecodeAddress("91F5C11B")
	if err != nil || ip.String() != "145.245.193.27" || name != "" {
		t.Errorf("91F5C11B: got %v %q %v, want 145.245.193.27", ip, name, err)
	}
	for _, bad := range []string{"", "xyz", "0", "00010203040506"} {
		if _, _, err := DecodeAddress(bad); err == nil {
			t.Errorf("DecodeAddress(%q): no error", bad)
		}
	}
}

func TestParseStartupAndOtherEvents(t *testing.T) {
	v, err := ParseStartup(q174695Startup)
	if err != nil || v.String() != "5.0.1457.8" || v.ServicePackName() != "RTM" {
		t.Errorf("startup: got %v (%s) %v, want 5.0.1457.8 RTM", v, v.ServicePackName(), err)
	}
	n, err := ParseControlBlocks(q243632_9156)
	if err != nil || n != 70 {
		t.Errorf("9156: got %d %v, want 70", n, err)
	}
	if RequiredControlBlocks(3) != 40 {
		t.Errorf("RequiredControlBlocks(3) = %d, want 40", RequiredControlBlocks(3))
	}
	se, err := Parse9202(q193380_9202)
	if err != nil || se.Code != 0 || se.Call != "accept" {
		t.Errorf("9202: got %+v %v, want code 0 on accept", se, err)
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in       string
		want     string // canonical
		sp       string
		override bool
		blind    bool
	}{
		{"5.5 SP2", "5.5.2448.1", "SP2", true, true},
		{"5.5.2448.1", "5.5.2448.1", "SP2", true, true},
		{"5.5 (build 2448.1)", "5.5.2448.1", "SP2", true, true},
		{"Exchange 5.5 SP2 (build 2448.1)", "5.5.2448.1", "SP2", true, true},
		{"5.5.2431.0", "5.5.2431.0", "SP1", true, true},
		{"5.5.2232.18", "5.5.2232.18", "SP1", false, false},
		{"5.5 SP1", "5.5.2232.18", "SP1", false, false},
		{"5.5", "5.5.1960.3", "RTM", false, false},
		{"5.5 SP3", "5.5.2650.24", "SP3", true, false},
		{"5.5.2650.24", "5.5.2650.24", "SP3", true, false},
		{"5.5.2621.0", "5.5.2621.0", "SP2", true, false},
		{"4.0 SP4", "4.0.995.54", "SP4", false, false},
		{"4.0a", "4.0.993.6", "SP2", false, false},
		{"5.0 (build 1457.8)", "5.0.1457.8", "RTM", false, false},
		{"3.1a", "3.1a", "", false, false},
		// Build 0 means unknown: the release is read as "4.0" would be
		// (the fuzzer found "4.0.0" reading back as 4.0.837.9).
		{"4.0.0", "4.0.837.9", "RTM", false, false},
		{"4.0a (build 0)", "4.0.993.6", "SP2", false, false},
		{"9.9.0", "9.9", "", true, false},
		{"0.0.0.1", "0.0.0.1", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := ParseVersion(tt.in)
			if err != nil {
				t.Fatalf("ParseVersion(%q): %v", tt.in, err)
			}
			if v.String() != tt.want || v.ServicePackName() != tt.sp || v.HasOverride() != tt.override || v.BlindTo9301() != tt.blind {
				t.Errorf("got %s sp %q override %v blind %v, want %s %q %v %v",
					v, v.ServicePackName(), v.HasOverride(), v.BlindTo9301(), tt.want, tt.sp, tt.override, tt.blind)
			}
		})
	}
	for _, bad := range []string{"", "  ", "five", "5.5 SP9", "5.5.x", "SP2"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q): no error", bad)
		}
	}
}

func TestVersionOrderAgainstOverrideMin(t *testing.T) {
	// The finding of the issue: "5.5 SP2" and "5.5 (build 2448.1)" compared
	// as older than 5.5.2431.0.
	for _, s := range []string{"5.5 SP2", "5.5 (build 2448.1)"} {
		v, _ := ParseVersion(s)
		if v.Compare(OverrideMin) <= 0 {
			t.Errorf("%s is not newer than %s", s, OverrideMin)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{q193380First, q193380Second, q169113, q189345, q193380_9202, q243632_9156, q174695Startup, "5.5 SP2", "4.0a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if g, err := Parse9301(s); err == nil && g.Address == "" {
			t.Errorf("9301 parsed with no address: %q", s)
		}
		_, _ = ParseStartup(s)
		_, _ = ParseControlBlocks(s)
		_, _ = Parse9202(s)
		if v, err := ParseVersion(s); err == nil {
			if w, err := ParseVersion(v.String()); err != nil || w.Compare(v) != 0 {
				t.Errorf("%q: canonical %q does not read back the same (%v)", s, v.String(), err)
			}
		}
	})
}

func TestTextsReadBack(t *testing.T) {
	dn := StackDN("Org", "Site", "LocalMTA")
	for _, caller := range []string{"145.245.193.27", "RemoteMTA"} {
		g, err := Parse9301(Text9301(caller, dn, "LocalMTA"))
		if err != nil || g.Caller() != caller || g.Server != "LocalMTA" {
			t.Errorf("%s: read back %+v %v", caller, g, err)
		}
	}
	if EncodeAddress("145.245.193.27") != "91F5C11B" {
		t.Errorf("EncodeAddress = %s, want 91F5C11B", EncodeAddress("145.245.193.27"))
	}
	v, _ := ParseVersion("5.5 SP3")
	w, err := ParseStartup(TextStartup(v))
	if err != nil || w.Compare(v) != 0 {
		t.Errorf("startup text read back %v %v, want %v", w, err, v)
	}
}

// The dotted form has a fast path beside the regular expressions; a
// leading space sends the same text through the full parser, which must
// agree on every input, read or refused.
func TestParseVersionFastPathAgrees(t *testing.T) {
	for _, in := range []string{"5.5.2448.1", "5.5.2232.18", "4.0.837.9", "5.0.1457.8", "5.5.2650.24", "5.5.2431.0", "5.5.1960",
		"12.34.5", "999.999.999999.999999", "1000.1.1.1", "5.5.1234567", "5.5.1.1234567", "5.5", "5.5.", "5..5.1", ".5.5.1",
		"5.5.2448.1.", "5.5.2448.1.2", "05.05.02448.01", "5.5.2448.1a", "5.5 SP2", "0.0.0"} {
		fast, errFast := ParseVersion(in)
		full, errFull := ParseVersion(" " + in)
		if (errFast == nil) != (errFull == nil) || fast != full {
			t.Errorf("ParseVersion(%q) = %+v, %v; the full parser says %+v, %v", in, fast, errFast, full, errFull)
		}
	}
}
