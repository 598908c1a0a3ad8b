package dnsbl_test

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
)

func decodeStrict(text string) (dnsbl.Config, error) {
	var cfg dnsbl.Config
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	err := dec.Decode(&cfg)
	return cfg, err
}

// TestDefaultConfig: DefaultConfig is the one copy of the default lists
// (config.example.yml shows them; package config's tests hold that file
// equal to the built-in default).
func TestDefaultConfig(t *testing.T) {
	cfg := dnsbl.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	if cfg.MaxConcurrency != dnsbl.DefaultMaxConcurrency || !cfg.CheckHealth {
		t.Errorf("max_concurrency %d, check_health %v; want %d, true", cfg.MaxConcurrency, cfg.CheckHealth, dnsbl.DefaultMaxConcurrency)
	}
	byZone := map[string]dnsbl.List{}
	for _, l := range cfg.Lists {
		byZone[l.Zone] = l
	}
	zen := byZone["zen.spamhaus.org"]
	if zen.Kind != dnsbl.KindIP || !zen.IPv6 || zen.Codes["127.0.0.10"] != "PBL" || zen.Codes["127.0.0.2"] != "SBL" {
		t.Errorf("zen.spamhaus.org = %+v", zen)
	}
	for _, code := range []string{"127.255.255.252", "127.255.255.254", "127.255.255.255"} {
		if zen.ErrorCodes[code] == "" || byZone["dbl.spamhaus.org"].ErrorCodes[code] == "" {
			t.Errorf("Spamhaus error code %s missing", code)
		}
	}
	if byZone["dbl.spamhaus.org"].ErrorCodes["127.0.1.255"] == "" {
		t.Error("DBL's 127.0.1.255 (IP query to a domain list) is not an error code")
	}
	if byZone["multi.uribl.com"].ErrorCodes["127.0.0.1"] == "" || byZone["multi.surbl.org"].ErrorCodes["127.0.0.1"] == "" {
		t.Error("URIBL/SURBL refusal code 127.0.0.1 missing")
	}
	if got := byZone["multi.surbl.org"].Codes["127.0.0.80"]; got != "MW+ABUSE" {
		t.Errorf("SURBL 127.0.0.80 = %q, want MW+ABUSE (16+64)", got)
	}
	if len(byZone["multi.surbl.org"].Codes) != 15 || len(byZone["multi.uribl.com"].Codes) != 7 {
		t.Errorf("bitmask combinations: SURBL %d (want 15), URIBL %d (want 7)",
			len(byZone["multi.surbl.org"].Codes), len(byZone["multi.uribl.com"].Codes))
	}
	if wl := byZone["list.dnswl.org"]; wl.Kind != dnsbl.KindAllow || wl.ErrorCodes["127.0.0.255"] == "" {
		t.Errorf("list.dnswl.org = %+v", wl)
	}
	if _, ok := byZone["b.barracudacentral.org"]; ok {
		t.Error("Barracuda needs a registered resolver; it must not be on by default")
	}
	// DefaultConfig returns fresh maps: changing one result leaves the next
	// alone.
	zen.Codes["127.0.0.2"] = "changed"
	if dnsbl.DefaultConfig().Lists[0].Codes["127.0.0.2"] != "SBL" {
		t.Error("DefaultConfig shares its maps between calls")
	}
}

func TestConfigEmptyBlockGetsDefaults(t *testing.T) {
	cfg, err := decodeStrict("{}")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, dnsbl.DefaultConfig()) {
		t.Errorf("{} decoded to %+v, want the defaults", cfg)
	}
}

func TestConfigPrivateAddresses(t *testing.T) {
	// Off by default, for every built-in list: no public list holds
	// private addresses. On for a list that asks for them.
	for _, l := range dnsbl.DefaultConfig().Lists {
		if l.PrivateAddresses {
			t.Errorf("%s: private_addresses on by default", l.Zone)
		}
	}
	cfg, err := decodeStrict("lists: [{zone: rbl.corp.example, kind: ip, private_addresses: true}, {zone: wl.corp.example, kind: allow, private_addresses: true}]")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Lists[0].PrivateAddresses || !cfg.Lists[1].PrivateAddresses {
		t.Errorf("decoded %+v", cfg.Lists)
	}
}

