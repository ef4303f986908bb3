package actions

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Bounds of a requestor's rule facts.
const (
	MaxExportContainers = 200
	MaxContainerLen     = 256
	MaxSystemRecipients = 50
)

// RequestorPatch is a JSON merge patch of a requestor's inventory facts
// that the dir-sync rules read (PATCH /api/v1/requestors/{id}/facts).
type RequestorPatch struct {
	// ExportContainers is the requestor's list of Exported Containers
	// (R19 (b), Q166154); null clears it. A changed list is dated.
	ExportContainers Patch[[]string] `json:"export_containers"`
	// ImportedCount is a new snapshot of the number of directory entries
	// imported from the postoffice (R19 (c), Q152424); the last one becomes
	// the one before. null clears both.
	ImportedCount Patch[int64] `json:"imported_count"`
	// SystemRecipients are the custom recipients with the postoffice's
	// NET/PO/$SYSTEM proxy, by site (R21 (a), Q147084); null clears them.
	SystemRecipients Patch[[]store.SystemRecipient] `json:"system_recipients"`
}

// RequestorWithFacts is a requestor and its rule facts, as the PATCH
// answers.
type RequestorWithFacts struct {
	mailnet.Requestor
	store.RequestorFacts
}

// UpdateRequestorFacts applies p to requestor id, audited.
func (a *Actions) UpdateRequestorFacts(ctx context.Context, id int64, p RequestorPatch) (RequestorWithFacts, error) {
	var out RequestorWithFacts
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		r, err := tx.RequestorSync(ctx, id)
		if err != nil {
			return err
		}
		before, err := tx.RequestorFacts(ctx, id)
		if err != nil {
			return err
		}
		f := before
		now := tx.Now()
		if p.ExportContainers.Set {
			list, err := cleanContainers(p.ExportContainers.Or(nil))
			if err != nil {
				return err
			}
			if !sameFold(list, before.ExportContainers) {
				f.ExportContainersAt = &now
			}
			f.ExportContainers = list
		}
		if p.ImportedCount.Set {
			if p.ImportedCount.Null {
				f.ImportedCount, f.ImportedCountBefore, f.ImportedCountAt = nil, nil, nil
			} else {
				n := p.ImportedCount.Value
				if n < 0 || n > 1<<40 {
					return mailnet.Invalid("imported_count", "imported_count must be a count from 0, not %d", n)
				}
				f.ImportedCountBefore, f.ImportedCount, f.ImportedCountAt = before.ImportedCount, &n, &now
			}
		}
		if p.SystemRecipients.Set {
			list := p.SystemRecipients.Or(nil)
			if len(list) > MaxSystemRecipients {
				return mailnet.Invalid("system_recipients", "%d system_recipients given; at most %d", len(list), MaxSystemRecipients)
			}
			for i, sr := range list {
				if _, err := tx.SiteByID(ctx, sr.SiteID); err != nil {
					if mailnet.ErrorKind(err) == mailnet.KindNotFound {
						return mailnet.Invalid(fmt.Sprintf("system_recipients[%d].site_id", i), "site %d does not exist", sr.SiteID)
					}
					return err
				}
			}
			if list == nil {
				list = []store.SystemRecipient{}
			}
			f.SystemRecipients = list
		}
		if err := tx.SaveRequestorFacts(ctx, id, f); err != nil {
			return err
		}
		out = RequestorWithFacts{Requestor: r, RequestorFacts: f}
		return tx.Audit(ctx, "requestor.update", "requestor", id, before, f, r.Address())
	})
	if err != nil {
		return RequestorWithFacts{}, fmt.Errorf("update requestor %d: %w", id, err)
	}
	a.published("requestor", id, "updated")
	return out, nil
}

func cleanContainers(in []string) ([]string, error) {
	if len(in) > MaxExportContainers {
		return nil, mailnet.Invalid("export_containers", "%d export_containers given; at most %d", len(in), MaxExportContainers)
	}
	out := make([]string, 0, len(in))
	for i, c := range in {
		field := fmt.Sprintf("export_containers[%d]", i)
		c = strings.TrimSpace(c)
		if c == "" {
			return nil, mailnet.Invalid(field, "%s is empty", field)
		}
		if err := checkText(field, c, MaxContainerLen); err != nil {
			return nil, err
		}
		for _, o := range out {
			if strings.EqualFold(o, c) {
				return nil, mailnet.Invalid(field, "%s repeats %q", field, c)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// sameFold reports whether two container lists hold the same names, in
// any order and case.
func sameFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	norm := func(xs []string) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = strings.ToUpper(x)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(norm(a), norm(b))
}
