package views

import (
	"slices"
	"strconv"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
)

// X400FixView is the preview of a fix at both ends of an X.400
// connector from A to B: the override on A's connector (or clearing it),
// the Stack entry of B's connector to A, the MTA restart, SP2 first where
// needed, and the predicted failure ratio before and after.
type X400FixView struct {
	Finding   reports.X400Finding // the check's finding (before)
	Connector mailnet.Connector   // A's connector
	Server    mailnet.Server      // A
	Remote    *mailnet.Connector  // B's x400 connector to A, if any
	Action    string              // "set" or "clear"
	Address   string              // the override proposed
	// After is the prediction once the change is applied; AfterSP2 once
	// SP2 is installed too (the same unless SP2First).
	After, AfterSP2 reports.X400Verdict
	SP2First        bool
	Admin           bool
	Done            string // "set" or "clear" after a successful apply
	Error           string
	ErrorField      string
}

func (v *X400FixView) stackAfter() []string {
	if v.Remote == nil {
		return nil
	}
	if v.Action == "set" {
		return []string{v.Address}
	}
	return v.Remote.StackAddresses
}

func (v *X400FixView) canApply() bool {
	if !v.Admin {
		return false
	}
	if v.Action == "clear" {
		return v.Connector.OverrideAddress != ""
	}
	return v.Remote != nil && v.Address != ""
}

func (v *X400FixView) actionHref(action string) string {
	return "/x400/fix/" + strconv.FormatInt(v.Connector.ID, 10) + "?action=" + action
}

func (v *X400FixView) addressHref(a string) string {
	return v.actionHref("set") + "&address=" + a
}

func statusWord(s string) string { return x400Label(s) }

// ConnectorView is a connector's settings page.
type ConnectorView struct {
	Connector  mailnet.Connector
	Names      map[int64]string
	Reverts    []mailnet.LoggingRevert
	Now        time.Time
	Admin      bool
	Done       string
	Error      string
	ErrorField string
}

func (v *ConnectorView) categories() []string {
	out := make([]string, 0, len(v.Connector.Logging))
	for k := range v.Connector.Logging {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (v *ConnectorView) revertOf(cat string) *mailnet.LoggingRevert {
	for i := range v.Reverts {
		if v.Reverts[i].Category == cat {
			return &v.Reverts[i]
		}
	}
	return nil
}

func (v *ConnectorView) path(tail string) string {
	return "/connectors/" + strconv.FormatInt(v.Connector.ID, 10) + tail
}

func revertTo(r *mailnet.LoggingRevert) string {
	if r.To == "" {
		return "no level (removed)"
	}
	return r.To
}

var loggingLevels = mailnet.LoggingLevels

func pollValue(c mailnet.Connector) string {
	if c.PollMinutes == 0 {
		return ""
	}
	return strconv.Itoa(c.PollMinutes)
}

func connectorHref(id int64) string { return "/connectors/" + strconv.FormatInt(id, 10) }
