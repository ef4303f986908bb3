package mta

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a server version as administrators write it and as the MTA
// reports it, reduced to one comparable form. For Exchange Server the
// build is known exactly when it was given ("5.5.2448.1", "5.5 (build
// 2448.1)") or implied by a release the build table names ("5.5 SP2");
// a bare "5.5" is taken as the release's first build (RTM), the most
// cautious reading.
type Version struct {
	Major, Minor int
	Build, Rev   int    // the MTA build; 0 when unknown
	Suffix       string // a release letter such as the "a" of "4.0a" or "3.1a"
	SP           int    // service pack, -1 when unknown; 0 is RTM
	// Exact is false when the build was inferred from a release name.
	Exact bool
}

// Release is one row of the MTA build table of Q163294.
type Release struct {
	Major, Minor int
	SP           int
	Build, Rev   int
	Name         string
}

// Releases is the MTA build table of Q163294, oldest first.
var Releases = []Release{
	{4, 0, 0, 837, 9, "4.0 RTM"},
	{4, 0, 1, 838, 10, "4.0 SP1"},
	{4, 0, 2, 993, 6, "4.0 SP2 / 4.0a"},
	{4, 0, 3, 994, 54, "4.0 SP3"},
	{4, 0, 4, 995, 54, "4.0 SP4"},
	{4, 0, 5, 996, 72, "4.0 SP5"},
	{5, 0, 0, 1457, 8, "5.0 RTM"},
	{5, 0, 1, 1458, 56, "5.0 SP1"},
	{5, 0, 2, 1460, 13, "5.0 SP2"},
	{5, 5, 0, 1960, 3, "5.5 RTM"},
	{5, 5, 1, 2232, 18, "5.5 SP1"},
	{5, 5, 2, 2448, 1, "5.5 SP2"},
	{5, 5, 3, 2650, 24, "5.5 SP3"},
	{5, 5, 4, 2653, 23, "5.5 SP4"},
}

// OverrideMin is the first MTA with the Stack IP Address Override: the
// KB197378 fix, Emsmta.exe 5.5.2431.0, shipped in Exchange 5.5 SP2.
var OverrideMin = Version{Major: 5, Minor: 5, Build: 2431, Rev: 0, SP: -1, Exact: true}

// Blind-spot builds of Q234962: "Some MTA builds between 2354-2620 do not
// log Event ID 9301. Build 2621 and later do log this event ID."
const (
	BlindSpotFirst = 2354
	BlindSpotLast  = 2620
)

var (
	reVersionBuild = regexp.MustCompile(`(?i)^(\d{1,3})\.(\d{1,3})([a-z]?)(?:\s*(?:sp\s*(\d{1,2})|service\s+pack\s+(\d{1,2})))?\s*\(\s*build\s+(\d{1,6})(?:\.(\d{1,6}))?\s*\)$`)
	reVersionSP    = regexp.MustCompile(`(?i)^(\d{1,3})\.(\d{1,3})([a-z]?)\s*(?:(?:sp|service\s+pack)\s*(\d{1,2})|(rtm))?$`)
	reVersionDots  = regexp.MustCompile(`^(\d{1,3})\.(\d{1,3})\.(\d{1,6})(?:\.(\d{1,6}))?$`)
)

// ParseVersion reads a version as administrators write it: "5.5 SP2",
// "5.5.2448.1", "5.5 (build 2448.1)", "5.5 SP2 (build 2448.1)", "4.0a",
// "4.0 SP4", "Exchange 5.5 SP2", "3.1a". An empty string or one that
// names no version is an error.
func ParseVersion(s string) (Version, error) {
	if v, ok := parseDotted(s); ok {
		return v, nil
	}
	t := strings.Join(strings.Fields(s), " ")
	for _, p := range []string{"microsoft exchange server ", "exchange server ", "exchange ", "ms mail ", "version "} {
		if len(t) > len(p) && strings.EqualFold(t[:len(p)], p) {
			t = t[len(p):]
		}
	}
	if t == "" {
		return Version{}, fmt.Errorf("no version given")
	}
	if m := reVersionDots.FindStringSubmatch(t); m != nil {
		v := Version{Major: atoi(m[1]), Minor: atoi(m[2]), Build: atoi(m[3]), Rev: atoi(m[4]), Exact: true}
		return v.exact(), nil
	}
	if m := reVersionBuild.FindStringSubmatch(t); m != nil {
		v := Version{Major: atoi(m[1]), Minor: atoi(m[2]), Suffix: strings.ToLower(m[3]), Build: atoi(m[6]), Rev: atoi(m[7]), Exact: true}
		return v.exact(), nil
	}
	if m := reVersionSP.FindStringSubmatch(t); m != nil {
		v := Version{Major: atoi(m[1]), Minor: atoi(m[2]), Suffix: strings.ToLower(m[3]), SP: -1}
		switch {
		case m[4] != "":
			v.SP = atoi(m[4])
		case m[5] != "":
			v.SP = 0
		}
		return v.fromRelease()
	}
	return Version{}, fmt.Errorf("%q is not a version such as 5.5.2448.1, 5.5 SP2 or 5.5 (build 2448.1)", s)
}

