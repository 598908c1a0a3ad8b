package collector

import (
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// compileYAML parses and compiles a configuration, failing the test on an
// error.
func compileYAML(t testing.TB, yaml string) *Modules {
	t.Helper()
	return compileYAMLKept(t, yaml, nil)
}

// compileYAMLKept is compileYAML sharing kept with other compiles, as a
// reload does.
func compileYAMLKept(t testing.TB, yaml string, kept *probes.Kept) *Modules {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Compile(cfg, kept)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// exampleModule is the example world's module "mail", compiled.
func exampleModule(t testing.TB, resolver string) *Module {
	t.Helper()
	return compileYAML(t, "modules:\n"+testbed.ExampleModule("mail", resolver)).byName["mail"]
}
