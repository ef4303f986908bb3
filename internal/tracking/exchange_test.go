package tracking_test

import (
	"context"
	"strings"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/internal/tracking"
)

// A day of EXA's Exchsrvr\Tracking.log\20261201.log as Exchange 5.5
// writes it: tab-separated columns A..L (message id, event number, GMT
// time, gateway name, partner, remote id, originator, priority, length,
// seconds, cost, recipient count) and then each recipient with its report
// status.
const exaLog = "" +
	"C=US;A= ;P=CONTOSO;L=EXA-261201090000Z-1\t4\t2026-12-1 9:0:0 GMT\t/o=CONTOSO/ou=HQ/cn=Configuration/cn=Servers/cn=EXA/cn=Microsoft Private MDB\t\t\t/o=CONTOSO/ou=HQ/cn=Recipients/cn=alice\t0\t2048\t0\t0\t1\t/o=CONTOSO/ou=BRANCH/cn=Recipients/cn=bob\t0\r\n" +
	"C=US;A= ;P=CONTOSO;L=EXA-261201090000Z-1\t2\t2026-12-1 9:0:10 GMT\t/o=CONTOSO/ou=HQ/cn=Configuration/cn=Servers/cn=EXA/cn=Microsoft MTA\t\t\t/o=CONTOSO/ou=HQ/cn=Recipients/cn=alice\t0\t0\t0\t0\t0\r\n" +
	"C=US;A= ;P=CONTOSO;L=EXA-261201090000Z-1\t7\t2026-12-1 9:1:0 GMT\t/o=CONTOSO/ou=HQ/cn=Configuration/cn=Servers/cn=EXA/cn=Microsoft MTA\t/o=CONTOSO/ou=BRANCH/cn=Configuration/cn=Servers/cn=EXB/cn=Microsoft MTA\t\t/o=CONTOSO/ou=HQ/cn=Recipients/cn=alice\t0\t2048\t60\t0\t1\t/o=CONTOSO/ou=BRANCH/cn=Recipients/cn=bob\r\n"

const exbLog = "" +
	"C=US;A= ;P=CONTOSO;L=EXA-261201090000Z-1\t0\t2026-12-1 9:3:0 GMT\t/o=CONTOSO/ou=BRANCH/cn=Configuration/cn=Servers/cn=EXB/cn=Microsoft MTA\tEXA\t\t/o=CONTOSO/ou=HQ/cn=Recipients/cn=alice\t0\t2048\t0\t0\t1\t/o=CONTOSO/ou=BRANCH/cn=Recipients/cn=bob\r\n" +
	"C=US;A= ;P=CONTOSO;L=EXA-261201090000Z-1\t9\t2026-12-1 9:3:5 GMT\t/o=CONTOSO/ou=BRANCH/cn=Configuration/cn=Servers/cn=EXB/cn=Microsoft Private MDB\t\t\t/o=CONTOSO/ou=HQ/cn=Recipients/cn=alice\t0\t2048\t0\t0\t1\t/o=CONTOSO/ou=BRANCH/cn=Recipients/cn=bob\t0\r\n"

func TestExchangeLogBecomesATrace(t *testing.T) {
	_, tr := openStore(t)
	ctx := context.Background()
	for _, log := range []string{exaLog, exbLog} {
		res, err := tracking.ParseExchangeLog(strings.NewReader(log), "", t0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Submit(ctx, res.Records); err != nil {
			t.Fatal(err)
		}
	}
	res, _ := tracking.ParseExchangeLog(strings.NewReader(exaLog), "", t0, 1000)
	if len(res.Records) != 2 || res.Skipped[2] != 1 || res.Lines != 3 {
		t.Errorf("EXA: %d records, skipped %v of %d lines; want 2 records and the report transfer in (2) skipped", len(res.Records), res.Skipped, res.Lines)
	}
	if r := res.Records[1]; r.Server != "EXA" || r.Partner != "EXB" || r.Event != tracking.TransferredOut || r.Size != 2048 ||
		r.Recipients[0] != "/o=CONTOSO/ou=BRANCH/cn=Recipients/cn=bob" || r.Time != t0.Add(60e9) {
		t.Errorf("transfer out parsed as %+v", r)
	}
	got, err := tr.Trace(ctx, "C=US;A= ;P=CONTOSO;L=EXA-261201090000Z-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hops) != 4 || got.State != tracking.StateDelivered || !got.Complete {
		t.Errorf("trace: %d hops, %s, complete %v (gaps %v); want 4, delivered, complete", len(got.Hops), got.State, got.Complete, got.Gaps)
	}
}

func TestExchangeLogRefusesBadLine(t *testing.T) {
	good := strings.SplitN(exaLog, "\r\n", 2)[0]
	for _, c := range []struct{ line, field string }{
		{strings.Replace(good, "\t4\t", "\t4000\t", 1), "line[2].event"},
		{strings.Replace(good, "2026-12-1 9:0:0 GMT", "12/01/2026 09:00", 1), "line[2].time"},
		{strings.Replace(good, "\t2048\t", "\tbig\t", 1), "line[2].length"},
		{strings.Replace(good, "\t1\t/o=CONTOSO/ou=BRANCH", "\t3\t/o=CONTOSO/ou=BRANCH", 1), "line[2].recipients"},
		{"M1\t4", "line[2].columns"},
	} {
		_, err := tracking.ParseExchangeLog(strings.NewReader(good+"\n"+c.line+"\n"), "", t0, 1000)
		e, ok := mailnet.AsError(err)
		if !ok || e.Field != c.field {
			t.Errorf("%q: %v, want an error on %s", c.line, err, c.field)
		}
	}
	// a gateway that names no server needs ?server=
	line := strings.Replace(good, "/o=CONTOSO/ou=HQ/cn=Configuration/cn=Servers/cn=EXA/cn=Microsoft Private MDB", "MSMI", 1)
	if _, err := tracking.ParseExchangeLog(strings.NewReader(line), "", t0, 1000); err == nil {
		t.Error("a line whose gateway names no server was taken without ?server=")
	}
	res, err := tracking.ParseExchangeLog(strings.NewReader(line), "EXA", t0, 1000)
	if err != nil || res.Records[0].Server != "EXA" {
		t.Errorf("with server=EXA: %v", err)
	}
}

func FuzzParseExchangeLog(f *testing.F) {
	f.Add(exaLog)
	f.Add(exbLog)
	f.Add("M\t9\t2026-1-1 0:0:0\tG\t\t\tO\t0\t0\t0\t0\t0\n")
	f.Fuzz(func(t *testing.T, s string) {
		res, err := tracking.ParseExchangeLog(strings.NewReader(s), "EXA", t0, 100)
		if err != nil {
			if _, ok := mailnet.AsError(err); !ok {
				t.Fatalf("not a domain error: %v", err)
			}
			return
		}
		for _, r := range res.Records {
			if r.MessageID == "" || r.Server == "" {
				t.Fatalf("record without id or server: %+v", r)
			}
		}
	})
}
