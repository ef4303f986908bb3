package tracking

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Network is what the stitcher knows of the network: which names are
// servers of the inventory, and which servers send tracking at all.
type Network interface {
	InInventory(name string) bool
	SendsTracking(name string) bool
}

// Thresholds of the stitcher.
const (
	// Skew is how far a partner's clock may lag: a transfer in up to this
	// long before the transfer out still matches it.
	Skew = 5 * time.Minute
	// SlowHop is the least latency that marks the slowest hop as slow.
	SlowHop = 10 * time.Minute
	// TimeGap is how long a message may go without a record (between two
	// hops, or since a transfer out nobody has matched) before the trace
	// says it has a gap in time.
	TimeGap = 4 * time.Hour
)

// Gap kinds.
const (
	GapTrackingDisabled = "tracking_disabled"
	GapLeftNetwork      = "left_network"
	GapTime             = "time"
)

// Hop is one record of a trace, in time order.
type Hop struct {
	Time      time.Time `json:"time"`
	Server    string    `json:"server"`
	Event     Event     `json:"event"`
	Partner   string    `json:"partner"`
	LatencyMS int64     `json:"latency_ms"` // since the previous hop
	RemoteID  string    `json:"remote_id,omitempty"`
	Slow      bool      `json:"slow,omitempty"`
	// Matched is the index of the hop at the partner that took over a
	// transfer out (-1: none).
	Matched int `json:"matched"`
}

// Gap is why a trace is not complete.
type Gap struct {
	Server string `json:"server"`
	Reason string `json:"reason"`
	Kind   string `json:"kind"`
	// AfterHop is the hop the gap follows (its index).
	AfterHop int `json:"after_hop"`
}

// Trace is a message's hops stitched together.
type Trace struct {
	ID         int64     `json:"-"`
	MessageID  string    `json:"message_id"`
	IDs        []string  `json:"ids"` // every message id, MTS-ID and remote id linked to it
	Sender     string    `json:"sender"`
	Recipients []string  `json:"recipients"`
	Subject    string    `json:"subject"`
	State      State     `json:"state"`
	Complete   bool      `json:"complete"`
	TotalMS    int64     `json:"total_ms"`
	Gaps       []Gap     `json:"gaps"`
	Hops       []Hop     `json:"hops"`
	SlowHop    int       `json:"slow_hop"` // index, -1: none
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
}

func same(a, b string) bool { return strings.EqualFold(a, b) }

