package views

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
)

// NOC tiles, in the order the wall shows them.
const (
	TileServers    = "servers"
	TileDuplicates = "duplicates"
	TileX400       = "x400"
	TileDirSync    = "dirsync"
	TileMoves      = "moves"
	TileRate       = "rate"
	TileEvents     = "events"
)

// NocTiles are every tile, in order.
var NocTiles = []string{TileServers, TileDuplicates, TileX400, TileDirSync, TileMoves, TileRate, TileEvents}

// NocPage is the wall screen: the tiles chosen, the site it watches, and
// the latest state.
type NocPage struct {
	Tiles    []string // chosen tiles, in NocTiles order
	SiteID   int64    // 0: the whole network
	SiteName string
	Sites    []mailnet.Site // for the one-screen-per-site links
	Data     *NocData
	// LastEventID is where the screen's stream resumes.
	LastEventID int64
}

// Has reports whether tile is shown.
func (p *NocPage) Has(tile string) bool {
	for _, t := range p.Tiles {
		if t == tile {
			return true
		}
	}
	return false
}

// Query is the page's choice of tiles and site as a query string.
func (p *NocPage) Query() string {
	v := url.Values{}
	if len(p.Tiles) != len(NocTiles) {
		v.Set("tiles", strings.Join(p.Tiles, ","))
	}
	if p.SiteID != 0 {
		v.Set("site", strconv.FormatInt(p.SiteID, 10))
	}
	return v.Encode()
}

// TilesURL is where the script re-fetches the tiles.
func (p *NocPage) TilesURL() string {
	if q := p.Query(); q != "" {
		return "/noc/tiles?" + q
	}
	return "/noc/tiles"
}

// WSURL is the stream the screen watches for changes.
func (p *NocPage) WSURL() string {
	v := url.Values{}
	if p.SiteID != 0 {
		v.Set("site", strconv.FormatInt(p.SiteID, 10))
	}
	if q := v.Encode(); q != "" {
		return "/ws?" + q
	}
	return "/ws"
}

// SiteURL is the same screen for one site (0: the whole network).
func (p *NocPage) SiteURL(id int64) string {
	v := url.Values{}
	if len(p.Tiles) != len(NocTiles) {
		v.Set("tiles", strings.Join(p.Tiles, ","))
	}
	if id != 0 {
		v.Set("site", strconv.FormatInt(id, 10))
	}
	if q := v.Encode(); q != "" {
		return "/noc?" + q
	}
	return "/noc"
}

// NocData is the latest state behind the tiles (reports.NOC, the NOC
// report); only the chosen tiles' parts are filled.
type NocData struct {
	reports.NOC
}

// RateTotal is the events of the last hour.
func (d *NocData) RateTotal() int64 {
	var n int64
	for _, c := range d.Rate {
		n += c
	}
	return n
}

// RateMax is the busiest minute.
func (d *NocData) RateMax() int64 {
	var m int64
	for _, c := range d.Rate {
		m = max(m, c)
	}
	return m
}

// RateNow is the last complete minute's count.
func (d *NocData) RateNow() int64 {
	if len(d.Rate) < 2 {
		return 0
	}
	return d.Rate[len(d.Rate)-2]
}

// ChartBar is one bar of the event-rate chart, in SVG units.
type ChartBar struct {
	X, Y, W, H float64
	Count      int64
	Minute     string
	Current    bool
}

// Chart geometry (viewBox units).
const (
	ChartW = 1000.0
	ChartH = 300.0
)

// RateBars lays the per-minute counts out as bars scaled to the busiest
// minute.
func (d *NocData) RateBars() []ChartBar {
	n := len(d.Rate)
	if n == 0 {
		return nil
	}
	top := float64(max(d.RateMax(), 1))
	w := ChartW / float64(n)
	out := make([]ChartBar, n)
	for i, c := range d.Rate {
		h := float64(c) / top * (ChartH - 4)
		if c > 0 && h < 2 {
			h = 2
		}
		out[i] = ChartBar{X: float64(i)*w + 1, W: w - 2, H: h, Y: ChartH - h, Count: c,
			Minute: d.RateStart.Add(time.Duration(i) * time.Minute).UTC().Format("15:04"), Current: i == n-1}
	}
	return out
}

// F formats an SVG number.
func F(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// Percent formats a 0..1 ratio.
func Percent(r float64) string { return ratioPercent(r) }

// JobPercent is a job's progress from 0 to 100.
func JobPercent(j mailnet.JobDetail) float64 {
	if j.Total <= 0 {
		return 0
	}
	return min(100, float64(j.Done)*100/float64(j.Total))
}

// Ago says how long before now t was, shortly.
func Ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "never"
	case d < time.Minute:
		return strconv.Itoa(int(max(d, 0)/time.Second)) + " s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " d ago"
}

// CountText is a group's count; capped says the scan stopped, so it is
// at least that.
func CountText(n int, capped bool) string {
	if capped {
		return strconv.Itoa(n) + "+"
	}
	return strconv.Itoa(n)
}

// SpanText says how long a group of events covers: "in 24 h".
func SpanText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "in " + strconv.Itoa(int(max(d, 0)/time.Second)) + " s"
	case d < time.Hour:
		return "in " + strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return "in " + strconv.Itoa(int((d+30*time.Minute)/time.Hour)) + " h"
}
