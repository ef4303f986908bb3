package dirsync

import (
	"fmt"
	"regexp"
	"strings"

	"mailnet/internal/mailnet"
)

var (
	lostRe     = regexp.MustCompile(`(?i)Multiple dirsync messages to and from (.+?) have been lost or delayed`)
	importRe   = regexp.MustCompile(`(?i)An Import Reply \(full export\) will be done to (.+?) on the next reply`)
	ddavRe     = regexp.MustCompile(`(?i)/ddav="([^"/]+)/([^"/]+)/\$?SYSTEM\d*"`)
	circularRe = regexp.MustCompile(`(?i)circular\s+route`)
	// The requestor a DIRSYNC.LOG line names: "PCM:Net/PO" (the type is
	// the gateway's for a gateway requestor).
	logReqRe = regexp.MustCompile(`\b[A-Za-z0-9]+:([^\s/:]+/[^\s/()]+)`)
)

// purgedTexts are the DIRSYNC.LOG errors of a requestor that missed purged
// updates, as Q108067 gives them (3.2 and 3.5, then 3.0 and 3.0b).
var purgedTexts = []string{
	"Server sync does not exist anymore",
	"Number of missing transactions",
	"Could not find the specified sync number",
	"Error reading file: MSTTRANS",
}

// readPurged reads Q108067's DIRSYNC.LOG errors (R17 (b)).
func readPurged(ev mailnet.Event) (RuleEvent, bool) {
	hit := false
	for _, p := range purgedTexts {
		if strings.Contains(ev.Description, p) {
			hit = true
			break
		}
	}
	if !hit {
		return RuleEvent{}, false
	}
	desc := strings.Join(strings.Fields(ev.Description), " ")
	name := ""
	if m := logReqRe.FindStringSubmatch(desc); m != nil {
		name = m[1]
	} else if strings.Count(ev.Server, "/") == 1 {
		name = ev.Server
	}
	return RuleEvent{Name: name, Finding: &Finding{Rule: "R17(b)", Kind: KindInactiveBeyondKeep, Severity: "error",
		Text:   fmt.Sprintf("%s missed updates the server has purged: DIRSYNC.LOG on %s says %q", nameOrUnknown(name), ev.Server, desc),
		Cause:  "\"These errors occur when a requestor postoffice does not participate in directory synchronization (Dir-Sync) for a period greater than the Keep Updates time\"",
		Fix:    "On the postoffice, Config, Dir-Sync, Requestor, Export (its complete address list to the server) and Config, Dir-Sync, Requestor, Import (the full list from the server); on an Exchange DX, Export on Next Cycle sends the full list.",
		Source: "Q108067"}}, true
}

// RuleEvent is an event that R20-R22 read: the finding, the requestor it
// names (NET/PO, or a Remote Dirsync Requestor's name), and whether the
// next SrvTx to it is announced as a full export (221).
type RuleEvent struct {
	Finding          *Finding
	Name             string
	ExpectFullExport bool
}

