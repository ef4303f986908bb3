package dirsync

import (
	"fmt"
	"time"

	"mailnet/internal/mailnet"
)

// Finding kinds, each with the rule (KB-RULES.md) that names it.
const (
	KindReqTxInconsistent  = "reqtx-inconsistent"           // R15 (1)
	KindReqSyncExceeds     = "reqsync-exceeds-srvsync"      // R15 (2)
	KindMissedReqTx        = "srvtx-missed-reqtx"           // R15 (3)
	KindSentExceeds        = "srvtx-sent-exceeds"           // R15 (4)
	KindSyncMismatch       = "srvtx-sync-mismatch"          // R15 (5)
	KindUpdatesIgnored     = "updates-ignored"              // R15 (6)
	KindSrvSkip            = "srvtx-was-mismatch"           // R15: the server's "was s#" is not the last S
	KindImportRegression   = "import-sync-regression"       // R16
	KindServerBehind       = "server-behind-requestor"      // R17 (a)
	KindInactiveBeyondKeep = "inactive-beyond-keep-updates" // R17 (b)
	KindUnconfirmed        = "unconfirmed-updates"          // R18
	KindNewWithoutExport   = "new-requestor-no-export"      // R19 (a)
	KindContainerAdded     = "export-container-added"       // R19 (b)
	KindImportedShrank     = "imported-list-shrank"         // R19 (c)
	KindLostMessages       = "dxa-lost-messages"            // R20
	KindIdentityConflict   = "identity-conflict"            // R21 (c), a known requestor
	KindDuplicateSystemCR  = "duplicate-system-cr"          // R21 (a)
	KindRequestorConflict  = "duplicate-exchange-requestor" // R21 (b)
	KindUnknownRequestor   = "unregistered-requestor"       // R21 (c), not registered
	KindCircularRoute      = "circular-route-ndr"           // R22
	KindUnparsedSubject    = "unparsed-subject"             // a dir-sync subject that does not parse
	KindUnattributed       = "unattributed-evidence"        // dir-sync evidence naming no known requestor
	KindPOPrefixCollision  = "po-name-prefix-collision"     // R22, static
)

// Finding is one condition found on a requestor (or, RequestorAddr empty,
// on the network), with the article's cause and fix.
type Finding struct {
	Rule     string `json:"rule"`     // "R15(1)", "R20", ...
	Kind     string `json:"kind"`     // one of the Kind constants
	Severity string `json:"severity"` // warning or error
	Text     string `json:"text"`
	Cause    string `json:"cause,omitempty"`
	Fix      string `json:"fix,omitempty"`
	Source   string `json:"source,omitempty"` // the KB articles
}

// State is what Apply needs of a requestor beyond its sync numbers.
type State struct {
	mailnet.Requestor
	// ExportSetAt is when Export on Next Cycle was last set (zero: never,
	// or not set now).
	ExportSetAt time.Time
	// Unconfirmed counts the consecutive ReqTx (T1s) whose S is below the
	// server's S: updates the requestor has not confirmed (R18).
	Unconfirmed int
	// ExpectFullExport: a 221 announced an Import Reply for the next reply.
	ExpectFullExport bool
}

// Outcome is what one ReqTx or SrvTx does to a requestor.
type Outcome struct {
	State State
	// Found are the conditions the transaction shows; Checked are the
	// kinds it tests, so that an open finding of a checked kind that is
	// not found again resolves by itself.
	Found   []Finding
	Checked []string
	// Baseline: the requestor's first transaction, which sets the numbers
	// instead of being checked against zeros.
	Baseline bool
	// FullExport: the SrvTx is an Import Reply ("(was 0)", I raised or an
	// export pending), not a skip.
	FullExport bool
	// FlagCleared: the SrvTx was logged after Export on Next Cycle was set
	// and cleared it.
	FlagCleared bool
	// Late: the event is older than the last of its kind already applied;
	// it is kept in the history but changes nothing.
	Late bool
	// Again: the same message as the last of its kind, logged on the other
	// side (4395 on the postoffice, 4355 on the DX): it changes nothing.
	Again bool
}

// fresh reports whether the requestor has no sync history yet.
func fresh(r mailnet.Requestor) bool {
	return r.LastReqTx == "" && r.LastSrvTx == "" &&
		r.RequestorSync == 0 && r.ServerSync == 0 && r.Imports == 0
}

// UnconfirmedLimit is how many consecutive T1s may carry an S below the
// server's before R18 speaks ("persisting past two consecutive requestor
// T1 times").
const UnconfirmedLimit = 2

