package dirsync

import (
	"strings"
	"testing"

	"mailnet/internal/mailnet"
)

// The four events of the article (T1 a. and T2 a.), with its placeholders
// filled in: requestor NET1/PO1 on \\POSRV, DX server EXSRV in ORG/SITE.
func TestReadEvidenceArticleEvents(t *testing.T) {
	tests := []struct {
		name string
		ev   mailnet.Event
		kind string
		toDX bool
	}{
		{"T1 moved out on the postoffice", mailnet.Event{Server: "NET1/PO1", EventID: 4395, Category: "Moved Out",
			Description: "Mail sent from \\\\POSRV\\MAILDATA\nFROM: NET1/PO1/$SYSTEM\nTO: ORG/SITE/$SYSTEM"}, EvMovedOut, true},
		{"T1 received on the DX server", mailnet.Event{Server: "EXSRV", EventID: 4355, Category: "Received",
			Description: "Mail received on \\\\EXSRV\\MAILDAT$\nFROM: NET1/PO1/$SYSTEM\nTO: ORG/SITE/$SYSTEM"}, EvReceived, true},
		{"T2 sent on the DX server", mailnet.Event{Server: "EXSRV", EventID: 4395, Category: "Sent",
			Description: "Mail sent from \\\\EXSRV\\MAILDAT$\nFROM: ORG/SITE/$SYSTEM\nTO: NET1/PO1/$SYSTEM"}, EvSent, false},
		{"T2 moved in on the postoffice", mailnet.Event{Server: "NET1/PO1", EventID: 4355, Category: "Moved In",
			Description: "Mail received on \\\\POSRV\\MAILDATA\nFROM: ORG/SITE/$SYSTEM\nTO: NET1/PO1/$SYSTEM"}, EvMovedIn, false},
		{"structured from/to fields", mailnet.Event{Server: "EXSRV", EventID: 4355, Category: "received",
			Fields: map[string]string{"from": "NET1/PO1/$SYSTEM", "to": "ORG/SITE/$SYSTEM"}}, EvReceived, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := ReadEvidence(tt.ev)
			if !ok || e.Kind != tt.kind || e.ToDX != tt.toDX {
				t.Fatalf("ReadEvidence = %+v, %v; want kind %s toDX %v", e, ok, tt.kind, tt.toDX)
			}
			if len(e.Candidates) == 0 || e.Candidates[0] != "NET1/PO1" {
				t.Errorf("candidates %q, want NET1/PO1 first", e.Candidates)
			}
		})
	}
}

func TestReadEvidenceSubjects(t *testing.T) {
	e, ok := ReadEvidence(mailnet.Event{Server: "EXSRV", Subject: "Status report from NET1/PO1."})
	if !ok || e.Kind != EvStatusReport || e.Candidates[0] != "NET1/PO1" {
		t.Fatalf("status report: %+v %v", e, ok)
	}
	e, ok = ReadEvidence(mailnet.Event{Server: "EXSRV", Subject: "ReqTx R=12 (was 11), S=7, I=3, 1 sent.",
		Fields: map[string]string{"from": "NET1/PO1/$SYSTEM"}})
	if !ok || e.Kind != EvReqTx || e.Candidates[0] != "NET1/PO1" || e.Tx.R != 12 {
		t.Fatalf("reqtx on the DX side: %+v %v", e, ok)
	}
	// Q162841's NDR quotes the subject in its description.
	e, ok = ReadEvidence(mailnet.Event{Server: "EXGAU30003", EventID: 2117,
		Description: "Non delivery report generated.\nFrom: ANZAUDCU/MEL227TRK0/$SYSTEM\nSubject: SrvTx R=3 S=87298 (was 0), I=2 15603 sen\n[004] Message circular route detected."})
	if !ok || e.Kind != EvSrvTx || e.Tx.S != 87298 || !contains(e.Candidates, "ANZAUDCU/MEL227TRK0") {
		t.Fatalf("q162841 subject: %+v %v", e, ok)
	}
}

