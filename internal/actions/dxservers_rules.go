package actions

import (
	"strings"

	"mailnet/internal/mailnet"
)

// MaxKeepUpdatesDays bounds a DX's Keep Updates time.
const MaxKeepUpdatesDays = 3650

// applyDXRuleFacts applies the patch's Keep Updates time and Dir-Sync
// Requestor target (the facts R17 (b) and R21 (b) read) to d.
func applyDXRuleFacts(d *mailnet.DXServer, p DXPatch) error {
	if p.KeepUpdatesDays.Set {
		if p.KeepUpdatesDays.Null {
			d.KeepUpdatesDays = nil
		} else {
			k := p.KeepUpdatesDays.Value
			if k < 1 || k > MaxKeepUpdatesDays {
				return mailnet.Invalid("keep_updates_days", "keep_updates_days must be from 1 to %d days, not %d", MaxKeepUpdatesDays, k)
			}
			d.KeepUpdatesDays = &k
		}
	}
	if p.RequestorOf.Set {
		v, err := postofficeAddress("requestor_of", p.RequestorOf.Or(""))
		if err != nil {
			return err
		}
		d.RequestorOf = v
	}
	return nil
}

// postofficeAddress checks an MS Mail NETWORK/POSTOFFICE name ("" passes:
// none), upper-cased as MS Mail shows it.
func postofficeAddress(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	net, po, ok := strings.Cut(s, "/")
	if !ok || net == "" || po == "" || strings.Contains(po, "/") || strings.ContainsAny(s, " \t") {
		return "", mailnet.Invalid(field, "%s must be NETWORK/POSTOFFICE, not %q", field, s)
	}
	if err := checkText(field, s, 2*MaxNameLen+1); err != nil {
		return "", err
	}
	return strings.ToUpper(s), nil
}
