package actions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// MessageInput is one message of a delivery. ReceivedAt is RFC 3339; empty
// means now.
type MessageInput struct {
	Folder     string `json:"folder"`
	Subject    string `json:"subject"`
	Size       int64  `json:"size"`
	ReceivedAt string `json:"received_at"`
}

// Bounds of a message's text fields, in characters.
const (
	MaxFolderLen  = 255
	MaxSubjectLen = 1024
	DefaultFolder = "Inbox"
)

func (in MessageInput) clean(i, n int, now time.Time) (mailnet.Message, error) {
	var m mailnet.Message
	where := func(err error) error {
		if e, ok := mailnet.AsError(err); ok && n > 1 {
			e.Message = fmt.Sprintf("message %d of %d: %s", i+1, n, e.Message)
		}
		return err
	}
	m.Folder = strings.TrimSpace(in.Folder)
	if m.Folder == "" {
		m.Folder = DefaultFolder
	}
	if err := checkText("folder", m.Folder, MaxFolderLen); err != nil {
		return m, where(err)
	}
	m.Subject = in.Subject
	if err := checkText("subject", m.Subject, MaxSubjectLen); err != nil {
		return m, where(err)
	}
	if in.Size < 0 {
		return m, where(mailnet.Invalid("size", "size must be 0 or more, not %d", in.Size))
	}
	m.Size = in.Size
	m.ReceivedAt = now
	if in.ReceivedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, in.ReceivedAt)
		if err != nil {
			return m, where(mailnet.Invalid("received_at", "received_at must be an RFC 3339 time such as 2024-05-01T09:30:00Z, not %q", in.ReceivedAt))
		}
		m.ReceivedAt = t.UTC()
	}
	return m, nil
}

// DeliverMessages delivers msgs to user userID on its home server, all or
// none, in one transaction, and adds them to the user's and the server's
// message counts.
func (a *Actions) DeliverMessages(ctx context.Context, userID int64, msgs []MessageInput) ([]mailnet.Message, error) {
	now := a.Store.Now().UTC()
	out := make([]mailnet.Message, len(msgs))
	for i, in := range msgs {
		m, err := in.clean(i, len(msgs), now)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	var u mailnet.User
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = tx.UserByID(ctx, userID); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		if err := tx.DeliverMessages(ctx, u.ID, u.ServerID, out); err != nil {
			return err
		}
		after := map[string]any{"server_id": u.ServerID, "count": len(out), "first_id": out[0].ID, "last_id": out[len(out)-1].ID}
		return tx.Audit(ctx, "message.deliver", "user", u.ID, nil, after, fmt.Sprintf("%d messages delivered", len(out)))
	})
	if err != nil {
		return nil, fmt.Errorf("deliver to user %d: %w", userID, err)
	}
	if len(out) > 0 {
		a.published("user", u.ID, "updated")
		a.published("server", u.ServerID, "updated")
	}
	return out, nil
}
