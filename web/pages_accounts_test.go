package web_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

func TestAccountsPageKeepsAnAdmin(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	ada := e.addAccount("ada", "admin", "correct horse battery")
	e.addAccount("vic", "viewer", "correct horse battery")
	b := e.browser()
	b.login("ada", "correct horse battery")
	post := func(path string, form url.Values) (int, string, string) {
		t.Helper()
		res := b.do("POST", path, form, "Sec-Fetch-Site", "same-origin", "Origin", e.HTTP.URL)
		st, body := res.StatusCode, ""
		if st != 303 {
			_, body = 0, readAll(t, res)
		}
		return st, res.Header.Get("Location"), body
	}

	st, body := b.text("GET", "/accounts", nil)
	if st != 200 || !strings.Contains(body, "the last admin") || strings.Contains(body, fmt.Sprintf(`/accounts/%d/disable`, ada.ID)) {
		t.Fatalf("GET /accounts: %d; want the list with ada as the last admin and no Disable for her", st)
	}
	checkCSP(t, "/accounts", body)

	// The last admin can be neither disabled nor demoted, whatever the page offers.
	for _, c := range []struct {
		path string
		form url.Values
	}{{fmt.Sprintf("/accounts/%d/disable", ada.ID), nil}, {fmt.Sprintf("/accounts/%d/role", ada.ID), url.Values{"role": {"viewer"}}}} {
		if st, _, body := post(c.path, c.form); st != 409 || !strings.Contains(body, "last enabled admin") {
			t.Errorf("POST %s: status %d, want 409 naming the last admin; body %.300s", c.path, st, body)
		}
	}

	// Create, with the policy's refusal first.
	if st, _, body := post("/accounts", url.Values{"name": {"bea"}, "role": {"viewer"}, "password": {"short"}}); st != 422 || !strings.Contains(body, "Field: <code>password</code>") {
		t.Errorf("create with a short password: status %d, want 422 naming password; body %.300s", st, body)
	}
	if st, loc, _ := post("/accounts", url.Values{"name": {"bea"}, "role": {"viewer"}, "password": {"another long passphrase"}}); st != 303 || !strings.HasPrefix(loc, "/accounts?done=created") {
		t.Fatalf("create bea: status %d to %q, want 303", st, loc)
	}
	bea := accountNamed(t, e, "bea")
	// A second admin: now either may go.
	if st, _, body := post(fmt.Sprintf("/accounts/%d/role", bea.ID), url.Values{"role": {"admin"}}); st != 303 {
		t.Fatalf("make bea admin: status %d; %.300s", st, body)
	}
	if st, _, body := post(fmt.Sprintf("/accounts/%d/password", bea.ID), url.Values{"password": {"a third long passphrase"}}); st != 303 {
		t.Fatalf("reset bea's password: status %d; %.300s", st, body)
	}
	if st, _, body := post(fmt.Sprintf("/accounts/%d/disable", bea.ID), nil); st != 303 {
		t.Fatalf("disable bea: status %d; %.300s", st, body)
	}
	// bea is disabled: ada is the last enabled admin again.
	if st, _, _ := post(fmt.Sprintf("/accounts/%d/disable", ada.ID), nil); st != 409 {
		t.Errorf("disable ada after bea: status %d, want 409", st)
	}
	if got := accountNamed(t, e, "ada"); got.Disabled || got.Role != mailnet.RoleAdmin {
		t.Errorf("ada: %+v, want an enabled admin", got)
	}
	got := e.auditActions(store.AuditFilter{ObjectType: "account", ObjectID: bea.ID})
	for _, want := range []string{"account.create", "account.role", "account.password_reset", "account.disable"} {
		if !contains(got, want) {
			t.Errorf("audit of bea: %v, missing %s", got, want)
		}
	}

	vb := e.browser()
	vb.login("vic", "correct horse battery")
	if st, _ := vb.text("GET", "/accounts", nil); st != 403 {
		t.Errorf("viewer GET /accounts: %d, want 403", st)
	}
}

func accountNamed(t *testing.T, e *env, name string) mailnet.Account {
	t.Helper()
	all, err := e.Store.Accounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range all {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no account %s", name)
	return mailnet.Account{}
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
