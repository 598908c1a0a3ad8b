package web

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/internal/fixsafety"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Every remediation of every golden report, and of every report of the
// example world, read against the rest of its report and the world's DNS
// (internal/fixsafety has the rules): none may be one issue 15 calls
// dangerous, or contradict its report.

// exampleWorldTargets are the domains of the example world
// (testbed.ExampleZones).
var exampleWorldTargets = []string{"example.test", "broken.test", "nullmx.test", "nomx.test", "v6only.test"}

// knownUnsafeGoldenFixes and knownUnsafeExampleFixes are the findings that
// still occur, by key, with the probe that makes the fix and the branch
// that owns it; the tests fail when one no longer occurs, so the lists
// shrink as they are fixed.
var knownUnsafeGoldenFixes = map[string]string{
	// mx.hostname and mx.resolves publish mail.broken.test for the IP
	// literal MX 192.0.2.30; ptr.role_label publishes the same name for
	// the residential (PBL-listed) 198.51.100.77: both applied, the MX
	// host gets both addresses.
	"broken.test mx.hostname+mx.resolves+ptr.role_label conflicting-addresses": "mx probe (issue 15, the mx part)",
}

var knownUnsafeExampleFixes = knownUnsafeGoldenFixes

func TestGoldenFixesAreSafe(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	paths, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("golden reports: %v %v", paths, err)
	}
	var found []fixsafety.Finding
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		reports, err := fixsafety.FromJSON(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, r := range reports {
			found = append(found, fixsafety.Audit(r, fixsafety.Resolver{Addr: world.Addr})...)
		}
	}
	checkFindings(t, "golden", found, knownUnsafeGoldenFixes)
}

func TestExampleWorldFixesAreSafe(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	cfg := worldConfig(t, world.Addr, "")
	m, _ := cfg.Module("mail")
	var found []fixsafety.Finding
	for _, target := range exampleWorldTargets {
		tgt, err := probes.ParseTarget(target)
		if err != nil {
			t.Fatal(err)
		}
		r := m.Run(context.Background(), &probes.Request{Target: tgt}, collector.RunOptions{})
		found = append(found, fixsafety.Audit(fixsafety.FromCollector(r), fixsafety.Resolver{Addr: world.Addr})...)
	}
	checkFindings(t, "example world", found, knownUnsafeExampleFixes)
}

// checkFindings fails for every finding not in known, and for every known
// one that no longer occurs.
func checkFindings(t *testing.T, where string, found []fixsafety.Finding, known map[string]string) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range found {
		seen[f.Key()] = true
		if owner, ok := known[f.Key()]; ok {
			t.Logf("%s: known unsafe fix (%s): %s", where, owner, f)
			continue
		}
		t.Errorf("%s: unsafe fix: %s", where, f)
	}
	for key, owner := range known {
		if !seen[key] {
			t.Errorf("%s: %q (%s) no longer occurs: remove it from the known unsafe fixes", where, key, owner)
		}
	}
}
