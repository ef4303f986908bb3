package dirsync

import (
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		want    Tx
		ok      bool
	}{
		{"reqtx as in the article", "ReqTx R=12 (was 11), S=7, I=3, 25 sent.",
			Tx{Kind: ReqTx, R: 12, WasR: 11, S: 7, I: 3, Sent: 25}, true},
		{"reqtx without trailing period", "ReqTx R=12 (was 11), S=7, I=3, 25 sent",
			Tx{Kind: ReqTx, R: 12, WasR: 11, S: 7, I: 3, Sent: 25}, true},
		{"reqtx loose spacing", "  ReqTx  R = 12 ( was 11 ),S=7,I=3,  25 sent .  ",
			Tx{Kind: ReqTx, R: 12, WasR: 11, S: 7, I: 3, Sent: 25}, true},
		{"srvtx as in the article", "SrvTx R=12 S=8 (was 7), I=3 40 sent",
			Tx{Kind: SrvTx, R: 12, S: 8, WasS: 7, I: 3, Sent: 40}, true},
		{"srvtx with trailing period", "SrvTx R=12 S=8 (was 7), I=3 40 sent.",
			Tx{Kind: SrvTx, R: 12, S: 8, WasS: 7, I: 3, Sent: 40}, true},
		{"srvtx zero", "SrvTx R=0 S=0 (was 0), I=0 0 sent",
			Tx{Kind: SrvTx}, true},
		{"status report", "Status report from NET1/PO1", Tx{}, false},
		{"empty", "", Tx{}, false},
		{"keyword glued", "ReqTxR=1 (was 0), S=0, I=0, 0 sent.", Tx{}, false},
		{"missing was", "ReqTx R=12, S=7, I=3, 25 sent.", Tx{}, false},
		{"srvtx missing was", "SrvTx R=12 S=8, I=3 40 sent", Tx{}, false},
		{"negative number", "ReqTx R=-1 (was 0), S=0, I=0, 0 sent.", Tx{}, false},
		{"trailing junk", "ReqTx R=1 (was 0), S=0, I=0, 0 sent. extra", Tx{}, false},
		{"overflowing number", "ReqTx R=99999999999999999999 (was 0), S=0, I=0, 0 sent.", Tx{}, false},
		{"missing sent", "SrvTx R=1 S=1 (was 0), I=0 4", Tx{}, false},
		// Q162841 logs the full export's subject cut to "sen".
		{"q162841 truncated sen", "SrvTx R=3 S=87298 (was 0), I=2 15603 sen",
			Tx{Kind: SrvTx, R: 3, S: 87298, WasS: 0, I: 2, Sent: 15603}, true},
		// Q133428 writes "REQTX R=x(was y)....z sent": upper case, no space.
		{"q133428 upper case glued was", "REQTX R=12(was 11), S=7, I=3, 1 sent",
			Tx{Kind: ReqTx, R: 12, WasR: 11, S: 7, I: 3, Sent: 1}, true},
		{"line break inside", "SrvTx R=3 S=87298 (was 0),\r\n I=2 15603 sent",
			Tx{Kind: SrvTx, R: 3, S: 87298, I: 2, Sent: 15603}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse(tt.subject)
			if ok != tt.ok {
				t.Fatalf("Parse(%q) ok = %v, want %v", tt.subject, ok, tt.ok)
			}
			if ok {
				tt.want.Raw = Normalize(tt.subject)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.subject, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"ReqTx R=12 (was 11), S=7, I=3, 25 sent.",
		"SrvTx R=12 S=8 (was 7), I=3 40 sent",
		"ReqTx R= (was ), S=, I=, sent.",
		"SrvTx",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tx, ok := Parse(s)
		if !ok {
			return
		}
		if tx.Kind != ReqTx && tx.Kind != SrvTx {
			t.Fatalf("Parse(%q) kind %q", s, tx.Kind)
		}
		if tx.R < 0 || tx.S < 0 || tx.I < 0 || tx.Sent < 0 || tx.WasR < 0 || tx.WasS < 0 {
			t.Fatalf("Parse(%q) gave a negative number: %+v", s, tx)
		}
		// A parsed subject parses again to the same transaction.
		again, ok := Parse(tx.Raw)
		if !ok || again != tx {
			t.Fatalf("Parse(%q) = %+v, reparse of Raw = %+v, %v", s, tx, again, ok)
		}
	})
}