// ReadRuleEvent reads the MSExchangeDX 220/221 (Q175588), 136 (Q147084)
// and MSExchangeMSMI 2117 (Q162841) events. known reports whether a
// NET/PO is a registered requestor (R21 (c) tells the two cases apart).
// ok is false for any other event.
func ReadRuleEvent(ev mailnet.Event, known func(addr string) bool) (RuleEvent, bool) {
	switch ev.EventID {
	case 220, 221, 136, 2117:
	default:
		return readPurged(ev)
	}
	desc := strings.Join(strings.Fields(ev.Description), " ")
	switch ev.EventID {
	case 220:
		m := lostRe.FindStringSubmatch(desc)
		if m == nil {
			return RuleEvent{}, false
		}
		name := strings.TrimSpace(m[1])
		return RuleEvent{Name: name, ExpectFullExport: true, Finding: &Finding{Rule: "R20", Kind: KindLostMessages, Severity: "warning",
			Text:   fmt.Sprintf("DXA on %s has lost or delayed dir-sync traffic with %s; the next SrvTx to %s will be a full export (expect \"was 0\" and a large ## sent)", ev.Server, name, name),
			Cause:  "\"corrupted messages located on the DXA queue in the Message Transfer Agent (MTA).\"",
			Fix:    "Open the MTA queue of the DXA on " + ev.Server + " and remove the corrupted DXA message (Q164506).",
			Source: "Q175588"}}, true
	case 221:
		m := importRe.FindStringSubmatch(desc)
		if m == nil {
			return RuleEvent{}, false
		}
		return RuleEvent{Name: strings.TrimSpace(m[1]), ExpectFullExport: true}, true
	case 136:
		m := ddavRe.FindStringSubmatch(desc)
		if m == nil {
			return RuleEvent{}, false
		}
		addr := m[1] + "/" + m[2]
		if known != nil && known(addr) {
			return RuleEvent{Name: addr, Finding: &Finding{Rule: "R21", Kind: KindIdentityConflict, Severity: "error",
				Text:   fmt.Sprintf("Message received from %s/$SYSTEM could not be mapped to one directory entry: a duplicate $SYSTEM custom recipient", addr),
				Cause:  "\"the CR was created for the $SYSTEM account in two separate sites before those sites replicated\"",
				Fix:    "Search hidden and regular recipients for " + addr + "/$SYSTEM; delete the duplicate from the server or site that is not running the DirSync process and let it replicate.",
				Source: "Q147084"}}, true
		}
		return RuleEvent{Name: addr, Finding: &Finding{Rule: "R21", Kind: KindUnknownRequestor, Severity: "error",
			Text:   fmt.Sprintf("Message received from unknown DirSync requestor %s/$SYSTEM on %s: %s is not a registered requestor", addr, ev.Server, addr),
			Cause:  "\"Message received from unknown DirSync requestor\": the sender's MS proxy maps to no unique requestor.",
			Fix:    "Register " + addr + " as a Remote Dir-Sync Requestor of this DX, or correct the postoffice's dir-sync server.",
			Source: "Q147084"}}, true
	case 2117:
		if !circularRe.MatchString(desc) {
			return RuleEvent{}, false
		}
		subj := subjectOf(ev)
		if !LooksLike(subj) {
			return RuleEvent{}, false
		}
		from, _ := fromTo(ev)
		return RuleEvent{Name: from, Finding: &Finding{Rule: "R22", Kind: KindCircularRoute, Severity: "error",
			Text:   fmt.Sprintf("Dir-sync mail %q for %s was NDR'd by the MSMI as a circular route: the postoffice name collides with the connector postoffice's", Normalize(subj), nameOrUnknown(from)),
			Cause:  "\"If the postoffice name of the MS Mail postoffice is similar to that of the Microsoft Exchange Server connector postoffice\"",
			Fix:    "Apply the latest Exchange 4.0 service pack, or rename the postoffice (an MS Mail procedure).",
			Source: "Q162841"}}, true
	}
	return RuleEvent{}, false
}

func nameOrUnknown(s string) string {
	if s == "" {
		return "an unknown requestor"
	}
	return s
}

// PrefixCollisions is R22's static check: within one network, one
// postoffice name is a proper prefix of another (MEL227TRK and
// MEL227TRK0). It returns the findings by address, as given: each pair's
// finding is listed under both.
func PrefixCollisions(addrs []string) map[string][]Finding {
	type po struct{ addr, net, name string }
	var list []po
	for _, a := range addrs {
		n, p, ok := strings.Cut(a, "/")
		if ok {
			list = append(list, po{a, strings.ToUpper(n), strings.ToUpper(p)})
		}
	}
	out := map[string][]Finding{}
	for i, a := range list {
		for j, b := range list {
			if i == j || a.net != b.net || len(a.name) >= len(b.name) || !strings.HasPrefix(b.name, a.name) {
				continue
			}
			f := Finding{Rule: "R22", Kind: KindPOPrefixCollision, Severity: "warning",
				Text:   fmt.Sprintf("Dir-sync mail between %s and %s may be NDR'd as a circular route because the postoffice names collide", b.addr, a.addr),
				Cause:  "\"If the postoffice name of the MS Mail postoffice is similar to that of the Microsoft Exchange Server connector postoffice\"",
				Fix:    "Apply the latest Exchange 4.0 service pack, or rename one postoffice.",
				Source: "Q162841"}
			out[a.addr] = append(out[a.addr], f)
			out[b.addr] = append(out[b.addr], f)
		}
	}
	return out
}
