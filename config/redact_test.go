package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// TestRedactedYAML: the configuration in force reads back as the same
// configuration, with the keys of keyed blocklists replaced.
func TestRedactedYAML(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "private-ca.pem")
	ca, err := testbed.NewCA("redaction test CA")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	src := `modules:
  mail:
    timeout: 12s
    ca_file: ` + caFile + `
    mx: {}
    dnsbl:
      lists:
        - zone: zen.spamhaus.org
          kind: ip
        - zone: abcdefghijklmnopqrstu12345.zen.dq.spamhaus.net
          kind: ip
        - zone: 0123456789abcdef0123456789abcdef.combined.mail.abusix.zone
          kind: ip
        - zone: k3y0123456789abcdefgh.bl.example.net
          kind: domain
`
	cfg, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	if strings.Contains(text, "CERTIFICATE") {
		t.Errorf("the CA file's content is shown:\n%s", text)
	}
	for _, secret := range []string{"abcdefghijklmnopqrstu12345", "0123456789abcdef0123456789abcdef", "k3y0123456789abcdefgh"} {
		if strings.Contains(text, secret) {
			t.Errorf("the key %s is shown:\n%s", secret, text)
		}
	}
	for _, want := range []string{
		"zone: zen.spamhaus.org",
		"zone: <secret>.zen.dq.spamhaus.net",
		"zone: <secret>.combined.mail.abusix.zone",
		"zone: <secret>.bl.example.net",
		"ca_file: " + caFile, // a path, not its content
		"timeout: 12s",
		"dns_attempts: 3", // defaults are filled in: the config in force
	} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q:\n%s", want, text)
		}
	}

	// Without secrets, what /config shows is a configuration that loads
	// to the same modules.
	plain, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	shown, err := plain.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(shown), Redacted) {
		t.Errorf("the default configuration has nothing secret, but shows %s", Redacted)
	}
	again, err := Parse(shown)
	if err != nil {
		t.Fatalf("the shown default configuration does not load: %v\n%s", err, shown)
	}
	reshown, err := again.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	if string(reshown) != string(shown) {
		t.Errorf("the shown configuration loads as a different one:\n%s\n---\n%s", shown, reshown)
	}
}

// TestRedactSecretKeys covers keys a probe block does not have yet: a
// value under a name that says it is secret is never shown.
func TestRedactSecretKeys(t *testing.T) {
	var n yaml.Node
	src := "smtp:\n  auth_password: hunter2\n  api_token: t0k\n  access_key: AKIA1\n  client_secret: s\n  min_rsa_bits: 2048\n  empty_password: \"\"\n  password_file: /etc/exporter/relay.pass\n"
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	redactNode(&n)
	out, err := yaml.Marshal(&n)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "t0k", "AKIA1", ": s\n"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("%q shown:\n%s", secret, out)
		}
	}
	if !strings.Contains(string(out), "min_rsa_bits: 2048") || !strings.Contains(string(out), "password_file: /etc/exporter/relay.pass") || strings.Count(string(out), Redacted) != 4 {
		t.Errorf("redacted too much or too little:\n%s", out)
	}
}
