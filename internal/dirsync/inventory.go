package dirsync

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The inventory rules: conditions the console reads from its inventory
// (and the history of cycles) rather than from one transaction. Each
// returns the finding, or nil when the condition does not hold.

// IgnoredAfter is how many ReqTx with nothing sent, after a local change,
// make R15 (6) speak ("n = 0 ... for 2+ cycles").
const IgnoredAfter = 2

// UpdatesIgnored is R15 (6) (Q119452): the postoffice has had a local
// change (a user created on its server at changedAt), yet at least
// IgnoredAfter ReqTx have been logged since and none sent anything.
func UpdatesIgnored(addr string, changedAt time.Time, reqTxSince, maxSentSince int64) *Finding {
	if changedAt.IsZero() || reqTxSince < IgnoredAfter || maxSentSince > 0 {
		return nil
	}
	return &Finding{Rule: "R15(6)", Kind: KindUpdatesIgnored, Severity: "warning",
		Text: fmt.Sprintf("%s has had address changes since %s, but its %d ReqTx since then sent 0 updates: updates ignored, REQCONF ReqSync > REQTRANS",
			addr, changedAt.UTC().Format(time.RFC3339), reqTxSince),
		Cause: "\"The ReqSync number in the REQCONF.GLB file on the postoffice may be higher than the transaction number in the REQTRANS.GLB file.\" DIRSYNC.LOG: \"No requestor updates to send\"",
		Fix: "On the postoffice, Config, Dir-Sync, Requestor, Export, then compare LISTQ (REQTRANS.GLB) with LISTDS (ReqSync); if ReqSync is far ahead, " +
			"import admin -p<password> -s -d<drive> on the server, copy RESYNC.GLB to the postoffice and run import admin -p<password> -q -y -d<drive>.",
		Source: "Q119452"}
}

// InactiveBeyondKeep is R17 (b) (Q108067) from the inventory: the
// requestor's last cycle (lastCycle) is older than the DX's Keep Updates
// time, so the updates it would need have been purged.
func InactiveBeyondKeep(addr string, lastCycle, now time.Time, keepDays *int) *Finding {
	if keepDays == nil || *keepDays <= 0 || lastCycle.IsZero() {
		return nil
	}
	keep := time.Duration(*keepDays) * 24 * time.Hour
	idle := now.Sub(lastCycle)
	if idle <= keep {
		return nil
	}
	return &Finding{Rule: "R17(b)", Kind: KindInactiveBeyondKeep, Severity: "warning",
		Text: fmt.Sprintf("%s has not taken part in dir-sync for %d days, longer than the Keep Updates time of %d days: expect \"Error [138] Server sync does not exist anymore\" and \"Error [139] Number of missing transactions\"",
			addr, int(idle/(24*time.Hour)), *keepDays),
		Cause:  "\"These errors occur when a requestor postoffice does not participate in directory synchronization (Dir-Sync) for a period greater than the Keep Updates time\"",
		Fix:    "On the postoffice, Config, Dir-Sync, Requestor, Export and then Import, to send its complete list and request the full list; on an Exchange DX, Export on Next Cycle sends the full list.",
		Source: "Q108067"}
}

// containersBugVersion reports whether a DX of this Exchange version has
// the Q166154 defect: 4.0, and 5.0 before its service pack.
func containersBugVersion(version string) bool {
	v := strings.ToUpper(strings.TrimSpace(version))
	switch {
	case strings.HasPrefix(v, "4."):
		return true
	case strings.HasPrefix(v, "5.0"):
		return !strings.Contains(v, "SP")
	}
	return false
}

// ContainerAdded is R19 (b) (Q166154): the requestor's Exported
// Containers changed at changedAt on a 4.0 or 5.0 DX without the fix, no
// full export has been sent since, and Export on Next Cycle is not set.
func ContainerAdded(addr, dxVersion string, changedAt *time.Time, exportOnNextCycle, fullExportSince bool) *Finding {
	if changedAt == nil || exportOnNextCycle || fullExportSince || !containersBugVersion(dxVersion) {
		return nil
	}
	return &Finding{Rule: "R19(b)", Kind: KindContainerAdded, Severity: "warning",
		Text: fmt.Sprintf("The Exported Containers of %s changed at %s on a DX running Exchange %s: some names in a new recipients container may not be sent in the next dir-sync cycle",
			addr, changedAt.UTC().Format(time.RFC3339), dxVersion),
		Cause:  "\"the DXA was treating the new recipients container as if it had always been in the list of export containers.\"",
		Fix:    "Set Export on Next Cycle for this requestor (\"On the General tab, select the Export on Next Cycle checkbox.\"), or on the postoffice Config, Dirsync, Requester, Import, and YES; apply the latest Exchange 5.0 service pack.",
		Source: "Q166154"}
}

