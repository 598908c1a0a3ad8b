package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// readExample reads config.example.yml at the repository root.
func readExample(t testing.TB) []byte {
	t.Helper()
	example, err := os.ReadFile(filepath.Join("..", "config.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return example
}

// TestDefaultIsTheExample: parsing config.example.yml yields exactly the
// built-in default, module settings and probe blocks alike (the
// blocklists included, so the example shows dnsbl's default lists). Only
// the line the module starts on, which the built-in default has not, and
// the difference between an empty list or map ("resolvers: []") and none
// are left out: the code treats both alike.
func TestDefaultIsTheExample(t *testing.T) {
	parsed, err := Parse(readExample(t))
	if err != nil {
		t.Fatalf("config.example.yml does not load: %v", err)
	}
	def, err := Default()
	if err != nil {
		t.Fatalf("the built-in default does not load: %v", err)
	}
	if got, want := parsed.ModuleNames(), def.ModuleNames(); !reflect.DeepEqual(got, want) {
		t.Fatalf("config.example.yml has modules %v; the built-in default %v", got, want)
	}
	for _, name := range def.ModuleNames() {
		p, d := *parsed.Modules[name], *def.Modules[name]
		if p.line == 0 || d.line != 0 {
			t.Errorf("module %s: line %d in the file, %d built in", name, p.line, d.line)
		}
		p.line = 0
		pv, dv := reflect.ValueOf(&p).Elem(), reflect.ValueOf(&d).Elem()
		emptyToNil(pv)
		emptyToNil(dv)
		if !reflect.DeepEqual(p, d) {
			for _, diff := range differences("modules."+name, pv, dv) {
				t.Errorf("config.example.yml differs from config.Default(): %s", diff)
			}
		}
	}
	m, ok := def.Module(DefaultModuleName)
	if !ok {
		t.Fatalf("the built-in default has no %q module", DefaultModuleName)
	}
	// The default module runs every probe there is but the opt-in ones
	// (the delivery round trip sends mail and needs credentials).
	all := slices.DeleteFunc(BlockNames(), OptInBlock)
	if m.Timeout != 30*time.Second || m.Name() != DefaultModuleName || strings.Join(m.PresentBlocks(), ",") != strings.Join(all, ",") {
		t.Errorf("mail module: timeout %s, name %q, probes %v, want %v", m.Timeout, m.Name(), m.PresentBlocks(), all)
	}
	if !reflect.DeepEqual(*m.DNSBL, dnsbl.DefaultConfig()) {
		t.Error("the built-in default's blocklists are not dnsbl.DefaultConfig()")
	}
}

// TestDefaultIsFresh: each call builds its own configuration, so a caller
// that changes one leaves the next alone.
func TestDefaultIsFresh(t *testing.T) {
	a, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	a.Modules[DefaultModuleName].DNSBL.Lists[0].Codes["127.0.0.2"] = "changed"
	a.Modules[DefaultModuleName].Timeout = time.Second
	b, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if m := b.Modules[DefaultModuleName]; m.DNSBL.Lists[0].Codes["127.0.0.2"] == "changed" || m.Timeout == time.Second {
		t.Error("Default shares its values between calls")
	}
}

// emptyToNil replaces every empty, non-nil slice and map reachable from v
// (settable fields, unexported ones included) by nil.
func emptyToNil(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			emptyToNil(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if !f.CanSet() {
				f = reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem()
			}
			emptyToNil(f)
		}
	case reflect.Slice:
		if !v.IsNil() && v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
		}
		for i := 0; i < v.Len(); i++ {
			emptyToNil(v.Index(i))
		}
	case reflect.Map:
		if !v.IsNil() && v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
		}
	}
}

// differences lists where a and b differ, by path, for the test's message.
func differences(path string, a, b reflect.Value) []string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return []string{fmt.Sprintf("%s: present %v in the file, %v built in", path, !a.IsNil(), !b.IsNil())}
			}
			return nil
		}
		return differences(path, a.Elem(), b.Elem())
	case reflect.Struct:
		var out []string
		for i := 0; i < a.NumField(); i++ {
			f := a.Type().Field(i)
			sub := path + "." + f.Name
			if key := blockKey(f); key != "" {
				sub = path + "." + key
			} else if strings.HasSuffix(f.Tag.Get("yaml"), ",inline") {
				sub = path
			}
			out = append(out, differences(sub, a.Field(i), b.Field(i))...)
		}
		return out
	case reflect.Slice:
		if a.Len() != b.Len() {
			return []string{fmt.Sprintf("%s: %d entries in the file, %d built in", path, a.Len(), b.Len())}
		}
		var out []string
		for i := 0; i < a.Len(); i++ {
			out = append(out, differences(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))...)
		}
		return out
	}
	if a.CanInterface() && !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return []string{fmt.Sprintf("%s: %v in the file, %v built in", path, a.Interface(), b.Interface())}
	}
	if !a.CanInterface() && fmt.Sprint(a) != fmt.Sprint(b) {
		return []string{fmt.Sprintf("%s: %v in the file, %v built in", path, a, b)}
	}
	return nil
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
	if cfg.SMTPPoliteness != smtpsession.DefaultPoliteness() {
		t.Errorf("smtp_politeness left out = %+v, want the defaults", cfg.SMTPPoliteness)
	}
}

