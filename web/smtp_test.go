package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// TestSMTPProbeInTheModule runs a module with the smtp, spf and mtasts
// probes against an in-process STARTTLS server and an HTTPS policy host on
// loopback: the conversation is reported once, the SPF probe checks the
// HELO name the server gave and the MTA-STS probe judges the MX
// certificate from the same conversation, without connecting again.
// mailWorld is mail.test with one STARTTLS MX and an MTA-STS policy host in
// enforce mode, and the config of a module probing it; extra goes into the
// module.
func mailWorld(t *testing.T, extra string) (*testbed.SMTPServer, *collector.Modules) {
	server, yaml := mailWorldYAML(t, extra)
	return server, mustParse(t, yaml)
}

// mailWorldYAML is mailWorld with the config's text.
func mailWorldYAML(t *testing.T, extra string) (*testbed.SMTPServer, string) {
	t.Helper()
	ca, err := testbed.NewCA("collector test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(testbed.CertOptions{DNSNames: []string{"mx.mail.test"}})
	if err != nil {
		t.Fatal(err)
	}
	server := testbed.StartSMTP(t, "127.0.0.1:0", testbed.SMTPBehaviour{Hostname: "mx.mail.test", Certificate: &cert})
	policyCert, err := ca.Issue(testbed.CertOptions{DNSNames: []string{"mta-sts.mail.test"}})
	if err != nil {
		t.Fatal(err)
	}
	web := testbed.StartHTTPS(t, "127.0.0.1:0")
	web.SetSite("mta-sts.mail.test", testbed.HTTPSSite{Certificate: &policyCert,
		Body: "version: STSv1\r\nmode: enforce\r\nmx: mx.mail.test\r\nmax_age: 604800\r\n"})
	dnsSrv := testbed.StartDNS(t, `
$ORIGIN mail.test.
@    IN MX  10 mx
@    IN TXT "v=spf1 mx -all"
mx   IN A   127.0.0.1
mx   IN TXT "v=spf1 a -all"
_mta-sts IN TXT "v=STSv1; id=20261121T000000"
mta-sts  IN A   127.0.0.1
_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@mail.test"
$ORIGIN hosted.test.
@    IN MX  10 mx.mail.test.
$ORIGIN 0.0.127.in-addr.arpa.
1    IN PTR mx.mail.test.
`)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	// Several conversations with the one server follow each other within
	// a second here; the politeness bounds have tests of their own.
	yaml := fmt.Sprintf(`smtp_politeness: {connections_per_minute_per_address: 0}
modules:
  mail:
    timeout: 10s
    resolvers: [%q]
    ca_file: %s
    allowed_networks: [127.0.0.0/8, "::1/128"]
    spf: {}
    smtp: {port: %d, ehlo_name: probe.example.test, rcpt_checks: [postmaster, abuse, open_relay], implicit_tls: false}
    mtasts: {https_port: %d}
    tlsrpt: {}
%s`, dnsSrv.Addr, caFile, server.Port(), web.Port(), extra)
	return server, yaml
}

func TestSMTPProbeInTheModule(t *testing.T) {
	server, cfg := mailWorld(t, "")
	h, _ := newHandler(cfg)
	res := probe(t, h, "target=mail.test", nil)
	if res.code != http.StatusOK {
		t.Fatalf("%d %s", res.code, res.body)
	}
	for _, check := range []string{"smtp.reachable", "smtp.starttls", "tls.cert_trusted", "tls.cert_name", "smtp.helo",
		"mtasts.record", "mtasts.policy", "mtasts.mx_match", "mtasts.mode", "tlsrpt.present"} {
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
		t.Errorf("%d SMTP connections for one probe request, want 1 (shared by smtp, spf and mtasts)", n)
	}
	if v := res.mustValue(t, "mail_mtasts_mx_match", "mx", "mx.mail.test"); v != 1 {
		t.Errorf("mail_mtasts_mx_match = %v", v)
	}
	for _, c := range server.Commands() {
		if c == "DATA" {
			t.Fatal("DATA was sent")
		}
	}
}

// TestSMTPMinIntervalOpensPort25OncePerInterval: while the smtp probe's
// result is served again under its min_interval, spf.helo and MTA-STS's
// enforce-mode certificate check read the same conversations instead of
// connecting, and still pass.
func TestSMTPMinIntervalOpensPort25OncePerInterval(t *testing.T) {
	server, yaml := mailWorldYAML(t, "    min_interval: {smtp: 1h}\n")
	kept := probes.NewKept()
	cfg, err := parseModulesKept([]byte(yaml), kept)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := newHandler(cfg)
	for i := range 4 {
		if i == 2 {
			// A reload: the served smtp results and the conversations
			// beside them outlive it together.
			if cfg, err = parseModulesKept([]byte(yaml), kept); err != nil {
				t.Fatal(err)
			}
			h, _ = newHandler(cfg)
		}
		res := probe(t, h, "target=mail.test", nil)
		if res.code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, res.code, res.body)
		}
		for _, check := range []string{"smtp.starttls", "spf.helo", "mtasts.mx_match"} {
			if v := res.mustValue(t, "mail_check_success", "check", check); v != 1 {
				t.Errorf("request %d: %s = %v", i, check, v)
			}
		}
		if v := res.mustValue(t, "mail_spf_helo_record", "helo", "mx.mail.test"); v != 1 {
			t.Errorf("request %d: spf.helo lost the server's EHLO name: %v", i, v)
		}
		age := res.mustValue(t, "mail_probe_result_age_seconds", "probe", "smtp")
		if (i == 0) != (age == 0) {
			t.Errorf("request %d: smtp result age %v", i, age)
		}
	}
	if n := server.Connections(); n != 1 {
		t.Errorf("%d SMTP connections for 4 requests (and a reload) within the smtp min_interval, want 1", n)
	}

	// Without the interval every request talks to the server.
	server, cfg = mailWorld(t, "")
	h, _ = newHandler(cfg)
	for range 3 {
		probe(t, h, "target=mail.test", nil)
	}
	if n := server.Connections(); n != 3 {
		t.Errorf("%d SMTP connections for 3 requests without min_interval, want 3", n)
	}
}

