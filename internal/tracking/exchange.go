package tracking

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"mailnet/internal/mailnet"
)

// The Exchange 5.0/5.5 message tracking log (Exchsrvr\Tracking.log\
// yyyymmdd.log, Q173364) is tab-separated, one event per line, times in
// GMT. Its columns (Q163074, Q155592 name A, D, G and I):
//
//	A message ID or MTS-ID   B event number      C date/time (GMT)
//	D gateway name (the component that logged it, often a DN)
//	E partner name           F remote ID         G originator
//	H priority  I length  J seconds  K cost      L recipient count
//	M... each recipient's name, optionally followed by its report status
const (
	exID = iota
	exEvent
	exTime
	exGateway
	exPartner
	exRemoteID
	exOriginator
	exPriority
	exLength
	exSeconds
	exCost
	exRecipients
	exFirstRecipient
)

// ExchangeEvent maps a Q173364 event number to a tracking event; ok is
// false for events that are not hops of the message itself (probes,
// reports about it, reroutes, the IMS's hand-off to its own store), which
// the parser counts and skips. Known is false for a number the article
// does not list.
func ExchangeEvent(n int) (ev Event, ok, known bool) {
	switch n {
	case 0, 1001, 1004, 1012: // message, backbone, gateway, SMTP transfer in
		return TransferredIn, true, true
	case 4: // message submission
		return Submitted, true, true
	case 7, 1002, 1003, 1011: // message, backbone, gateway, SMTP transfer out
		return TransferredOut, true, true
	case 9, 1000: // delivered; local delivery
		return Delivered, true, true
	case 26: // distribution list expansion
		return Expanded, true, true
	case 34, 1007, 1017, 50: // report generated (NDR or receipt); gateway deleted the message
		return NDR, true, true
	case 1, 2, 5, 6, 8, 10, 28, 29, 31, 33, 43, 51, 52, 1005, 1006, 1010, 1013, 1014, 1015, 1016, 1018:
		return "", false, true
	}
	return "", false, false
}

// ExchangeResult is what a parsed log held.
type ExchangeResult struct {
	Records []Record
	Lines   int         // non-blank lines read
	Skipped map[int]int // by event number: lines that are not hops
}

// ExchangeTimeLayout is how the log writes a time: "1998-3-12 22:5:37 GMT"
// (fields not zero-padded; " GMT" may be left off).
const ExchangeTimeLayout = "2006-1-2 15:4:5"

// MaxLogLine caps one line of a tracking log.
const MaxLogLine = 64 << 10

// ParseExchangeLog reads an Exchange tracking log. server names the
// server that wrote it; when empty, each line's gateway name must be a DN
// naming it (.../cn=Servers/cn=NAME/...). A bad line refuses the whole
// log with an error naming "line[N].field" (N counts from 1); at most
// maxRecords records are taken (413 beyond).
func ParseExchangeLog(r io.Reader, server string, now time.Time, maxRecords int) (ExchangeResult, error) {
	res := ExchangeResult{Skipped: map[int]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLogLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		res.Lines++
		rec, ev, err := parseExchangeLine(line, server, now)
		if err != nil {
			e, _ := mailnet.AsError(err)
			return ExchangeResult{}, mailnet.Invalid(fmt.Sprintf("line[%d].%s", n, e.Field), "line %d: %s", n, e.Message)
		}
		if rec == nil {
			res.Skipped[ev]++
			continue
		}
		if len(res.Records) >= maxRecords {
			return ExchangeResult{}, mailnet.Errorf(mailnet.KindTooLarge, "body", "a log may carry at most %d records; split it", maxRecords)
		}
		res.Records = append(res.Records, *rec)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return ExchangeResult{}, mailnet.Invalid(fmt.Sprintf("line[%d]", n+1), "line %d is longer than %d bytes", n+1, MaxLogLine)
		}
		return ExchangeResult{}, err
	}
	return res, nil
}

