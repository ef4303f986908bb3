// Package dirsync reads the directory-synchronization cycle from the
// subjects of the messages that carry it (the dir-sync article): a
// requestor's "ReqTx R=R# (was r#), S=S#, I=I#, ## sent." and the DX
// server's "SrvTx R=R# S=S# (was s#), I=I# ## sent". Parse reads one
// subject; Apply folds it into a requestor's sync numbers and names what
// does not add up. Both are pure functions.
package dirsync

import (
	"strconv"
	"strings"
)

// Transaction kinds.
const (
	ReqTx = "ReqTx" // the requestor's update to the dir-sync server
	SrvTx = "SrvTx" // the server's update to the requestor
)

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
// Case, spacing and line breaks may vary, the commas between fields are
// optional, a trailing period is accepted and the final word may be cut
// to "sen" (Q162841). Any other subject returns false.
func Parse(subject string) (Tx, bool) {
	raw := Normalize(subject)
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
	// "sen" is enough: Q162841 logs "SrvTx R=3 S=87298 (was 0), I=2 15603 sen".
	if !sc.lit("sen") {
		return Tx{}, false
	}
	sc.optional("t")
	if !sc.end() {
		return Tx{}, false
	}
	tx.Raw = raw
	return tx, true
}

// Normalize folds the line breaks and runs of white space a subject may
// carry (a subject wrapped in an event description) into single spaces.
func Normalize(subject string) string {
	return strings.Join(strings.Fields(subject), " ")
}

// LooksLike reports whether subject claims to be a dir-sync transaction
// (it starts with the word ReqTx or SrvTx, in any case), so that one that
// does not parse is recorded rather than dropped.
func LooksLike(subject string) bool {
	f := strings.Fields(subject)
	if len(f) == 0 {
		return false
	}
	w := f[0]
	if len(w) >= 5 && (strings.EqualFold(w[:5], ReqTx) || strings.EqualFold(w[:5], SrvTx)) {
		return true
	}
	return false
}
