package store_test

import (
	"context"
	"fmt"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// TestDuplicateSerialServersPacked: the serials read as one packed value
// name the same servers as SQL's grouping, and a serial holding the
// separator itself falls back to the grouping.
func TestDuplicateSerialServersPacked(t *testing.T) {
	for _, odd := range []string{"PC-0002", "PC\x1e0002"} {
		t.Run(fmt.Sprintf("%q", odd), func(t *testing.T) {
			ctx := context.Background()
			st := Open(t)
			err := st.Write(ctx, func(tx *store.Tx) error {
				site, err := tx.InsertSite(ctx, "HQ")
				if err != nil {
					return err
				}
				for i, serial := range []string{"MA-1", "MA-1", odd, odd, "", "", "UNIQUE", "MA-1"} {
					sv := mailnet.Server{Name: fmt.Sprintf("S%d", i), SiteID: site.ID, Kind: mailnet.ServerKindMSMailMac, Serial: serial, Addresses: []string{}, Status: "running"}
					if i == 7 {
						sv.Kind = mailnet.ServerKindExchange // the same text, another product
					}
					if err := tx.InsertServer(ctx, &sv); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := st.DuplicateSerialServers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, sv := range got {
				names = append(names, sv.Name+"="+sv.Serial)
			}
			// By serial, kind, id; the Exchange server's MA-1 is alone of its kind.
			want := fmt.Sprintf("[S0=MA-1 S1=MA-1 S2=%s S3=%s]", odd, odd)
			if fmt.Sprint(names) != want {
				t.Errorf("got %v, want %s", names, want)
			}
		})
	}
}