func parseExchangeLine(line, server string, now time.Time) (*Record, int, error) {
	f := strings.Split(line, "\t")
	for len(f) > exFirstRecipient && f[len(f)-1] == "" {
		f = f[:len(f)-1]
	}
	if len(f) < exRecipients+1 {
		return nil, 0, mailnet.Invalid("columns", "%d tab-separated columns, want at least %d (message id to recipient count)", len(f), exRecipients+1)
	}
	num, err := strconv.Atoi(strings.TrimSpace(f[exEvent]))
	if err != nil {
		return nil, 0, mailnet.Invalid("event", "event number %q is not a number", f[exEvent])
	}
	ev, hop, known := ExchangeEvent(num)
	if !known {
		return nil, 0, mailnet.Invalid("event", "event number %d is not one of Q173364", num)
	}
	ts := strings.TrimSuffix(strings.TrimSpace(f[exTime]), " GMT")
	t, err := time.ParseInLocation(ExchangeTimeLayout, ts, time.UTC)
	if err != nil {
		return nil, 0, mailnet.Invalid("time", "date/time %q is not yyyy-m-d h:m:s GMT", f[exTime])
	}
	if !hop {
		return nil, num, nil
	}
	srv := server
	if srv == "" {
		srv = serverOfDN(f[exGateway])
		if srv == "" {
			return nil, 0, mailnet.Invalid("gateway", "gateway name %q names no server (.../cn=Servers/cn=NAME); pass ?server=NAME", f[exGateway])
		}
	}
	in := Input{
		Time:      t.Format(time.RFC3339Nano),
		Server:    srv,
		Event:     string(ev),
		MessageID: strings.TrimSpace(f[exID]),
		Sender:    strings.TrimSpace(f[exOriginator]),
		Partner:   partnerName(strings.TrimSpace(f[exPartner])),
		RemoteID:  strings.TrimSpace(f[exRemoteID]),
	}
	if l := strings.TrimSpace(f[exLength]); l != "" {
		size, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			return nil, 0, mailnet.Invalid("length", "length %q is not a number", l)
		}
		in.Size = &size
	}
	count, err := strconv.Atoi(strings.TrimSpace(f[exRecipients]))
	if err != nil || count < 0 || count > MaxRecipients {
		return nil, 0, mailnet.Invalid("recipients", "recipient count %q is not a number from 0 to %d", f[exRecipients], MaxRecipients)
	}
	rest := f[exFirstRecipient:]
	switch len(rest) {
	case count: // names only
		in.Recipients = trimAll(rest)
	case 2 * count: // name, report status
		for i := 0; i < len(rest); i += 2 {
			in.Recipients = append(in.Recipients, strings.TrimSpace(rest[i]))
		}
	default:
		return nil, 0, mailnet.Invalid("recipients", "recipient count %d but %d recipient columns", count, len(rest))
	}
	if (ev == TransferredOut || ev == TransferredIn) && in.Partner == "" {
		return nil, 0, mailnet.Invalid("partner", "event %d is a transfer but the partner name is empty", num)
	}
	rec, err := validate(&in, now)
	if err != nil {
		return nil, 0, err
	}
	return &rec, num, nil
}

func trimAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.TrimSpace(v)
	}
	return out
}

// serverOfDN returns NAME from an X.500 DN of the form
// /o=ORG/ou=SITE/cn=Configuration/cn=Servers/cn=NAME[/...], or "".
func serverOfDN(dn string) string {
	parts := strings.Split(dn, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "cn=Servers") {
			if v, ok := strings.CutPrefix(strings.ToLower(parts[i+1]), "cn="); ok && v != "" {
				return parts[i+1][len("cn="):]
			}
		}
	}
	return ""
}

// partnerName is a partner as the inventory names it: a server's DN
// becomes the server's name; anything else (an MTA name, a connector, a
// foreign system) stays as logged.
func partnerName(p string) string {
	if s := serverOfDN(p); s != "" {
		return s
	}
	return p
}

// ExchangeEventNumbers are the event numbers Q173364 lists, in order.
var ExchangeEventNumbers = []int{0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 26, 28, 29, 31, 33, 34, 43, 50, 51, 52,
	1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1010, 1011, 1012, 1013, 1014, 1015, 1016, 1017, 1018}