// TestDomainsOnOneServerShareTheConversation: under the smtp min_interval a
// second domain whose mail goes to the same MX host is judged from the
// conversation held for the first, without connecting, and every report
// (text, JSON, HTML) says so and how old it is.
func TestDomainsOnOneServerShareTheConversation(t *testing.T) {
	server, yaml := mailWorldYAML(t, "    min_interval: {smtp: 1h}\n")
	yaml = strings.Replace(yaml, "rcpt_checks: [postmaster, abuse, open_relay]", "rcpt_checks: []", 1)
	cfg := mustParse(t, yaml)
	h, _ := newHandler(cfg)
	if res := probe(t, h, "target=mail.test", nil); res.code != http.StatusOK {
		t.Fatalf("%d %s", res.code, res.body)
	}
	res := probe(t, h, "target=hosted.test", nil)
	for _, check := range []string{"smtp.reachable", "smtp.starttls", "tls.cert_trusted", "tls.cert_name"} {
		if v := res.mustValue(t, "mail_check_success", "check", check); v != 1 {
			t.Errorf("hosted.test: %s = %v", check, v)
		}
	}
	if n := server.Connections(); n != 1 {
		t.Fatalf("%d SMTP connections for two domains on one MX host, want 1", n)
	}
	// The smtp probe's own result for hosted.test is new; what it judged
	// was held for mail.test.
	if age := res.mustValue(t, "mail_probe_result_age_seconds", "probe", "smtp"); age != 0 {
		t.Errorf("smtp result age %v for a domain probed for the first time", age)
	}

	debug := probe(t, h, "target=hosted.test&debug=true", nil)
	want := fmt.Sprintf("reused: SMTP conversation with mx.mail.test 127.0.0.1:%d, held for mail.test ", server.Port())
	if !strings.Contains(debug.body, want) {
		t.Errorf("the debug report does not say the conversation was held for mail.test (want %q):\n%s", want, debug.body)
	}

	m, _ := cfg.Module("mail")
	tgt, _ := probes.ParseTarget("hosted.test")
	report := m.Run(context.Background(), &probes.Request{Target: tgt}, collector.RunOptions{})
	var smtpProbe *JSONProbe
	doc := JSON(report)
	for i := range doc.Probes {
		if doc.Probes[i].Name == "smtp" {
			smtpProbe = &doc.Probes[i]
		}
	}
	if smtpProbe == nil || len(smtpProbe.Reused) != 1 {
		t.Fatalf("JSON smtp probe: %+v, want one reused conversation", smtpProbe)
	}
	u := smtpProbe.Reused[0]
	if u.HeldFor != "mail.test" || !u.OtherTarget || u.AgeSeconds < 0 || u.HeldAt.IsZero() ||
		!strings.HasPrefix(u.Fact, "SMTP conversation with mx.mail.test 127.0.0.1:") {
		t.Errorf("JSON reused %+v", u)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, report, 1, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `<p class="reused">Reused: SMTP conversation with mx.mail.test 127.0.0.1:`) ||
		!strings.Contains(page.String(), "held for mail.test") {
		t.Errorf("the HTML report does not say which conversation was reused:\n%s", page.String())
	}
	if n := server.Connections(); n != 1 {
		t.Errorf("%d SMTP connections after four requests of two domains on one MX host, want 1", n)
	}
}
