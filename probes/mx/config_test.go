package mx_test

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/probes/mx"
)

func decodeStrict(text string) (mx.Config, error) {
	var cfg mx.Config
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
	want := []string{"submission", "submissions", "imap", "imaps", "pop3", "pop3s"}
	if !slices.Equal(cfg.SRVServices, want) {
		t.Errorf("srv_services = %q, want the defaults %q", cfg.SRVServices, want)
	}
	if !slices.Equal(mx.DefaultConfig().SRVServices, want) {
		t.Errorf("DefaultConfig().SRVServices = %q", mx.DefaultConfig().SRVServices)
	}
	if err := mx.DefaultConfig().Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestConfigInsideAModule(t *testing.T) {
	// The way the collector decodes it: the block nested in a larger struct.
	var module struct {
		MX *mx.Config `yaml:"mx"`
	}
	dec := yaml.NewDecoder(strings.NewReader("mx:\n  srv_services: [submissions, imaps]\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&module); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(module.MX.SRVServices, []string{"submissions", "imaps"}) {
		t.Errorf("srv_services = %q", module.MX.SRVServices)
	}
}

func TestConfigRejects(t *testing.T) {
	for text, want := range map[string]string{
		"srv_service: [imap]":            "srv_service",      // misspelt key
		"bogus: 1":                       "bogus",            // unknown key
		"srv_services: [IMAP]":           `"I"`,              // upper case
		"srv_services: [_imap]":          "underscore",       // written as the label
		"srv_services: ['']":             "empty",            // empty
		"srv_services: [imap, imap]":     "twice",            // duplicate
		"srv_services: [imap.tcp]":       `"."`,              // not one label
		"srv_services: [-imap]":          "hyphen",           // not LDH
		"srv_services: imap":             "cannot unmarshal", // not a list
		"srv_services: [sub mission]":    `" "`,
		"srv_services: [" + long() + "]": "63",
	} {
		_, err := decodeStrict(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %s", text, err, want)
		}
	}
}

func TestConfigEmptyListTurnsSRVOff(t *testing.T) {
	cfg, err := decodeStrict("srv_services: []")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.SRVServices) != 0 {
		t.Errorf("srv_services = %q, want none", cfg.SRVServices)
	}
}

func long() string { return strings.Repeat("a", 64) }
