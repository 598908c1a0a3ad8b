package dkim_test

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dkim"
)

func decodeStrict(text string) (dkim.Config, error) {
	var cfg dkim.Config
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
	if len(cfg.Selectors) != 0 || !cfg.Discover || cfg.MinRSABits != 2048 {
		t.Errorf("defaults %+v", cfg)
	}
	if err := dkim.DefaultConfig().Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestConfigValues(t *testing.T) {
	cfg, err := decodeStrict("selectors: [google, 20230601, cpppo.licensing]\ndiscover: false\nmin_rsa_bits: 1024\n")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Selectors, []string{"google", "20230601", "cpppo.licensing"}) || cfg.Discover || cfg.MinRSABits != 1024 {
		t.Errorf("decoded %+v", cfg)
	}
}

func TestConfigInsideAModule(t *testing.T) {
	// The way the collector decodes it: the block nested in a larger struct,
	// where a block with only some keys keeps the defaults of the others.
	var module struct {
		DKIM *dkim.Config `yaml:"dkim"`
	}
	dec := yaml.NewDecoder(strings.NewReader("dkim: {selectors: [s1]}\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&module); err != nil {
		t.Fatal(err)
	}
	if module.DKIM == nil || !module.DKIM.Discover || module.DKIM.MinRSABits != 2048 || !slices.Equal(module.DKIM.Selectors, []string{"s1"}) {
		t.Errorf("decoded %+v", module.DKIM)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"selector: [google]", "field selector not found"},
		{"selectors: [\"google._domainkey\"]", "dkim: selectors[0]: \"google._domainkey\": give the selector alone"},
		{"selectors: [google, Google]", `dkim: selectors: "Google" is listed twice`},
		{"selectors: [\"a b\"]", `contains " "`},
		{"min_rsa_bits: 512", "dkim: min_rsa_bits: 512 is outside 1024..16384"},
		{"min_rsa_bits: 100000", "outside 1024..16384"},
		{"discover: maybe", "cannot unmarshal"},
		{"selectors: [" + strings.Repeat("s,", 33) + "s]", "at most 32"},
	} {
		_, err := decodeStrict(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.text, err, tc.want)
		}
	}
}