// exact finishes a version whose build was written out. Build 0 means
// "unknown" throughout, so "4.0.0" or "4.0 (build 0)" is read as the
// release it names, the same as "4.0": its canonical form then reads back
// the same.
func (v Version) exact() Version {
	if v.Build == 0 && v.Rev == 0 {
		v.Exact, v.SP = false, -1
		w, _ := v.fromRelease() // no service pack is named, so no error
		return w
	}
	v.SP = v.servicePack()
	return v
}

// fromRelease fills in the build of a version named by release from the
// build table of Q163294; a service pack the table's line lacks is an error.
func (v Version) fromRelease() (Version, error) {
	if v.SP < 0 && v.Suffix == "a" && v.Major == 4 && v.Minor == 0 {
		v.SP = 2 // "4.0 SP2 / 4.0a" (Q163294)
	}
	if r, ok := v.release(); ok {
		v.Build, v.Rev = r.Build, r.Rev
		if v.SP < 0 {
			v.SP = r.SP
		}
	} else if v.SP > 0 && v.hasTable() {
		return Version{}, fmt.Errorf("%d.%d has no service pack %d", v.Major, v.Minor, v.SP)
	}
	return v, nil
}

// parseDotted reads the commonest form, "5.5.2448.1" with nothing around
// it, without the regular expressions: the checks parse one version per
// server. ok is false for anything else, which ParseVersion reads in full.
func parseDotted(s string) (Version, bool) {
	var parts [4]int
	n, digits := 0, 0
	limits := [4]int{3, 3, 6, 6}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			if digits > limits[n] {
				return Version{}, false
			}
			parts[n] = parts[n]*10 + int(c-'0')
		case c == '.' && digits > 0 && n < 3:
			n, digits = n+1, 0
		default:
			return Version{}, false
		}
	}
	if digits == 0 || n < 2 {
		return Version{}, false
	}
	v := Version{Major: parts[0], Minor: parts[1], Build: parts[2], Rev: parts[3], Exact: true}
	return v.exact(), true
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func (v Version) hasTable() bool {
	for _, r := range Releases {
		if r.Major == v.Major && r.Minor == v.Minor {
			return true
		}
	}
	return false
}

// release is the build-table row for a version named by release: the
// given service pack, or RTM when none is given.
func (v Version) release() (Release, bool) {
	sp := v.SP
	if sp < 0 {
		sp = 0
	}
	for _, r := range Releases {
		if r.Major == v.Major && r.Minor == v.Minor && r.SP == sp {
			return r, true
		}
	}
	return Release{}, false
}

// servicePack is the newest release of v's line whose build v has
// reached, or -1 when the table has no such line or v is older than its
// first build.
func (v Version) servicePack() int {
	sp := -1
	for _, r := range Releases {
		if r.Major != v.Major || r.Minor != v.Minor {
			continue
		}
		if cmpInts(v.Build, v.Rev, r.Build, r.Rev) >= 0 {
			sp = r.SP
		}
	}
	return sp
}

func cmpInts(a1, a2, b1, b2 int) int {
	switch {
	case a1 != b1:
		return sign(a1 - b1)
	default:
		return sign(a2 - b2)
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// Compare orders versions by major, minor, build and revision; without a
// build, by release letter ("3.1" < "3.1a").
func (v Version) Compare(w Version) int {
	if c := sign(v.Major - w.Major); c != 0 {
		return c
	}
	if c := sign(v.Minor - w.Minor); c != 0 {
		return c
	}
	if c := cmpInts(v.Build, v.Rev, w.Build, w.Rev); c != 0 || v.Build != 0 || v.Rev != 0 {
		return c // a known build says everything a release letter does
	}
	return strings.Compare(v.Suffix, w.Suffix)
}

// IsZero reports whether v is the zero Version (nothing parsed).
func (v Version) IsZero() bool { return v == Version{} }

// HasOverride reports whether the MTA of v honours the Stack IP Address
// Override (KB197378: first corrected in Exchange 5.5 Service Pack 2).
func (v Version) HasOverride() bool { return v.Compare(OverrideMin) >= 0 }

// BlindTo9301 reports whether v is a 5.5 MTA build that Q234962 says may
// not log Event 9301 (builds 2354-2620).
func (v Version) BlindTo9301() bool {
	return v.Major == 5 && v.Minor == 5 && v.Build >= BlindSpotFirst && v.Build <= BlindSpotLast
}

// ServicePackName is "SP2", "RTM", or "" when the build table does not
// place v.
func (v Version) ServicePackName() string {
	switch {
	case v.SP < 0:
		return ""
	case v.SP == 0:
		return "RTM"
	}
	return "SP" + strconv.Itoa(v.SP)
}

// String is the canonical form: "5.5.2448.1" when the build (or its
// revision) is known, else "5.5" with its letter.
func (v Version) String() string {
	if v.Build == 0 && v.Rev == 0 {
		return fmt.Sprintf("%d.%d%s", v.Major, v.Minor, v.Suffix)
	}
	return fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.Build, v.Rev)
}

// Label is what pages show: the build and, where known, its service pack,
// as administrators think of it ("5.5.2448.1 · SP2").
func (v Version) Label() string {
	s := v.String()
	if sp := v.ServicePackName(); sp != "" {
		s += " · " + sp
	}
	return s
}
