package actions

import (
	"context"
	"fmt"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// UserInput is a mailbox to create. InAllListing is the configured value
// (default true); a duplicate serial on the home server can still hide it.
type UserInput struct {
	Alias        string `json:"alias"`
	DisplayName  string `json:"display_name"`
	ServerID     int64  `json:"server_id"`
	InAllListing *bool  `json:"in_all_listing"`
}

// CreateUser creates a mailbox on its home server and counts it there.
func (a *Actions) CreateUser(ctx context.Context, in UserInput) (mailnet.User, error) {
	var u mailnet.User
	var err error
	if u.Alias, err = cleanName("alias", in.Alias); err != nil {
		return u, err
	}
	if u.DisplayName, err = cleanName("display_name", in.DisplayName); err != nil {
		return u, err
	}
	u.ServerID = in.ServerID
	u.InAllListing = in.InAllListing == nil || *in.InAllListing
	err = a.Store.Write(ctx, func(tx *store.Tx) error {
		if _, err := liveServer(ctx, tx, "server_id", u.ServerID); err != nil {
			return err
		}
		if err := tx.InsertUser(ctx, &u); err != nil {
			return err
		}
		return tx.Audit(ctx, "user.create", "user", u.ID, nil, u, "")
	})
	if err != nil {
		return mailnet.User{}, fmt.Errorf("create user: %w", err)
	}
	a.published("user", u.ID, "created")
	a.published("server", u.ServerID, "updated")
	return u, nil
}
