package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/web/views"
)

// dirSyncPage loads the dir-sync page's data.
func (s *Server) dirSyncPage(ctx context.Context) (*views.DirSyncPage, error) {
	rows, err := reports.DirSync(ctx, s.store, s.now(), reports.DefaultSilentCycles)
	if err != nil {
		return nil, err
	}
	p := &views.DirSyncPage{Rows: rows}
	if p.NetworkFindings, err = reports.DirSyncNetworkFindings(ctx, s.store); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if k := strings.ToUpper(r.Network); !seen[k] {
			seen[k] = true
			p.Networks = append(p.Networks, r.Network)
		}
	}
	slices.Sort(p.Networks)
	if p.DXs, err = s.dxInfos(ctx); err != nil {
		return nil, err
	}
	if p.Runs, err = s.store.DirSyncRuns(ctx, 20); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Server) dxInfos(ctx context.Context) ([]views.DXInfo, error) {
	dxs, err := s.store.DXServers(ctx)
	if err != nil {
		return nil, err
	}
	kicks, err := s.store.DXPauseKicks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]views.DXInfo, 0, len(dxs))
	for _, d := range dxs {
		info := views.DXInfo{DXSettings: actions.DXSettings{DXServer: d, PauseKicksDX: kicks[d.ServerID]}}
		if sv, err := s.store.ServerByID(ctx, d.ServerID); err == nil {
			info.Name, info.Version = sv.Name, sv.Version
		}
		out = append(out, info)
	}
	return out, nil
}

// dirSyncTablePage is how many requestors a page of the dir-sync table
// shows: 500 requestors with their forms and findings were 445 KB and
// 10,705 elements at 10,000 servers.
const dirSyncTablePage = 100

