package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ServerReportRow is one server as the Global Server Report reads it:
// the server's columns, its site's name and the stored counters.
type ServerReportRow struct {
	ID           int64
	Name         string
	SiteID       int64
	Site         string
	Kind         string
	Version      string
	Serial       string
	Addresses    []string
	Status       string
	UserCount    int64
	MessageCount int64
	LastEventID  int64     // 0: none
	LastEventAt  time.Time // zero: none
}

// ReportServers returns every server with its site name, ordered by id:
// one query over servers joined to sites. The counters are the stored
// ones; messages are never scanned.
func (s *Store) ReportServers(ctx context.Context) ([]ServerReportRow, error) {
	out, ok, err := s.reportServersPacked(ctx)
	if err != nil || ok {
		return out, err
	}
	return s.reportServersPlain(ctx)
}

// Separators of the packed server report: ASCII unit and record
// separators.
const (
	packField = "\x1f"
	packRow   = "\x1e"
	packCols  = 13
)

// reportServersPacked reads every server as one string that SQLite packs
// (fields joined by US, rows by RS), then splits it: each column fetched
// through database/sql and the driver costs far more than the split (17 ms
// against 8 ms for 10,000 servers here). The split is exact only if no
// value holds a separator; a separator inside a value can only add fields
// or rows, so exactly count(*) rows (same statement, same snapshot) of
// exactly packCols fields prove there is none. CROSS JOIN keeps servers
// as the outer loop, so rows come in id order without a sort; ids that do
// not ascend also send the caller the plain way, as does a separator.
func (s *Store) reportServersPacked(ctx context.Context) ([]ServerReportRow, bool, error) {
	var n int
	var packed sql.NullString
	err := s.r.QueryRowContext(ctx, `
		SELECT count(*), group_concat(
			s.id || char(31) || s.site_id || char(31) || s.user_count || char(31) || s.message_count || char(31) ||
			coalesce(s.last_event_id, 0) || char(31) || s.name || char(31) || si.name || char(31) || s.kind || char(31) ||
			s.version || char(31) || s.serial || char(31) || s.addresses || char(31) || s.status || char(31) ||
			coalesce(s.last_event_at, ''), char(30))
		FROM servers s CROSS JOIN sites si ON si.id = s.site_id`).Scan(&n, &packed)
	if err != nil {
		return nil, false, fmt.Errorf("server report: %w", err)
	}
	if n == 0 {
		return []ServerReportRow{}, true, nil
	}
	if strings.Count(packed.String, packRow) != n-1 {
		return nil, false, nil
	}
	out := make([]ServerReportRow, 0, n)
	var f [packCols]string
	var prev int64
	for line := range strings.SplitSeq(packed.String, packRow) {
		if strings.Count(line, packField) != packCols-1 {
			return nil, false, nil
		}
		for i := range packCols - 1 {
			j := strings.IndexByte(line, 0x1f)
			f[i], line = line[:j], line[j+1:]
		}
		f[packCols-1] = line
		var r ServerReportRow
		var err error
		ints := []*int64{&r.ID, &r.SiteID, &r.UserCount, &r.MessageCount, &r.LastEventID}
		for i, p := range ints {
			if *p, err = strconv.ParseInt(f[i], 10, 64); err != nil {
				return nil, false, nil
			}
		}
		if r.ID <= prev {
			return nil, false, nil // the join did not keep id order
		}
		prev = r.ID
		r.Name, r.Site, r.Kind, r.Version, r.Serial = f[5], f[6], f[7], f[8], f[9]
		r.Addresses = reportAddressList(f[10])
		r.Status = f[11]
		if f[12] != "" {
			r.LastEventAt = parseTime(f[12])
		}
		out = append(out, r)
	}
	return out, true, nil
}

