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
	checkFindings(t, "golden", found)
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
	checkFindings(t, "example world", found)
}

// checkFindings fails for every finding.
func checkFindings(t *testing.T, where string, found []fixsafety.Finding) {
	t.Helper()
	for _, f := range found {
		t.Errorf("%s: unsafe fix: %s", where, f)
	}
}