// pageDirSync is the dir-sync status of every requestor, a page of the
// table at a time (?page=).
func (s *Server) pageDirSync(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	page, err := pageNumber(r.URL.Query(), "page")
	if err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.dirSyncPage(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p.Done = r.URL.Query().Get("done")
	page, lo, hi := views.PageBounds(page, dirSyncTablePage, len(p.Rows))
	p.Pager = views.Pager{Page: page, PerPage: dirSyncTablePage, Total: len(p.Rows),
		Href: func(n int) string { return "/dirsync?page=" + strconv.Itoa(n) + "#requestors" }}
	p.Rows = p.Rows[lo:hi]
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Directory synchronization status", "dirsync"), views.DirSyncBody(p))
}

// dirsyncFormIDs reads the repeated id fields of a form.
func dirsyncFormIDs(r *http.Request) ([]int64, error) {
	var ids []int64
	for _, v := range r.Form["id"] {
		id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || id < 1 {
			return nil, mailnet.Invalid("ids", "id %q is not a requestor id", v)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// pageDirSyncExport previews Export on Next Cycle for the form's
// selection (the checked rows, a network or a DX server), or, with the
// preview's plan_id, applies it and shows the per-row results.
func (s *Server) pageDirSyncExport(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.error(w, r, mailnet.Invalid("form", "the form could not be read"))
		return
	}
	ids, err := dirsyncFormIDs(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	enabled := r.Form.Get("enabled") != "off"
	sel := actions.ExportSelection{Enabled: &enabled, Network: strings.TrimSpace(r.Form.Get("network"))}
	if v := r.Form.Get("dx_server_id"); v != "" {
		if sel.DXServerID, err = strconv.ParseInt(v, 10, 64); err != nil {
			s.error(w, r, mailnet.Invalid("dx_server_id", "dx_server_id %q is not a server id", v))
			return
		}
	}
	switch scope := r.Form.Get("scope"); {
	case strings.HasPrefix(scope, "network:"):
		sel.Network = strings.TrimPrefix(scope, "network:")
	case strings.HasPrefix(scope, "dx:"):
		if sel.DXServerID, err = strconv.ParseInt(strings.TrimPrefix(scope, "dx:"), 10, 64); err != nil {
			s.error(w, r, mailnet.Invalid("dx_server_id", "scope %q names no DX server", scope))
			return
		}
	default:
		sel.IDs = ids
	}
	sel.PlanID = r.Form.Get("plan_id")
	var plan actions.ExportPlan
	if sel.PlanID == "" {
		plan, err = s.actions.PlanExportOnNextCycle(ctx, sel)
	} else {
		plan, err = s.actions.ApplyExportOnNextCycle(ctx, sel)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.dirSyncPage(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p.Plan = &plan
	p.Sel = views.ExportSel{IDs: sel.IDs, Network: sel.Network, DXServerID: sel.DXServerID, Enabled: enabled}
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Directory synchronization status", "dirsync"), views.DirSyncBody(p))
}

// pageDirSyncAck acknowledges a finding with the form's note.
func (s *Server) pageDirSyncAck(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("finding", r.PathValue("id")))
		return
	}
	if err := r.ParseForm(); err != nil {
		s.error(w, r, mailnet.Invalid("form", "the form could not be read"))
		return
	}
	if _, err := s.actions.AckFinding(r.Context(), id, r.Form.Get("note")); err != nil {
		s.error(w, r, err)
		return
	}
	http.Redirect(w, r, "/dirsync?done=finding+acknowledged", http.StatusSeeOther)
}

// pageDirSyncDX saves a DX server's settings from its form (only=paused:
// just the pause, from the runbook's T2 button).
func (s *Server) pageDirSyncDX(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("server", r.PathValue("id")))
		return
	}
	if err := r.ParseForm(); err != nil {
		s.error(w, r, mailnet.Invalid("form", "the form could not be read"))
		return
	}
	on := func(k string) actions.Patch[bool] { return actions.Some(r.Form.Get(k) == "on") }
	var p actions.DXPatch
	switch r.Form.Get("only") {
	case "paused":
		p.Paused = on("paused")
	case "copy_admin":
		p.CopyAdmin = on("copy_admin")
	case "forward_to_admin":
		p.ForwardToAdmin = on("forward_to_admin")
	case "pause_kicks_dx":
		p.PauseKicksDX = on("pause_kicks_dx")
	default:
		p.Paused, p.CopyAdmin, p.ForwardToAdmin = on("paused"), on("copy_admin"), on("forward_to_admin")
		if _, present := r.Form["pause_kicks_dx"]; present || r.Form.Get("has_pause_kicks") != "" {
			p.PauseKicksDX = on("pause_kicks_dx")
		}
		p.AdminAccount = actions.Some(r.Form.Get("admin_account"))
		if v := r.Form.Get("cycle_minutes"); v != "" {
			n, ok := parseID(v)
			if !ok {
				s.error(w, r, mailnet.Invalid("cycle_minutes", "cycle_minutes %q is not a number", v))
				return
			}
			p.CycleMinutes = actions.Some(int(min(n, 1<<20)))
		}
	}
	if _, err := s.actions.UpdateDXServer(r.Context(), id, p); err != nil {
		s.error(w, r, err)
		return
	}
	if r.Form.Get("back") == "runbook" {
		http.Redirect(w, r, "/dirsync/runbook?"+r.Form.Get("back_query"), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/dirsync?done=DX+settings+saved", http.StatusSeeOther)
}

// pageRequestor is one requestor's cycles, findings and history.
func (s *Server) pageRequestor(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("requestor", r.PathValue("id")))
		return
	}
	h, err := s.requestorHistory(r, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	rows, err := reports.DirSync(ctx, s.store, s.now(), reports.DefaultSilentCycles)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := &views.RequestorPage{Cycles: h.Cycles, Changes: h.Changes, Findings: h.Findings, Query: r.URL.Query().Get("q")}
	for _, row := range rows {
		if row.ID == id {
			p.Row = row
		}
	}
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Requestor "+p.Row.Address, "dirsync"), views.RequestorBody(p))
}

// pageRunbook is the manual dir-sync procedure for the chosen requestors
// (?id=...) or a network (?network=), all requestors by default.
func (s *Server) pageRunbook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.error(w, r, mailnet.Invalid("form", "the query could not be read"))
		return
	}
	ids, err := dirsyncFormIDs(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	network := strings.TrimSpace(r.Form.Get("network"))
	drive := strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(r.Form.Get("drive")), ":"))
	if drive == "" {
		drive = "M"
	}
	if len(drive) != 1 || drive[0] < 'A' || drive[0] > 'Z' {
		s.error(w, r, mailnet.Invalid("drive", "drive must be one letter A to Z, not %q", r.Form.Get("drive")))
		return
	}
	all, err := reports.DirSync(ctx, s.store, s.now(), reports.DefaultSilentCycles)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := &views.RunbookPage{IDs: ids, Network: network, Drive: drive}
	for _, row := range all {
		if (len(ids) > 0 && slices.Contains(ids, row.ID)) || (len(ids) == 0 && (network == "" || strings.EqualFold(row.Network, network))) {
			p.Rows = append(p.Rows, row)
		}
	}
	if len(ids) == 0 && network == "" {
		for _, row := range p.Rows {
			p.IDs = append(p.IDs, row.ID)
		}
	}
	dxs, err := s.dxInfos(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	used := map[int64]bool{}
	for _, row := range p.Rows {
		used[row.DXServerID] = true
	}
	for _, d := range dxs {
		if used[d.ServerID] {
			p.DXs = append(p.DXs, d)
		}
	}
	p.Checks, err = s.runbookChecks(ctx, p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Manual directory synchronization", "dirsync"), views.RunbookBody(p))
}

// runbookChecks verifies the article's preparations A-C from the inventory.
func (s *Server) runbookChecks(ctx context.Context, p *views.RunbookPage) ([]views.RunbookCheck, error) {
	var out []views.RunbookCheck
	out = append(out, views.RunbookCheck{Part: "A", Title: "Export and Import on each postoffice (Admin.exe: Config, Dir-Sync, Requestor, Export; then Import)",
		Manual: true, Detail: "Done on the postoffices with the MS Mail Administrator program; the console cannot see it."})
	for i := range p.DXs {
		d := &p.DXs[i]
		if d.Is40() {
			out = append(out, views.RunbookCheck{Part: "B", Title: "PauseKicksDX on " + d.Name + " (Exchange " + d.Version + ")", OK: d.PauseKicksDX,
				Detail:    `Add PauseKicksDX, REG_DWORD 1, under HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeDX; stop and restart the Microsoft Exchange Directory Synchronization service.`,
				FixAction: "/dirsync/dx/" + strconv.FormatInt(d.ServerID, 10), FixFields: map[string]string{"only": "pause_kicks_dx", "pause_kicks_dx": "on"},
				FixLabel: "Record PauseKicksDX=1 set and the service restarted"})
		} else {
			out = append(out, views.RunbookCheck{Part: "B", Title: "Pause enabled on " + d.Name, OK: true,
				Detail: "Exchange " + d.Version + ": the Pause button is enabled by default, no registry change."})
		}
		out = append(out, views.RunbookCheck{Part: "C", Title: "Copy administrator on outgoing message on " + d.Name, OK: d.CopyAdmin,
			Detail:    "DX server General property page.",
			FixAction: "/dirsync/dx/" + strconv.FormatInt(d.ServerID, 10), FixFields: map[string]string{"only": "copy_admin", "copy_admin": "on"}, FixLabel: "Turn on"})
		out = append(out, views.RunbookCheck{Part: "C", Title: "Forward incoming dir-sync messages to administrator on " + d.Name, OK: d.ForwardToAdmin,
			Detail:    "DX server General property page.",
			FixAction: "/dirsync/dx/" + strconv.FormatInt(d.ServerID, 10), FixFields: map[string]string{"only": "forward_to_admin", "forward_to_admin": "on"}, FixLabel: "Turn on"})
		conns, err := s.store.Connectors(ctx, d.ServerID)
		if err != nil {
			return nil, err
		}
		var msm *mailnet.Connector
		for j := range conns {
			if conns[j].Kind == mailnet.ConnectorMSMail {
				msm = &conns[j]
			}
		}
		if msm == nil {
			out = append(out, views.RunbookCheck{Part: "C", Title: "Microsoft Mail Connector on " + d.Name, Detail: "No MS Mail connector is registered on this server."})
			continue
		}
		cs, err := s.connectorChecks(ctx, *msm)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	var missing []string
	for _, row := range p.Rows {
		if !row.ExportOnNextCycle {
			missing = append(missing, strconv.FormatInt(row.ID, 10))
		}
	}
	c := views.RunbookCheck{Part: "C", Title: "Export on Next Cycle on each requestor", OK: len(missing) == 0,
		Detail: strconv.Itoa(len(p.Rows)-len(missing)) + " of " + strconv.Itoa(len(p.Rows)) + " set."}
	if len(missing) > 0 {
		c.FixAction, c.FixLabel = "/dirsync/export", "Preview setting it on "+strconv.Itoa(len(missing))
		c.FixFields = map[string]string{"enabled": "on"}
		if len(missing) == 1 {
			c.FixFields["id"] = missing[0]
		} else if p.Network != "" && len(p.IDs) == 0 {
			c.FixFields["network"] = p.Network
		} else {
			c.FixAction = "/dirsync/export?id=" + strings.Join(missing, "&id=")
		}
	}
	out = append(out, c)
	return out, nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// pageRunStart records a run and shows it.
func (s *Server) pageRunStart(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.error(w, r, mailnet.Invalid("form", "the form could not be read"))
		return
	}
	ids, err := dirsyncFormIDs(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	network := r.Form.Get("network")
	if len(ids) > 0 {
		network = ""
	}
	run, err := s.actions.StartRun(r.Context(), actions.RunInput{IDs: ids, Network: network, Drive: r.Form.Get("drive")})
	if err != nil {
		s.error(w, r, err)
		return
	}
	http.Redirect(w, r, "/dirsync/runs/"+strconv.FormatInt(run.ID, 10), http.StatusSeeOther)
}

func (s *Server) runPage(r *http.Request) (*views.RunPage, error) {
	id, ok := pathID(r, "id")
	if !ok {
		return nil, mailnet.NotFound("run", r.PathValue("id"))
	}
	v, err := s.runView(r, id)
	if err != nil {
		return nil, err
	}
	p := &views.RunPage{Run: v.DirSyncRun, Running: v.Outcome == "running"}
	for _, t := range v.Ticks {
		p.Ticks = append(p.Ticks, views.RunTick(t))
	}
	return p, nil
}

// pageRun is one run with its live ticks.
func (s *Server) pageRun(w http.ResponseWriter, r *http.Request) {
	p, err := s.runPage(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, s.pageFor(r.Context(), "Manual dir-sync run #"+strconv.FormatInt(p.Run.ID, 10), "dirsync"), views.RunBody(p))
}

// pageRunTicks is the ticks fragment the run page polls.
func (s *Server) pageRunTicks(w http.ResponseWriter, r *http.Request) {
	p, err := s.runPage(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	pageHeaders(w)
	if err := views.RunTicks(p).Render(r.Context(), w); err != nil {
		s.log.Error("render ticks", "err", err)
	}
}

// pageRunFinish records the run's outcome.
func (s *Server) pageRunFinish(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("run", r.PathValue("id")))
		return
	}
	if err := r.ParseForm(); err != nil {
		s.error(w, r, mailnet.Invalid("form", "the form could not be read"))
		return
	}
	if _, err := s.actions.FinishRun(r.Context(), id, r.Form.Get("outcome"), r.Form.Get("note")); err != nil {
		s.error(w, r, err)
		return
	}
	http.Redirect(w, r, "/dirsync/runs/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}
