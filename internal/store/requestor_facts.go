package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"mailnet/internal/mailnet"
)

// SystemRecipient is a custom recipient that carries a postoffice's
// NET/PO/$SYSTEM proxy, in a site (R21 (a), Q147084).
type SystemRecipient struct {
	SiteID int64 `json:"site_id"`
	Hidden bool  `json:"hidden"`
}

// RequestorFacts are the inventory facts of a requestor that the dir-sync
// rules R19 (b), R19 (c) and R21 (a) read (migration 0010).
type RequestorFacts struct {
	// ExportContainers is the requestor's list of Exported Containers;
	// ExportContainersAt is when it last changed (nil: not since recorded).
	ExportContainers   []string   `json:"export_containers"`
	ExportContainersAt *time.Time `json:"export_containers_at"`
	// ImportedCount is how many directory entries were imported from the
	// postoffice at the last snapshot, ImportedCountBefore at the one
	// before (nil: no snapshot).
	ImportedCount       *int64     `json:"imported_count"`
	ImportedCountBefore *int64     `json:"imported_count_before"`
	ImportedCountAt     *time.Time `json:"imported_count_at"`
	// SystemRecipients are the custom recipients with the NET/PO/$SYSTEM
	// proxy, by site.
	SystemRecipients []SystemRecipient `json:"system_recipients"`
}

const factCols = `export_containers, export_containers_at, imported_count, imported_count_before, imported_count_at, system_recipients`

func scanFacts(sc rowScanner, extra ...any) (RequestorFacts, error) {
	var f RequestorFacts
	var containers, recipients string
	var contAt, impAt sql.NullString
	var imp, impBefore sql.NullInt64
	dest := append(extra, &containers, &contAt, &imp, &impBefore, &impAt, &recipients)
	if err := sc.Scan(dest...); err != nil {
		return f, err
	}
	// Most rows hold the empty lists: skip the decoder for them (the
	// report reads every requestor).
	f.ExportContainers = []string{}
	if containers != "[]" {
		f.ExportContainers = unmarshalList(containers)
	}
	if t := parseNullTime(contAt); !t.IsZero() {
		f.ExportContainersAt = &t
	}
	if t := parseNullTime(impAt); !t.IsZero() {
		f.ImportedCountAt = &t
	}
	if imp.Valid {
		f.ImportedCount = &imp.Int64
	}
	if impBefore.Valid {
		f.ImportedCountBefore = &impBefore.Int64
	}
	f.SystemRecipients = []SystemRecipient{}
	if recipients != "[]" {
		if err := json.Unmarshal([]byte(recipients), &f.SystemRecipients); err != nil || f.SystemRecipients == nil {
			f.SystemRecipients = []SystemRecipient{}
		}
	}
	return f, nil
}

