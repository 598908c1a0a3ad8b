package fixsafety_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/internal/fixsafety"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// zone is the DNS the rules ask: a mail domain with two MX hosts (mx1 with
// an IPv4 address only), a parked domain with a null MX.
const zone = `
$ORIGIN ex.test.
@          IN MX  10 mx1
@          IN MX  20 mx2
@          IN TXT "v=spf1 a:mx1.ex.test a:gone.ex.test -all"
mx1        IN A   192.0.2.1
mx2        IN A   192.0.2.2
mx2        IN AAAA 2001:db8::2
$ORIGIN parked.test.
@          IN MX  0 .
`

// check is a shorthand for a check of the report.
func check(id string, status probes.Status, reason, fix string, evidence ...string) fixsafety.Check {
	return fixsafety.Check{ID: id, Status: status, Reason: reason, Remediation: fix, Evidence: evidence}
}

const fail, pass = probes.StatusFail, probes.StatusPass

func TestRules(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	dmarcPublished := check("dmarc.present", pass, "_dmarc.ex.test publishes a DMARC record", "",
		`_dmarc.ex.test. TXT "v=DMARC1, p=reject, rua=mailto:dmarc@ex.test"`)
	for _, tc := range []struct {
		name   string
		checks []fixsafety.Check
		want   []string // check and rule of each finding
	}{
		{
			name: "TLSA for a host without STARTTLS",
			checks: []fixsafety.Check{
				check("smtp.starttls", fail, "mx2.ex.test 192.0.2.2:25 does not offer STARTTLS", "offer STARTTLS"),
				check("dane.tlsa", fail, "_25._tcp.mx2.ex.test publishes no TLSA records",
					"publish "+probes.ZoneLine("_25._tcp.mx2.ex.test", "TLSA", "3 1 1 <SHA-256 of the server's public key>")+" in the DNSSEC-signed zone of mx2.ex.test"),
			},
			want: []string{"dane.tlsa tlsa-without-starttls"},
		},
		{
			name: "TLSA for a host whose STARTTLS works, beside one whose does not",
			checks: []fixsafety.Check{
				check("smtp.starttls", fail, "the TLS handshake with mx1.ex.test 192.0.2.1:25 failed: EOF", "check the server"),
				check("dane.tlsa", fail, "no TLSA", "publish "+probes.ZoneLine("_25._tcp.mx2.ex.test", "TLSA", "3 1 1 abcd")),
			},
		},
		{
			name: "a DMARC fix that downgrades p=reject and drops rua",
			checks: []fixsafety.Check{dmarcPublished,
				check("dmarc.syntax", fail, "v=DMARC1, p=reject…: the version must be exactly DMARC1",
					"publish "+probes.ZoneTXT("_dmarc.ex.test", "v=DMARC1; p=none"))},
			want: []string{"dmarc.syntax dmarc-downgrade"},
		},
		{
			name: "a DMARC fix that keeps the intent",
			checks: []fixsafety.Check{dmarcPublished,
				check("dmarc.syntax", fail, "the version must be exactly DMARC1",
					"publish "+probes.ZoneTXT("_dmarc.ex.test", "v=DMARC1; p=reject; rua=mailto:dmarc@ex.test"))},
		},
		{
			name: "an MX to publish naming a host that does not exist",
			checks: []fixsafety.Check{check("mx.present", fail, "no MX",
				"publish "+probes.ZoneLine("ex.test", "MX", "10 mail.ex.test.")+" naming your mail server")},
			want: []string{"mx.present target-does-not-exist"},
		},
		{
			name: "MX and SRV records naming hosts that exist, published, removed or not offered",
			checks: []fixsafety.Check{
				check("mx.present", fail, "no MX", "publish "+probes.ZoneLine("ex.test", "MX", "10 mx1.ex.test.")),
				check("mx.hostname", fail, "an IP literal", "publish "+probes.ZoneLine("new.ex.test", "A", "192.0.2.9")+
					" and change the MX to "+probes.ZoneLine("ex.test", "MX", "10 new.ex.test.")),
				check("mx.resolves", fail, "gone.ex.test does not exist", "publish an address, or remove "+probes.ZoneLine("ex.test", "MX", "30 gone.ex.test.")),
				check("srv.client", fail, "no SRV", "publish "+probes.ZoneLine("_imap._tcp.ex.test", "SRV", "0 0 0 .")),
			},
		},
		{
			name: "an SRV record naming a host that does not exist",
			checks: []fixsafety.Check{check("srv.client", fail, "no SRV",
				"publish "+probes.ZoneLine("_submission._tcp.ex.test", "SRV", "0 1 587 mail.ex.test."))},
			want: []string{"srv.client target-does-not-exist"},
		},
		{
			name: "void terms: one whose name has records, one whose name has none",
			checks: []fixsafety.Check{check("spf.void_lookup_limit", fail, "3 void lookups",
				"remove or repair the terms whose names have no records: a:mx1.ex.test in ex.test (no AAAA for IPv6 clients); a:gone.ex.test in ex.test (NXDOMAIN); a:other.ex.test/24 in ex.test (NXDOMAIN)")},
			want: []string{"spf.void_lookup_limit void-term-has-records"},
		},
		{
			// The spf probe's words since issue 15: the terms with no
			// records at all to remove, the others to complete.
			name: "void terms to remove and terms to complete",
			checks: []fixsafety.Check{check("spf.void_lookup_limit", fail, "3 void lookups",
				"remove or repair the terms that match nothing (their lookups find no records): a:gone.ex.test in ex.test (NXDOMAIN); "+
					"for the terms whose names lack records of one family: a:mx1.ex.test in ex.test: publish AAAA records for mx1.ex.test")},
		},
		{
			name: "a term to remove whose name has records, in the spf probe's words since issue 15",
			checks: []fixsafety.Check{check("spf.void_lookup_limit", fail, "3 void lookups",
				"remove or repair the terms that match nothing (their lookups find no records): a:mx2.ex.test in ex.test (NXDOMAIN)")},
			want: []string{"spf.void_lookup_limit void-term-has-records"},
		},
		{
			name: "an Ed25519-named selector templated with k=rsa",
			checks: []fixsafety.Check{check("dkim.present", fail, "no key record at ed25519._domainkey.ex.test",
				"publish the public key, e.g. "+probes.ZoneTXT("ed25519._domainkey.ex.test", "v=DKIM1; k=rsa; p=<base64 public key>"))},
			want: []string{"dkim.present ed25519-as-rsa"},
		},
		{
			name: "a selector publishing an Ed25519 key templated with k=rsa",
			checks: []fixsafety.Check{check("dkim.key_valid", fail, "selector s1: p= is 30 bytes",
				"publish the key again, e.g. "+probes.ZoneTXT("s1._domainkey.ex.test", "v=DKIM1; k=rsa; p=<base64 public key>"),
				`s1._domainkey.ex.test. TXT "v=DKIM1; k=ed25519; p=AAAA"`)},
			want: []string{"dkim.key_valid ed25519-as-rsa"},
		},
		{
			name: "Ed25519 templates, and a real RSA key under an Ed25519 name",
			checks: []fixsafety.Check{
				check("dkim.present", fail, "no key", "e.g. "+probes.ZoneTXT("ed25519._domainkey.ex.test", "v=DKIM1; k=ed25519; p=<base64 of the 32-byte public key>")),
				check("dkim.key_valid", fail, "k=ed25519 with an RSA key", "publish "+probes.ZoneTXT("ed._domainkey.ex.test", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEB")),
			},
		},
		{
			name: "asking to publish a record the report shows published",
			checks: []fixsafety.Check{check("dkim.present", fail, "no key",
				"nothing; to make every signature fail, publish the revoked wildcard "+probes.ZoneTXT("*._domainkey.ex.test", "v=DKIM1; p="),
				`*._domainkey.ex.test. TXT "v=DKIM1; p="`)},
			want: []string{"dkim.present already-published"},
		},
		{
			name: "keeping one of two published records",
			checks: []fixsafety.Check{check("dmarc.syntax", fail, "2 records",
				"keep exactly one, e.g. "+probes.ZoneTXT("_dmarc.ex.test", "v=DMARC1; p=reject"),
				`_dmarc.ex.test. TXT "v=DMARC1; p=reject"`, `_dmarc.ex.test. TXT "v=DMARC1; p=none"`)},
		},
		{
			name: "reports to a domain that receives no mail",
			checks: []fixsafety.Check{check("dmarc.reports", fail, "no rua",
				"publish "+probes.ZoneTXT("_dmarc.parked.test", "v=DMARC1; p=reject; rua=mailto:dmarc-reports@parked.test"))},
			want: []string{"dmarc.reports reports-to-null-mx"},
		},
		{
			name: "reports to a domain that receives mail",
			checks: []fixsafety.Check{check("tlsrpt.present", fail, "no record",
				"publish "+probes.ZoneTXT("_smtp._tls.ex.test", "v=TLSRPTv1; rua=mailto:tls-reports@ex.test"))},
		},
		{
			name: "two fixes that give a name different addresses",
			checks: []fixsafety.Check{
				check("mx.hostname", fail, "an IP literal", "publish "+probes.ZoneLine("mail.ex.test", "A", "192.0.2.30")),
				check("ptr.role_label", fail, "no role label", "published with "+probes.ZoneLine("mail.ex.test", "A", "198.51.100.77")),
			},
			want: []string{"mx.hostname+ptr.role_label conflicting-addresses"},
		},
		{
			name: "an address added to a name that resolves elsewhere",
			checks: []fixsafety.Check{check("ptr.fcrdns", fail, "PTR mx1.ex.test of 198.51.100.8 does not resolve back",
				"publish "+probes.ZoneLine("mx1.ex.test", "A", "198.51.100.8")+" if that name is yours")},
			want: []string{"ptr.fcrdns address-added-to-name-in-use"},
		},
		{
			name: "addresses a name has, a new name, another family, and a name to use only if it is free",
			checks: []fixsafety.Check{
				check("ptr.role_label", fail, "no role label", "published with "+probes.ZoneLine("mx1.ex.test", "A", "192.0.2.1")),
				check("mx.hostname", fail, "an IP literal", "publish "+probes.ZoneLine("new.ex.test", "A", "192.0.2.9")),
				check("ptr.fcrdns", fail, "no AAAA", "publish "+probes.ZoneLine("mx1.ex.test", "AAAA", "2001:db8::9")+" if that name is yours"),
				check("ptr.not_generic", fail, "generic", "published with "+probes.ZoneLine("mx2.ex.test", "A", "192.0.2.77")+
					", if that name is not in use yet (else another new name of yours)"),
			},
		},
		{
			name: "one fix naming a host with two addresses",
			checks: []fixsafety.Check{check("ptr.role_label", fail, "no role label",
				"published with "+probes.ZoneLine("mail.ex.test", "A", "192.0.2.30")+"; published with "+probes.ZoneLine("mail.ex.test", "A", "192.0.2.31"))},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			found := fixsafety.Audit(fixsafety.Report{Target: "ex.test", Checks: tc.checks}, fixsafety.Resolver{Addr: srv.Addr})
			var got []string
			for _, f := range found {
				got = append(got, f.Check+" "+f.Rule)
				if f.Why == "" || f.Fix == "" || f.Target != "ex.test" {
					t.Errorf("finding without its reason or fix: %+v", f)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings %q, want %q:\n%v", got, tc.want, found)
			}
		})
	}
}

func TestMergedFindingsSayEverything(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	found := fixsafety.Audit(fixsafety.Report{Target: "ex.test", Checks: []fixsafety.Check{
		check("dmarc.present", pass, "", "", `_dmarc.ex.test. TXT "v=DMARC1; p=reject; rua=mailto:dmarc@ex.test"`),
		check("dmarc.syntax", fail, "", "publish "+probes.ZoneTXT("_dmarc.ex.test", "v=DMARC1; p=none")),
	}}, fixsafety.Resolver{Addr: srv.Addr})
	if len(found) != 1 || !strings.Contains(found[0].Why, "proposes p=none") || !strings.Contains(found[0].Why, "drops them") {
		t.Errorf("findings %v, want one naming the downgrade and the dropped reports", found)
	}
}

func TestFromJSON(t *testing.T) {
	reports, err := fixsafety.FromJSON([]byte(`{"schema_version": 1, "reports": [{"target": {"input": "ex.test"}, "probes": [
		{"name": "dkim", "checks": [{"id": "dkim.present", "status": "fail", "reason": "r", "remediation": "f", "evidence": ["e"]}],
		 "details": [{"title": "t", "lines": ["l1", "l2"]}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := fixsafety.Report{Target: "ex.test", Checks: []fixsafety.Check{{Probe: "dkim", ID: "dkim.present", Status: probes.StatusFail,
		Reason: "r", Remediation: "f", Evidence: []string{"e"}}}, Details: []string{"l1", "l2"}}
	if len(reports) != 1 || reports[0].Target != want.Target || !slices.Equal(reports[0].Details, want.Details) ||
		len(reports[0].Checks) != 1 || reports[0].Checks[0].Status != fail || reports[0].Checks[0].Evidence[0] != "e" {
		t.Errorf("FromJSON = %+v, want %+v", reports, want)
	}
	if _, err := fixsafety.FromJSON([]byte(`{"reports": [{"probes": [{"checks": [{"status": "maybe"}]}]}]}`)); err == nil {
		t.Error("an unknown status was accepted")
	}
}
