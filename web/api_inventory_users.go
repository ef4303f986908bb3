package web

import (
	"context"
	"net/http"
	"strings"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
)

// userView is a user as the API shows it: in_all_listing is the effective
// value (configured, and the home server not cut off by a duplicate
// serial); in_all_listing_configured what was set.
type userView struct {
	ID                     int64  `json:"id"`
	Alias                  string `json:"alias"`
	DisplayName            string `json:"display_name"`
	ServerID               int64  `json:"server_id"`
	InAllListing           bool   `json:"in_all_listing"`
	InAllListingConfigured bool   `json:"in_all_listing_configured"`
	HiddenReason           string `json:"hidden_reason,omitempty"`
	MessageCount           int64  `json:"message_count"`
}

// userViews shapes users with the current conflicts.
func (s *Server) userViews(ctx context.Context, users []mailnet.User) ([]userView, error) {
	c, err := reports.LoadConflicts(ctx, s.store)
	if err != nil {
		return nil, err
	}
	var names map[int64]string
	for _, u := range users {
		if c.IsImpacted(u.ServerID) {
			if names, err = s.store.ServerNameMap(ctx); err != nil {
				return nil, err
			}
			break
		}
	}
	out := make([]userView, len(users))
	for i, u := range users {
		out[i] = userView{ID: u.ID, Alias: u.Alias, DisplayName: u.DisplayName, ServerID: u.ServerID,
			InAllListing: c.ListedInAll(u.InAllListing, u.ServerID), InAllListingConfigured: u.InAllListing,
			MessageCount: u.MessageCount}
		if !out[i].InAllListing {
			out[i].HiddenReason = hiddenReason(u, c, names)
		}
	}
	return out, nil
}

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	serverID, err := queryInt(r, "server_id", 0, 1, 1<<62)
	if err != nil {
		s.error(w, r, err)
		return
	}
	limit, afterID, err := pageParams(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	// One more than the page tells whether another page follows.
	users, err := s.store.Users(ctx, store.UserFilter{ServerID: serverID, Q: q, AfterID: afterID, Limit: limit + 1})
	if err != nil {
		s.error(w, r, err)
		return
	}
	var next int64
	if len(users) > limit {
		users = users[:limit]
		next = users[limit-1].ID
	}
	views, err := s.userViews(ctx, users)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageBody("users", views, next))
}

func (s *Server) apiUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := apiPathID(r, "id", "user")
	if err != nil {
		s.error(w, r, err)
		return
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeUser(w, r, http.StatusOK, u)
}

func (s *Server) writeUser(w http.ResponseWriter, r *http.Request, status int, u mailnet.User) {
	views, err := s.userViews(r.Context(), []mailnet.User{u})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, status, views[0])
}

func (s *Server) apiUserCreate(w http.ResponseWriter, r *http.Request) {
	var in actions.UserInput
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	u, err := s.actions.CreateUser(r.Context(), in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeUser(w, r, http.StatusCreated, u)
}

// apiMessages lists a user's messages on its home server, paged by
// after_id.
func (s *Server) apiMessages(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := apiPathID(r, "id", "user")
	if err != nil {
		s.error(w, r, err)
		return
	}
	limit, afterID, err := pageParams(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	msgs, err := s.store.MessagesOnServer(ctx, u.ID, u.ServerID, afterID, limit+1)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var next int64
	if len(msgs) > limit {
		msgs = msgs[:limit]
		next = msgs[limit-1].ID
	}
	writeJSON(w, http.StatusOK, pageBody("messages", msgs, next))
}

// apiMessagesDeliver delivers a JSON array of messages to the user, all
// or none.
func (s *Server) apiMessagesDeliver(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "user")
	if err != nil {
		s.error(w, r, err)
		return
	}
	var in []actions.MessageInput
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	if in == nil {
		s.error(w, r, mailnet.Errorf(mailnet.KindMalformed, "", "the body must be a JSON array of messages"))
		return
	}
	msgs, err := s.actions.DeliverMessages(r.Context(), id, in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"messages": msgs, "delivered": len(msgs)})
}
