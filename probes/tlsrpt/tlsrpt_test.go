package tlsrpt_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tlsrpt"
)

// zones publishes the real records of record_test.go at their real names
// (with MX records and loopback addresses of our own) and one situation
// per .test domain.
const zones = `
$ORIGIN google.com.
@            IN MX  10 smtp.google.com.
smtp         IN A   127.0.0.21
_smtp._tls   IN TXT "v=TLSRPTv1; rua=mailto:sts-reports@google.com"

$ORIGIN g.justice.gov.uk.
@            IN MX  10 mx
mx           IN A   127.0.0.22
_smtp._tls   IN TXT "v=TLSRPTv1;rua=mailto:tls-rua@mailcheck.service.ncsc.gov.uk"

$ORIGIN both.test.
@            IN MX  10 mx
mx           IN A   127.0.0.23
_smtp._tls   IN TXT "v=TLSRPTv1; rua=mailto:tls@both.test,https://reports.both.test/v1/tlsrpt"
_smtp._tls   IN TXT "google-site-verification=abc"

$ORIGIN split.test.
@            IN MX  10 mx
mx           IN A   127.0.0.24
_smtp._tls   IN TXT "v=TLSRPTv1; " "rua=mailto:tls@split.test"

$ORIGIN none.test.
@            IN MX  10 mx
mx           IN A   127.0.0.25

$ORIGIN two.test.
@            IN MX  10 mx
mx           IN A   127.0.0.26
_smtp._tls   IN TXT "v=TLSRPTv1; rua=mailto:a@two.test"
_smtp._tls   IN TXT "v=TLSRPTv1; rua=mailto:b@two.test"

$ORIGIN case.test.
@            IN MX  10 mx
mx           IN A   127.0.0.27
_smtp._tls   IN TXT "v=tlsrptv1; rua=mailto:a@case.test"

$ORIGIN norua.test.
@            IN MX  10 mx
mx           IN A   127.0.0.28
_smtp._tls   IN TXT "v=TLSRPTv1; ruf=mailto:a@norua.test"

$ORIGIN http.test.
@            IN MX  10 mx
mx           IN A   127.0.0.29
_smtp._tls   IN TXT "v=TLSRPTv1; rua=http://reports.http.test/tls,mailto:tls@http.test"

$ORIGIN onlybad.test.
@            IN MX  10 mx
mx           IN A   127.0.0.30
_smtp._tls   IN TXT "v=TLSRPTv1; rua=mailto:nobody"

$ORIGIN nullmx.test.
@            IN MX  0 .
_smtp._tls   IN TXT "v=TLSRPTv1; rua=mailto:a@nullmx.test"

$ORIGIN servfail.test.
@            IN MX  10 mx
mx           IN A   127.0.0.31
`

func run(t testing.TB, srv *testbed.DNSServer, target string) *probes.Result {
	t.Helper()
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	env := probetest.Env(client)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := tlsrpt.New(tlsrpt.DefaultConfig()).Run(ctx, &probes.Request{Target: tgt}, env)
	checks := res.Checks()
	if len(checks) != 1 || checks[0].ID != "tlsrpt.present" || checks[0].Level != probes.LevelShould {
		t.Fatalf("checks %+v", checks)
	}
	c := checks[0]
	if c.Reason == "" || strings.ContainsAny(c.Reason+c.Remediation+strings.Join(c.Evidence, ""), "\r\n") {
		t.Errorf("reason %q, remediation %q, evidence %q: not one line each", c.Reason, c.Remediation, c.Evidence)
	}
	if c.Status == probes.StatusFail && c.Remediation == "" {
		t.Errorf("failed without a remediation: %s", c.Reason)
	}
	for _, s := range res.Measurements() {
		if s.Name() != "mail_tlsrpt_destinations" || len(s.LabelValues) != 1 {
			t.Errorf("undeclared measurement %s%q", s.Name(), s.LabelValues)
		}
	}
	return res
}

func destinations(res *probes.Result) map[string]float64 {
	out := map[string]float64{}
	for _, s := range res.Measurements() {
		out[s.LabelValues[0]] = s.Value
	}
	return out
}

