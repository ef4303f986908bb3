package demo

import (
	"slices"
	"time"

	"mailnet/internal/dirsync"
)

// showcasePO is the requestor that shows every anomaly of the sequence
// rules in turn, each followed by its resolution (the package doc gives
// the timing).
const showcasePO = "EURONET/PO-MUNICH"

// The modes of one showcase cycle: what is wrong in it.
const (
	showInconsistent     = "reqtx-inconsistent" // R15(1): ReqTx with R - was != sent
	showServerBehind     = "server-behind"      // R17(a): ReqTx S above the server's
	showUnconfirmedPrep  = "unconfirmed-prep"   // R18: T3 does not run, REQCONF keeps the old S
	showUnconfirmed      = "unconfirmed"        // R18: and no T2 reaches the postoffice
	showMissedReqTx      = "missed-reqtx"       // R15(3): SrvTx acknowledges the previous R
	showSkip             = "srvtx-skip"         // R15: SrvTx "was" is not the last S
	showSentExceeds      = "sent-exceeds"       // R15(4): ## sent above S - s
	showReqSyncExceeds   = "reqsync-exceeds"    // R15(2): R above S
	showImportRegression = "import-regression"  // R16: SrvTx I below the requestor's
	showLostMessages     = "lost-messages"      // R20: 220 and 221, then the full export
)

// showcaseScenarios are the anomalies in the order the showcase runs
// them, one per slot, each as the modes of its consecutive cycles; the
// cycles after them are clean and resolve the finding.
var showcaseScenarios = []struct {
	kind  string // the finding kind it opens (dirsync.Kind*)
	modes []string
}{
	{dirsync.KindReqTxInconsistent, []string{showInconsistent}},
	{dirsync.KindServerBehind, []string{showServerBehind}},
	{dirsync.KindUnconfirmed, []string{showUnconfirmedPrep, showUnconfirmed}},
	{dirsync.KindMissedReqTx, []string{showMissedReqTx}},
	{dirsync.KindSrvSkip, []string{showSkip}},
	{dirsync.KindSentExceeds, []string{showSentExceeds}},
	{dirsync.KindReqSyncExceeds, []string{showReqSyncExceeds}},
	{dirsync.KindImportRegression, []string{showImportRegression}},
	{dirsync.KindLostMessages, []string{showLostMessages}},
}

// ShowcaseSlot is how long each anomaly of the showcase has: the hour
// divided among them, from the top of the hour.
var ShowcaseSlot = time.Hour / time.Duration(len(showcaseScenarios))

// ShowcaseKinds are the finding kinds the showcase opens, in order.
func ShowcaseKinds() []string {
	out := make([]string, len(showcaseScenarios))
	for i, s := range showcaseScenarios {
		out[i] = s.kind
	}
	return out
}

// ShowcaseRequestor is the NET/PO of the showcase requestor.
func ShowcaseRequestor() string { return showcasePO }

// planShowcase starts the cycle of the showcase requestor: a new slot
// brings its scenario's modes, and each cycle takes the next one.
func (a *Agents) planShowcase(q *agentRequestor) {
	slot := a.now().UnixNano() / int64(ShowcaseSlot)
	if slot != q.shownSlot {
		q.shownSlot = slot
		q.plan = slices.Clone(showcaseScenarios[int(slot%int64(len(showcaseScenarios)))].modes)
		q.lostSent = false
	}
	if q.bad == "" && len(q.plan) > 0 {
		q.bad, q.plan = q.plan[0], q.plan[1:]
	}
}

// endCycle closes a requestor's cycle: the next one is clean unless the
// showcase plans otherwise.
func (a *Agents) endCycle(q *agentRequestor) {
	q.bad = ""
}
