package actions

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// MaxNameLen bounds every name of the inventory (sites, servers, aliases,
// connectors, networks, postoffices), in characters.
const MaxNameLen = 64

// cleanName trims s and checks it is a usable name: not empty, at most
// MaxNameLen characters, printable.
func cleanName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", mailnet.Invalid(field, "%s is required", field)
	}
	return s, checkText(field, s, MaxNameLen)
}

// checkText checks that s is valid UTF-8, printable and at most max
// characters long.
func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return mailnet.Invalid(field, "%s is not valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return mailnet.Invalid(field, "%s is %d characters long; at most %d are allowed", field, n, max)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return mailnet.Invalid(field, "%s contains a character that cannot be printed (%U)", field, r)
		}
	}
	return nil
}

// cleanAddr parses an IPv4 or IPv6 address and returns its normal form
// (an IPv4-mapped IPv6 address becomes IPv4).
func cleanAddr(field, s string) (string, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return "", mailnet.Invalid(field, "%q is not an IPv4 or IPv6 address", s)
	}
	return a.Unmap().String(), nil
}

// maxAddresses bounds a server's address list.
const maxAddresses = 32

// cleanAddrs normalizes a list of addresses, refusing bad and repeated ones.
func cleanAddrs(field string, in []string) ([]string, error) {
	if len(in) > maxAddresses {
		return nil, mailnet.Invalid(field, "%d addresses given; at most %d are allowed", len(in), maxAddresses)
	}
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, s := range in {
		a, err := cleanAddr(field, s)
		if err != nil {
			return nil, err
		}
		if seen[a] {
			return nil, mailnet.Invalid(field, "address %s is listed twice", a)
		}
		seen[a] = true
		out = append(out, a)
	}
	return out, nil
}

func isNotFound(err error) bool { return mailnet.ErrorKind(err) == mailnet.KindNotFound }

// liveServer loads server id for use as field's value: unknown or
// decommissioned servers are refused naming the field.
func liveServer(ctx context.Context, tx *store.Tx, field string, id int64) (mailnet.Server, error) {
	if id <= 0 {
		return mailnet.Server{}, mailnet.Invalid(field, "%s is required", field)
	}
	sv, err := tx.ServerByID(ctx, id)
	if isNotFound(err) {
		return sv, mailnet.Invalid(field, "server %d does not exist", id)
	}
	if err != nil {
		return sv, err
	}
	if sv.Status == mailnet.StatusDecommissioned {
		return sv, mailnet.Invalid(field, "server %s (%d) is decommissioned", sv.Name, id)
	}
	return sv, nil
}

// published tells live watchers what changed; call after commit only.
func (a *Actions) published(object string, id int64, action string) {
	a.Live.Publish(live.Frame{Type: live.TypeInventory, Data: live.Inventory{Object: object, ID: id, Action: action}})
}

// SiteInput is a new site.
type SiteInput struct {
	Name string `json:"name"`
}

// CreateSite adds a site; a name in use (under store.FoldName) is a
// conflict.
func (a *Actions) CreateSite(ctx context.Context, in SiteInput) (mailnet.Site, error) {
	st, _, err := a.CreateSiteWarned(ctx, in)
	return st, err
}

// CreateSiteWarned is CreateSite, also returning the warnings of the
// create: a look-alike name (store.NameWarning) is stored, noted in the
// audit row and reported to the caller.
func (a *Actions) CreateSiteWarned(ctx context.Context, in SiteInput) (mailnet.Site, []string, error) {
	name, err := cleanName("name", in.Name)
	if err != nil {
		return mailnet.Site{}, nil, err
	}
	var st mailnet.Site
	var warnings []string
	warn := store.NameWarning(name)
	if warn != "" {
		warnings = []string{warn}
	}
	err = a.Store.Write(ctx, func(tx *store.Tx) error {
		if st, err = tx.InsertSite(ctx, name); err != nil {
			return err
		}
		return tx.Audit(ctx, "site.create", "site", st.ID, nil, st, warn)
	})
	if err != nil {
		return mailnet.Site{}, nil, fmt.Errorf("create site: %w", err)
	}
	a.published("site", st.ID, "created")
	return st, warnings, nil
}