func TestProbe(t *testing.T) {
	srv := testbed.StartDNS(t, zones)
	srv.SetBehaviour("_smtp._tls.servfail.test", testbed.ServFail)
	for _, tc := range []struct {
		name, target string
		status       probes.Status
		reason       string
		remediation  string
		evidence     string
		mailto       float64
		https        float64
		measured     bool
		errors       string
	}{
		{name: "google.com", target: "google.com", status: probes.StatusPass, measured: true, mailto: 1,
			reason:   "_smtp._tls.google.com publishes v=TLSRPTv1 with 1 report destination: mailto:sts-reports@google.com",
			evidence: `_smtp._tls.google.com. TXT "v=TLSRPTv1; rua=mailto:sts-reports@google.com"`},
		{name: "g.justice.gov.uk, no space after the separator", target: "g.justice.gov.uk", status: probes.StatusPass, measured: true, mailto: 1,
			reason: "with 1 report destination: mailto:tls-rua@mailcheck.service.ncsc.gov.uk"},
		{name: "mailto and https, beside another TXT record", target: "both.test", status: probes.StatusPass, measured: true, mailto: 1, https: 1,
			reason: "with 2 report destinations: mailto:tls@both.test, https://reports.both.test/v1/tlsrpt"},
		{name: "a record in two strings", target: "split.test", status: probes.StatusPass, measured: true, mailto: 1,
			evidence: `_smtp._tls.split.test. TXT "v=TLSRPTv1; rua=mailto:tls@split.test"`},
		{name: "no record", target: "none.test", status: probes.StatusFail, measured: true,
			reason:      "_smtp._tls.none.test publishes no TLS-RPT record: sending MTAs do not report the TLS failures they meet",
			remediation: `publish "_smtp._tls.none.test. IN TXT \"v=TLSRPTv1; rua=mailto:tls-reports@none.test\""`,
			evidence:    "_smtp._tls.none.test. no TXT record (NXDOMAIN)"},
		{name: "two records", target: "two.test", status: probes.StatusFail, measured: true,
			reason:      "publishes 2 records that begin with v=TLSRPTv1; with more than one, reporters send no reports (RFC 8460 §3)",
			remediation: `replace them with one record that keeps their destinations: "_smtp._tls.two.test. IN TXT \"v=TLSRPTv1; rua=mailto:a@two.test,mailto:b@two.test\""`},
		{name: "the wrong case", target: "case.test", status: probes.StatusFail, measured: true,
			reason: `reporters discard "v=tlsrptv1; rua=mailto:a@case.test" because it does not begin with exactly "v=TLSRPTv1"`},
		{name: "no rua", target: "norua.test", status: probes.StatusFail, measured: true,
			reason: `the record at _smtp._tls.norua.test is not valid, so reporters send no reports: the record has no "rua=" field`},
		{name: "an http: destination beside a good one", target: "http.test", status: probes.StatusFail, measured: true, mailto: 1,
			reason:      `rua= of _smtp._tls.http.test lists 1 destination that reporters cannot use: "http://reports.http.test/tls": http: is not a report destination`,
			remediation: `publish "_smtp._tls.http.test. IN TXT \"v=TLSRPTv1; rua=mailto:tls@http.test\""`},
		{name: "no usable destination", target: "onlybad.test", status: probes.StatusFail, measured: true,
			reason:      "no report reaches anyone",
			remediation: `publish "_smtp._tls.onlybad.test. IN TXT \"v=TLSRPTv1; rua=mailto:tls-reports@onlybad.test\""`},
		{name: "null MX", target: "nullmx.test", status: probes.StatusSkip,
			reason: "nullmx.test receives no mail (null MX, RFC 7505)"},
		{name: "a domain that does not exist", target: "nxdomain.test", status: probes.StatusSkip,
			reason: "nxdomain.test does not exist (NXDOMAIN)"},
		{name: "SERVFAIL", target: "servfail.test", status: probes.StatusError, errors: "TLS-RPT record of servfail.test"},
		{name: "a host target", target: "mx.both.test:25", status: probes.StatusSkip,
			reason: "the target is one mail host (mx.both.test:25); TLS-RPT records belong to a mail domain"},
		{name: "an IP target", target: "192.0.2.1", status: probes.StatusSkip, reason: "the target is an IP address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, srv, tc.target)
			c, _ := res.Check("tlsrpt.present")
			if c.Status != tc.status || !strings.Contains(c.Reason, tc.reason) || !strings.Contains(c.Remediation, tc.remediation) {
				t.Errorf("%s (%s) remediation %q; want %s with %q, %q", c.Status, c.Reason, c.Remediation, tc.status, tc.reason, tc.remediation)
			}
			if tc.evidence != "" && !slices.ContainsFunc(c.Evidence, func(l string) bool { return strings.Contains(l, tc.evidence) }) {
				t.Errorf("evidence %q, want a line containing %q", c.Evidence, tc.evidence)
			}
			d := destinations(res)
			if tc.measured != (len(d) == 2) || d["mailto"] != tc.mailto || d["https"] != tc.https {
				t.Errorf("destinations %v, want mailto %v, https %v (measured: %v)", d, tc.mailto, tc.https, tc.measured)
			}
			errs := res.Errors()
			if tc.errors == "" && len(errs) > 0 || tc.errors != "" && !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.errors) }) {
				t.Errorf("errors %q, want %q", errs, tc.errors)
			}
		})
	}
}

func TestOneRound(t *testing.T) {
	// The record goes out beside the MX question: the MX hosts' addresses
	// make the second round, and the probe adds none.
	srv := testbed.StartDNS(t, zones)
	srv.SetLockstep(50 * time.Millisecond)
	res := run(t, srv, "google.com")
	if c, _ := res.Check("tlsrpt.present"); c.Status != probes.StatusPass {
		t.Fatalf("tlsrpt.present = %s (%s)", c.Status, c.Reason)
	}
	if rounds := srv.Rounds(); rounds != 2 {
		t.Errorf("%d rounds, want 2 (MX and TXT, then the MX host's addresses)", rounds)
	}
	if d := srv.Duplicates(); len(d) > 0 {
		t.Errorf("questions asked more than once: %v", d)
	}
}
