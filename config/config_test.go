package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsTheExample(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "config.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(example, DefaultConfigYAML) {
		t.Fatal("config/default_config.yml differs from config.example.yml; run: cp config.example.yml config/default_config.yml")
	}
	cfg, err := Parse(DefaultConfigYAML)
	if err != nil {
		t.Fatalf("the built-in default does not load: %v", err)
	}
	m, ok := cfg.Module(DefaultModuleName)
	if !ok {
		t.Fatalf("the built-in default has no %q module", DefaultModuleName)
	}
	// The default module runs every probe there is.
	all := BlockNames()
	if m.Timeout != 30*time.Second || strings.Join(m.PresentBlocks(), ",") != strings.Join(all, ",") {
		t.Errorf("mail module: timeout %s, probes %v, want %v", m.Timeout, m.PresentBlocks(), all)
	}
}

func TestParse(t *testing.T) {
	cfg, err := Parse([]byte(`
modules:
  quick:
    timeout: 5s
    resolvers: ["127.0.0.1:5353", "::1"]
    mx:
  other:
    mx: {srv_services: [submissions]}
`))
	if err != nil {
		t.Fatal(err)
	}
	quick, _ := cfg.Module("quick")
	if quick.MX == nil {
		t.Error(`a bare "mx:" key did not enable the mx probe`)
	}
	if quick.DNSAttempts != DefaultModule.DNSAttempts || quick.DNSQueryTimeout != DefaultModule.DNSQueryTimeout {
		t.Errorf("defaults not applied: %+v", quick)
	}
	other, _ := cfg.Module("other")
	if other.Timeout != DefaultModule.Timeout {
		t.Errorf("timeout default = %s", other.Timeout)
	}
	if got := strings.Join(cfg.ModuleNames(), ","); got != "other,quick" {
		t.Errorf("module names = %s", got)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"empty", "", []string{"empty"}},
		{"syntax", "modules: [", []string{"line"}},
		{"no modules", "modules: {}\n", []string{"no modules"}},
		{"unknown top key", "modulez: {}\n", []string{"line 1", "modulez", "top level"}},
		{"unknown module key", "modules:\n  mail:\n    timeout: 5s\n    timout: 5s\n    mx: {}\n", []string{"line 4", "timout", "module settings"}},
		{"unknown mx key", "modules:\n  mail:\n    mx:\n      srv_service: [imap]\n", []string{"line 4", "srv_service", "mx settings"}},
		{"negative timeout", "modules:\n  mail:\n    timeout: -5s\n    mx: {}\n", []string{"line 2", `module "mail"`, "timeout must be positive", "-5s"}},
		{"huge timeout", "modules:\n  mail:\n    timeout: 1h\n    mx: {}\n", []string{"longer than 10m"}},
		{"not a duration", "modules:\n  mail:\n    timeout: soon\n    mx: {}\n", []string{"line 3", "soon"}},
		{"attempts", "modules:\n  mail:\n    dns_attempts: 0\n    mx: {}\n", []string{"dns_attempts must be between 1 and 10"}},
		{"query timeout", "modules:\n  mail:\n    timeout: 1s\n    dns_query_timeout: 2s\n    mx: {}\n", []string{"dns_query_timeout 2s is longer"}},
		{"resolver by name", "modules:\n  mail:\n    resolvers: [dns.google]\n    mx: {}\n", []string{`module "mail"`, "dns.google", "never by name"}},
		{"no probes", "modules:\n  mail:\n    timeout: 5s\n", []string{"no probes"}},
		{"null module", "modules:\n  mail:\n", []string{`module "mail" is empty`}},
		{"bad module name", "modules:\n  \"a b\":\n    mx: {}\n", []string{"module name"}},
		{"bad srv service", "modules:\n  ok:\n    mx: {}\n  mail:\n    mx: {srv_services: [\"Sub Mission\"]}\n", []string{`module "mail"`, "line 4"}},
		{"missing ca file", "modules:\n  mail:\n    ca_file: /nonexistent/ca.pem\n    mx: {}\n", []string{"ca_file", "/nonexistent/ca.pem"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yaml)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "raw") || strings.Contains(err.Error(), "config.") {
				t.Errorf("error %q leaks Go type names", err)
			}
		})
	}
}

func TestCAFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Parse([]byte("modules:\n  mail:\n    ca_file: " + bad + "\n    mx: {}\n"))
	if err == nil || !strings.Contains(err.Error(), "no PEM certificates") {
		t.Errorf("err = %v", err)
	}
}

// FuzzParseConfig: no input makes the config loader panic, and what loads
// has at least one module with at least one probe and a positive timeout.
func FuzzParse(f *testing.F) {
	f.Add(DefaultConfigYAML)
	f.Add([]byte("modules:\n  mail:\n    mx:\n"))
	f.Add([]byte("modules:\n  a:\n    timeout: 1s\n    resolvers: [\"127.0.0.1\"]\n    mx: {srv_services: [imap]}\n"))
	f.Add([]byte("modules: {a: {mx: {srv_services: []}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			return
		}
		if len(cfg.Modules) == 0 {
			t.Fatal("loaded a config without modules")
		}
		for name, m := range cfg.Modules {
			if m == nil || len(m.PresentBlocks()) == 0 || m.Timeout <= 0 {
				t.Fatalf("module %q loaded without probes or timeout: %+v", name, m)
			}
		}
	})
}

// TestExampleCarriesTheDNSBLLists: config.example.yml shows the blocklist
// block exactly as probes/dnsbl/example_lists.yml has it, which the dnsbl
// tests keep equal to the probe's defaults.
func TestExampleCarriesTheDNSBLLists(t *testing.T) {
	block, err := os.ReadFile(filepath.Join("..", "probes", "dnsbl", "example_lists.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(DefaultConfigYAML, block) {
		t.Error("config.example.yml does not contain probes/dnsbl/example_lists.yml verbatim; paste it at the end of the mail module")
	}
}