// Stitch builds a trace from a message's records: hops in time order with
// their latencies, each transfer out matched with what its partner logged,
// the gaps, the state and whether the trace is complete. now is when the
// trace is read: a transfer out nobody has matched is in transit until
// TimeGap has passed.
func Stitch(recs []Record, net Network, now time.Time) Trace {
	rs := append([]Record(nil), recs...)
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].Time.Equal(rs[j].Time) {
			return rs[i].Time.Before(rs[j].Time)
		}
		ci, _ := eventCode(rs[i].Event)
		cj, _ := eventCode(rs[j].Event)
		return order[ci] < order[cj]
	})
	tr := Trace{Hops: make([]Hop, len(rs)), SlowHop: -1, Gaps: []Gap{}}
	if len(rs) == 0 {
		tr.State = StatePartial
		return tr
	}
	tr.FirstSeen, tr.LastSeen = rs[0].Time, rs[len(rs)-1].Time
	tr.TotalMS = tr.LastSeen.Sub(tr.FirstSeen).Milliseconds()
	var slowest int64
	for i, r := range rs {
		h := Hop{Time: r.Time, Server: r.Server, Event: r.Event, Partner: r.Partner, RemoteID: r.RemoteID, Matched: -1}
		if i > 0 {
			h.LatencyMS = r.Time.Sub(rs[i-1].Time).Milliseconds()
			if h.LatencyMS > slowest {
				slowest, tr.SlowHop = h.LatencyMS, i
			}
		}
		tr.Hops[i] = h
	}
	if slowest < SlowHop.Milliseconds() {
		tr.SlowHop = -1
	} else {
		tr.Hops[tr.SlowHop].Slow = true
	}
	seen := map[string]bool{}
	gap := func(g Gap) {
		k := g.Kind + "\x00" + strings.ToLower(g.Server)
		if !seen[k] {
			seen[k] = true
			tr.Gaps = append(tr.Gaps, g)
		}
	}
	used := make([]bool, len(rs))
	pending := false
	var delivered, failed bool
	for i, r := range rs {
		switch r.Event {
		case Delivered:
			delivered = true
		case NDR:
			failed = true
		}
		if r.Event != TransferredOut {
			continue
		}
		if !net.InInventory(r.Partner) && !net.SendsTracking(r.Partner) {
			gap(Gap{Server: r.Partner, Kind: GapLeftNetwork, AfterHop: i,
				Reason: fmt.Sprintf("the message left the network: %s handed it to %s, which is outside the inventory", r.Server, r.Partner)})
			continue
		}
		j := match(rs, used, i)
		if j >= 0 {
			used[j] = true
			tr.Hops[i].Matched = j
			continue
		}
		switch {
		case !net.SendsTracking(r.Partner):
			gap(Gap{Server: r.Partner, Kind: GapTrackingDisabled, AfterHop: i,
				Reason: fmt.Sprintf("tracking is not enabled on MTA %s: it sent no tracking, so the hop after %s cannot be seen", r.Partner, r.Server)})
		case now.Sub(r.Time) > TimeGap:
			gap(Gap{Server: r.Partner, Kind: GapTime, AfterHop: i,
				Reason: fmt.Sprintf("no record from %s since %s handed it over at %s (%s ago)", r.Partner, r.Server, r.Time.Format(time.RFC3339), roundDur(now.Sub(r.Time)))})
		default:
			pending = true
		}
	}
	// A transfer in from a partner of the inventory that sent no tracking:
	// the hop before it cannot be seen either.
	for i, r := range rs {
		if r.Event == TransferredIn && net.InInventory(r.Partner) && !net.SendsTracking(r.Partner) {
			gap(Gap{Server: r.Partner, Kind: GapTrackingDisabled, AfterHop: max(i-1, 0),
				Reason: fmt.Sprintf("tracking is not enabled on MTA %s: %s received the message from it, but it sent no tracking", r.Partner, r.Server)})
		}
	}
	for i := 1; i < len(rs); i++ {
		if d := rs[i].Time.Sub(rs[i-1].Time); d > TimeGap {
			gap(Gap{Server: rs[i].Server, Kind: GapTime, AfterHop: i - 1,
				Reason: fmt.Sprintf("no record for %s between %s and %s", roundDur(d), rs[i-1].Server, rs[i].Server)})
		}
	}
	last := rs[len(rs)-1]
	if last.Event == Deferred && !delivered && !failed {
		pending = true
	}
	switch {
	case failed:
		tr.State = StateFailed
	case delivered && !pending:
		tr.State = StateDelivered
	case pending:
		tr.State = StateInTransit
	case len(tr.Gaps) > 0:
		tr.State = StatePartial
	case now.Sub(last.Time) > TimeGap:
		tr.State = StatePartial
		gap(Gap{Server: last.Server, Kind: GapTime, AfterHop: len(rs) - 1,
			Reason: fmt.Sprintf("nothing since %s at %s (%s ago)", last.Event, last.Server, roundDur(now.Sub(last.Time)))})
	default:
		tr.State = StateInTransit
	}
	tr.Complete = len(tr.Gaps) == 0 && !pending && (delivered || failed)
	return tr
}

// order breaks ties between records of the same instant: a transfer out
// comes before the transfer in it caused.
var order = []int{0, 2, 3, 4, 4, 1, 1} // by event code

// match finds the record at the partner of transfer out i: a transfer in
// (from that server, preferably), a delivery, an NDR or a deferral, no
// earlier than Skew before it.
func match(rs []Record, used []bool, i int) int {
	out := rs[i]
	best := -1
	for j, r := range rs {
		if j == i || used[j] || !same(r.Server, out.Partner) || r.Time.Before(out.Time.Add(-Skew)) {
			continue
		}
		switch r.Event {
		case TransferredIn:
			if same(r.Partner, out.Server) {
				return j
			}
			if best < 0 {
				best = j
			}
		case Delivered, NDR, Deferred, Expanded, TransferredOut:
			if best < 0 {
				best = j
			}
		}
	}
	if best >= 0 && rs[best].Event != TransferredIn {
		return best // a delivery or NDR is not used up by the match
	}
	return best
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d > time.Hour:
		return d.Round(time.Minute)
	case d > time.Minute:
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}
