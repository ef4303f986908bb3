package demo_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"mailnet/internal/reports"
)

// TestSeedClusterAndRAS: the demo shows Q169113 (EXCH-DAL-01 on a
// cluster, calling EXCH-ATL-01 from its node) and Q256844 (EXCH-SYD-01
// dialing EXCH-LON-01 over Routing and RAS) as MTA findings with the
// articles' causes and fixes.
func TestSeedClusterAndRAS(t *testing.T) {
	st, _ := seededShared(t)
	fs, err := reports.MTAFindings(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ rule, words string }{
		{reports.RuleClusterNode, "EXCH-DAL-01 runs on a Microsoft Cluster and is calling EXCH-ATL-01 from its node DALNODE1"},
		{reports.RuleRASPool, "EXCH-SYD-01 dials EXCH-LON-01 over Routing and RAS and presents the pool address 10.251.1.7"},
	} {
		i := slices.IndexFunc(fs, func(f reports.Finding) bool { return f.Rule == want.rule && f.Severity == "error" })
		if i < 0 {
			t.Errorf("demo findings lack an error of %s: %+v", want.rule, fs)
			continue
		}
		if !strings.Contains(fs[i].Finding, want.words) || fs[i].Fix == "" {
			t.Errorf("%s: %q, want %q and a fix", want.rule, fs[i].Finding, want.words)
		}
	}
	if slices.ContainsFunc(fs, func(f reports.Finding) bool { return f.Rule == reports.RuleProxySource }) {
		t.Errorf("the demo's node and pool callers were taken for proxies: %+v", fs)
	}
}

// TestMTAFindingsForServerMatchesTheCheck: the server page's scoped
// reading finds, for every server of the demo, exactly the findings of
// the whole X.400 check that name it.
func TestMTAFindingsForServerMatchesTheCheck(t *testing.T) {
	st, _ := seededShared(t)
	ctx := context.Background()
	all, err := reports.MTAFindings(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	servers, err := st.Servers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, sv := range servers {
		got, err := reports.MTAFindingsForServer(ctx, st, sv.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := reports.FindingsOfServer(all, sv.ID)
		named += len(want)
		if !slices.EqualFunc(got, want, func(a, b reports.Finding) bool {
			return a.Rule == b.Rule && a.Finding == b.Finding && a.Fix == b.Fix && slices.Equal(a.ConnectorIDs, b.ConnectorIDs)
		}) {
			t.Errorf("%s: scoped %+v\nwant %+v", sv.Name, got, want)
		}
	}
	if named == 0 {
		t.Fatal("no finding names any server of the demo")
	}
}