// ShrinkPercent is how far (in per cent) the entries imported from a
// postoffice may drop between two snapshots before R19 (c) speaks.
const ShrinkPercent = 10

// ImportedShrank is R19 (c) (Q152424): the number of directory entries
// imported from the postoffice dropped by more than ShrinkPercent between
// the last two snapshots.
func ImportedShrank(addr string, before, now *int64) *Finding {
	if before == nil || now == nil || *before <= 0 || *now >= *before {
		return nil
	}
	if (*before-*now)*100 <= *before*ShrinkPercent {
		return nil
	}
	return &Finding{Rule: "R19(c)", Kind: KindImportedShrank, Severity: "warning",
		Text: fmt.Sprintf("Dir-synced users from %s disappeared: %d directory entries imported from it, %d at the snapshot before (more than %d%% fewer)",
			addr, *now, *before, ShrinkPercent),
		Cause: "\"it may drop custom recipients from its Global Address List (GAL). This occurs when it processes specific transactions that have been inserted into dir-sync through a manual import file.\"",
		Fix: "Request a full import: where Exchange is the requestor, \"On the Settings property page, select the Import on Next Cycle checkbox.\"; " +
			"with Exchange as the dir-sync server, Config, Dir-Sync, Requestor, Export on the postoffice. Write modify transactions in the two-line format.",
		Source: "Q152424"}
}

// SystemCR is a custom recipient with a postoffice's $SYSTEM proxy, in a
// site.
type SystemCR struct {
	SiteID int64
	Site   string
	Hidden bool
}

// DuplicateSystemCR is R21 (a) (Q147084): more than one custom recipient
// carries the postoffice's NET/PO/$SYSTEM proxy. dxSite is the site that
// runs the DirSync process (the DX's); the others are the ones to delete.
func DuplicateSystemCR(addr string, crs []SystemCR, dxSite int64) *Finding {
	if len(crs) < 2 {
		return nil
	}
	var where, remove []string
	for _, c := range crs {
		w := c.Site
		if c.Hidden {
			w += " (hidden)"
		}
		where = append(where, w)
		if c.SiteID != dxSite {
			remove = append(remove, w)
		}
	}
	slices.Sort(remove)
	fix := "Delete the duplicate from the server or site that is not running the DirSync process and let the change replicate."
	if len(remove) > 0 && len(remove) < len(crs) {
		fix = fmt.Sprintf("Delete the custom recipient in %s (not running the DirSync process) and let the change replicate.", strings.Join(remove, ", "))
	}
	return &Finding{Rule: "R21(a)", Kind: KindDuplicateSystemCR, Severity: "error",
		Text:   fmt.Sprintf("%d custom recipients carry %s/$SYSTEM (%s): the DX cannot map dir-sync messages from it to one DN and logs event 136", len(crs), addr, strings.Join(where, ", ")),
		Cause:  "\"it can fail if the CR was created for the $SYSTEM account in two separate sites before those sites replicated.\"",
		Fix:    fix,
		Source: "Q147084"}
}

// ExchangeRequestor is an Exchange server whose Dir-Sync Requestor object
// requests from an MS Mail dir-sync server.
type ExchangeRequestor struct {
	ServerID int64
	Server   string
	Site     string
	Target   string // NETWORK/POSTOFFICE of the MS Mail dir-sync server
}

// RequestorConflicts is R21 (b) (Q201084): more than one Exchange
// Dir-Sync Requestor in the organization targets the same MS Mail
// dir-sync server. It returns one finding per target, in target order.
func RequestorConflicts(reqs []ExchangeRequestor) []Finding {
	by := map[string][]ExchangeRequestor{}
	for _, r := range reqs {
		if r.Target != "" {
			k := strings.ToUpper(r.Target)
			by[k] = append(by[k], r)
		}
	}
	targets := make([]string, 0, len(by))
	for k, v := range by {
		if len(v) > 1 {
			targets = append(targets, k)
		}
	}
	slices.Sort(targets)
	out := []Finding{}
	for _, k := range targets {
		var names []string
		for _, r := range by[k] {
			names = append(names, fmt.Sprintf("%s (site %s)", r.Server, r.Site))
		}
		slices.Sort(names)
		out = append(out, Finding{Rule: "R21(b)", Kind: KindRequestorConflict, Severity: "warning",
			Text:   fmt.Sprintf("%d Exchange servers are dir-sync requestors of the same MS Mail dir-sync server %s: %s", len(names), k, strings.Join(names, ", ")),
			Cause:  "\"There is already an Exchange Server computer in another site configured to act as a dirsync requestor against the Microsoft Mail dirsync server.\" Creating the second gives \"Error occurred while processing email address C1030B35.\"",
			Fix:    "\"It is recommended that you have only one dirsync requestor to the same dirsync server in an Organization.\" Keep one and let directory replication carry the MS Mail names to the other sites.",
			Source: "Q201084"})
	}
	return out
}
