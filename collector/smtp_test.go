package collector

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// TestSMTPProbeInTheModule runs a module with the smtp probe against an
// in-process STARTTLS server on loopback: the conversation is reported, and
// the SPF probe checks the HELO name the server gave without connecting
// again.
func TestSMTPProbeInTheModule(t *testing.T) {
	ca, err := testbed.NewCA("collector test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(testbed.CertOptions{DNSNames: []string{"mx.mail.test"}})
	if err != nil {
		t.Fatal(err)
	}
	server := testbed.StartSMTP(t, "127.0.0.1:0", testbed.SMTPBehaviour{Hostname: "mx.mail.test", Certificate: &cert})
	dnsSrv := testbed.StartDNS(t, `
$ORIGIN mail.test.
@    IN MX  10 mx
@    IN TXT "v=spf1 mx -all"
mx   IN A   127.0.0.1
mx   IN TXT "v=spf1 a -all"
$ORIGIN 0.0.127.in-addr.arpa.
1    IN PTR mx.mail.test.
`)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, fmt.Sprintf(`modules:
  mail:
    timeout: 10s
    resolvers: [%q]
    ca_file: %s
    spf: {}
    smtp: {port: %d, ehlo_name: probe.example.test, rcpt_checks: [postmaster, abuse, open_relay], implicit_tls: false}
`, dnsSrv.Addr, caFile, server.Port()))
	h, _ := newHandler(cfg)
	res := probe(t, h, "target=mail.test", nil)
	if res.code != http.StatusOK {
		t.Fatalf("%d %s", res.code, res.body)
	}
	for _, check := range []string{"smtp.reachable", "smtp.starttls", "tls.cert_trusted", "tls.cert_name", "smtp.helo"} {
		if v, ok := res.value("mail_check_success", "check", check); !ok || v != 1 {
			t.Errorf("%s = %v (present %v)\n%s", check, v, ok, res.body)
		}
	}
	if v := res.mustValue(t, "mail_smtp_up", "mx", "mx.mail.test", "ip", "127.0.0.1"); v != 1 {
		t.Errorf("mail_smtp_up = %v", v)
	}
	if v := res.mustValue(t, "mail_spf_helo_record", "helo", "mx.mail.test"); v != 1 {
		t.Errorf("spf.helo did not check the server's EHLO name: %v", v)
	}
	if v := res.mustValue(t, "mail_check_success", "check", "spf.helo"); v != 1 {
		t.Errorf("spf.helo = %v", v)
	}
	if n := server.Connections(); n != 1 {
		t.Errorf("%d SMTP connections for one probe request, want 1 (shared by smtp and spf)", n)
	}
	for _, c := range server.Commands() {
		if c == "DATA" {
			t.Fatal("DATA was sent")
		}
	}
}
