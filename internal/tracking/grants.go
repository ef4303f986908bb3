package tracking

import (
	"context"
	"fmt"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Subjects guards message subjects: a viewer sees them only with a grant
// (per account or per token; admins always may), and every response that
// shows subjects writes an audit row.
type Subjects struct{ St *store.Store }

// Allowed reports whether p may see subjects.
func (g Subjects) Allowed(ctx context.Context, p *mailnet.Principal) (bool, error) {
	if p == nil {
		return false, nil
	}
	if p.Role == mailnet.RoleAdmin {
		return true, nil
	}
	kind, id := "account", p.AccountID
	if p.TokenID != 0 {
		kind, id = "token", p.TokenID
	}
	if id == 0 {
		return false, nil
	}
	var ok bool
	err := g.St.DB().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM tracking_subject_grants WHERE kind = ? AND subject_id = ?)`, kind, id).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("subject grant: %w", err)
	}
	return ok, nil
}

// Set grants (or revokes) the subject view to an account or a token, with
// its audit row.
func (g Subjects) Set(ctx context.Context, kind string, id int64, grant bool) error {
	if kind != "account" && kind != "token" {
		return mailnet.Invalid("kind", "kind must be account or token, not %q", kind)
	}
	if id <= 0 {
		return mailnet.Invalid("id", "id must be a positive integer")
	}
	return g.St.Write(ctx, func(tx *store.Tx) error {
		var exists bool
		table := map[string]string{"account": "accounts", "token": "tokens"}[kind]
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = ?)`, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return mailnet.NotFound(kind, id)
		}
		var err error
		if grant {
			_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO tracking_subject_grants (kind, subject_id, granted_by, granted_at) VALUES (?, ?, ?, ?)`,
				kind, id, mailnet.ActorName(ctx), tx.Now().Format(time.RFC3339))
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM tracking_subject_grants WHERE kind = ? AND subject_id = ?`, kind, id)
		}
		if err != nil {
			return fmt.Errorf("subject grant: %w", err)
		}
		action := "tracking.subjects.grant"
		if !grant {
			action = "tracking.subjects.revoke"
		}
		return tx.Audit(ctx, action, kind, id, nil, nil, "")
	})
}

// Viewed audits that subjects were shown: what was asked and how many.
func (g Subjects) Viewed(ctx context.Context, what string, n int) error {
	return g.St.Write(ctx, func(tx *store.Tx) error {
		return tx.Audit(ctx, "tracking.subjects.view", "tracking", 0, nil, nil, fmt.Sprintf("%s (%d messages)", what, n))
	})
}

// Grant is one subject grant.
type Grant struct {
	Kind      string `json:"kind"`
	ID        int64  `json:"id"`
	GrantedBy string `json:"granted_by"`
	GrantedAt string `json:"granted_at"`
}

// List returns every subject grant.
func (g Subjects) List(ctx context.Context) ([]Grant, error) {
	rows, err := g.St.DB().QueryContext(ctx, `SELECT kind, subject_id, granted_by, granted_at FROM tracking_subject_grants ORDER BY kind, subject_id`)
	if err != nil {
		return nil, fmt.Errorf("subject grants: %w", err)
	}
	defer rows.Close()
	out := []Grant{}
	for rows.Next() {
		var gr Grant
		if err := rows.Scan(&gr.Kind, &gr.ID, &gr.GrantedBy, &gr.GrantedAt); err != nil {
			return nil, err
		}
		out = append(out, gr)
	}
	return out, rows.Err()
}
