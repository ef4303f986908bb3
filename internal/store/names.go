package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Server and site names are unique under FoldName, the same folding that
// ingest resolves an agent's server name with: the name_key column (filled
// here on every write, unique-indexed by migration 0003) holds it.

var folder = cases.Fold()

// FoldName is the key names are compared by: compatibility-normalised
// (NFKC), Unicode case-folded, normalised again. The Kelvin sign
// U+212A, a fullwidth "ＫＥＬＶＩＮ" and "kelvin" all fold to "kelvin", so
// they can name one server only, and an agent that sends any of them
// reaches it.
func FoldName(name string) string {
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii { // NFKC leaves ASCII alone, and its case fold is ToLower
		return strings.ToLower(name)
	}
	return norm.NFKC.String(folder.String(norm.NFKC.String(name)))
}

// lookAlikeScripts are the scripts whose letters pass for Latin ones.
var lookAlikeScripts = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek},
	{"Armenian", unicode.Armenian}, {"Cherokee", unicode.Cherokee}, {"Coptic", unicode.Coptic},
}

// NameWarning says why name may be mistaken for another one ("" when it
// may not): letters from more than one script (Latin "EXCH" with a
// Cyrillic "С"), or characters that only compatibility normalisation
// turns into ordinary ones (the Kelvin sign, fullwidth letters). Such a
// name is stored, but the one who creates it is told.
func NameWarning(name string) string {
	seen := map[string]bool{}
	other := false
	for _, r := range name {
		if !unicode.IsLetter(r) {
			continue
		}
		found := false
		for _, s := range lookAlikeScripts {
			if unicode.Is(s.table, r) {
				seen[s.name] = true
				found = true
				break
			}
		}
		if !found {
			other = true
		}
	}
	if len(seen) > 1 || (other && len(seen) > 0) {
		scripts := make([]string, 0, len(seen)+1)
		for s := range seen {
			scripts = append(scripts, s)
		}
		sort.Strings(scripts)
		if other {
			scripts = append(scripts, "other")
		}
		return fmt.Sprintf("name %q mixes letters of several scripts (%s): it may look like another name", name, strings.Join(scripts, ", "))
	}
	if norm.NFKC.String(name) != name {
		return fmt.Sprintf("name %q holds compatibility characters; it is the same name as %q", name, norm.NFKC.String(name))
	}
	return ""
}

// fillNameKeys sets name_key on the servers and sites written before it
// existed (or by raw SQL). A name whose key another row holds already
// keeps none: the clash predates the rule, and a rename resolves it.
func fillNameKeys(ctx context.Context, w *sql.DB) error {
	for _, table := range []string{"servers", "sites"} {
		rows, err := w.QueryContext(ctx, `SELECT id, name FROM `+table+` WHERE name_key IS NULL ORDER BY id`)
		if err != nil {
			return fmt.Errorf("%s name keys: %w", table, err)
		}
		type row struct {
			id   int64
			name string
		}
		var todo []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.name); err != nil {
				rows.Close()
				return fmt.Errorf("%s name keys: %w", table, err)
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("%s name keys: %w", table, err)
		}
		for _, r := range todo {
			_, err := w.ExecContext(ctx, `UPDATE OR IGNORE `+table+` SET name_key = ? WHERE id = ?`, FoldName(r.name), r.id)
			if err != nil {
				return fmt.Errorf("%s %d name key: %w", table, r.id, err)
			}
		}
	}
	return nil
}
