package smtp_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

func decode(text string) (smtp.Config, error) {
	var c smtp.Config
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

func TestConfigDefaults(t *testing.T) {
	c, err := decode("{}")
	if err != nil {
		t.Fatal(err)
	}
	want := smtp.Config{Session: smtpsession.Config{Port: 25, RelayTestRecipient: "postmaster@iana.org", MaxParallel: 8,
		ImplicitTLSPort: 465}, MinRSABits: 2048, MinECDSABits: 256}
	if !equalConfig(c, want) {
		t.Errorf("defaults %+v, want %+v", c, want)
	}
	if err := smtp.DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig does not validate: %v", err)
	}
}

// equalConfig compares configs, an empty RcptChecks equal to a nil one.
func equalConfig(a, b smtp.Config) bool {
	if !slices.Equal(a.Session.RcptChecks, b.Session.RcptChecks) {
		return false
	}
	a.Session.RcptChecks, b.Session.RcptChecks = nil, nil
	return reflect.DeepEqual(a, b)
}

func TestConfigValues(t *testing.T) {
	c, err := decode(`
ehlo_name: Probe.Example.COM.
port: 2525
rcpt_checks: [Postmaster, abuse, open_relay]
relay_test_recipient: relay-test@Example.NET
max_parallel: 2
implicit_tls: true
implicit_tls_port: 4465
min_rsa_bits: 3072
min_ecdsa_bits: 384
`)
	if err != nil {
		t.Fatal(err)
	}
	want := smtp.Config{Session: smtpsession.Config{EHLOName: "probe.example.com", Port: 2525,
		RcptChecks: []string{"postmaster", "abuse", "open_relay"}, RelayTestRecipient: "relay-test@example.net",
		MaxParallel: 2, ImplicitTLSPort: 4465}, ImplicitTLS: true, MinRSABits: 3072, MinECDSABits: 384}
	if !equalConfig(c, want) {
		t.Errorf("decoded %+v, want %+v", c, want)
	}
}

func TestConfigErrors(t *testing.T) {
	for text, want := range map[string]string{
		"ehlo_name: localhost":                      "smtp: ehlo_name \"localhost\": \"localhost\" has a single label",
		"ehlo_name: \"bad name.example\"":           "ehlo_name",
		"port: 0":                                   "smtp: port: 0 is not a port",
		"implicit_tls_port: 70000":                  "implicit_tls_port",
		"rcpt_checks: [postmaster, spam]":           `rcpt_checks[1]: "spam" is not one of postmaster, abuse, open_relay`,
		"rcpt_checks: [abuse, Abuse]":               `"abuse" is listed twice`,
		"relay_test_recipient: nobody":              "want local-part@domain",
		"relay_test_recipient: \"a b@example.com\"": `local part contains " "`,
		"relay_test_recipient: \"a>@example.com\"":  `local part contains ">"`,
		"relay_test_recipient: a..b@example.com":    "double dot",
		"relay_test_recipient: a@localhost":         "domain",
		"max_parallel: 0":                           "max_parallel 0: want 1 to 256",
		"min_rsa_bits: 512":                         "min_rsa_bits 512",
		"min_ecdsa_bits: 128":                       "min_ecdsa_bits 128",
		"unknown_key: 1":                            "field unknown_key not found",
	} {
		if _, err := decode(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", text, err, want)
		}
	}
}

func TestDescriber(t *testing.T) {
	p := smtp.New(smtp.DefaultConfig())
	if p.Name() != "smtp" {
		t.Errorf("Name() = %q", p.Name())
	}
	var ids []string
	for _, spec := range p.CheckSpecs() {
		ids = append(ids, spec.ID)
		if !spec.Level.Valid() || spec.Passing == "" {
			t.Errorf("%s: level %q, passing %q", spec.ID, spec.Level, spec.Passing)
		}
	}
	if !slices.Equal(ids, checkIDs) {
		t.Errorf("CheckSpecs ids = %q, want %q", ids, checkIDs)
	}
	// The levels of docs/checks.md.
	levels := map[string]string{
		"smtp.reachable": "must", "smtp.banner": "should", "smtp.helo": "must", "smtp.starttls": "must",
		"tls.version": "should", "tls.cert_trusted": "must", "tls.cert_name": "must", "tls.cert_expiry": "must",
		"tls.key_strength": "should", "smtp.no_plain_auth": "must", "smtp.no_auth_port25": "should",
		"smtp.postmaster": "must", "smtp.abuse": "should", "smtp.no_open_relay": "must",
		"dane.tlsa": "may", "dane.match": "must", "dane.rollover": "may", "smtps.implicit_tls": "may",
	}
	for _, spec := range p.CheckSpecs() {
		if string(spec.Level) != levels[spec.ID] {
			t.Errorf("%s level %q, want %q", spec.ID, spec.Level, levels[spec.ID])
		}
	}
	var names []string
	for _, spec := range p.MetricSpecs() {
		names = append(names, spec.Name)
		if !strings.HasSuffix(spec.Help, ".") || strings.Contains(spec.Help, "\n") {
			t.Errorf("%s: HELP %q is not a short sentence", spec.Name, spec.Help)
		}
		if spec.Labels[0] != "mx" {
			t.Errorf("%s: labels %q do not start with mx", spec.Name, spec.Labels)
		}
	}
	want := []string{"mail_smtp_up", "mail_smtp_starttls", "mail_tls_handshake_success", "mail_tls_cert_trusted",
		"mail_tls_cert_name_match", "probe_tls_version_info", "mail_tls_cipher_info", "probe_ssl_earliest_cert_expiry",
		"mail_tls_cert_not_before_timestamp_seconds", "mail_tls_cert_info", "mail_tls_key_bits",
		"mail_dane_tlsa_match", "mail_dane_tlsa_records", "mail_smtp_rcpt_code", "mail_smtps_up"}
	if !slices.Equal(names, want) {
		t.Errorf("MetricSpecs = %q, want %q", names, want)
	}
}
