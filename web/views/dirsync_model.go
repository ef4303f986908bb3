package views

import (
	"fmt"
	"mailnet/internal/mailnet"
	"strconv"
	"strings"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/dirsync"
	"mailnet/internal/reports"
)

// DXInfo is a DX server with its settings, as the dir-sync page shows it.
type DXInfo struct {
	actions.DXSettings
	Name    string
	Version string
}

// PauseTriggersT2 reports whether pausing this DX triggers T2.
func (d *DXInfo) PauseTriggersT2() bool { return reports.PauseTriggersT2(d.Version, d.PauseKicksDX) }

// Is40 reports whether the DX runs Exchange 4.0 (PauseKicksDX matters).
func (d *DXInfo) Is40() bool { return strings.HasPrefix(strings.TrimSpace(d.Version), "4.") }

// ExportSel is the selection an Export on Next Cycle preview was made for,
// carried to the apply.
type ExportSel struct {
	IDs        []int64
	Network    string
	DXServerID int64
	Enabled    bool
}

// DirSyncPage is the dir-sync status page.
type DirSyncPage struct {
	Rows []reports.DirSyncRow
	// NetworkFindings are the findings no requestor owns (R21 (b)).
	NetworkFindings []mailnet.DirSyncFinding
	DXs             []DXInfo
	Networks        []string
	Runs            []mailnet.DirSyncRun
	Plan            *actions.ExportPlan
	Sel             ExportSel
	Done            string
	// Pager pages the requestors table (Rows is then one page of it);
	// the zero Pager shows every row on one page.
	Pager Pager
}

// RequestorPage is one requestor's history.
type RequestorPage struct {
	Row      reports.DirSyncRow
	Cycles   []mailnet.DirSyncCycle
	Changes  []mailnet.RequestorChange
	Findings []mailnet.DirSyncFinding
	Query    string
}

// RunbookCheck is one preparation of the manual procedure, verified from
// the inventory, with a one-click fix where the console owns the setting.
type RunbookCheck struct {
	Part   string // A, B or C
	Title  string
	OK     bool
	Manual bool   // the console cannot verify it: the administrator confirms
	Detail string // what the console sees
	// FixAction and FixFields post the one-click fix.
	FixAction string
	FixFields map[string]string
	FixLabel  string
}

// RunbookPage is the manual dir-sync procedure for chosen requestors.
type RunbookPage struct {
	Rows    []reports.DirSyncRow
	IDs     []int64
	Network string
	Drive   string
	Checks  []RunbookCheck
	DXs     []DXInfo
}

// RunTick is one requestor's evidence in a run.
type RunTick struct {
	RequestorID  int64
	Address      string
	Seen         map[string]string
	Missing      []string
	MissingSince string
	Complete     bool
}

// RunPage is one recorded run with its ticks.
type RunPage struct {
	Run     mailnet.DirSyncRun
	Ticks   []RunTick
	Drive   string
	Running bool
}

func i64s(n int64) string { return strconv.FormatInt(n, 10) }

func requestorHref(id int64) string { return "/dirsync/requestors/" + i64s(id) }
func runHref(id int64) string       { return "/dirsync/runs/" + i64s(id) }
func runTicksHref(id int64) string  { return "/dirsync/runs/" + i64s(id) + "/ticks" }
func dxFormHref(id int64) string    { return "/dirsync/dx/" + i64s(id) }
func ackHref(id int64) string       { return "/dirsync/findings/" + i64s(id) + "/acknowledge" }

func dirsyncStatusClass(r *reports.DirSyncRow) string {
	switch r.Status {
	case reports.StatusSilent:
		return "badge bad"
	case reports.StatusBehind:
		return "badge warn"
	}
	return "badge ok"
}

