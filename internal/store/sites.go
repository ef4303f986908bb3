package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

// rowQuerier is what both the reader pool and a write transaction offer,
// so one query function serves a GET and the validation inside a write.
type rowQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Sites returns every site, by name.
func (s *Store) Sites(ctx context.Context) ([]mailnet.Site, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name FROM sites ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("sites: %w", err)
	}
	defer rows.Close()
	out := []mailnet.Site{}
	for rows.Next() {
		var st mailnet.Site
		if err := rows.Scan(&st.ID, &st.Name); err != nil {
			return nil, fmt.Errorf("sites: %w", err)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// SiteByID returns the site, or a not-found error.
func (tx *Tx) SiteByID(ctx context.Context, id int64) (mailnet.Site, error) {
	var st mailnet.Site
	err := tx.QueryRowContext(ctx, `SELECT id, name FROM sites WHERE id = ?`, id).Scan(&st.ID, &st.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return st, mailnet.NotFound("site", id)
	}
	if err != nil {
		return st, fmt.Errorf("site %d: %w", id, err)
	}
	return st, nil
}

// InsertSite adds a site; a name already in use under FoldName is a
// conflict naming the field.
func (tx *Tx) InsertSite(ctx context.Context, name string) (mailnet.Site, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO sites (name, name_key, created_at) VALUES (?, ?, ?)`, name, FoldName(name), fmtTime(tx.now))
	if IsUnique(err) {
		return mailnet.Site{}, tx.nameTaken(ctx, "sites", "site", name, 0)
	}
	if err != nil {
		return mailnet.Site{}, fmt.Errorf("insert site: %w", err)
	}
	id, _ := res.LastInsertId()
	return mailnet.Site{ID: id, Name: name}, nil
}

// OrganizationName is the /o= part of every distinguished name.
func (tx *Tx) OrganizationName(ctx context.Context) (string, error) {
	return organizationName(ctx, tx)
}

func organizationName(ctx context.Context, q rowQuerier) (string, error) {
	var name string
	if err := q.QueryRowContext(ctx, `SELECT name FROM organization WHERE id = 1`).Scan(&name); err != nil {
		return "", fmt.Errorf("organization: %w", err)
	}
	return name, nil
}

// nameTaken is the conflict for a name whose folded key (or name) another
// row of table holds, naming that row's spelling when it differs.
func (tx *Tx) nameTaken(ctx context.Context, table, what, name string, self int64) error {
	var other string
	err := tx.QueryRowContext(ctx, `SELECT name FROM `+table+` WHERE (name_key = ? OR name = ?) AND id <> ? LIMIT 1`,
		FoldName(name), name, self).Scan(&other)
	if err == nil && other != name {
		return mailnet.Errorf(mailnet.KindConflict, "name", "a %s named %q already exists, and %q is the same name", what, other, name)
	}
	return mailnet.Errorf(mailnet.KindConflict, "name", "a %s named %q already exists", what, name)
}
