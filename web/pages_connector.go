package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/web/views"
)

// x400FixData builds the preview of the fix at both ends of x400
// connector id: set the Stack IP Address Override of A's connector to
// address (action "set"), or clear it ("clear"), with B's connector to A
// taking the same address on its Stack; the failure ratio before (the
// check's finding) and after (reports.X400Rule on the proposed override
// and stacks).
func (s *Server) x400FixData(ctx context.Context, id int64, action, address string) (*views.X400FixView, error) {
	c, err := s.store.ConnectorByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Kind != mailnet.ConnectorX400 {
		return nil, mailnet.Invalid("id", "connector %q is %s; only an X.400 connector has a Stack IP Address Override", c.Name, c.Kind)
	}
	res, err := s.x400.Check(ctx)
	if err != nil {
		return nil, err
	}
	page, _ := res.Page(reports.X400Query{AfterID: id - 1, Limit: 1})
	if len(page) == 0 || page[0].ConnectorID != id {
		return nil, mailnet.NotFound("connector", id)
	}
	f := page[0]
	a, err := s.store.ServerByID(ctx, c.ServerID)
	if err != nil {
		return nil, err
	}
	v := &views.X400FixView{Finding: f, Connector: c, Server: a, Action: action}
	if pr := mailnet.PrincipalFrom(ctx); pr != nil {
		v.Admin = pr.Role.Allows(mailnet.RoleAdmin)
	}
	if v.Action != "clear" {
		v.Action = "set"
	}
	v.Address = strings.TrimSpace(address)
	if v.Address == "" {
		v.Address = f.FixAddress
	}
	if v.Address == "" && f.Override != "" {
		v.Address = f.Override
	}
	if v.Address == "" && len(a.Addresses) > 0 {
		v.Address = a.Addresses[0]
	}
	if c.RemoteServerID == 0 {
		return v, nil
	}
	// Every x400 connector on B: its stacks together are what B accepts.
	onB, err := s.store.Connectors(ctx, c.RemoteServerID)
	if err != nil {
		return nil, err
	}
	var stackAfter []string
	for i := range onB {
		o := &onB[i]
		if o.ServerID != c.RemoteServerID || o.Kind != mailnet.ConnectorX400 {
			continue
		}
		if o.RemoteServerID == c.ServerID && v.Remote == nil {
			v.Remote = o
			if v.Action == "set" {
				stackAfter = append(stackAfter, v.Address)
				continue
			}
		}
		stackAfter = append(stackAfter, o.StackAddresses...)
	}
	override := ""
	if v.Action == "set" {
		override = v.Address
	}
	in := reports.X400Input{AName: a.Name, AAddresses: a.Addresses, Override: override, BStack: stackAfter}
	v.AfterSP2 = reports.X400Rule(in)
	v.After = v.AfterSP2
	// An MTA older than 5.5 SP2 ignores the override: until SP2 is
	// installed the transport still picks among every address.
	v.SP2First = f.NeedsSP2 || f.OverrideIgnored
	if v.SP2First {
		in.Override = ""
		v.After = reports.X400Rule(in)
	}
	return v, nil
}

