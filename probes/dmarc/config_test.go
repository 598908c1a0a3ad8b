package dmarc_test

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dmarc"
)

func decodeStrict(text string) (dmarc.Config, error) {
	var cfg dmarc.Config
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	err := dec.Decode(&cfg)
	return cfg, err
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := decodeStrict("{}")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.AcceptedPolicies, []string{"none", "quarantine", "reject"}) || cfg.TreeWalk || !cfg.CheckExternalReports {
		t.Errorf("defaults %+v", cfg)
	}
	if err := dmarc.DefaultConfig().Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestConfigValues(t *testing.T) {
	cfg, err := decodeStrict("accepted_policies: [quarantine, reject]\ntree_walk: true\ncheck_external_reports: false\n")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.AcceptedPolicies, []string{"quarantine", "reject"}) || !cfg.TreeWalk || cfg.CheckExternalReports {
		t.Errorf("decoded %+v", cfg)
	}
}

func TestConfigInsideAModule(t *testing.T) {
	var module struct {
		DMARC *dmarc.Config `yaml:"dmarc"`
	}
	dec := yaml.NewDecoder(strings.NewReader("dmarc: {tree_walk: true}\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&module); err != nil {
		t.Fatal(err)
	}
	if module.DMARC == nil || !module.DMARC.TreeWalk || !module.DMARC.CheckExternalReports || len(module.DMARC.AcceptedPolicies) != 3 {
		t.Errorf("decoded %+v", module.DMARC)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"accepted_policy: [reject]", "field accepted_policy not found"},
		{"accepted_policies: []", "dmarc: accepted_policies is empty"},
		{"accepted_policies: [Reject]", `dmarc: accepted_policies[0]: "Reject" is not none, quarantine or reject`},
		{"accepted_policies: [reject, reject]", `"reject" is listed twice`},
		{"tree_walk: sometimes", "cannot unmarshal"},
	} {
		_, err := decodeStrict(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.text, err, tc.want)
		}
	}
}
