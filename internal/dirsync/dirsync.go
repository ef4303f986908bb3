// Package dirsync reads the directory-synchronization cycle from the
// subjects of the messages that carry it (the dir-sync article): a
// requestor's "ReqTx R=R# (was r#), S=S#, I=I#, ## sent." and the DX
// server's "SrvTx R=R# S=S# (was s#), I=I# ## sent". Parse reads one
// subject; Apply folds it into a requestor's sync numbers and names what
// does not add up. Both are pure functions.
package dirsync

import (
	"fmt"
	"strconv"
	"strings"

	"mailnet/internal/mailnet"
)

// Transaction kinds.
const (
	ReqTx = "ReqTx" // the requestor's update to the dir-sync server
	SrvTx = "SrvTx" // the server's update to the requestor
)

// MaxAnomalies bounds the anomalies Apply keeps on a requestor (the most
// recent ones).
const MaxAnomalies = 50

// Tx is one parsed ReqTx or SrvTx subject.
type Tx struct {
	Kind string `json:"kind"` // ReqTx or SrvTx
	// R: for a ReqTx the requestor's current sync number (REQTRANS.GLB);
	// for a SrvTx the R the server acknowledges.
	R int64 `json:"r"`
	// WasR is the ReqTx's old requestor sync number (REQCONF.GLB).
	WasR int64 `json:"was_r,omitempty"`
	// S: for a ReqTx the requestor's server sync number; for a SrvTx the
	// new server sync number.
	S int64 `json:"s"`
	// WasS is the SrvTx's old server sync number.
	WasS int64 `json:"was_s,omitempty"`
	// I is the number of imports requested to date.
	I int64 `json:"i"`
	// Sent is the number of address updates the message carries.
	Sent int64 `json:"sent"`
	// Raw is the subject as given, trimmed.
	Raw string `json:"raw"`
}

// scanner walks a subject token by token, skipping spaces.
type scanner struct {
	s   string
	pos int
}

func (sc *scanner) space() {
	for sc.pos < len(sc.s) && (sc.s[sc.pos] == ' ' || sc.s[sc.pos] == '\t') {
		sc.pos++
	}
}

// lit consumes word (case-insensitively) after optional spaces.
func (sc *scanner) lit(word string) bool {
	sc.space()
	if len(sc.s)-sc.pos < len(word) || !strings.EqualFold(sc.s[sc.pos:sc.pos+len(word)], word) {
		return false
	}
	sc.pos += len(word)
	return true
}

// optional consumes word if it is next.
func (sc *scanner) optional(word string) { sc.lit(word) }

// num consumes a non-negative decimal number after optional spaces.
func (sc *scanner) num() (int64, bool) {
	sc.space()
	start := sc.pos
	for sc.pos < len(sc.s) && sc.s[sc.pos] >= '0' && sc.s[sc.pos] <= '9' {
		sc.pos++
	}
	if sc.pos == start || sc.pos-start > 18 {
		return 0, false
	}
	n, err := strconv.ParseInt(sc.s[start:sc.pos], 10, 64)
	return n, err == nil
}

// field consumes NAME=number, with spaces allowed around '='.
func (sc *scanner) field(name string) (int64, bool) {
	if !sc.lit(name) || !sc.lit("=") {
		return 0, false
	}
	return sc.num()
}

// was consumes "(was n)".
func (sc *scanner) was() (int64, bool) {
	if !sc.lit("(") || !sc.lit("was") {
		return 0, false
	}
	n, ok := sc.num()
	if !ok || !sc.lit(")") {
		return 0, false
	}
	return n, true
}

// end accepts an optional trailing period and spaces, then nothing.
func (sc *scanner) end() bool {
	sc.optional(".")
	sc.space()
	return sc.pos == len(sc.s)
}

