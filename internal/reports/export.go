package reports

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WriteServersJSON streams rows as {"servers":[row,...]} to w, one row
// at a time through a buffer, so the whole document is never held in
// memory.
func WriteServersJSON(w io.Writer, rows []ServerRow) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`{"servers":[`)
	buf := make([]byte, 0, 512)
	for i := range rows {
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendServerRow(buf, &rows[i])
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// appendServerRow appends r as the JSON object encoding/json would write
// for ServerRow (same keys, same order, HTML-safe escaping), without
// reflection: the report must encode ten thousand rows in milliseconds.
func appendServerRow(b []byte, r *ServerRow) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, r.ID, 10)
	b = append(b, `,"name":`...)
	b = appendString(b, r.Name)
	b = append(b, `,"site_id":`...)
	b = strconv.AppendInt(b, r.SiteID, 10)
	b = append(b, `,"site":`...)
	b = appendString(b, r.Site)
	b = append(b, `,"kind":`...)
	b = appendString(b, r.Kind)
	b = append(b, `,"version":`...)
	b = appendString(b, r.Version)
	b = append(b, `,"serial":`...)
	b = appendString(b, r.Serial)
	b = append(b, `,"addresses":`...)
	if r.Addresses == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, a := range r.Addresses {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, a)
		}
		b = append(b, ']')
	}
	b = append(b, `,"status":`...)
	b = appendString(b, r.Status)
	b = append(b, `,"user_count":`...)
	b = strconv.AppendInt(b, r.UserCount, 10)
	b = append(b, `,"message_count":`...)
	b = strconv.AppendInt(b, r.MessageCount, 10)
	b = append(b, `,"connector_count":`...)
	b = strconv.AppendInt(b, int64(r.ConnectorCount), 10)
	b = append(b, `,"connector_ids":`...)
	if r.ConnectorIDs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, id := range r.ConnectorIDs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, id, 10)
		}
		b = append(b, ']')
	}
	b = append(b, `,"last_event_id":`...)
	b = strconv.AppendInt(b, r.LastEventID, 10)
	b = append(b, `,"last_event_at":`...)
	if r.LastEventAt == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = r.LastEventAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = append(b, `,"duplicate_serial":`...)
	b = strconv.AppendBool(b, r.DuplicateSerial)
	if r.DuplicateGroup != "" {
		b = append(b, `,"duplicate_group":`...)
		b = appendString(b, r.DuplicateGroup)
	}
	b = append(b, `,"impacted":`...)
	b = strconv.AppendBool(b, r.Impacted)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string escaped as encoding/json does
// with HTML escaping on: quotes, backslashes, control characters, <, >, &,
// U+2028, U+2029, and invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		// Multi-byte: only invalid UTF-8 and the two line separators
		// need care; let encoding/json's rules decide by decoding.
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0xFFFD && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ServerCSVHeader is the header row of the report's CSV export.
var ServerCSVHeader = []string{
	"id", "name", "site_id", "site", "kind", "version", "serial", "addresses", "status",
	"user_count", "message_count", "connector_count", "connector_ids",
	"last_event_id", "last_event_at", "duplicate_serial", "duplicate_group", "impacted",
}

// WriteServersCSV streams rows as CSV with a header row. Lists
// (addresses, connector ids) are separated by spaces. A text cell that a
// spreadsheet would read as a formula (=, +, -, @ first) is prefixed with
// an apostrophe.
func WriteServersCSV(w io.Writer, rows []ServerRow) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(ServerCSVHeader); err != nil {
		return err
	}
	rec := make([]string, len(ServerCSVHeader))
	for i := range rows {
		r := &rows[i]
		ids := make([]string, len(r.ConnectorIDs))
		for j, id := range r.ConnectorIDs {
			ids[j] = strconv.FormatInt(id, 10)
		}
		last := ""
		if r.LastEventAt != nil {
			last = r.LastEventAt.Format(time.RFC3339Nano)
		}
		lastID := ""
		if r.LastEventID != 0 {
			lastID = strconv.FormatInt(r.LastEventID, 10)
		}
		rec = append(rec[:0],
			strconv.FormatInt(r.ID, 10), safeCell(r.Name), strconv.FormatInt(r.SiteID, 10), safeCell(r.Site),
			r.Kind, safeCell(r.Version), safeCell(r.Serial), safeCell(strings.Join(r.Addresses, " ")), r.Status,
			strconv.FormatInt(r.UserCount, 10), strconv.FormatInt(r.MessageCount, 10),
			strconv.Itoa(r.ConnectorCount), strings.Join(ids, " "),
			lastID, last, strconv.FormatBool(r.DuplicateSerial), safeCell(r.DuplicateGroup),
			strconv.FormatBool(r.Impacted))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// safeCell defuses spreadsheet formula injection.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteJSON writes v as one JSON document (the smaller reports).
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	return enc.Encode(v)
}