// RequestorFacts returns the rule facts of requestor id.
func (tx *Tx) RequestorFacts(ctx context.Context, id int64) (RequestorFacts, error) {
	f, err := scanFacts(tx.QueryRowContext(ctx, `SELECT `+factCols+` FROM requestors WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return f, mailnet.NotFound("requestor", id)
	}
	if err != nil {
		return f, fmt.Errorf("requestor %d: %w", id, err)
	}
	return f, nil
}

func factTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return fmtTime(*t)
}

func factInt(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

// SaveRequestorFacts writes the rule facts of requestor id.
func (tx *Tx) SaveRequestorFacts(ctx context.Context, id int64, f RequestorFacts) error {
	recipients, err := json.Marshal(f.SystemRecipients)
	if err != nil {
		return err
	}
	if f.SystemRecipients == nil {
		recipients = []byte("[]")
	}
	_, err = tx.ExecContext(ctx, `UPDATE requestors SET export_containers = ?, export_containers_at = ?, imported_count = ?,
		imported_count_before = ?, imported_count_at = ?, system_recipients = ?, updated_at = ? WHERE id = ?`,
		marshalList(f.ExportContainers), factTime(f.ExportContainersAt), factInt(f.ImportedCount), factInt(f.ImportedCountBefore),
		factTime(f.ImportedCountAt), string(recipients), fmtTime(tx.now), id)
	if err != nil {
		return fmt.Errorf("requestor %d: %w", id, err)
	}
	return nil
}

// ReqTxSince counts a requestor's ReqTx logged after its postoffice's
// last local change, and the most updates any of them sent (R15 (6)).
type ReqTxSince struct {
	ChangedAt time.Time // the last user created on the postoffice's server
	Count     int64
	MaxSent   int64
}

// DirSyncRuleFacts is what the dir-sync report's inventory rules read
// beyond the requestors themselves, loaded in one read transaction.
type DirSyncRuleFacts struct {
	Facts map[int64]RequestorFacts // by requestor id
	// Changes: by requestor id, for the candidates whose postoffice
	// server is known and has users.
	Changes map[int64]ReqTxSince
	// FullExportSince: by requestor id, a full-export SrvTx was logged
	// after its Exported Containers last changed.
	FullExportSince map[int64]bool
	// DX are the DX servers' settings, by server id, with their names and
	// sites.
	DX        map[int64]mailnet.DXServer
	DXName    map[int64]string
	DXSite    map[int64]int64
	SiteNames map[int64]string
}

// LoadDirSyncRuleFacts reads the facts the dir-sync rules need.
// changeCandidates are the requestors whose local changes R15 (6) needs
// (those whose last ReqTx sent nothing); the others are not looked up.
func (s *Store) LoadDirSyncRuleFacts(ctx context.Context, changeCandidates []int64) (DirSyncRuleFacts, error) {
	out := DirSyncRuleFacts{Facts: map[int64]RequestorFacts{}, Changes: map[int64]ReqTxSince{}, FullExportSince: map[int64]bool{},
		DX: map[int64]mailnet.DXServer{}, DXName: map[int64]string{}, DXSite: map[int64]int64{}, SiteNames: map[int64]string{}}
	err := s.Read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, `+factCols+` FROM requestors`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			f, err := scanFacts(rows, &id)
			if err != nil {
				rows.Close()
				return err
			}
			out.Facts[id] = f
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// The last user created on each candidate's own server (users_server
		// is (server_id, id): one seek each, then its row), and the ReqTx
		// logged since. Only the candidates: reading a user row is a random
		// page of the largest table.
		if len(changeCandidates) > 0 {
			st, err := tx.PrepareContext(ctx, `
				SELECT lu.at,
				       (SELECT count(*) FROM dirsync_cycles c WHERE c.requestor_id = ?1 AND c.kind = 'ReqTx' AND c.late = 0 AND c.at > lu.at),
				       (SELECT coalesce(max(c.sent), 0) FROM dirsync_cycles c WHERE c.requestor_id = ?1 AND c.kind = 'ReqTx' AND c.late = 0 AND c.at > lu.at)
				FROM (SELECT u.created_at AS at FROM requestors r JOIN users u ON u.server_id = r.server_id
				      WHERE r.id = ?1 ORDER BY u.id DESC LIMIT 1) lu`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, id := range changeCandidates {
				var at string
				var c ReqTxSince
				err := st.QueryRowContext(ctx, id).Scan(&at, &c.Count, &c.MaxSent)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err != nil {
					return err
				}
				c.ChangedAt = parseTime(at)
				out.Changes[id] = c
			}
		}
		rows, err = tx.QueryContext(ctx, `
			SELECT r.id FROM requestors r WHERE r.export_containers_at IS NOT NULL AND EXISTS (
				SELECT 1 FROM dirsync_cycles c WHERE c.requestor_id = r.id AND c.kind = 'SrvTx' AND c.full_export = 1
				AND c.late = 0 AND c.at > r.export_containers_at)`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			out.FullExportSince[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT `+dxColsOf("d")+`, s.name, s.site_id FROM dx_servers d JOIN servers s ON s.id = d.server_id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			var site int64
			d, err := scanDX(scanWith{rows, []any{&name, &site}})
			if err != nil {
				rows.Close()
				return err
			}
			out.DX[d.ServerID], out.DXName[d.ServerID], out.DXSite[d.ServerID] = d, name, site
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT id, name FROM sites`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			out.SiteNames[id] = name
		}
		return rows.Err()
	})
	if err != nil {
		return out, fmt.Errorf("dir-sync rule facts: %w", err)
	}
	return out, nil
}

// dxColsOf is dxCols qualified by a table alias.
func dxColsOf(alias string) string {
	return alias + ".server_id, " + alias + ".admin_account, " + alias + ".paused, " + alias + ".copy_admin, " +
		alias + ".forward_to_admin, " + alias + ".cycle_minutes, " + alias + ".keep_updates_days, " + alias + ".requestor_of"
}

// scanWith scans the columns scanDX reads, then extra.
type scanWith struct {
	sc    rowScanner
	extra []any
}

func (s scanWith) Scan(dest ...any) error { return s.sc.Scan(append(dest, s.extra...)...) }