// pageX400Fix is the preview of the fix at both ends of an x400
// connector (GET /x400/fix/{id}?action=set|clear&address=).
func (s *Server) pageX400Fix(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("connector", r.PathValue("id")))
		return
	}
	q := r.URL.Query()
	v, err := s.x400FixData(r.Context(), id, q.Get("action"), q.Get("address"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	v.Done = q.Get("done")
	s.renderX400Fix(w, r, http.StatusOK, v)
}

func (s *Server) renderX400Fix(w http.ResponseWriter, r *http.Request, status int, v *views.X400FixView) {
	page := s.pageFor(r.Context(), "Fix connector "+v.Connector.Name, "x400")
	s.render(w, r, status, page, views.X400FixBody(v))
}

// pageX400FixApply applies the previewed fix in one audited action: the
// override on A's connector and, with update_remote_stack, the Stack
// entry of B's connector to A, in one transaction (actions.UpdateConnector,
// one audit row per connector, B's naming A's). Clearing changes A's
// connector only. Success redirects (303) to the preview, which then
// shows the new state; a refusal shows the preview again with the error.
func (s *Server) pageX400FixApply(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("connector", r.PathValue("id")))
		return
	}
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	action, address := r.PostForm.Get("action"), strings.TrimSpace(r.PostForm.Get("address"))
	var p actions.ConnectorPatch
	switch action {
	case "set":
		if address == "" {
			s.x400FixRefused(w, r, id, action, address, mailnet.Invalid("address", "choose the address the connector's MTA connects from"))
			return
		}
		p = actions.ConnectorPatch{OverrideAddress: actions.Some(address), UpdateRemoteStack: true}
	case "clear":
		p = actions.ConnectorPatch{OverrideAddress: actions.Null[string]()}
	default:
		s.x400FixRefused(w, r, id, "set", address, mailnet.Invalid("action", "action must be set or clear, not %q", action))
		return
	}
	if _, err := s.actions.UpdateConnector(ctx, id, p); err != nil {
		s.x400FixRefused(w, r, id, action, address, err)
		return
	}
	http.Redirect(w, r, "/x400/fix/"+strconv.FormatInt(id, 10)+"?done="+action, http.StatusSeeOther)
}

// x400FixRefused shows the preview again with a refusal (its status), or
// the error page when it is no domain refusal.
func (s *Server) x400FixRefused(w http.ResponseWriter, r *http.Request, id int64, action, address string, err error) {
	e, ok := mailnet.AsError(err)
	if !ok || e.Kind == mailnet.KindNotFound {
		s.error(w, r, err)
		return
	}
	v, err2 := s.x400FixData(r.Context(), id, action, address)
	if err2 != nil {
		s.error(w, r, err2)
		return
	}
	v.Error = e.Message
	v.ErrorField = e.Field
	s.renderX400Fix(w, r, statusOf(e.Kind), v)
}

// pageConnector is a connector's settings page: for the MS Mail
// Connector its poll interval and diagnostics logging per category, with
// the scheduled reverts.
func (s *Server) pageConnector(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("connector", r.PathValue("id")))
		return
	}
	v, err := s.connectorData(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	v.Done = r.URL.Query().Get("done")
	s.renderConnector(w, r, http.StatusOK, v)
}

func (s *Server) connectorData(ctx context.Context, id int64) (*views.ConnectorView, error) {
	c, err := s.store.ConnectorByID(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &views.ConnectorView{Connector: c, Now: s.now()}
	ids := []int64{c.ServerID}
	if c.RemoteServerID != 0 {
		ids = append(ids, c.RemoteServerID)
	}
	if v.Names, err = s.store.ReportServerNames(ctx, ids); err != nil {
		return nil, err
	}
	if v.Reverts, err = s.store.LoggingReverts(ctx, id); err != nil {
		return nil, err
	}
	if pr := mailnet.PrincipalFrom(ctx); pr != nil {
		v.Admin = pr.Role.Allows(mailnet.RoleAdmin)
	}
	return v, nil
}

func (s *Server) renderConnector(w http.ResponseWriter, r *http.Request, status int, v *views.ConnectorView) {
	ctx := r.Context()
	m := &views.ConnectorMTA{}
	if v.Connector.Kind == mailnet.ConnectorX400 {
		var err error
		if m.Transport, err = s.store.ConnectorTransport(ctx, v.Connector.ID); err != nil {
			s.error(w, r, err)
			return
		}
		fs, err := reports.MTAFindingsForServer(ctx, s.store, v.Connector.ServerID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		m.Findings = reports.FindingsOfConnector(fs, v.Connector.ID)
	}
	page := s.pageFor(ctx, "Connector "+v.Connector.Name, "servers")
	s.render(w, r, status, page, views.ConnectorBody(v, m))
}

// pageConnectorTransport sets an X.400 connector's transport from the
// form (POST /connectors/{id}/transport): lan or rras, a connector that
// dials its peer over Routing and RAS (Q256844). It goes through the
// API's checks and audit (connector.transport).
func (s *Server) pageConnectorTransport(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("connector", r.PathValue("id")))
		return
	}
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	p := connectorMTAPatch{Transport: actions.Some(strings.TrimSpace(r.PostForm.Get("transport")))}
	if err := s.checkConnectorTransport(ctx, id, p); err != nil {
		s.connectorRefused(w, r, id, err)
		return
	}
	if err := s.updateConnectorTransport(ctx, id, p); err != nil {
		s.connectorRefused(w, r, id, err)
		return
	}
	http.Redirect(w, r, "/connectors/"+strconv.FormatInt(id, 10)+"?done=transport", http.StatusSeeOther)
}