func TestParseSMTPPoliteness(t *testing.T) {
	cfg, err := Parse([]byte("smtp_politeness:\n  connections_per_minute_per_network: 0\nmodules:\n  mail:\n    smtp: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := smtpsession.DefaultPoliteness()
	want.ConnectionsPerMinutePerNetwork = 0
	if cfg.SMTPPoliteness != want {
		t.Errorf("smtp_politeness = %+v, want %+v (keys left out keep their defaults)", cfg.SMTPPoliteness, want)
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
		{"empty blocklist set", "modules:\n  mail:\n    dnsbl: {lists: []}\n", []string{`module "mail"`, "line 2", "lists is empty"}},
		{"negative politeness", "smtp_politeness: {max_connections_per_address: -1}\nmodules:\n  mail:\n    mx: {}\n", []string{"smtp_politeness", "max_connections_per_address -1"}},
		{"unknown politeness key", "smtp_politeness: {connections_per_hour: 5}\nmodules:\n  mail:\n    mx: {}\n", []string{"line 1", "connections_per_hour"}},
		{"missing ca file", "modules:\n  mail:\n    ca_file: /nonexistent/ca.pem\n    mx: {}\n", []string{"ca_file", "/nonexistent/ca.pem"}},
		{"unknown limit", "modules:\n  mail:\n    limits: {mx_host: 4}\n    mx: {}\n", []string{"line 3", "mx_host", "limits settings"}},
		{"zero mx hosts", "modules:\n  mail:\n    limits: {mx_hosts: 0}\n    mx: {}\n", []string{`module "mail"`, "limits.mx_hosts must be between 1 and 256, got 0"}},
		{"tiny answer budget", "modules:\n  mail:\n    limits: {dns_answer_bytes: 1KiB}\n    mx: {}\n", []string{"limits.dns_answer_bytes must be between 64KiB and 1GiB, got 1KiB"}},
		{"size without unit", "modules:\n  mail:\n    limits: {report_bytes: 2MB}\n    mx: {}\n", []string{"line 3", `"2MB" is not a size`}},
		{"negative size", "modules:\n  mail:\n    dns_cache_max_bytes: -1\n    mx: {}\n", []string{"line 3", "not a size"}},
		{"tiny cache", "modules:\n  mail:\n    dns_cache_max_bytes: 1000\n    mx: {}\n", []string{"dns_cache_max_bytes must be between 1MiB and 64GiB"}},
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

func TestParseLimits(t *testing.T) {
	cfg, err := Parse([]byte(`
modules:
  tight:
    dns_cache_max_bytes: 8MiB
    limits:
      mx_hosts: 4
      dns_answer_bytes: 524288
      report_bytes: 64KiB
    mx: {}
  loose:
    mx: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	tight, _ := cfg.Module("tight")
	want := DefaultLimits
	want.MXHosts, want.DNSAnswerBytes, want.ReportBytes = 4, 512<<10, 64<<10
	if tight.Limits != want || tight.DNSCacheMaxBytes != 8<<20 {
		t.Errorf("tight: limits %+v, cache %d; want %+v and 8MiB (the keys left out keep their defaults)", tight.Limits, tight.DNSCacheMaxBytes, want)
	}
	loose, _ := cfg.Module("loose")
	if loose.Limits != DefaultLimits || loose.DNSCacheMaxBytes != DefaultModule.DNSCacheMaxBytes {
		t.Errorf("loose: limits %+v, cache %d; want the defaults", loose.Limits, loose.DNSCacheMaxBytes)
	}
	if p := tight.Limits.Probes(); p.MXHosts != 4 || p.AddressesPerHost != DefaultLimits.AddressesPerHost {
		t.Errorf("the probes' limits %+v", p)
	}
	if b := tight.Limits.DNSBudget(); b.AnswerBytes != 512<<10 || b.Questions != DefaultLimits.DNSQuestions {
		t.Errorf("the DNS budget %+v", b)
	}
}

func TestBytes(t *testing.T) {
	for in, want := range map[string]Bytes{"0": 0, "65536": 64 << 10, "64KiB": 64 << 10, "2 MiB": 2 << 20, "1GiB": 1 << 30, "10B": 10} {
		got, err := ParseBytes(in)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2MB", "-1", "1.5MiB", "MiB", "99999999999GiB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) accepted", in)
		}
	}
	for b, want := range map[Bytes]string{0: "0B", 1000: "1000B", 64 << 10: "64KiB", 3 << 20: "3MiB", 1 << 30: "1GiB"} {
		if got := b.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(b), got, want)
		}
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

// FuzzParse: no input makes the config loader panic, and what loads
// has at least one module with at least one probe and a positive timeout.
func FuzzParse(f *testing.F) {
	f.Add(readExample(f))
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
