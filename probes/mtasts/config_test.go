package mtasts_test

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
)

func decodeStrict(text string) (mtasts.Config, error) {
	var cfg mtasts.Config
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
	want := mtasts.Config{HTTPSPort: 443, MaxBodyBytes: 65536, FetchTimeout: 10 * time.Second, MinMaxAge: 24 * time.Hour}
	if cfg != want || mtasts.DefaultConfig() != want {
		t.Errorf("defaults %+v / %+v, want %+v", cfg, mtasts.DefaultConfig(), want)
	}
	if err := want.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestConfigValues(t *testing.T) {
	cfg, err := decodeStrict("https_port: 8443\nmax_body_bytes: 1024\nfetch_timeout: 3s\nmin_max_age: 168h\n")
	if err != nil {
		t.Fatal(err)
	}
	want := mtasts.Config{HTTPSPort: 8443, MaxBodyBytes: 1024, FetchTimeout: 3 * time.Second, MinMaxAge: 7 * 24 * time.Hour}
	if cfg != want {
		t.Errorf("decoded %+v, want %+v", cfg, want)
	}
}

func TestConfigInsideAModule(t *testing.T) {
	var module struct {
		MTASTS *mtasts.Config `yaml:"mtasts"`
	}
	dec := yaml.NewDecoder(strings.NewReader("mtasts: {fetch_timeout: 2s}\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&module); err != nil {
		t.Fatal(err)
	}
	if module.MTASTS == nil || module.MTASTS.FetchTimeout != 2*time.Second || module.MTASTS.HTTPSPort != 443 || module.MTASTS.MaxBodyBytes != 65536 {
		t.Errorf("decoded %+v", module.MTASTS)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"https_prot: 443", "field https_prot not found"},
		{"https_port: 0", "mtasts: https_port 0: want 1 to 65535"},
		{"https_port: 70000", "mtasts: https_port 70000: want 1 to 65535"},
		{"max_body_bytes: 0", "mtasts: max_body_bytes 0: want 1 to 1048576"},
		{"max_body_bytes: 2000000", "mtasts: max_body_bytes 2000000: want 1 to 1048576"},
		{"fetch_timeout: 0s", "mtasts: fetch_timeout 0s: want more than 0"},
		{"fetch_timeout: 1h", "mtasts: fetch_timeout 1h0m0s: want more than 0 and at most 5m0s"},
		{"min_max_age: -1s", "mtasts: min_max_age -1s: want 0 to 8766h0m0s"},
		{"min_max_age: 9000h", "mtasts: min_max_age 9000h0m0s: want 0 to 8766h0m0s"},
		{"min_max_age: 1500ms", "mtasts: min_max_age 1.5s: max_age counts whole seconds"},
		{"min_max_age: 86400", "cannot unmarshal"},
	} {
		_, err := decodeStrict(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
		// The decoder's own errors are its format; ours are one line.
		if err != nil && !strings.HasPrefix(err.Error(), "yaml:") && strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %q is not one line", tc.text, err)
		}
	}
}