// Parse reads a ReqTx or SrvTx subject line:
//
//	ReqTx R=R# (was r#), S=S#, I=I#, ## sent.
//	SrvTx R=R# S=S# (was s#), I=I# ## sent
//
// Spacing may vary, the commas between fields are optional and a trailing
// period is accepted. Any other subject returns false.
func Parse(subject string) (Tx, bool) {
	raw := strings.TrimSpace(subject)
	sc := &scanner{s: raw}
	var tx Tx
	var ok bool
	// The keyword is a whole word: "ReqTxR=1" is not a subject.
	word := func(w string) bool {
		return sc.lit(w) && sc.pos < len(raw) && (raw[sc.pos] == ' ' || raw[sc.pos] == '\t')
	}
	switch {
	case word(ReqTx):
		tx.Kind = ReqTx
		if tx.R, ok = sc.field("R"); !ok {
			return Tx{}, false
		}
		if tx.WasR, ok = sc.was(); !ok {
			return Tx{}, false
		}
		sc.optional(",")
		if tx.S, ok = sc.field("S"); !ok {
			return Tx{}, false
		}
	case word(SrvTx):
		tx.Kind = SrvTx
		if tx.R, ok = sc.field("R"); !ok {
			return Tx{}, false
		}
		sc.optional(",")
		if tx.S, ok = sc.field("S"); !ok {
			return Tx{}, false
		}
		if tx.WasS, ok = sc.was(); !ok {
			return Tx{}, false
		}
	default:
		return Tx{}, false
	}
	sc.optional(",")
	if tx.I, ok = sc.field("I"); !ok {
		return Tx{}, false
	}
	sc.optional(",")
	if tx.Sent, ok = sc.num(); !ok {
		return Tx{}, false
	}
	if !sc.lit("sent") || !sc.end() {
		return Tx{}, false
	}
	tx.Raw = raw
	return tx, true
}

// fresh reports whether the requestor has no sync history yet, so that the
// first transaction seen sets the baseline instead of being checked
// against zeros.
func fresh(r mailnet.Requestor) bool {
	return r.LastReqTx == "" && r.LastSrvTx == "" &&
		r.RequestorSync == 0 && r.ServerSync == 0 && r.Imports == 0
}

// Apply folds tx into the requestor r and returns the updated requestor
// and the anomalies tx reveals (also appended to its Anomalies, keeping
// the last MaxAnomalies).
//
// A ReqTx sets requestor_sync to R and imports to I; it is anomalous when
// its "was r#" is not the stored R, when its S is not the stored server
// sync number, or when I goes back. A SrvTx is anomalous when it
// acknowledges an R other than the requestor's last R, or when its S goes
// back or skips (its "was s#" is not the stored S); it then sets
// server_sync to S and, as the cycle that carries the export has
// completed, clears Export on Next Cycle. The time fields (LastReqTxAt,
// LastSrvTxAt) are the caller's to set, from the event.
func Apply(r mailnet.Requestor, tx Tx) (mailnet.Requestor, []string) {
	var found []string
	add := func(format string, args ...any) {
		found = append(found, fmt.Sprintf(format, args...))
	}
	check := !fresh(r)
	switch tx.Kind {
	case ReqTx:
		if tx.R < tx.WasR {
			add("ReqTx R=%d is lower than its own (was %d)", tx.R, tx.WasR)
		}
		if check {
			if tx.WasR != r.RequestorSync {
				add("ReqTx says the requestor sync number was %d, but the last R seen was %d", tx.WasR, r.RequestorSync)
			}
			if tx.S != r.ServerSync {
				add("ReqTx carries S=%d, but the server sync number is %d", tx.S, r.ServerSync)
			}
			if tx.I < r.Imports {
				add("imports requested went back from %d to %d", r.Imports, tx.I)
			}
		}
		r.RequestorSync = tx.R
		r.Imports = tx.I
		r.LastReqTx = tx.Raw
	case SrvTx:
		if check {
			if tx.R != r.RequestorSync {
				add("SrvTx acknowledges R=%d, but the requestor's last R is %d", tx.R, r.RequestorSync)
			}
			switch {
			case tx.S < r.ServerSync:
				add("server sync number went back from %d to %d", r.ServerSync, tx.S)
			case tx.WasS != r.ServerSync:
				add("server sync number skipped: SrvTx says it was %d, but the stored S is %d", tx.WasS, r.ServerSync)
			}
			if tx.I < r.Imports {
				add("imports requested went back from %d to %d", r.Imports, tx.I)
			}
		}
		if tx.S < tx.WasS {
			add("SrvTx S=%d is lower than its own (was %d)", tx.S, tx.WasS)
		}
		r.ServerSync = tx.S
		if tx.I > r.Imports {
			r.Imports = tx.I
		}
		r.LastSrvTx = tx.Raw
		r.ExportOnNextCycle = false
	default:
		add("unknown dir-sync transaction %q", tx.Kind)
		return r, found
	}
	if len(found) > 0 {
		all := append(append([]string(nil), r.Anomalies...), found...)
		if len(all) > MaxAnomalies {
			all = all[len(all)-MaxAnomalies:]
		}
		r.Anomalies = all
	}
	return r, found
}
