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