// Apply folds tx, logged at at, into the requestor. It never fails: what
// does not add up is in Found.
func Apply(st State, tx Tx, at time.Time) Outcome {
	out := Outcome{State: st}
	r := &out.State.Requestor
	addr := r.Address()
	add := func(f Finding) { out.Found = append(out.Found, f) }
	check := func(kinds ...string) { out.Checked = append(out.Checked, kinds...) }
	switch tx.Kind {
	case ReqTx:
		if tx.Raw == r.LastReqTx && !at.Before(r.LastReqTxAt) {
			out.Again = true
			return out
		}
		if !r.LastReqTxAt.IsZero() && at.Before(r.LastReqTxAt) {
			out.Late = true
			return out
		}
		check(KindReqTxInconsistent)
		if tx.R-tx.WasR != tx.Sent {
			add(Finding{Rule: "R15(1)", Kind: KindReqTxInconsistent, Severity: "warning",
				Text:   fmt.Sprintf("ReqTx from %s is internally inconsistent (R=%d, was %d, %d sent): REQTRANS vs REQCONF mismatch", addr, tx.R, tx.WasR, tx.Sent),
				Cause:  "\"The z is the number of actual transactions being sent this cycle, thus, x=y+z.\"",
				Fix:    "Reset the requestor sync numbers (RESYNC.GLB) as Q119452/Q96060 describe.",
				Source: "Q133428"})
		}
		if fresh(*r) {
			out.Baseline = true
			r.ServerSync = tx.S
		} else if r.LastSrvTx != "" {
			check(KindServerBehind, KindUnconfirmed)
			switch {
			case tx.S > r.ServerSync:
				add(Finding{Rule: "R17(a)", Kind: KindServerBehind, Severity: "error",
					Text:   fmt.Sprintf("%s holds server sync number %d, above the %d the server last sent: the dir-sync server appears to have been restored from an older backup", addr, tx.S, r.ServerSync),
					Cause:  "\"the sync numbers in SRVCONF.GLB are less than the sync numbers on the requestors\"",
					Fix:    "Export on every requestor (Export on Next Cycle), let it cycle, then import admin -p<password> -d<drive> -s -y on the server and distribute RESYNC.GLB.",
					Source: "Q113453, Q96060"})
				out.State.Unconfirmed = 0
			case tx.S < r.ServerSync:
				out.State.Unconfirmed++
				if out.State.Unconfirmed >= UnconfirmedLimit {
					add(Finding{Rule: "R18", Kind: KindUnconfirmed, Severity: "warning",
						Text:   fmt.Sprintf("%s is not acknowledging server updates (S=%d in its ReqTx, the server is at %d for %d cycles): SrvTx not delivered or T3 not run", addr, tx.S, r.ServerSync, out.State.Unconfirmed),
						Cause:  "\"The DXA-Conf-Seq number can be less than the DXA-Svr-Seq if the server has sent updates to the requestor and no acknowledgment has been received from the requestor\"",
						Fix:    "Check that the SrvTx reaches the postoffice (4395 Sent, 4355 Moved In) and that T3 (reqmain -r, import, rebuild) runs.",
						Source: "Q152231"})
				} else {
					// Not yet a finding: keep an open one open.
					out.Checked = out.Checked[:len(out.Checked)-1]
				}
			default:
				out.State.Unconfirmed = 0
			}
		}
		r.RequestorSync = tx.R
		if tx.I > r.Imports || out.Baseline {
			r.Imports = tx.I
		}
		r.LastReqTx, r.LastReqTxAt = tx.Raw, at
	case SrvTx:
		if tx.Raw == r.LastSrvTx && !at.Before(r.LastSrvTxAt) {
			out.Again = true
			return out
		}
		if !r.LastSrvTxAt.IsZero() && at.Before(r.LastSrvTxAt) {
			out.Late = true
			return out
		}
		out.FullExport = tx.WasS == 0 && tx.S > 0 && (r.ServerSync > 0 || tx.I > r.Imports || r.ExportOnNextCycle || st.ExpectFullExport)
		if fresh(*r) {
			out.Baseline = true
		} else {
			check(KindMissedReqTx, KindImportRegression, KindSrvSkip, KindSentExceeds, KindSyncMismatch, KindReqSyncExceeds)
			if out.FullExport {
				// The Import Reply that Q108067's Export and Import ask
				// for, and the one Q175588's 220/221 announce: the DXA's
				// traffic with the requestor has recovered.
				check(KindInactiveBeyondKeep, KindLostMessages)
			}
			if r.LastReqTx != "" && tx.R < r.RequestorSync {
				add(Finding{Rule: "R15(3)", Kind: KindMissedReqTx, Severity: "warning",
					Text:   fmt.Sprintf("SrvTx to %s acknowledges R=%d, but its last ReqTx carried R=%d: the server did not process the last ReqTx before T2", addr, tx.R, r.RequestorSync),
					Cause:  "DIRSYNC.LOG \"No Tasks From Requestor\": the ReqTx arrived after T2.",
					Fix:    "Widen the T1 to T2 window, or check mail transfer to the DX (4395 Moved Out, 4355 Received).",
					Source: "Q96060, Q131509"})
			}
			if tx.I < r.Imports {
				add(Finding{Rule: "R16", Kind: KindImportRegression, Severity: "error",
					Text:   fmt.Sprintf("%s will silently discard server updates: the server's import count (I=%d) is below the requestor's (I=%d) after the requestor was re-registered", addr, tx.I, r.Imports),
					Cause:  "\"the requestor ... notices that the Import sync is less than its recorded value and rejects the updates as old Dir-Sync mail. There are no warnings to indicate the rejection\"",
					Fix:    "Set Export on Next Cycle for this requestor (an Import on the postoffice), or give it a RESYNC.GLB.",
					Source: "Q99961"})
			}
			if !out.FullExport {
				switch {
				case tx.S < r.ServerSync:
					add(Finding{Rule: "R17(a)", Kind: KindSrvSkip, Severity: "error",
						Text:   fmt.Sprintf("server sync number for %s went back from %d to %d", addr, r.ServerSync, tx.S),
						Cause:  "\"the sync numbers in SRVCONF.GLB are less than the sync numbers on the requestors\"",
						Fix:    "Export on every requestor, then distribute RESYNC.GLB (Q113453).",
						Source: "Q113453"})
				case tx.WasS != r.ServerSync:
					add(Finding{Rule: "R15", Kind: KindSrvSkip, Severity: "warning",
						Text:   fmt.Sprintf("server sync number for %s skipped: SrvTx says it was %d, but the last S was %d", addr, tx.WasS, r.ServerSync),
						Cause:  "a SrvTx between the two was lost or not logged",
						Fix:    "Check the DXA queue and the dir-sync administrator's copies; an Export on Next Cycle resends everything.",
						Source: "Q96060"})
				}
				if tx.S >= tx.WasS && tx.Sent < tx.S-tx.WasS {
					// R15 (5) as Q152231 has it for an Exchange DX (the only
					// kind of DX the inventory holds): DXA-Svr-Seq counts what
					// the server sent to this one requestor, so S rises by
					// exactly ## sent. KB-RULES' "same S# for every requestor
					// of one T2" holds only for an MS Mail dir-sync server
					// (Q96060); see README.
					add(Finding{Rule: "R15(5)", Kind: KindSyncMismatch, Severity: "warning",
						Text:   fmt.Sprintf("SrvTx to %s raised S by %d (%d to %d) but sent %d updates: the server counts transactions it did not send to this requestor", addr, tx.S-tx.WasS, tx.WasS, tx.S, tx.Sent),
						Cause:  "\"DXA-Svr-Seq (Server sequence number) - Cumulative total of number of transactions sent by the server to the one requestor.\"",
						Fix:    "Compare DXA-Svr-Seq and DXA-Conf-Seq on the Remote Dir-Sync Requestor (admin /r, Raw Properties); set Export on Next Cycle to resend in full, or reset the numbers as Q152231 describes.",
						Source: "Q152231"})
				}
				if tx.S >= tx.WasS && tx.Sent > tx.S-tx.WasS {
					add(Finding{Rule: "R15(4)", Kind: KindSentExceeds, Severity: "warning",
						Text:   fmt.Sprintf("SrvTx to %s sent %d updates, more than S-s = %d-%d: not an Import Reply, so suspicious", addr, tx.Sent, tx.S, tx.WasS),
						Cause:  "(derived) for a normal reply ## sent <= S - s",
						Fix:    "Compare with the DX's log; set Export on Next Cycle to resend in full.",
						Source: "Q96060 (derived)"})
				}
			}
			if tx.R > tx.S && tx.S > 0 {
				add(Finding{Rule: "R15(2)", Kind: KindReqSyncExceeds, Severity: "warning",
					Text:   fmt.Sprintf("ReqSync exceeds SrvSync for %s (R=%d, S=%d): violates the WA0725 \"easy test\"", addr, tx.R, tx.S),
					Cause:  "\"the requestor's ReqSync number is always less than or equal to SrvSync\"",
					Fix:    "Reset the requestor sync numbers as Q96060 describes.",
					Source: "Q96060"})
			}
		}
		r.ServerSync = tx.S
		if tx.I > r.Imports {
			r.Imports = tx.I
		}
		r.LastSrvTx, r.LastSrvTxAt = tx.Raw, at
		out.State.Unconfirmed = 0
		out.State.ExpectFullExport = false
		if r.ExportOnNextCycle && at.After(st.ExportSetAt) {
			r.ExportOnNextCycle = false
			out.State.ExportSetAt = time.Time{}
			out.FlagCleared = true
		}
	}
	return out
}
