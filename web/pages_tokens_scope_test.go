package web_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The tokens page shows each token's scope and a bound agent's servers by
// name, as `token list` does.
func TestTokensPageShowsScopeAndServers(t *testing.T) {
	e := dirsyncEnv(t)
	var created struct {
		Token struct {
			ID int64 `json:"id"`
		} `json:"token"`
	}
	e.json("POST", "/api/v1/tokens", e.Admin, map[string]any{"name": "exch1-agent", "role": "agent", "servers": []int64{1, 2}}, http.StatusCreated, &created)
	page := e.adminPage("/tokens", http.StatusOK)
	row := regexp.MustCompile(`(?s)<tr id="token-` + strconv.FormatInt(created.Token.ID, 10) + `">.*?</tr>`).FindString(page)
	if !strings.Contains(row, "ingest for its servers only") || !strings.Contains(row, "EXCH1, MAC1") {
		t.Errorf("bound agent's row lacks its scope or servers: %s", row)
	}
	if !strings.Contains(page, "<th>Scope</th><th>Servers</th>") || !strings.Contains(page, "ingest, network-wide collector") || !strings.Contains(page, "read-only") {
		t.Errorf("the page lacks the scope of the unbound agent or the viewer")
	}
}