// reportServersPlain is ReportServers column by column.
func (s *Store) reportServersPlain(ctx context.Context) ([]ServerReportRow, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM servers`).Scan(&n); err != nil {
		return nil, fmt.Errorf("server report: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `
		SELECT s.id, s.name, s.site_id, si.name, s.kind, s.version, s.serial, s.addresses,
		       s.status, s.user_count, s.message_count, s.last_event_id, s.last_event_at
		FROM servers s JOIN sites si ON si.id = s.site_id
		ORDER BY s.id`)
	if err != nil {
		return nil, fmt.Errorf("server report: %w", err)
	}
	defer rows.Close()
	out := make([]ServerReportRow, 0, n)
	for rows.Next() {
		var r ServerReportRow
		var addrs string
		var lastID sql.NullInt64
		var lastAt sql.NullString
		if err := rows.Scan(&r.ID, &r.Name, &r.SiteID, &r.Site, &r.Kind, &r.Version, &r.Serial, &addrs,
			&r.Status, &r.UserCount, &r.MessageCount, &lastID, &lastAt); err != nil {
			return nil, fmt.Errorf("server report: %w", err)
		}
		r.Addresses = reportAddressList(addrs)
		r.LastEventID = lastID.Int64
		r.LastEventAt = parseNullTime(lastAt)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("server report: %w", err)
	}
	return out, nil
}

// ReportConnectorIDsByServer returns the ids of the connectors installed on each
// server (connectors.server_id), ascending: one grouped query whose ids
// SQLite packs into one string ("server:id,..."), since fetching tens of
// thousands of rows through the driver costs several times more.
func (s *Store) ReportConnectorIDsByServer(ctx context.Context) (map[int64][]int64, error) {
	var n int
	var packed sql.NullString
	err := s.r.QueryRowContext(ctx, `
		SELECT count(*), group_concat(server_id || ':' || id, ',') FROM connectors`).Scan(&n, &packed)
	if err != nil {
		return nil, fmt.Errorf("connectors by server: %w", err)
	}
	out := map[int64][]int64{}
	if n == 0 {
		return out, nil
	}
	// Rows come in id order (no ORDER BY: a sorter costs more than the
	// query); sort the pairs by server here.
	type pair struct{ server, id int64 }
	pairs := make([]pair, 0, n)
	for item := range strings.SplitSeq(packed.String, ",") {
		sv, id, ok := strings.Cut(item, ":")
		sid, err1 := strconv.ParseInt(sv, 10, 64)
		cid, err2 := strconv.ParseInt(id, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("connectors by server: bad pair %q", item)
		}
		pairs = append(pairs, pair{sid, cid})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := cmp.Compare(a.server, b.server); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	all := make([]int64, len(pairs)) // one backing array, sliced per server
	for i := 0; i < len(pairs); {
		j := i
		for j < len(pairs) && pairs[j].server == pairs[i].server {
			all[j] = pairs[j].id
			j++
		}
		out[pairs[i].server] = all[i:j:j]
		i = j
	}
	return out, nil
}

// reportAddressList reads a stored JSON array of addresses. Addresses hold
// no escapes, so the common case is split by hand (the report reads ten
// thousand of them); anything unusual goes to encoding/json.
func reportAddressList(s string) []string {
	t := strings.TrimSpace(s)
	if len(t) < 2 || t[0] != '[' || t[len(t)-1] != ']' || strings.ContainsRune(t, '\\') {
		return unmarshalList(s)
	}
	body := strings.TrimSpace(t[1 : len(t)-1])
	if body == "" {
		return []string{}
	}
	out := make([]string, 0, strings.Count(body, ",")+1)
	for part := range strings.SplitSeq(body, ",") {
		p := strings.TrimSpace(part)
		if len(p) < 2 || p[0] != '"' || p[len(p)-1] != '"' || strings.ContainsRune(p[1:len(p)-1], '"') {
			var list []string
			if json.Unmarshal([]byte(s), &list) != nil {
				return []string{}
			}
			return list
		}
		out = append(out, p[1:len(p)-1])
	}
	return out
}
