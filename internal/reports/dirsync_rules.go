package reports

import (
	"context"
	"time"

	"mailnet/internal/dirsync"
	"mailnet/internal/store"
)

// addInventoryFindings adds to row the findings the inventory shows now:
// R15 (6), R17 (b), R19 (b), R19 (c) and R21 (a). They have no lifecycle:
// they hold while their condition does.
func addInventoryFindings(row *DirSyncRow, r store.ReportRequestor, facts store.DirSyncRuleFacts, now time.Time) {
	addr := r.Address()
	f := facts.Facts[r.ID]
	row.RequestorFacts = f
	if row.RequestorFacts.ExportContainers == nil {
		row.RequestorFacts.ExportContainers = []string{}
	}
	if row.RequestorFacts.SystemRecipients == nil {
		row.RequestorFacts.SystemRecipients = []store.SystemRecipient{}
	}
	var found []*dirsync.Finding
	if c, ok := facts.Changes[r.ID]; ok {
		found = append(found, dirsync.UpdatesIgnored(addr, c.ChangedAt, c.Count, c.MaxSent))
	}
	last := r.LastReqTxAt
	if r.LastSrvTxAt.After(last) {
		last = r.LastSrvTxAt
	}
	found = append(found, dirsync.InactiveBeyondKeep(addr, last, now, facts.DX[r.DXServerID].KeepUpdatesDays))
	found = append(found, dirsync.ContainerAdded(addr, r.DXVersion, f.ExportContainersAt, r.ExportOnNextCycle, facts.FullExportSince[r.ID]))
	found = append(found, dirsync.ImportedShrank(addr, f.ImportedCountBefore, f.ImportedCount))
	if len(f.SystemRecipients) > 1 {
		crs := make([]dirsync.SystemCR, len(f.SystemRecipients))
		for i, s := range f.SystemRecipients {
			crs[i] = dirsync.SystemCR{SiteID: s.SiteID, Site: facts.SiteNames[s.SiteID], Hidden: s.Hidden}
		}
		site, ok := facts.DXSite[r.DXServerID]
		if !ok {
			site = -1
		}
		found = append(found, dirsync.DuplicateSystemCR(addr, crs, site))
	}
	for _, x := range found {
		if x != nil {
			row.Findings = append(row.Findings, current(*x))
			row.Anomalies = append(row.Anomalies, x.Text)
		}
	}
}

// networkFindings are the dir-sync findings no one requestor owns, from
// the inventory: R21 (b).
func networkFindings(facts store.DirSyncRuleFacts) []store.DirSyncFinding {
	var reqs []dirsync.ExchangeRequestor
	for id, d := range facts.DX {
		if d.RequestorOf != "" {
			reqs = append(reqs, dirsync.ExchangeRequestor{ServerID: id, Server: facts.DXName[id], Site: facts.SiteNames[facts.DXSite[id]], Target: d.RequestorOf})
		}
	}
	out := []store.DirSyncFinding{}
	for _, f := range dirsync.RequestorConflicts(reqs) {
		out = append(out, current(f))
	}
	return out
}

// DirSyncNetworkFindings are the dir-sync findings of the organization that
// no requestor owns, as the inventory shows them now (R21 (b)).
func DirSyncNetworkFindings(ctx context.Context, st *store.Store) ([]store.DirSyncFinding, error) {
	facts, err := st.LoadDirSyncRuleFacts(ctx, nil)
	if err != nil {
		return nil, err
	}
	return networkFindings(facts), nil
}

// changeCandidates are the requestors R15 (6) may speak of: at least one
// ReqTx, the last with nothing sent.
func changeCandidates(reqs []store.ReportRequestor) []int64 {
	var out []int64
	for _, r := range reqs {
		if tx, ok := dirsync.Parse(r.LastReqTx); ok && tx.Kind == dirsync.ReqTx && tx.Sent == 0 {
			out = append(out, r.ID)
		}
	}
	return out
}
