package dirsync

import (
	"fmt"
	"regexp"
	"strings"

	"mailnet/internal/mailnet"
)

// Evidence kinds: the steps of the manual procedure as the article lists
// what to look for.
const (
	EvMovedOut     = "moved_out"     // T1: 4395 Moved Out on the postoffice's side
	EvReceived     = "received"      // T1: 4355 Received on the DX server's side
	EvStatusReport = "status_report" // T1: "Status report from NET/PO"
	EvReqTx        = "reqtx"         // T1: the requestor's update
	EvSent         = "sent"          // T2: 4395 Sent on the DX server's side
	EvMovedIn      = "moved_in"      // T2: 4355 Moved In on the postoffice's side
	EvSrvTx        = "srvtx"         // T2: the server's update
)

// EvidenceKinds are every kind, in the article's order.
var EvidenceKinds = []string{EvMovedOut, EvReceived, EvStatusReport, EvReqTx, EvSent, EvMovedIn, EvSrvTx}

// EvidenceStep is the step (T1 or T2) of each evidence kind.
func EvidenceStep(kind string) string {
	switch kind {
	case EvSent, EvMovedIn, EvSrvTx:
		return "T2"
	}
	return "T1"
}

// Evidence is what one event says about the dir-sync of a requestor.
type Evidence struct {
	Kind string `json:"kind"`
	// Candidates are the NET/PO names the event may be about, most likely
	// first; the caller keeps the first registered requestor.
	Candidates []string `json:"candidates"`
	// ToDX: the message goes from the requestor to the DX server (T1).
	ToDX bool   `json:"to_dx"`
	From string `json:"from,omitempty"` // as written, without /$SYSTEM
	To   string `json:"to,omitempty"`
	// Tx is the parsed ReqTx or SrvTx: the subject of the event, or of
	// the message a 4395/4355 moved.
	Tx *Tx `json:"tx,omitempty"`
	// Unparsed is a dir-sync subject that does not parse.
	Unparsed string `json:"unparsed,omitempty"`
}

var (
	fromRe   = regexp.MustCompile(`(?i)\bFROM:\s*([^\s/]+/[^\s/]+)(?:/\$?SYSTEM\d*)?`)
	toRe     = regexp.MustCompile(`(?i)\bTO:\s*([^\s/]+/[^\s/]+)(?:/\$?SYSTEM\d*)?`)
	statusRe = regexp.MustCompile(`(?i)^status\s+report\s+from\s+([^\s/]+)\s*/\s*([^\s/.]+)\s*\.?$`)
	subjRe   = regexp.MustCompile(`(?i)\bSubject:\s*((?:ReqTx|SrvTx)\b[^\r\n]*(?:\r?\n[^\r\n\[]+)?)`)
)

// address reads NET/PO/$SYSTEM from a structured field.
func address(s string) string {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, "/")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// fromTo reads the FROM and TO of an event: the fields from and to when
// present, else the FROM:/TO: lines of the description.
func fromTo(ev mailnet.Event) (from, to string) {
	from, to = address(ev.Fields["from"]), address(ev.Fields["to"])
	if from == "" {
		if m := fromRe.FindStringSubmatch(ev.Description); m != nil {
			from = m[1]
		}
	}
	if to == "" {
		if m := toRe.FindStringSubmatch(ev.Description); m != nil {
			to = m[1]
		}
	}
	return from, to
}

// subjectOf is the event's subject, or one quoted in its description
// ("Subject: SrvTx ...", as an NDR logs it).
func subjectOf(ev mailnet.Event) string {
	if strings.TrimSpace(ev.Subject) != "" {
		return ev.Subject
	}
	if !strings.Contains(ev.Description, "ubject") {
		return ""
	}
	if m := subjRe.FindStringSubmatch(ev.Description); m != nil {
		return m[1]
	}
	return ""
}

func nonEmpty(xs ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range xs {
		k := strings.ToUpper(x)
		if x != "" && !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	return out
}

// ReadEvidence reads the dir-sync evidence of one event, wherever it was
// logged: the 4395/4355 events of the PC MTA with their FROM/TO lines (on
// the postoffice's side and on the DX server's side), the status report,
// and the ReqTx/SrvTx subjects. The event's server is the last candidate,
// for agents that log under the requestor's name. ok is false when the
// event is no dir-sync evidence.
func ReadEvidence(ev mailnet.Event) (Evidence, bool) {
	transfer := ev.EventID == 4395 || ev.EventID == 4355
	subject := subjectOf(ev)
	// The fast path of every other event: no regular expression runs.
	if !transfer && (subject == "" || !(LooksLike(subject) || hasStatusPrefix(subject))) {
		return Evidence{}, false
	}
	from, to := fromTo(ev)
	e := Evidence{From: from, To: to}
	if transfer {
		cat := strings.ToLower(strings.Join(strings.Fields(ev.Category), " "))
		switch {
		case ev.EventID == 4395 && cat == "moved out":
			e.Kind, e.ToDX = EvMovedOut, true
		case ev.EventID == 4355 && cat == "received":
			e.Kind, e.ToDX = EvReceived, true
		case ev.EventID == 4395 && cat == "sent":
			e.Kind = EvSent
		case ev.EventID == 4355 && cat == "moved in":
			e.Kind = EvMovedIn
		}
		if e.Kind != "" && (from != "" || to != "") {
			if e.ToDX {
				e.Candidates = nonEmpty(from, to)
			} else {
				e.Candidates = nonEmpty(to, from)
			}
			// The message moved may be named too: its ReqTx or SrvTx.
			if norm := Normalize(subject); LooksLike(norm) {
				if tx, ok := Parse(norm); ok {
					e.Tx = &tx
				} else {
					e.Unparsed = norm
				}
			}
			return e, true
		}
	}
	if subject == "" {
		return e, false
	}
	norm := Normalize(subject)
	if m := statusRe.FindStringSubmatch(norm); m != nil {
		e.Kind, e.ToDX = EvStatusReport, true
		e.Candidates = nonEmpty(m[1]+"/"+m[2], from, ev.Server)
		return e, true
	}
	if !LooksLike(norm) {
		return e, false
	}
	tx, ok := Parse(norm)
	if !ok {
		e.Unparsed = norm
		e.Candidates = nonEmpty(from, to, ev.Server)
		return e, true
	}
	e.Tx = &tx
	if tx.Kind == ReqTx {
		e.Kind, e.ToDX = EvReqTx, true
		e.Candidates = nonEmpty(from, to, ev.Server)
	} else {
		e.Kind = EvSrvTx
		e.Candidates = nonEmpty(to, from, ev.Server)
	}
	return e, true
}

// UnparsedFinding is the finding for a dir-sync subject that does not
// parse: it is recorded with its text, never dropped.
func UnparsedFinding(addr, text string) Finding {
	who := addr
	if who == "" {
		who = "an unknown requestor"
	}
	return Finding{Rule: "R15", Kind: KindUnparsedSubject, Severity: "warning",
		Text:   fmt.Sprintf("dir-sync subject from %s could not be read: %q", who, text),
		Cause:  "the subject does not match ReqTx R=R# (was r#), S=S#, I=I#, ## sent or SrvTx R=R# S=S# (was s#), I=I# ## sent",
		Fix:    "Read the message in the DXA administrator's mailbox; check the agent that logged it.",
		Source: "Q96060"}
}

func hasStatusPrefix(subject string) bool {
	f := strings.Fields(subject)
	return len(f) >= 2 && strings.EqualFold(f[0], "status") && strings.EqualFold(f[1], "report")
}
