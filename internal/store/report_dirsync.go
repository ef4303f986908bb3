package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"mailnet/internal/mailnet"
)

// ReportRequestor is a dir-sync requestor with what the dir-sync report
// needs of its DX server.
type ReportRequestor struct {
	mailnet.Requestor
	CreatedAt    time.Time
	DXServer     string // the DX server's name
	DXKnown      bool   // the DX server has a dx_servers row
	DXPaused     bool
	CycleMinutes int
	DXVersion    string // the DX server's Exchange version
	PauseKicksDX bool
}

// ReportRequestors returns every requestor, by network and postoffice,
// joined to its DX server's settings; the stored anomalies are decoded.
func (s *Store) ReportRequestors(ctx context.Context) ([]ReportRequestor, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT r.id, r.network, r.postoffice, r.dx_server_id, r.requestor_sync, r.server_sync,
		       r.imports, r.export_on_next_cycle, r.last_reqtx, r.last_reqtx_at, r.last_srvtx,
		       r.last_srvtx_at, r.anomalies, r.created_at,
		       coalesce(s.name, ''), dx.server_id IS NOT NULL, coalesce(dx.paused, 0), coalesce(dx.cycle_minutes, 60),
		       coalesce(s.version, ''), coalesce(dx.pause_kicks_dx, 0)
		FROM requestors r
		LEFT JOIN servers s ON s.id = r.dx_server_id
		LEFT JOIN dx_servers dx ON dx.server_id = r.dx_server_id
		ORDER BY r.network, r.postoffice, r.id`)
	if err != nil {
		return nil, fmt.Errorf("requestors: %w", err)
	}
	defer rows.Close()
	var out []ReportRequestor
	for rows.Next() {
		var r ReportRequestor
		var reqTx, reqAt, srvTx, srvAt sql.NullString
		var anomalies, created string
		if err := rows.Scan(&r.ID, &r.Network, &r.Postoffice, &r.DXServerID, &r.RequestorSync, &r.ServerSync,
			&r.Imports, &r.ExportOnNextCycle, &reqTx, &reqAt, &srvTx, &srvAt, &anomalies, &created,
			&r.DXServer, &r.DXKnown, &r.DXPaused, &r.CycleMinutes, &r.DXVersion, &r.PauseKicksDX); err != nil {
			return nil, fmt.Errorf("requestors: %w", err)
		}
		r.LastReqTx, r.LastReqTxAt = reqTx.String, parseNullTime(reqAt)
		r.LastSrvTx, r.LastSrvTxAt = srvTx.String, parseNullTime(srvAt)
		r.Anomalies = reportAnomalies(anomalies)
		r.CreatedAt = parseTime(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// reportAnomalies reads the stored anomalies: a JSON array whose items are
// strings, or objects whose "text" (or "message", "anomaly") is the
// sentence; anything else is shown as its JSON.
func reportAnomalies(s string) []string {
	var items []json.RawMessage
	out := []string{}
	if json.Unmarshal([]byte(s), &items) != nil {
		return out
	}
	for _, it := range items {
		var str string
		if json.Unmarshal(it, &str) == nil {
			out = append(out, str)
			continue
		}
		var obj map[string]any
		if json.Unmarshal(it, &obj) == nil {
			found := false
			for _, k := range []string{"text", "message", "anomaly"} {
				if v, ok := obj[k].(string); ok {
					out = append(out, v)
					found = true
					break
				}
			}
			if found {
				continue
			}
		}
		out = append(out, string(it))
	}
	return out
}