func TestConfigListsReplaceDefaults(t *testing.T) {
	cfg, err := decodeStrict(`
max_concurrency: 4
check_health: false
lists:
  - zone: ZEN.Spamhaus.org.
    kind: IP
    codes: {127.0.0.2: SBL}
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Lists) != 1 || cfg.MaxConcurrency != 4 || cfg.CheckHealth {
		t.Fatalf("decoded %+v", cfg)
	}
	if l := cfg.Lists[0]; l.Zone != "zen.spamhaus.org" || l.Kind != dnsbl.KindIP {
		t.Errorf("zone %q kind %q, want them normalised", l.Zone, l.Kind)
	}
}

func TestConfigRejects(t *testing.T) {
	for text, want := range map[string]string{
		"bogus: 1":              "bogus",
		"max_concurrency: 0":    "max_concurrency must be between 1 and 1024",
		"max_concurrency: 5000": "max_concurrency",
		// Issue 17 finding 7: an empty list set passed every must check
		// with nothing asked.
		"lists: []":                                                                                     "lists is empty, so nothing would be checked",
		"lists: [{kind: ip}]":                                                                           "lists[0]: zone is missing",
		"lists: [{zone: x.test}]":                                                                       "kind is missing",
		"lists: [{zone: x.test, kind: url}]":                                                            `kind "url"`,
		"lists: [{zone: 'bl..test', kind: ip}]":                                                         "empty label",
		"lists: [{zone: 'bl test', kind: ip}]":                                                          "bl test",
		"lists: [{zone: localhost, kind: ip}]":                                                          "single label",
		"lists: [{zone: x.test, kind: ip, zone2: y}]":                                                   "zone2",
		"lists: [{zone: x.test, kind: domain, ipv6: true}]":                                             "ipv6 applies to ip and allow lists",
		"lists: [{zone: x.test, kind: domain, private_addresses: true}]":                                "private_addresses applies to ip and allow lists",
		"lists: [{zone: x.test, kind: ip}, {zone: X.test, kind: domain}]":                               "zone x.test is already lists[0]",
		"lists: [{zone: x.test, kind: ip, codes: {10.0.0.2: SBL}}]":                                     "outside 127.0.0.0/8",
		"lists: [{zone: x.test, kind: ip, codes: {'::1': SBL}}]":                                        "not an IPv4 address",
		"lists: [{zone: x.test, kind: ip, codes: {127.0.0.256: SBL}}]":                                  "not an IPv4 address",
		"lists: [{zone: x.test, kind: ip, codes: {127.0.0.1: SBL}}]":                                    "belongs under error_codes",
		"lists: [{zone: x.test, kind: ip, codes: {127.0.0.2: ''}}]":                                     "no meaning",
		"lists: [{zone: x.test, kind: ip, codes: {127.0.0.2: \"a\\nb\"}}]":                              "printable",
		"lists: [{zone: x.test, kind: ip, codes: {127.0.0.2: SBL}, error_codes: {127.0.0.2: refused}}]": "both a listing code and an error code",
		"lists: [{zone: x.test, kind: ip, error_codes: {8.8.8.8: refused}}]":                            "error_codes: 8.8.8.8 is outside",
		"lists: [{zone: x.test, kind: ip, name: '" + strings.Repeat("n", 81) + "'}]":                    "at most 80",
		"lists: [{zone: " + strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + ".test, kind: ip}]": "exceed DNS's 253",
		"lists: {zone: x.test}":                             "cannot unmarshal",
		"mx_sends: sometimes":                               `mx_sends "sometimes": give auto, always or never`,
		"lists: [{zone: x.test, kind: ip, severity: page}]": `severity: "page": give critical, warning or info`,
		"lists: [{zone: x.test, kind: ip, codes: {127.0.0.2: SBL}, severities: {127.0.0.2: high}}]":           `severities: 127.0.0.2: "high"`,
		"lists: [{zone: x.test, kind: ip, codes: {127.0.0.2: SBL}, severities: {127.0.0.3: info}}]":           "severities: 127.0.0.3 is not in codes",
		"lists: [{zone: x.test, kind: ip, error_codes: {127.0.0.9: refused}, severities: {127.0.0.9: info}}]": "severities: 127.0.0.9 is not in codes",
		"lists: [{zone: x.test, kind: allow, severity: info}]":                                                "severity and severities apply to blocklists",
	} {
		_, err := decodeStrict(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n err = %v\n want it to mention %q", text, err, want)
			continue
		}
		// The decoder's own errors (unknown keys, wrong types) are the yaml
		// library's; the probe's are one line each.
		if strings.HasPrefix(err.Error(), "dnsbl:") && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", text, err)
		}
	}
}

func TestConfigTooManyLists(t *testing.T) {
	var b strings.Builder
	b.WriteString("lists:\n")
	for i := 0; i < 65; i++ {
		b.WriteString("  - {zone: l" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".test, kind: ip}\n")
	}
	if _, err := decodeStrict(b.String()); err == nil || !strings.Contains(err.Error(), "at most 64") {
		t.Errorf("65 lists: err = %v", err)
	}
}

func TestConfigInsideAModule(t *testing.T) {
	var module struct {
		DNSBL *dnsbl.Config `yaml:"dnsbl"`
	}
	dec := yaml.NewDecoder(strings.NewReader("dnsbl:\n  lists:\n    - {zone: zen.bl.test, kind: ip, ipv6: true}\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&module); err != nil {
		t.Fatal(err)
	}
	if module.DNSBL == nil || len(module.DNSBL.Lists) != 1 || !module.DNSBL.Lists[0].IPv6 || module.DNSBL.MaxConcurrency != dnsbl.DefaultMaxConcurrency {
		t.Errorf("decoded %+v", module.DNSBL)
	}
}

// TestConfigSeverities: each blocklist has a severity (critical when none
// is given) and its codes may have their own; the defaults follow the
// lists' documentation.
func TestConfigSeverities(t *testing.T) {
	cfg, err := decodeStrict(`
mx_sends: Never
lists:
  - {zone: bl.example, kind: ip, codes: {127.0.0.2: SBL, 127.0.0.10: PBL}, severities: {127.0.0.10: Warning}}
  - {zone: level2.example, kind: ip, severity: info}
  - {zone: wl.example, kind: allow}
`)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MXSends != dnsbl.MXSendsNever {
		t.Errorf("mx_sends %q, want never", cfg.MXSends)
	}
	if l := cfg.Lists[0]; l.Severity != dnsbl.SeverityCritical || l.Severities["127.0.0.10"] != dnsbl.SeverityWarning {
		t.Errorf("bl.example: severity %q, severities %v; want critical, PBL warning", l.Severity, l.Severities)
	}
	if l := cfg.Lists[1]; l.Severity != dnsbl.SeverityInfo {
		t.Errorf("level2.example: severity %q, want info", l.Severity)
	}
	if l := cfg.Lists[2]; l.Severity != "" {
		t.Errorf("an allowlist has severity %q", l.Severity)
	}

	byZone := map[string]dnsbl.List{}
	for _, l := range dnsbl.DefaultConfig().Lists {
		byZone[l.Zone] = l
		if l.Kind != dnsbl.KindAllow && l.Severity == "" {
			t.Errorf("%s has no severity", l.Zone)
		}
	}
	for _, tc := range []struct {
		zone, code string
		want       dnsbl.Severity
	}{
		{"zen.spamhaus.org", "127.0.0.2", dnsbl.SeverityCritical},  // SBL
		{"zen.spamhaus.org", "127.0.0.4", dnsbl.SeverityCritical},  // XBL
		{"zen.spamhaus.org", "127.0.0.10", dnsbl.SeverityWarning},  // PBL: policy
		{"zen.spamhaus.org", "127.0.0.11", dnsbl.SeverityWarning},  // PBL
		{"dbl.spamhaus.org", "127.0.1.2", dnsbl.SeverityCritical},  // spam domain
		{"dbl.spamhaus.org", "127.0.1.102", dnsbl.SeverityWarning}, // abused legit
		{"bl.spamcop.net", "127.0.0.2", dnsbl.SeverityWarning},     // tag, don't block
		{"multi.uribl.com", "127.0.0.2", dnsbl.SeverityCritical},   // black
		{"multi.uribl.com", "127.0.0.4", dnsbl.SeverityInfo},       // grey
		{"multi.uribl.com", "127.0.0.6", dnsbl.SeverityCritical},   // black+grey
		{"multi.uribl.com", "127.0.0.8", dnsbl.SeverityInfo},       // red
		{"multi.uribl.com", "127.0.0.12", dnsbl.SeverityInfo},      // grey+red
		{"multi.uribl.com", "127.0.0.14", dnsbl.SeverityCritical},  // black+grey+red
		{"multi.surbl.org", "127.0.0.64", dnsbl.SeverityCritical},  // ABUSE
	} {
		l := byZone[tc.zone]
		got := l.Severity
		if sev, ok := l.Severities[tc.code]; ok {
			got = sev
		}
		if got != tc.want {
			t.Errorf("%s %s (%s): severity %q, want %q", tc.zone, tc.code, l.Codes[tc.code], got, tc.want)
		}
	}
	if n := len(byZone["multi.uribl.com"].Severities); n != 3 {
		t.Errorf("URIBL has %d code severities, want 3 (grey, red, grey+red)", n)
	}
}
