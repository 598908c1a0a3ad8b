package tlsrpt_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/probes/tlsrpt"
)

func TestConfig(t *testing.T) {
	var module struct {
		TLSRPT *tlsrpt.Config `yaml:"tlsrpt"`
	}
	dec := yaml.NewDecoder(strings.NewReader("tlsrpt: {}\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&module); err != nil || module.TLSRPT == nil {
		t.Fatalf("decoded %+v, %v", module.TLSRPT, err)
	}
	if err := tlsrpt.DefaultConfig().Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
	dec = yaml.NewDecoder(strings.NewReader("tlsrpt: {rua: x}\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&module); err == nil || !strings.Contains(err.Error(), "field rua not found") {
		t.Errorf("an unknown key: error %v", err)
	}
}
