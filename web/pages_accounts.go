package web

import (
	"net/http"
	"strconv"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/web/views"
)

// accountsPage lists the console's accounts with the command line's
// actions: create, disable (and enable), reset a password, change a role.
// ?done= says what the last action did.
func (s *Server) accountsPage(w http.ResponseWriter, r *http.Request) {
	v := views.AccountsView{Notice: accountNotice(r.URL.Query().Get("done"), r.URL.Query().Get("name"))}
	s.renderAccounts(w, r, http.StatusOK, v)
}

func accountNotice(done, name string) string {
	switch done {
	case "created":
		return "Account " + name + " created."
	case "disabled":
		return "Account " + name + " disabled; its sessions ended."
	case "enabled":
		return "Account " + name + " enabled."
	case "password":
		return "Password of " + name + " replaced; its sessions ended."
	case "role":
		return "Role of " + name + " changed."
	}
	return ""
}

func (s *Server) renderAccounts(w http.ResponseWriter, r *http.Request, status int, v views.AccountsView) {
	accounts, err := s.store.Accounts(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	v.Accounts = accounts
	v.Me = mailnet.ActorName(r.Context())
	s.render(w, r, status, s.pageFor(r.Context(), "Accounts", "accounts"), views.AccountsBody(v))
}

// accountsCreatePage creates an account from the form and goes back to
// the list; a refusal re-renders the form with the field marked.
func (s *Server) accountsCreatePage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.error(w, r, mailnet.Errorf(mailnet.KindMalformed, "", "the form could not be read"))
		return
	}
	name, role := r.PostForm.Get("name"), r.PostForm.Get("role")
	_, err := s.actions.CreateAccount(r.Context(), actions.AccountInput{Name: name, Role: mailnet.Role(role), Password: r.PostForm.Get("password")})
	if err != nil {
		s.accountRefused(w, r, err, views.AccountsView{Name: name, Role: role})
		return
	}
	http.Redirect(w, r, "/accounts?done=created&name="+urlQueryEscape(name), http.StatusSeeOther)
}

// accountsActionPage runs one action on the account {id}: disable,
// enable, password (form field password) or role (form field role).
func (s *Server) accountsActionPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.error(w, r, mailnet.Errorf(mailnet.KindMalformed, "", "the form could not be read"))
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.error(w, r, mailnet.NotFound("account", r.PathValue("id")))
		return
	}
	accounts, err := s.store.Accounts(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var acct *mailnet.Account
	for i := range accounts {
		if accounts[i].ID == id {
			acct = &accounts[i]
		}
	}
	if acct == nil {
		s.error(w, r, mailnet.NotFound("account", id))
		return
	}
	action := r.PathValue("action")
	switch action {
	case "disable":
		_, err = s.actions.DisableAccount(ctx, acct.Name)
	case "enable":
		_, err = s.actions.EnableAccount(ctx, acct.Name)
	case "password":
		_, err = s.actions.SetPassword(ctx, acct.Name, r.PostForm.Get("password"))
	case "role":
		_, err = s.actions.SetAccountRole(ctx, acct.Name, mailnet.Role(r.PostForm.Get("role")))
	default:
		s.error(w, r, mailnet.NotFound("account action", action))
		return
	}
	if err != nil {
		s.accountRefused(w, r, err, views.AccountsView{ErrorAccount: id})
		return
	}
	done := map[string]string{"disable": "disabled", "enable": "enabled", "password": "password", "role": "role"}[action]
	http.Redirect(w, r, "/accounts?done="+done+"&name="+urlQueryEscape(acct.Name), http.StatusSeeOther)
}

// accountRefused shows the accounts page again with the refusal: 422 for
// bad input, 409 for a conflict (the last admin, a taken name).
func (s *Server) accountRefused(w http.ResponseWriter, r *http.Request, err error, v views.AccountsView) {
	e, ok := mailnet.AsError(err)
	if !ok || (e.Kind != mailnet.KindInvalid && e.Kind != mailnet.KindConflict) {
		s.error(w, r, err)
		return
	}
	v.Error, v.ErrorField = e.Message, e.Field
	s.renderAccounts(w, r, statusOf(e.Kind), v)
}