func findingClass(f *mailnet.DirSyncFinding) string {
	if f.Severity == "error" {
		return "badge bad"
	}
	return "badge warn"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func evidenceLabel(kind string) string {
	switch kind {
	case dirsync.EvMovedOut:
		return "T1 4395 Moved Out"
	case dirsync.EvReceived:
		return "T1 4355 Received"
	case dirsync.EvStatusReport:
		return "T1 Status report"
	case dirsync.EvReqTx:
		return "T1 ReqTx"
	case dirsync.EvSent:
		return "T2 4395 Sent"
	case dirsync.EvMovedIn:
		return "T2 4355 Moved In"
	case dirsync.EvSrvTx:
		return "T2 SrvTx"
	}
	return kind
}

func evidenceKinds() []string { return dirsync.EvidenceKinds }

// CycleChart is the inline SVG of a requestor's last cycles: R and S as lines,
// the updates sent as bars.
type CycleChart struct {
	Width, Height int
	RPath, SPath  string
	Bars          []CycleBar
	Max           int64
	First, Last   string
}

// CycleBar is one cycle's "## sent".
type CycleBar struct {
	X, Y, W, H string
	Title      string
	Class      string
}

// BuildCycleChart lays out the cycles (oldest first).
func BuildCycleChart(cs []mailnet.DirSyncCycle) CycleChart {
	c := CycleChart{Width: 640, Height: 160}
	if len(cs) == 0 {
		return c
	}
	var top int64 = 1
	var sentTop int64 = 1
	for _, x := range cs {
		top = max(top, x.R, x.S)
		sentTop = max(sentTop, x.Sent)
	}
	c.Max = top
	n := len(cs)
	step := float64(c.Width-20) / float64(max(n-1, 1))
	y := func(v int64) float64 { return float64(c.Height-10) - float64(v)/float64(top)*float64(c.Height-20) }
	var rp, sp []string
	for i, x := range cs {
		px := 10 + float64(i)*step
		if x.Late {
			continue
		}
		if x.Kind == dirsync.ReqTx {
			rp = append(rp, fmt.Sprintf("%.1f,%.1f", px, y(x.R)))
		} else {
			sp = append(sp, fmt.Sprintf("%.1f,%.1f", px, y(x.S)))
		}
		h := float64(x.Sent) / float64(sentTop) * 40
		cls := "bar-req"
		if x.Kind == dirsync.SrvTx {
			cls = "bar-srv"
		}
		if x.FullExport {
			cls = "bar-full"
		}
		c.Bars = append(c.Bars, CycleBar{X: fmt.Sprintf("%.1f", px-2), Y: fmt.Sprintf("%.1f", float64(c.Height)-h), W: "4",
			H: fmt.Sprintf("%.1f", h), Class: cls,
			Title: fmt.Sprintf("%s %s R=%d S=%d I=%d, %d sent", x.At.UTC().Format(time.DateTime), x.Kind, x.R, x.S, x.I, x.Sent)})
	}
	if len(rp) > 0 {
		c.RPath = "M" + strings.Join(rp, " L")
	}
	if len(sp) > 0 {
		c.SPath = "M" + strings.Join(sp, " L")
	}
	c.First, c.Last = cs[0].At.UTC().Format(time.DateTime), cs[n-1].At.UTC().Format(time.DateTime)
	return c
}

// Commands are the manual procedure's commands with the drive filled in.
type Commands struct {
	T1, T1Forcedos        string
	T3Receive, T3Import   string
	T3Rebuild, T3Forcedos string
}

// RunbookCommands fills the drive letter into the article's commands.
func RunbookCommands(drive string) Commands {
	d := strings.ToUpper(strings.TrimSpace(drive))
	if d == "" {
		d = "M"
	}
	return Commands{
		T1:         "reqmain -d" + d + " -t",
		T1Forcedos: "forcedos reqmain -d" + d + " -t",
		T3Receive:  "reqmain -d" + d + " -r",
		T3Import:   "import -d" + d + " admin -p<password> -q -y",
		T3Rebuild:  "rebuild -d" + d + " -f",
		T3Forcedos: "forcedos reqmain -d" + d + " -r",
	}
}

// hasCurrent reports whether fs holds a finding the inventory shows now
// (no stored id), which the requestor page lists before the stored ones.
func hasCurrent(fs []mailnet.DirSyncFinding) bool {
	for i := range fs {
		if fs[i].ID == 0 {
			return true
		}
	}
	return false
}