// maxRevertMinutes bounds the "revert after" field (actions checks the
// time itself too).
const maxRevertMinutes = int(actions.MaxLoggingRevert / time.Minute)

// pageConnectorPoll sets the MS Mail Connector's poll interval ("Check
// for mail every N minutes") from the form.
func (s *Server) pageConnectorPoll(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("connector", r.PathValue("id")))
		return
	}
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("poll_minutes")))
	if err != nil {
		s.connectorRefused(w, r, id, mailnet.Invalid("poll_minutes", "poll_minutes (\"Check for mail every N minutes\") must be a whole number of minutes"))
		return
	}
	if _, err := s.actions.UpdateConnector(r.Context(), id, actions.ConnectorPatch{PollMinutes: actions.Some(n)}); err != nil {
		s.connectorRefused(w, r, id, err)
		return
	}
	http.Redirect(w, r, "/connectors/"+strconv.FormatInt(id, 10)+"?done=poll", http.StatusSeeOther)
}

// pageConnectorLogging sets diagnostics logging levels per category from
// the form (level.<category> fields, and a new category in category_new
// with level_new), with an optional revert after revert_minutes: the
// console sets the levels back by itself then and audits it.
func (s *Server) pageConnectorLogging(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("connector", r.PathValue("id")))
		return
	}
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	c, err := s.store.ConnectorByID(ctx, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	levels := map[string]*string{}
	for key, vals := range r.PostForm {
		cat, ok := strings.CutPrefix(key, "level.")
		if !ok || len(vals) == 0 {
			continue
		}
		lv := strings.TrimSpace(vals[0])
		if lv == c.Logging[cat] {
			continue // unchanged: not reverted either
		}
		levels[cat] = &lv
	}
	if cat := strings.TrimSpace(r.PostForm.Get("category_new")); cat != "" {
		lv := strings.TrimSpace(r.PostForm.Get("level_new"))
		levels[cat] = &lv
	}
	if len(levels) == 0 {
		s.connectorRefused(w, r, id, mailnet.Invalid("logging", "no logging level was changed"))
		return
	}
	p := actions.ConnectorPatch{Logging: actions.Some(levels)}
	if raw := strings.TrimSpace(r.PostForm.Get("revert_minutes")); raw != "" {
		m, err := strconv.Atoi(raw)
		if err != nil || m < 1 || m > maxRevertMinutes {
			s.connectorRefused(w, r, id, mailnet.Invalid("revert_minutes", "revert after must be a whole number of minutes from 1 to %d", maxRevertMinutes))
			return
		}
		p.LoggingRevertAt = actions.Some(s.store.Now().Add(time.Duration(m) * time.Minute))
	}
	if _, err := s.actions.UpdateConnector(ctx, id, p); err != nil {
		s.connectorRefused(w, r, id, err)
		return
	}
	http.Redirect(w, r, "/connectors/"+strconv.FormatInt(id, 10)+"?done=logging", http.StatusSeeOther)
}

func (s *Server) connectorRefused(w http.ResponseWriter, r *http.Request, id int64, err error) {
	e, ok := mailnet.AsError(err)
	if !ok || e.Kind == mailnet.KindNotFound {
		s.error(w, r, err)
		return
	}
	v, err2 := s.connectorData(r.Context(), id)
	if err2 != nil {
		s.error(w, r, err2)
		return
	}
	v.Error, v.ErrorField = e.Message, e.Field
	s.renderConnector(w, r, statusOf(e.Kind), v)
}
