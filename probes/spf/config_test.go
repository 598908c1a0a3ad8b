package spf

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func decodeStrict(text string) (Config, error) {
	var cfg Config
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
	if !slices.Equal(cfg.AcceptableAll, []string{"~", "-"}) || cfg.MaxIPv4Addresses != 65536 ||
		len(cfg.HeloNames) != 0 || !cfg.CheckOutbound {
		t.Errorf("defaults %+v", cfg)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestConfigInsideAModule(t *testing.T) {
	// The way the collector decodes it: the block nested in a larger struct.
	var module struct {
		SPF *Config `yaml:"spf"`
	}
	text := "spf:\n  acceptable_all: [\"-\"]\n  max_ipv4_addresses: 256\n  helo_names: [MX1.Example.COM, \"bücher.example\"]\n  check_outbound: false\n"
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&module); err != nil {
		t.Fatal(err)
	}
	c := module.SPF
	if !slices.Equal(c.AcceptableAll, []string{"-"}) || c.MaxIPv4Addresses != 256 || c.CheckOutbound {
		t.Errorf("decoded %+v", c)
	}
	if !slices.Equal(c.HeloNames, []string{"mx1.example.com", "xn--bcher-kva.example"}) {
		t.Errorf("helo_names = %q, want them normalised", c.HeloNames)
	}
}

func TestConfigRejects(t *testing.T) {
	for text, want := range map[string]string{
		"acceptable_al: [\"-\"]":              "acceptable_al", // misspelt key
		"acceptable_all: []":                  "empty",         // nothing would pass
		"acceptable_all: [\"fail\"]":          `"fail" is not a qualifier`,
		"acceptable_all: [\"-\", \"-\"]":      "listed twice",
		"max_ipv4_addresses: 4294967297":      "only 4294967296",
		"max_ipv4_addresses: -1":              "cannot unmarshal",
		"helo_names: [\"not a name\"]":        "helo_names[0]",
		"helo_names: [localhost]":             "single label",
		"helo_names: [a.example, A.example.]": "listed twice",
		"check_outbound: maybe":               "cannot unmarshal",
	} {
		_, err := decodeStrict(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %s", text, err, want)
		}
	}
}

func TestNewDoesNotShareTheConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HeloNames = []string{"MX.example.com"}
	p := New(cfg)
	cfg.AcceptableAll[0] = "+"
	if p.cfg.AcceptableAll[0] != "~" || p.cfg.HeloNames[0] != "mx.example.com" || cfg.HeloNames[0] != "MX.example.com" {
		t.Errorf("probe config %+v, caller's %+v", p.cfg, cfg)
	}
}
