package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/tracking"
	"mailnet/web/views"
)

// trackingPageLimit is how many messages the page shows at once.
const trackingPageLimit = 50

var msmailAddress = regexp.MustCompile(`^[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+$`)

// readSearchBox reads the one search box: an address (sender or a
// recipient), a message id or MTS-ID, or else a subject prefix. A single
// word that is no address is tried as an id first (guess says so).
func readSearchBox(box string) (q tracking.Query, read string, guess bool) {
	b := strings.TrimSpace(box)
	switch {
	case b == "":
		return q, "", false
	case strings.HasPrefix(b, "<") && strings.HasSuffix(b, ">"),
		strings.Contains(b, ";") && strings.Contains(b, "="):
		q.MessageID = b
		return q, "a message id", false
	case strings.Contains(b, "@"), strings.HasPrefix(strings.ToLower(b), "/o="), msmailAddress.MatchString(b):
		q.Address = b
		return q, "an address (sender or recipient)", false
	case !strings.ContainsAny(b, " \t"):
		q.MessageID = b
		return q, "a message id", true
	}
	q.Subject = box
	return q, "a subject prefix", false
}

func (s *Server) pageTracking(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := r.URL.Query()
	p := &views.TrackingSearch{Q: v.Get("q"), State: v.Get("state"), Server: v.Get("server"), After: v.Get("after"), Before: v.Get("before")}
	status := http.StatusOK
	render := func() {
		s.render(w, r, status, s.pageFor(ctx, "Message tracking", "tracking"), views.TrackingBody(p))
	}
	box, read, guess := readSearchBox(p.Q)
	p.Read = read
	filters := url.Values{}
	for _, k := range []string{"state", "server", "after", "before", "after_id"} {
		if x := v.Get(k); x != "" {
			filters.Set(k, x)
		}
	}
	q, err := parseTrackingQuery(filters)
	if err != nil {
		status, p.Error = http.StatusUnprocessableEntity, err.Error()
		render()
		return
	}
	if p.Q == "" && len(filters) == 0 {
		render()
		return
	}
	p.Searched = true
	q.Limit = trackingPageLimit
	q.Address, q.MessageID, q.Subject = box.Address, box.MessageID, box.Subject
	subjects, err := tracking.Subjects{St: s.store}.Allowed(ctx, mailnet.PrincipalFrom(ctx))
	if err != nil {
		s.error(w, r, err)
		return
	}
	p.Subjects = subjects
	page, err := s.tracking.Search(ctx, q)
	if err == nil && guess && len(page.Messages) == 0 {
		q.MessageID, q.Subject, p.Read = "", p.Q, "a subject prefix (no message has that id)"
		if subjects {
			page, err = s.tracking.Search(ctx, q)
		}
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if q.Subject != "" && !subjects {
		status, p.Error = http.StatusForbidden, "Searching by subject needs the subject grant; search by an address or an id instead."
		render()
		return
	}
	if subjects && len(page.Messages) > 0 {
		if err := s.auditSubjects(r, "page search "+r.URL.RawQuery, len(page.Messages)); err != nil {
			s.error(w, r, err)
			return
		}
	}
	for _, m := range page.Messages {
		p.Rows = append(p.Rows, views.TrackingRow{
			MessageID: m.MessageID, Sender: m.Sender, Recipients: strings.Join(m.Recipients, ", "), Subject: m.Subject,
			FirstSeen: m.FirstSeen.Format("2006-01-02 15:04:05"), LastSeen: m.LastSeen.Format("2006-01-02 15:04:05"),
			State: strings.ReplaceAll(string(m.State), "_", " "), Complete: m.Complete,
			URL: "/tracking/trace?id=" + url.QueryEscape(m.MessageID),
		})
	}
	api := url.Values{}
	for k, x := range map[string]string{"address": q.Address, "message_id": q.MessageID, "subject": q.Subject, "state": p.State, "server": p.Server, "after": p.After, "before": p.Before} {
		if x != "" {
			api.Set(k, x)
		}
	}
	p.ExportCSV = "/api/v1/tracking/export?format=csv&" + api.Encode()
	p.ExportJSON = "/api/v1/tracking/export?format=json&" + api.Encode()
	if page.NextAfterID != 0 {
		next := r.URL.Query()
		next.Set("after_id", strconv.FormatInt(page.NextAfterID, 10))
		p.NextURL = "/tracking?" + next.Encode()
	}
	render()
}

func (s *Server) pageTrackingTrace(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("id")
	if id == "" {
		s.error(w, r, mailnet.Invalid("id", "id is required: the message id to trace"))
		return
	}
	out, tr, err := s.loadTrace(r, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	v := &views.TrackingTraceView{
		MessageID: out.MessageID, Sender: out.Sender, Recipients: strings.Join(out.Recipients, ", "),
		State: strings.ReplaceAll(out.State, "_", " "), Complete: out.Complete, IDs: out.IDs,
		Total: time.Duration(out.TotalMS * int64(time.Millisecond)).String(), JSONURL: "/api/v1/tracking/" + url.PathEscape(out.MessageID),
	}
	if out.Subject != nil {
		v.Subjects, v.Subject = true, *out.Subject
	}
	for _, g := range out.Gaps {
		v.Gaps = append(v.Gaps, views.TrackingGapView{Server: g.Server, Reason: g.Reason})
	}
	for _, f := range out.Findings {
		v.Findings = append(v.Findings, views.TrackingFindingView{Kind: f.Kind, Text: f.Text, Link: f.Link})
	}
	for _, h := range out.Hops {
		v.Hops = append(v.Hops, views.TrackingHopView{Time: h.Time.Format("2006-01-02 15:04:05"), Server: h.Server,
			Event: string(h.Event), Partner: h.Partner, Latency: latencyText(h.LatencyMS), Slow: h.Slow})
	}
	v.SVG = traceSVG(tr)
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Trace of "+out.MessageID, "tracking"), views.TrackingTraceBody(v))
}

func latencyText(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	case d >= time.Second:
		return d.Round(time.Second).String()
	}
	return d.String()
}

// traceSVG lays the trace out: a lane per server in the order the
// message met them, one column per hop, gaps as dashed segments to an
// open node on the lane of the server that was not seen.
func traceSVG(tr tracking.Trace) views.TrackingSVG {
	lanes := map[string]int{}
	var svg views.TrackingSVG
	lane := func(name string) int {
		k := strings.ToLower(name)
		if i, ok := lanes[k]; ok {
			return svg.Lanes[i].Y
		}
		lanes[k] = len(svg.Lanes)
		y := 40 + 50*len(svg.Lanes)
		svg.Lanes = append(svg.Lanes, views.SVGLane{Y: y, Name: name})
		return y
	}
	n := len(tr.Hops)
	step := 110
	x := func(i int) int { return 190 + i*step }
	timeGap := map[int]bool{}
	for _, g := range tr.Gaps {
		if g.Kind == tracking.GapTime {
			timeGap[g.AfterHop] = true
		}
	}
	for i, h := range tr.Hops {
		y := lane(h.Server)
		svg.Nodes = append(svg.Nodes, views.SVGNode{X: x(i), Y: y, Label: string(h.Event), Slow: h.Slow,
			Title: h.Time.Format(time.RFC3339) + " " + h.Server + " " + string(h.Event) + " " + h.Partner})
		if i > 0 {
			p := svg.Nodes[i-1]
			svg.Segs = append(svg.Segs, views.SVGSeg{X1: p.X, Y1: p.Y, X2: x(i), Y2: y, Slow: h.Slow, Gap: timeGap[i-1],
				Label: latencyText(h.LatencyMS), LX: (p.X + x(i)) / 2, LY: (p.Y+y)/2 - 6})
		}
	}
	extra := 0
	for _, g := range tr.Gaps {
		if g.Kind == tracking.GapTime || g.AfterHop >= n {
			continue
		}
		extra++
		from := svg.Nodes[g.AfterHop]
		gx, gy := from.X+step/2, lane(g.Server)
		if gx <= from.X {
			gx = from.X + 40
		}
		svg.Segs = append(svg.Segs, views.SVGSeg{X1: from.X, Y1: from.Y, X2: gx, Y2: gy, Gap: true})
		svg.Nodes = append(svg.Nodes, views.SVGNode{X: gx, Y: gy, Gap: true, Label: "not seen", Title: g.Reason})
	}
	svg.Width = max(700, x(n)+step/2*extra+40)
	svg.Height = 40 + 50*len(svg.Lanes)
	return svg
}