func TestReadEvidenceUnparsedIsKept(t *testing.T) {
	for _, subject := range []string{"SrvTx R=3 S=87298 (was 0) I=2", "ReqTx R=12, S=7, I=3, 25 sent."} {
		e, ok := ReadEvidence(mailnet.Event{Server: "NET1/PO1", Subject: subject})
		if !ok || e.Unparsed == "" || e.Kind != "" {
			t.Fatalf("%q: %+v %v; want it kept as unparsed", subject, e, ok)
		}
		f := UnparsedFinding("NET1/PO1", e.Unparsed)
		if f.Kind != KindUnparsedSubject || !strings.Contains(f.Text, subject) {
			t.Errorf("finding %+v does not carry the text", f)
		}
	}
	if _, ok := ReadEvidence(mailnet.Event{Server: "NET1/PO1", Subject: "Lunch on Friday"}); ok {
		t.Errorf("an ordinary subject read as dir-sync evidence")
	}
}

func TestRuleEventsArticleTexts(t *testing.T) {
	known := func(addr string) bool { return strings.EqualFold(addr, "NET1/PO1") }
	tests := []struct {
		name   string
		ev     mailnet.Event
		rule   string
		kind   string
		target string
		full   bool
	}{
		{"R20 Q175588 event 220", mailnet.Event{Server: "EXSRV", Source: "MSExchangeDX", EventID: 220,
			Description: "Multiple dirsync messages to and from NET1/PO1 have been lost or delayed."}, "R20", KindLostMessages, "NET1/PO1", true},
		{"R21 Q147084 event 136 unregistered", mailnet.Event{Server: "EXSRV", Source: "MSExchangeDX", EventID: 136, Category: "Event Handler",
			Description: `Message received from unknown DirSync requestor - X400:/ddat=ms /ddav="NEWTORK/POSTOFFICE/$SYSTEM".`}, "R21", KindUnknownRequestor, "NEWTORK/POSTOFFICE", false},
		{"R21 event 136 registered: duplicate CR", mailnet.Event{Server: "EXSRV", Source: "MSExchangeDX", EventID: 136,
			Description: `Message received from unknown DirSync requestor - X400:/ddat=ms /ddav="NET1/PO1/$SYSTEM".`}, "R21", KindIdentityConflict, "NET1/PO1", false},
		{"R22 Q162841 event 2117", mailnet.Event{Server: "EXGAU30003", Source: "MSExchangeMSMI", EventID: 2117,
			Description: "Non delivery report generated.\nFrom: ANZAUDCU/MEL227TRK0/$SYSTEM\nSubject: SrvTx R=3 S=87298 (was 0), I=2 15603 sen\n[004] Message circular route detected."},
			"R22", KindCircularRoute, "ANZAUDCU/MEL227TRK0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re, ok := ReadRuleEvent(tt.ev, known)
			if !ok || re.Finding == nil {
				t.Fatalf("no finding: %+v %v", re, ok)
			}
			if re.Finding.Rule != tt.rule || re.Finding.Kind != tt.kind || re.Name != tt.target || re.ExpectFullExport != tt.full {
				t.Errorf("got %s %s for %q (full export %v), want %s %s for %q (%v)", re.Finding.Rule, re.Finding.Kind, re.Name, re.ExpectFullExport, tt.rule, tt.kind, tt.target, tt.full)
			}
			if re.Finding.Cause == "" || re.Finding.Fix == "" || re.Finding.Source == "" {
				t.Errorf("finding lacks cause, fix or source: %+v", re.Finding)
			}
		})
	}
	re, ok := ReadRuleEvent(mailnet.Event{EventID: 221, Description: "An Import Reply (full export) will be done to NET1/PO1 on the next reply."}, known)
	if !ok || !re.ExpectFullExport || re.Name != "NET1/PO1" || re.Finding != nil {
		t.Errorf("221: %+v %v", re, ok)
	}
}

func TestPrefixCollisions(t *testing.T) {
	// Q162841: the connector postoffice MEL227TRK and the postoffice MEL227TRK0.
	got := PrefixCollisions([]string{"ANZAUDCU/MEL227TRK", "ANZAUDCU/MEL227TRK0", "OTHER/MEL227TRK00"})
	if len(got) != 2 || len(got["ANZAUDCU/MEL227TRK0"]) != 1 || got["ANZAUDCU/MEL227TRK0"][0].Rule != "R22" || len(got["OTHER/MEL227TRK00"]) != 0 {
		t.Fatalf("collisions %+v, want the one pair in ANZAUDCU", got)
	}
}
