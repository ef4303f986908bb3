package dirsync

import (
	"reflect"
	"strings"
	"testing"

	"mailnet/internal/mailnet"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse(tt.subject)
			if ok != tt.ok {
				t.Fatalf("Parse(%q) ok = %v, want %v", tt.subject, ok, tt.ok)
			}
			if ok {
				tt.want.Raw = strings.TrimSpace(tt.subject)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.subject, got, tt.want)
			}
		})
	}
}

func mustParse(t *testing.T, s string) Tx {
	t.Helper()
	tx, ok := Parse(s)
	if !ok {
		t.Fatalf("Parse(%q) failed", s)
	}
	return tx
}

func TestApply(t *testing.T) {
	synced := mailnet.Requestor{RequestorSync: 11, ServerSync: 7, Imports: 3, LastReqTx: "x", LastSrvTx: "y"}
	tests := []struct {
		name      string
		r         mailnet.Requestor
		subject   string
		wantR     int64
		wantS     int64
		wantI     int64
		anomalies []string // substrings, in order; nil means none
	}{
		{"reqtx in step", synced, "ReqTx R=12 (was 11), S=7, I=3, 5 sent.", 12, 7, 3, nil},
		{"reqtx was differs", synced, "ReqTx R=12 (was 10), S=7, I=3, 5 sent.", 12, 7, 3,
			[]string{"was 10, but the last R seen was 11"}},
		{"reqtx S differs", synced, "ReqTx R=12 (was 11), S=6, I=3, 5 sent.", 12, 7, 3,
			[]string{"carries S=6, but the server sync number is 7"}},
		{"reqtx imports go back", synced, "ReqTx R=12 (was 11), S=7, I=2, 5 sent.", 12, 7, 2,
			[]string{"imports requested went back from 3 to 2"}},
		{"srvtx in step", synced, "SrvTx R=11 S=8 (was 7), I=3 4 sent", 11, 8, 3, nil},
		{"srvtx acknowledges another R", synced, "SrvTx R=10 S=8 (was 7), I=3 4 sent", 11, 8, 3,
			[]string{"acknowledges R=10, but the requestor's last R is 11"}},
		{"srvtx S goes back", synced, "SrvTx R=11 S=5 (was 4), I=3 4 sent", 11, 5, 3,
			[]string{"went back from 7 to 5"}},
		{"srvtx S skips", synced, "SrvTx R=11 S=10 (was 9), I=3 4 sent", 11, 10, 3,
			[]string{"skipped: SrvTx says it was 9, but the stored S is 7"}},
		{"first reqtx sets the baseline", mailnet.Requestor{}, "ReqTx R=41 (was 40), S=9, I=2, 5 sent.", 41, 0, 2, nil},
		{"first srvtx sets the baseline", mailnet.Requestor{}, "SrvTx R=41 S=10 (was 9), I=2 5 sent", 0, 10, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := Apply(tt.r, mustParse(t, tt.subject))
			if got.RequestorSync != tt.wantR || got.ServerSync != tt.wantS || got.Imports != tt.wantI {
				t.Errorf("R, S, I = %d, %d, %d, want %d, %d, %d", got.RequestorSync, got.ServerSync, got.Imports, tt.wantR, tt.wantS, tt.wantI)
			}
			if len(found) != len(tt.anomalies) {
				t.Fatalf("anomalies %q, want %d matching %q", found, len(tt.anomalies), tt.anomalies)
			}
			for i, want := range tt.anomalies {
				if !strings.Contains(found[i], want) {
					t.Errorf("anomaly %d = %q, want it to contain %q", i, found[i], want)
				}
			}
			if !reflect.DeepEqual(got.Anomalies, append(tt.r.Anomalies, found...)) && len(found) > 0 {
				t.Errorf("stored anomalies %q, want %q appended", got.Anomalies, found)
			}
		})
	}
}

func TestApplySrvTxClearsExportOnNextCycle(t *testing.T) {
	r := mailnet.Requestor{RequestorSync: 11, ServerSync: 7, ExportOnNextCycle: true, LastReqTx: "x"}
	got, _ := Apply(r, mustParse(t, "ReqTx R=12 (was 11), S=7, I=0, 1 sent."))
	if !got.ExportOnNextCycle {
		t.Fatalf("a ReqTx cleared Export on Next Cycle; want it kept until the SrvTx")
	}
	got, _ = Apply(got, mustParse(t, "SrvTx R=12 S=8 (was 7), I=0 900 sent"))
	if got.ExportOnNextCycle {
		t.Errorf("export_on_next_cycle = true after the SrvTx, want false")
	}
}

func TestApplyKeepsLastAnomalies(t *testing.T) {
	r := mailnet.Requestor{RequestorSync: 1, LastReqTx: "x"}
	for i := 0; i < MaxAnomalies+5; i++ {
		r, _ = Apply(r, mustParse(t, "SrvTx R=99 S=1 (was 0), I=0 0 sent"))
		r.ServerSync = 0
	}
	if len(r.Anomalies) != MaxAnomalies {
		t.Errorf("kept %d anomalies, want %d", len(r.Anomalies), MaxAnomalies)
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
