package reports

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// X400ForServer gives a server's connectors the same findings as the
// network-wide check, for connectors from and to it, evidence included;
// connectors elsewhere are left out.
func TestX400ForServerMatchesTheCheck(t *testing.T) {
	f := newFx(t)
	site := f.site("S1")
	a := f.server("EXA", site, "exchange", "5.5.2448.0", "A1", "10.0.0.1", "10.0.0.2")
	b := f.server("EXB", site, "exchange", "5.5.2448.0", "B1", "10.1.0.1")
	c := f.server("EXC", site, "exchange", "5.5.2448.0", "C1", "10.2.0.1", "10.2.0.2")
	d := f.server("EXD", site, "exchange", "5.5.2448.0", "D1", "10.3.0.1")
	ab := f.x400("TCP to MTA B", a, b, "")
	ba := f.x400("TCP to MTA A", b, a, "", "10.0.0.1")
	cd := f.x400("TCP to MTA D", c, d, "")
	dc := f.x400("TCP to MTA C", d, c, "", "10.2.0.1")
	now := time.Now().UTC()
	f.event9301(b, now.Add(-time.Hour), gateway9301("0A000002", "EXB"), nil)
	f.event9301(b, now.Add(-time.Minute), "", map[string]string{"remote_address": "10.0.0.2"})

	all, err := X400Check(context.Background(), f.st)
	if err != nil {
		t.Fatal(err)
	}
	all.WriteText() // X400Check leaves the text to the rows a page shows
	want := map[int64]X400Finding{}
	for _, x := range all.Findings() {
		want[x.ConnectorID] = x
	}
	for _, tc := range []struct {
		server int64
		conns  []int64
	}{{a, []int64{ab, ba}}, {b, []int64{ab, ba}}, {c, []int64{cd, dc}}} {
		got, err := X400ForServer(context.Background(), f.st, tc.server)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tc.conns) {
			t.Errorf("server %d: %d findings, want %d", tc.server, len(got), len(tc.conns))
		}
		for _, id := range tc.conns {
			if !reflect.DeepEqual(got[id], want[id]) {
				t.Errorf("server %d, connector %d:\n got  %+v\n want %+v", tc.server, id, got[id], want[id])
			}
		}
	}
	if got := want[ab]; got.Status == X400OK || got.Observed9301 != 2 {
		t.Errorf("fixture: A->B status %q observed %d, want a problem seen twice", got.Status, got.Observed9301)
	}
}
