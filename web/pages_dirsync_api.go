package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/dirsync"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// apiDirSyncFindings lists dir-sync findings: ?open=true for the open
// ones, ?requestor_id=, ?q= a substring of the text, rule, kind or
// requestor.
func (s *Server) apiDirSyncFindings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rid, err := queryInt(r, "requestor_id", 0, 1, 1<<62)
	if err != nil {
		s.error(w, r, err)
		return
	}
	open := false
	if v := q.Get("open"); v != "" {
		if open, err = queryBool(v, "open"); err != nil {
			s.error(w, r, err)
			return
		}
	}
	limit, err := queryInt(r, "limit", 200, 1, 1000)
	if err != nil {
		s.error(w, r, err)
		return
	}
	fs, err := s.store.DirSyncFindings(r.Context(), store.FindingFilter{RequestorID: rid, Open: open, Query: q.Get("q"), Limit: int(limit)})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"findings": fs})
}

type ackInput struct {
	Note string `json:"note"`
}

// apiDirSyncFindingAck acknowledges an open finding, with a note.
func (s *Server) apiDirSyncFindingAck(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "finding")
	if err != nil {
		s.error(w, r, err)
		return
	}
	var in ackInput
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	f, err := s.actions.AckFinding(r.Context(), id, in.Note)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// apiDirSyncChanges searches the changes ingest made to requestors
// (?q=, ?requestor_id=), newest first.
func (s *Server) apiDirSyncChanges(w http.ResponseWriter, r *http.Request) {
	rid, err := queryInt(r, "requestor_id", 0, 1, 1<<62)
	if err != nil {
		s.error(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit", 200, 1, 1000)
	if err != nil {
		s.error(w, r, err)
		return
	}
	cs, err := s.store.RequestorChanges(r.Context(), store.ChangeFilter{RequestorID: rid, Query: r.URL.Query().Get("q"), Limit: int(limit)})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": cs})
}

// requestorHistory is a requestor with its cycles, changes and findings.
type requestorHistory struct {
	Requestor any                     `json:"requestor"`
	Cycles    []store.DirSyncCycle    `json:"cycles"`
	Changes   []store.RequestorChange `json:"changes"`
	Findings  []store.DirSyncFinding  `json:"findings"`
}

func (s *Server) requestorHistory(r *http.Request, id int64) (requestorHistory, error) {
	ctx := r.Context()
	var h requestorHistory
	req, err := s.store.RequestorByID(ctx, id)
	if err != nil {
		return h, err
	}
	h.Requestor = req
	if h.Cycles, err = s.store.DirSyncCycles(ctx, id, 40); err != nil {
		return h, err
	}
	if h.Changes, err = s.store.RequestorChanges(ctx, store.ChangeFilter{RequestorID: id, Query: r.URL.Query().Get("q"), Limit: 200}); err != nil {
		return h, err
	}
	h.Findings, err = s.store.DirSyncFindings(ctx, store.FindingFilter{RequestorID: id, Limit: 200})
	return h, err
}

// apiRequestorHistory is one requestor's cycles, changes and findings.
func (s *Server) apiRequestorHistory(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "requestor")
	if err != nil {
		s.error(w, r, err)
		return
	}
	h, err := s.requestorHistory(r, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// runView is a run with its live ticks.
type runView struct {
	store.DirSyncRun
	Ticks []RunTick `json:"ticks"`
}

// RunTick is the evidence of one requestor in a run: what arrived (the
// first time since the run started) and what is still missing.
type RunTick struct {
	RequestorID int64             `json:"requestor_id"`
	Address     string            `json:"address"`
	Seen        map[string]string `json:"seen"` // kind -> time (RFC 3339)
	Missing     []string          `json:"missing"`
	// MissingSince is when the first missing step became due: the run's
	// start for T1's, the last T1 evidence for T2's.
	MissingSince string `json:"missing_since,omitempty"`
	Complete     bool   `json:"complete"`
}

func (s *Server) runView(r *http.Request, id int64) (runView, error) {
	ctx := r.Context()
	run, err := s.store.DirSyncRunByID(ctx, id)
	if err != nil {
		return runView{}, err
	}
	v := runView{DirSyncRun: run, Ticks: []RunTick{}}
	reqs, err := s.store.Requestors(ctx, store.RequestorFilter{IDs: run.RequestorIDs})
	if err != nil {
		return v, err
	}
	evs, err := s.store.DirSyncEvidenceSince(ctx, run.RequestorIDs, run.StartedAt)
	if err != nil {
		return v, err
	}
	seen := map[int64]map[string]string{}
	lastT1 := map[int64]string{}
	for _, e := range evs {
		m := seen[e.RequestorID]
		if m == nil {
			m = map[string]string{}
			seen[e.RequestorID] = m
		}
		at := e.At.UTC().Format("2006-01-02T15:04:05Z")
		if _, ok := m[e.Kind]; !ok {
			m[e.Kind] = at
		}
		if dirsync.EvidenceStep(e.Kind) == "T1" {
			lastT1[e.RequestorID] = at
		}
	}
	for _, q := range reqs {
		t := RunTick{RequestorID: q.ID, Address: q.Address(), Seen: seen[q.ID], Missing: []string{}}
		if t.Seen == nil {
			t.Seen = map[string]string{}
		}
		for _, k := range dirsync.EvidenceKinds {
			if _, ok := t.Seen[k]; ok {
				continue
			}
			t.Missing = append(t.Missing, k)
			if t.MissingSince == "" {
				t.MissingSince = run.StartedAt.UTC().Format("2006-01-02T15:04:05Z")
				if dirsync.EvidenceStep(k) == "T2" && lastT1[q.ID] != "" {
					t.MissingSince = lastT1[q.ID]
				}
			}
		}
		t.Complete = len(t.Missing) == 0
		v.Ticks = append(v.Ticks, t)
	}
	return v, nil
}

// apiDirSyncRuns lists the runs of the manual procedure, newest first.
func (s *Server) apiDirSyncRuns(w http.ResponseWriter, r *http.Request) {
	runs, err := s.store.DirSyncRuns(r.Context(), 100)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// apiDirSyncRunStart records the start of a run.
func (s *Server) apiDirSyncRunStart(w http.ResponseWriter, r *http.Request) {
	var in actions.RunInput
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	run, err := s.actions.StartRun(r.Context(), in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, run)
}

// apiDirSyncRun is one run with its live ticks.
func (s *Server) apiDirSyncRun(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "run")
	if err != nil {
		s.error(w, r, err)
		return
	}
	v, err := s.runView(r, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

type finishInput struct {
	Outcome string `json:"outcome"`
	Note    string `json:"note"`
}

// apiDirSyncRunFinish records how a run ended.
func (s *Server) apiDirSyncRunFinish(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "run")
	if err != nil {
		s.error(w, r, err)
		return
	}
	var in finishInput
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	run, err := s.actions.FinishRun(r.Context(), id, strings.TrimSpace(in.Outcome), in.Note)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// connectorChecks are the runbook's two preparation C checks on the DX
// server's Microsoft Mail Connector, read from the inventory: MSExchangePCMTA
// logging at maximum and polling every 1 minute, each with its one-click
// fix (POST /dirsync/runbook/fix, actions.ApplyRunbookFix: the connector
// page's own UpdateConnector, audited).
func (s *Server) connectorChecks(ctx context.Context, c mailnet.Connector) ([]views.RunbookCheck, error) {
	id := strconv.FormatInt(c.ID, 10)
	level := actions.PCMTALevel(c)
	logging := views.RunbookCheck{Part: "C", Title: "MSExchangePCMTA diagnostics logging at Maximum on " + c.Name, OK: actions.PCMTAAtMaximum(c),
		Detail: "Now: " + orDash(level) + ". Diagnostics Logging property page of the connector (/connectors/" + id + ")."}
	reverts, err := s.store.LoggingReverts(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range reverts {
		if strings.EqualFold(r.Category, actions.PCMTACategory) {
			logging.Detail += " Goes back to " + orDash(r.To) + " at " + r.At.UTC().Format("2006-01-02 15:04") + " UTC."
		}
	}
	if !logging.OK {
		revert := int(actions.DefaultRunbookRevert / time.Minute)
		logging.FixAction = "/dirsync/runbook/fix"
		logging.FixFields = map[string]string{"connector_id": id, "fix": actions.RunbookFixPCMTALogging, "revert_minutes": strconv.Itoa(revert)}
		logging.FixLabel = "Set to Maximum for " + strconv.Itoa(revert/60) + " hours"
	}
	poll := "unset"
	if c.PollMinutes > 0 {
		poll = strconv.Itoa(c.PollMinutes) + " minutes"
		if c.PollMinutes == 1 {
			poll = "1 minute"
		}
	}
	polling := views.RunbookCheck{Part: "C", Title: "Connector polls every 1 minute (" + c.Name + ")", OK: c.PollMinutes == actions.RunbookPollMinutes,
		Detail: "Now: every " + poll + `. "Check for mail every __ minute" = 1 on the Connector MTA page, then restart the service.`}
	if !polling.OK {
		polling.FixAction = "/dirsync/runbook/fix"
		polling.FixFields = map[string]string{"connector_id": id, "fix": actions.RunbookFixPoll}
		polling.FixLabel = "Set to 1 minute"
	}
	return []views.RunbookCheck{logging, polling}, nil
}

// pageRunbookFix applies one of the runbook's preparation C fixes on a
// Microsoft Mail Connector (connector_id, fix, revert_minutes for the
// logging) and returns to the runbook (back_query: its selection).
func (s *Server) pageRunbookFix(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	f := r.PostForm
	in := actions.RunbookFix{Fix: f.Get("fix")}
	id, ok := parseID(strings.TrimSpace(f.Get("connector_id")))
	if !ok {
		s.error(w, r, mailnet.Invalid("connector_id", "connector_id %q is not a connector id", f.Get("connector_id")))
		return
	}
	in.ConnectorID = id
	if raw := strings.TrimSpace(f.Get("revert_minutes")); raw != "" {
		m, err := strconv.Atoi(raw)
		if err != nil || m < 1 || m > maxRevertMinutes {
			s.error(w, r, mailnet.Invalid("revert_minutes", "revert_minutes must be a whole number of minutes from 1 to %d", maxRevertMinutes))
			return
		}
		in.RevertAfter = time.Duration(m) * time.Minute
	}
	if _, err := s.actions.ApplyRunbookFix(r.Context(), in); err != nil {
		s.error(w, r, err)
		return
	}
	http.Redirect(w, r, "/dirsync/runbook?"+runbookBackQuery(f.Get("back_query")), http.StatusSeeOther)
}

// runbookBackQuery keeps the runbook's own selection (id, network, drive)
// of a back_query, re-encoded, so a redirect can carry nothing else.
func runbookBackQuery(raw string) string {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return ""
	}
	out := url.Values{}
	for _, k := range []string{"id", "network", "drive"} {
		if v, ok := q[k]; ok {
			out[k] = v
		}
	}
	return out.Encode()
}
