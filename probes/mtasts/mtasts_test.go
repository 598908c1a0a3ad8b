package mtasts_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
)

// zones is the DNS of the test world. gmail.com and outlook.com are
// published as they are, with their addresses moved to loopback: the
// _mta-sts record of gmail.com is the one KumoMTA's live-DNS test snapshot
// shows (see record_test.go), its MX hosts are Google's well-known
// gmail-smtp-in.l.google.com and alt1.gmail-smtp-in.l.google.com, and
// outlook.com's MX host is outlook-com.olc.protection.outlook.com;
// outlook.com's TXT id is made up. The .test domains each show one
// situation. Every policy host is 127.0.0.1, where the test HTTPS server
// tells them apart by SNI; nothing listens on 127.0.0.9.
const zones = `
$ORIGIN gmail.com.
$TTL 3600
@             IN MX  5 gmail-smtp-in.l.google.com.
@             IN MX  10 alt1.gmail-smtp-in.l.google.com.
_mta-sts      IN TXT "v=STSv1; id=20190429T010101;"
mta-sts       IN A   127.0.0.1

$ORIGIN l.google.com.
gmail-smtp-in      IN A 127.0.0.21
alt1.gmail-smtp-in IN A 127.0.0.22

$ORIGIN outlook.com.
@             IN MX  10 outlook-com.olc.protection.outlook.com.
_mta-sts      IN TXT "v=STSv1; id=20190430T000000;"
mta-sts       IN A   127.0.0.1
outlook-com.olc.protection IN A 127.0.0.23

$ORIGIN uncovered.test.
@             IN MX  10 mx1
@             IN MX  20 mx2
mx1           IN A   127.0.0.31
mx2           IN A   127.0.0.32
_mta-sts      IN TXT "v=STSv1; id=1"
mta-sts       IN A   127.0.0.1

$ORIGIN deep.test.
@             IN MX  10 mx1.mx
@             IN MX  20 a.b.mx
mx1.mx        IN A   127.0.0.33
a.b.mx        IN A   127.0.0.34
_mta-sts      IN TXT "v=STSv1; id=1"
mta-sts       IN A   127.0.0.1

$ORIGIN crlf.test.
@             IN MX  10 mail
@             IN MX  20 backup
mail          IN A   127.0.0.35
backup        IN A   127.0.0.36
_mta-sts      IN TXT "v=STSv1; id=20160831085700Z;"
mta-sts       IN CNAME policy.hosting.test.

$ORIGIN hosting.test.
policy        IN A   127.0.0.1

$ORIGIN nomx.test.
@             IN A   127.0.0.37
_mta-sts      IN TXT "v=STSv1; id=1"
mta-sts       IN A   127.0.0.1

$ORIGIN nullmx.test.
@             IN MX  0 .
_mta-sts      IN TXT "v=STSv1; id=1"

$ORIGIN nohost.test.
@             IN MX  10 mx
mx            IN A   127.0.0.38
_mta-sts      IN TXT "v=STSv1; id=1"

$ORIGIN notxt.test.
@             IN MX  10 mx
mx            IN A   127.0.0.39
mta-sts       IN A   127.0.0.1

$ORIGIN nothing.test.
@             IN MX  10 mx
mx            IN A   127.0.0.40

$ORIGIN refused.test.
@             IN MX  10 mx
mx            IN A   127.0.0.41
_mta-sts      IN TXT "v=STSv1; id=1"
mta-sts       IN A   127.0.0.9

$ORIGIN two.test.
@             IN MX  10 mx
mx            IN A   127.0.0.42
_mta-sts      IN TXT "v=STSv1; id=1"
_mta-sts      IN TXT "v=STSv1; id=2"
mta-sts       IN A   127.0.0.1

$ORIGIN badid.test.
@             IN MX  10 mx
mx            IN A   127.0.0.43
_mta-sts      IN TXT "v=STSv1; id=2024-01-01"
mta-sts       IN A   127.0.0.1

$ORIGIN misfit.test.
@             IN MX  10 mx
mx            IN A   127.0.0.44
_mta-sts      IN TXT "V=STSv1; id=1"
_mta-sts      IN TXT "google-site-verification=abc"

$ORIGIN servfail.test.
@             IN MX  10 mx
mx            IN A   127.0.0.45
_mta-sts      IN TXT "v=STSv1; id=1"
mta-sts       IN A   127.0.0.1
`

// fetchDomains share one shape: one MX host, a record, a policy host on
// 127.0.0.1; their policy hosts serve what each case sets.
var fetchDomains = []string{
	"redirect.test", "notfound.test", "big.test", "endless.test", "html.test", "notype.test",
	"expired.test", "wrongname.test", "selfsigned.test", "stall.test", "toolong.test",
	"short.test", "none.test", "testing.test", "garbage.test", "dupes.test",
}

func allZones() []string {
	var b strings.Builder
	for i, d := range fetchDomains {
		fmt.Fprintf(&b, "$ORIGIN %s.\n@ IN MX 10 mx\nmx IN A 127.0.1.%d\n_mta-sts IN TXT \"v=STSv1; id=1\"\nmta-sts IN A 127.0.0.1\n", d, i+1)
	}
	return []string{zones, b.String()}
}

// simplePolicy is an enforce policy covering the MX host of a fetch domain.
func simplePolicy(domain string) string {
	return "version: STSv1\nmode: enforce\nmx: mx." + domain + "\nmax_age: 604800\n"
}

// bigPolicy is a valid policy padded with extension lines to 100 KiB.
func bigPolicy() string {
	var b strings.Builder
	b.WriteString(simplePolicy("big.test"))
	for i := 0; b.Len() < 100<<10; i++ {
		fmt.Fprintf(&b, "x-pad%d: %s\n", i, strings.Repeat("p", 60))
	}
	return b.String()
}

// serveWorld starts the world with every site of the table below.
func serveWorld(t testing.TB) *world {
	w := newWorld(t, allZones()...)
	w.dns.SetBehaviour("_mta-sts.servfail.test", testbed.ServFail)
	w.policy("gmail.com", gmailPolicy)
	w.policy("outlook.com", outlookPolicy)
	w.policy("uncovered.test", "version: STSv1\nmode: enforce\nmx: mx1.uncovered.test\nmax_age: 604800\n")
	w.policy("deep.test", "version: STSv1\nmode: enforce\nmx: *.mx.deep.test\nmax_age: 604800\n")
	// RFC 8461 §3.2's example policy, moved to crlf.test, served with CRLF
	// line ends and a charset by a host the policy name is an alias of.
	w.site("mta-sts.crlf.test", testbed.HTTPSSite{ContentType: "text/plain; charset=utf-8",
		Body: strings.ReplaceAll(strings.ReplaceAll(rfcPolicy, "example.com", "crlf.test"), "*.example.net", "*.crlf.test")})
	w.policy("nomx.test", "version: STSv1\nmode: enforce\nmx: nomx.test\nmax_age: 604800\n")
	w.policy("notxt.test", simplePolicy("notxt.test"))
	w.policy("two.test", simplePolicy("two.test"))
	w.policy("badid.test", simplePolicy("badid.test"))
	w.policy("servfail.test", simplePolicy("servfail.test"))

	w.site("mta-sts.redirect.test", testbed.HTTPSSite{Location: "https://www.redirect.test/mta-sts.txt"})
	w.site("mta-sts.notfound.test", testbed.HTTPSSite{Status: 404, ContentType: "text/html", Body: "<h1>Not Found</h1>"})
	w.site("mta-sts.big.test", testbed.HTTPSSite{Body: bigPolicy()})
	w.site("mta-sts.endless.test", testbed.HTTPSSite{Body: simplePolicy("endless.test"), Endless: true})
	w.site("mta-sts.html.test", testbed.HTTPSSite{ContentType: "text/html; charset=utf-8", Body: simplePolicy("html.test")})
	w.site("mta-sts.notype.test", testbed.HTTPSSite{NoContentType: true, Body: simplePolicy("notype.test")})
	w.site("mta-sts.expired.test", testbed.HTTPSSite{Body: simplePolicy("expired.test"), Certificate: mint(t, testbed.CertOptions{
		DNSNames: []string{"mta-sts.expired.test"}, NotBefore: expiredFrom, NotAfter: expiredUntil})})
	w.site("mta-sts.wrongname.test", testbed.HTTPSSite{Body: simplePolicy("wrongname.test"), Certificate: certFor(t, "www.wrongname.test", "wrongname.test")})
	w.site("mta-sts.selfsigned.test", testbed.HTTPSSite{Body: simplePolicy("selfsigned.test"), Certificate: mint(t, testbed.CertOptions{
		DNSNames: []string{"mta-sts.selfsigned.test"}, SelfSigned: true})})
	w.site("mta-sts.stall.test", testbed.HTTPSSite{Stall: true})
	w.policy("toolong.test", "version: STSv1\nmode: enforce\nmx: mx.toolong.test\nmax_age: 99999999\n")
	w.policy("short.test", "version: STSv1\nmode: enforce\nmx: mx.short.test\nmax_age: 3600\n")
	w.policy("none.test", "version: STSv1\nmode: none\nmax_age: 86400\n")
	w.policy("testing.test", "version: STSv1\nmode: testing\nmx: *.other.test\nmax_age: 86400\n")
	w.policy("garbage.test", "version: STSv1\nmode: Enforce\nmx: mx.garbage.test\nmax_age: 86400\n")
	w.policy("dupes.test", "version: STSv1\nmode: enforce\nmode: testing\nmx: mx.dupes.test\nmax_age: 86400\nmax_age: 1\n")
	return w
}

// The expired certificate's dates, whole seconds so the gauge compares.
var (
	expiredFrom  = time.Now().Add(-90 * 24 * time.Hour).Truncate(time.Second)
	expiredUntil = time.Now().Add(-24 * time.Hour).Truncate(time.Second)
)

type probeCase struct {
	name   string
	target string
	cfg    func(*mtasts.Config)
	expect
	// check asserts what the table cannot say.
	check func(*testing.T, *probes.Result)
}

func TestProbe(t *testing.T) {
	w := serveWorld(t)
	noPolicy := []string{"mail_mtasts_policy_info", "mail_mtasts_max_age_seconds", "mail_mtasts_mx_match"}
	for _, tc := range []probeCase{
		{
			name:   "gmail.com: a good enforce policy",
			target: "gmail.com",
			expect: expect{
				checks: statuses(pass, "mtasts.id_changed", skip),
				reasons: map[string]string{
					"mtasts.record":     "_mta-sts.gmail.com publishes v=STSv1 with id=20190429T010101",
					"mtasts.policy":     "https://mta-sts.gmail.com/.well-known/mta-sts.txt serves a valid policy: mode enforce, max_age 86400, 2 mx patterns",
					"mtasts.mx_match":   "2 MX hosts match the policy's mx patterns (mx: gmail-smtp-in.l.google.com, mx: *.gmail-smtp-in.l.google.com); certificates not checked: the module has no smtp: block",
					"mtasts.mode":       "mode enforce",
					"mtasts.max_age":    "max_age 86400 (1 day) is at least 86400 (1 day)",
					"mtasts.id_changed": "first sight of gmail.com's policy (id 20190429T010101, policy digest e1e863f553ee866f) since the exporter started: remembered for the next probe",
				},
				evidence: map[string]string{
					"mtasts.record":   `_mta-sts.gmail.com. TXT "v=STSv1; id=20190429T010101;"`,
					"mtasts.policy":   "HTTP 200 OK, Content-Type: \"text/plain\", 108 bytes",
					"mtasts.mx_match": "alt1.gmail-smtp-in.l.google.com matches mx: *.gmail-smtp-in.l.google.com",
				},
				metrics: []metric{
					m("mail_mtasts_policy_info", 1, "enforce"),
					m("mail_mtasts_max_age_seconds", 86400),
					m("mail_mtasts_mx_match", 1, "gmail-smtp-in.l.google.com"),
					m("mail_mtasts_mx_match", 1, "alt1.gmail-smtp-in.l.google.com"),
				},
			},
		},
		{
			name:   "outlook.com: testing mode",
			target: "outlook.com",
			expect: expect{
				checks: statuses(pass, "mtasts.mode", fail, "mtasts.id_changed", skip),
				reasons: map[string]string{
					"mtasts.mode":     "mode testing: senders report TLS failures (TLS-RPT) but still deliver",
					"mtasts.mx_match": "1 MX host matches the policy's mx patterns (mx: *.olc.protection.outlook.com); mode testing: under enforce none of them would be left out for its name; certificates are checked here in enforce mode only",
					"mtasts.max_age":  "max_age 604800 (7 days)",
				},
				remediations: map[string]string{
					"mtasts.mode": `serve "version: STSv1\nmode: enforce\nmx: *.olc.protection.outlook.com\nmax_age: 604800\n", then publish a new id: "_mta-sts.outlook.com. IN TXT \"v=STSv1; id=`,
				},
				metrics: []metric{
					m("mail_mtasts_policy_info", 1, "testing"),
					m("mail_mtasts_mx_match", 1, "outlook-com.olc.protection.outlook.com"),
				},
			},
		},
		{
			name:   "an MX host the policy does not cover",
			target: "uncovered.test",
			expect: expect{
				checks: statuses(pass, "mtasts.mx_match", fail, "mtasts.id_changed", skip),
				reasons: map[string]string{
					"mtasts.mx_match": "mx2.uncovered.test matches no mx: pattern of the policy (mx: mx1.uncovered.test): senders enforcing it do not deliver there (RFC 8461 §4.1)",
				},
				remediations: map[string]string{
					"mtasts.mx_match": `serve "version: STSv1\nmode: enforce\nmx: mx1.uncovered.test\nmx: mx2.uncovered.test\nmax_age: 604800\n", then publish a new id: "_mta-sts.uncovered.test. IN TXT`,
				},
				evidence: map[string]string{"mtasts.mx_match": "mx2.uncovered.test matches no mx: pattern"},
				metrics: []metric{
					m("mail_mtasts_mx_match", 1, "mx1.uncovered.test"),
					m("mail_mtasts_mx_match", 0, "mx2.uncovered.test"),
				},
			},
		},
		{
			name:   "a wildcard covers one label, not two",
			target: "deep.test",
			expect: expect{
				checks:   statuses(pass, "mtasts.mx_match", fail, "mtasts.id_changed", skip),
				reasons:  map[string]string{"mtasts.mx_match": "a.b.mx.deep.test matches no mx: pattern of the policy (mx: *.mx.deep.test)"},
				evidence: map[string]string{"mtasts.mx_match": "mx1.mx.deep.test matches mx: *.mx.deep.test"},
				metrics: []metric{
					m("mail_mtasts_mx_match", 1, "mx1.mx.deep.test"),
					m("mail_mtasts_mx_match", 0, "a.b.mx.deep.test"),
				},
			},
		},
		{
			name:   "RFC 8461's example policy with CRLF line ends, behind an alias",
			target: "crlf.test",
			expect: expect{
				checks: statuses(pass, "mtasts.id_changed", skip),
				reasons: map[string]string{
					"mtasts.policy":   "mode enforce, max_age 604800, 3 mx patterns",
					"mtasts.mx_match": "2 MX hosts match",
				},
				evidence: map[string]string{
					"mtasts.policy": "version: STSv1, mode: enforce, max_age: 604800, CRLF line ends",
					"mtasts.record": "_mta-sts.crlf.test. TXT",
				},
			},
			check: func(t *testing.T, res *probes.Result) {
				c, _ := res.Check("mtasts.policy")
				if !slices.ContainsFunc(c.Evidence, func(l string) bool {
					return strings.Contains(l, `Content-Type: "text/plain; charset=utf-8"`)
				}) || !slices.Contains(c.Evidence, "mta-sts.crlf.test. CNAME policy.hosting.test.") {
					t.Errorf("evidence %q", c.Evidence)
				}
			},
		},
		{
			name:   "no MX: the domain itself is matched",
			target: "nomx.test",
			// Its implicit MX is a mail host like any MX host: without an
			// smtp block, its certificate is not checked.
			expect: expect{
				checks:   statuses(pass, "mtasts.id_changed", skip),
				reasons:  map[string]string{"mtasts.mx_match": "1 MX host matches the policy's mx patterns (mx: nomx.test); certificates not checked: the module has no smtp: block"},
				evidence: map[string]string{"mtasts.mx_match": "nomx.test publishes no MX record: senders deliver to nomx.test itself"},
				metrics:  []metric{m("mail_mtasts_mx_match", 1, "nomx.test")},
			},
		},
		{
			name:   "a redirect is not followed",
			target: "redirect.test",
			expect: expect{
				checks: statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons: map[string]string{
					"mtasts.policy":     `https://mta-sts.redirect.test/.well-known/mta-sts.txt redirects (301) to "https://www.redirect.test/mta-sts.txt"; senders do not follow redirects (RFC 8461 §3.3)`,
					"mtasts.mx_match":   "no policy was fetched",
					"mtasts.id_changed": "no policy was fetched",
				},
				remediations: map[string]string{
					"mtasts.policy": `serve the policy at that exact address instead of redirecting: serves https://mta-sts.redirect.test/.well-known/mta-sts.txt with status 200, Content-Type text/plain, no redirect, over HTTPS with a certificate for mta-sts.redirect.test from a public CA, this policy: "version: STSv1\nmode: testing\nmx: mx.redirect.test\nmax_age: 604800\n"`,
				},
				evidence: map[string]string{"mtasts.policy": `HTTP 301 Moved Permanently, Content-Type: "text/plain", Location: "https://www.redirect.test/mta-sts.txt"`},
				absent:   noPolicy,
			},
		},
		{
			name:   "404",
			target: "notfound.test",
			expect: expect{
				checks:       statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons:      map[string]string{"mtasts.policy": "https://mta-sts.notfound.test/.well-known/mta-sts.txt answers 404 Not Found instead of 200"},
				remediations: map[string]string{"mtasts.policy": "with status 200, Content-Type text/plain"},
				absent:       noPolicy,
			},
		},
		{
			name:   "a 100 KiB policy",
			target: "big.test",
			expect: expect{
				checks:   statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons:  map[string]string{"mtasts.policy": "the policy at https://mta-sts.big.test/.well-known/mta-sts.txt is larger than 65536 bytes (max_body_bytes); senders stop reading at 64 KiB"},
				evidence: map[string]string{"mtasts.policy": "HTTP 200 OK, Content-Type: \"text/plain\", more than 65536 bytes"},
				absent:   noPolicy,
			},
		},
		{
			name:   "an endless policy",
			target: "endless.test",
			expect: expect{
				checks:  statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons: map[string]string{"mtasts.policy": "is larger than 65536 bytes"},
			},
		},
		{
			name:   "a larger limit lets the 100 KiB policy through",
			target: "big.test",
			cfg:    func(c *mtasts.Config) { c.MaxBodyBytes = 200 << 10 },
			expect: expect{
				checks:  statuses(pass, "mtasts.id_changed", skip),
				reasons: map[string]string{"mtasts.policy": "serves a valid policy"},
			},
		},
		{
			name:   "served as HTML",
			target: "html.test",
			expect: expect{
				checks:  statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons: map[string]string{"mtasts.policy": `is served with Content-Type "text/html; charset=utf-8", not text/plain; senders want text/plain (RFC 8461 §3.3)`},
			},
		},
		{
			name:   "served without a content type",
			target: "notype.test",
			expect: expect{
				checks:  statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons: map[string]string{"mtasts.policy": "is served with no Content-Type header"},
			},
		},
		{
			name:   "an expired certificate on the policy host",
			target: "expired.test",
			expect: expect{
				checks:       statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons:      map[string]string{"mtasts.policy": "the certificate of mta-sts.expired.test does not verify, so senders do not fetch the policy: x509: certificate has expired"},
				remediations: map[string]string{"mtasts.policy": "install a certificate for mta-sts.expired.test from a CA senders trust"},
				evidence:     map[string]string{"mtasts.policy": "certificate: for mta-sts.expired.test, issued by MTA-STS Test Root CA, valid " + expiredFrom.UTC().Format(time.RFC3339)},
				metrics: []metric{
					m("mail_mtasts_cert_expiry_timestamp_seconds", float64(expiredUntil.Unix())),
					m("mail_mtasts_cert_not_before_timestamp_seconds", float64(expiredFrom.Unix())),
				},
				absent: noPolicy,
			},
		},
		{
			name:   "a certificate for another name",
			target: "wrongname.test",
			expect: expect{
				checks:   statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons:  map[string]string{"mtasts.policy": "x509: certificate is valid for www.wrongname.test, wrongname.test, not mta-sts.wrongname.test"},
				evidence: map[string]string{"mtasts.policy": "certificate: for www.wrongname.test, wrongname.test"},
			},
			check: func(t *testing.T, res *probes.Result) {
				// The dates of a certificate that does not verify are
				// exported all the same.
				v, ok := findMeasurement(res, "mail_mtasts_cert_expiry_timestamp_seconds")
				if !ok || v < float64(time.Now().Unix()) {
					t.Errorf("certificate expiry %v (recorded: %v), want a future timestamp", v, ok)
				}
			},
		},
		{
			name:   "a self-signed certificate",
			target: "selfsigned.test",
			expect: expect{
				checks:  statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons: map[string]string{"mtasts.policy": "certificate signed by unknown authority"},
			},
		},
		{
			name:   "a policy host that never answers",
			target: "stall.test",
			cfg:    func(c *mtasts.Config) { c.FetchTimeout = 300 * time.Millisecond },
			expect: expect{
				checks:  statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons: map[string]string{"mtasts.policy": "failed at the HTTP stage: no complete answer within 300ms (fetch_timeout)"},
			},
		},
		{
			name:   "a policy host that refuses connections",
			target: "refused.test",
			expect: expect{
				checks:       statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons:      map[string]string{"mtasts.policy": "senders cannot connect to mta-sts.refused.test: dial tcp 127.0.0.9:"},
				remediations: map[string]string{"mtasts.policy": "make the web server of mta-sts.refused.test accept HTTPS on port 443"},
				absent:       []string{"mail_mtasts_cert_expiry_timestamp_seconds"},
			},
		},
		{
			name:   "a TXT record without a policy host",
			target: "nohost.test",
			expect: expect{
				checks:       statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons:      map[string]string{"mtasts.policy": "the policy host mta-sts.nohost.test has no A or AAAA record, so senders cannot fetch https://mta-sts.nohost.test/.well-known/mta-sts.txt"},
				remediations: map[string]string{"mtasts.policy": `publish A and/or AAAA records for mta-sts.nohost.test, pointing to a web server that serves https://mta-sts.nohost.test/.well-known/mta-sts.txt`},
				evidence:     map[string]string{"mtasts.policy": "mta-sts.nohost.test. no A record (NXDOMAIN)"},
			},
		},
		{
			name:   "a policy host without a TXT record",
			target: "notxt.test",
			expect: expect{
				checks: statuses(skip, "mtasts.record", fail),
				reasons: map[string]string{
					"mtasts.record": "_mta-sts.notxt.test publishes no MTA-STS record; mta-sts.notxt.test resolves, but senders never fetch a policy without the record",
					"mtasts.policy": "no valid _mta-sts record: senders look no further and apply no MTA-STS policy (RFC 8461 §3.1)",
				},
				remediations: map[string]string{
					"mtasts.record": `publish "_mta-sts.notxt.test. IN TXT \"v=STSv1; id=`,
				},
				evidence: map[string]string{"mtasts.record": "_mta-sts.notxt.test. no TXT record (NXDOMAIN)"},
				absent:   []string{"mail_mtasts_cert_expiry_timestamp_seconds"},
			},
		},
		{
			name:   "no MTA-STS at all: the starter records",
			target: "nothing.test",
			expect: expect{
				checks:  statuses(skip, "mtasts.record", fail),
				reasons: map[string]string{"mtasts.record": "_mta-sts.nothing.test publishes no MTA-STS record"},
				remediations: map[string]string{
					"mtasts.record": `and make sure mta-sts.nothing.test serves https://mta-sts.nothing.test/.well-known/mta-sts.txt with status 200, Content-Type text/plain, no redirect, over HTTPS with a certificate for mta-sts.nothing.test from a public CA, this policy: "version: STSv1\nmode: testing\nmx: mx.nothing.test\nmax_age: 604800\n"`,
				},
			},
		},
		{
			name:   "two records",
			target: "two.test",
			expect: expect{
				checks:  statuses(skip, "mtasts.record", fail),
				reasons: map[string]string{"mtasts.record": "_mta-sts.two.test publishes 2 records that begin with v=STSv1; with more than one, senders apply no policy"},
			},
		},
		{
			name:   "an id with hyphens",
			target: "badid.test",
			expect: expect{
				checks:       statuses(skip, "mtasts.record", fail),
				reasons:      map[string]string{"mtasts.record": `the record at _mta-sts.badid.test is not valid, so senders ignore it: id "2024-01-01" contains "-"`},
				remediations: map[string]string{"mtasts.record": `publish "_mta-sts.badid.test. IN TXT \"v=STSv1; id=`},
			},
		},
		{
			name:   "a record in the wrong case",
			target: "misfit.test",
			expect: expect{
				checks:  statuses(skip, "mtasts.record", fail),
				reasons: map[string]string{"mtasts.record": `senders discard "V=STSv1; id=1" because it does not begin with exactly "v=STSv1"`},
			},
		},
		{
			name:   "max_age out of range",
			target: "toolong.test",
			expect: expect{
				checks:   statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons:  map[string]string{"mtasts.policy": "does not parse, so senders ignore it: line 4: max_age 99999999 is more than 31557600 seconds"},
				evidence: map[string]string{"mtasts.policy": `line 4: "max_age: 99999999"`},
				absent:   noPolicy,
			},
		},
		{
			name:   "max_age under the module's minimum",
			target: "short.test",
			expect: expect{
				checks:       statuses(pass, "mtasts.max_age", fail, "mtasts.id_changed", skip),
				reasons:      map[string]string{"mtasts.max_age": "max_age 3600 (1 hour) is under 86400 (1 day)"},
				remediations: map[string]string{"mtasts.max_age": `set "max_age: 604800" (7 days) in the policy, then publish a new id`},
				metrics:      []metric{m("mail_mtasts_max_age_seconds", 3600)},
			},
		},
		{
			name:   "max_age under a stricter module minimum",
			target: "gmail.com",
			cfg:    func(c *mtasts.Config) { c.MinMaxAge = 14 * 24 * time.Hour },
			expect: expect{
				checks:       statuses(pass, "mtasts.max_age", fail, "mtasts.id_changed", skip),
				remediations: map[string]string{"mtasts.max_age": `set "max_age: 1209600" (14 days)`},
			},
		},
		{
			name:   "mode none",
			target: "none.test",
			expect: expect{
				checks:  statuses(pass, "mtasts.mode", fail, "mtasts.mx_match", skip, "mtasts.id_changed", skip),
				reasons: map[string]string{"mtasts.mode": "mode none: the domain has withdrawn its MTA-STS policy"},
				remediations: map[string]string{
					"mtasts.mode": `serve "version: STSv1\nmode: enforce\nmx: mx.none.test\nmax_age: 86400\n"`,
				},
				metrics: []metric{m("mail_mtasts_policy_info", 1, "none"), m("mail_mtasts_mx_match", 0, "mx.none.test")},
			},
		},
		{
			name:   "testing mode with a pattern that would leave the MX out",
			target: "testing.test",
			expect: expect{
				checks: statuses(pass, "mtasts.mode", fail, "mtasts.mx_match", fail, "mtasts.id_changed", skip),
				reasons: map[string]string{"mtasts.mx_match": "mx.testing.test matches no mx: pattern of the policy (mx: *.other.test): senders enforcing it do not deliver there (RFC 8461 §4.1); " +
					"mode testing: for now senders still deliver there and report the failure through TLS-RPT, but the policy cannot be switched to enforce until this is fixed"},
				remediations: map[string]string{"mtasts.mx_match": `list every MX host in the policy: serve "version: STSv1\nmode: testing\nmx: *.other.test\nmx: mx.testing.test\nmax_age: 86400\n"`},
				evidence:     map[string]string{"mtasts.mx_match": "mx.testing.test matches no mx: pattern"},
				metrics:      []metric{m("mail_mtasts_mx_match", 0, "mx.testing.test")},
			},
		},
		{
			name:   "a mode in the wrong case",
			target: "garbage.test",
			expect: expect{
				checks:  statuses(skip, "mtasts.record", pass, "mtasts.policy", fail),
				reasons: map[string]string{"mtasts.policy": `line 2: mode "Enforce" is not enforce, testing or none; modes are written in lower case`},
				remediations: map[string]string{
					"mtasts.policy": `then publish a new id: "_mta-sts.garbage.test. IN TXT \"v=STSv1; id=`,
				},
			},
		},
		{
			name:   "repeated fields: the first counts",
			target: "dupes.test",
			expect: expect{
				checks:  statuses(pass, "mtasts.id_changed", skip),
				reasons: map[string]string{"mtasts.policy": "mode enforce, max_age 86400, 1 mx pattern (mode, max_age given more than once: senders use the first)"},
			},
		},
		{
			name:   "null MX",
			target: "nullmx.test",
			expect: expect{
				checks:  statuses(skip),
				reasons: map[string]string{"mtasts.record": "nullmx.test receives no mail (null MX, RFC 7505)"},
			},
		},
		{
			name:   "SERVFAIL for the record",
			target: "servfail.test",
			expect: expect{
				checks: statuses(undecided),
				errors: "MTA-STS record of servfail.test",
			},
		},
		{
			name:   "a host target",
			target: "mx1.uncovered.test:25",
			expect: expect{
				checks:  statuses(skip),
				reasons: map[string]string{"mtasts.policy": "the target is one mail host (mx1.uncovered.test:25); MTA-STS policies belong to a mail domain"},
			},
		},
		{
			name:   "an IP target",
			target: "127.0.0.31",
			expect: expect{
				checks:  statuses(skip),
				reasons: map[string]string{"mtasts.mode": "the target is an IP address"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := w.cfg()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			res := runIn(t, w.env(), tc.target, mtasts.New(cfg, mtasts.NewMemory(10)), 30*time.Second)
			tc.assert(t, res)
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
	// The fetches went to the policy path, named the exporter and asked
	// each policy host by its own name.
	for _, r := range w.https.Requests() {
		if r.Path != mtasts.WellKnownPath || r.Method != "GET" || !strings.HasPrefix(r.ServerName, "mta-sts.") ||
			!strings.HasPrefix(r.Host, r.ServerName) || !strings.Contains(r.UserAgent, "deliverability_exporter") {
			t.Errorf("request %+v", r)
		}
	}
}

func TestIDChanged(t *testing.T) {
	w := newWorld(t, zones)
	w.policy("gmail.com", gmailPolicy)
	mem := mtasts.NewMemory(10)
	run := func() probes.Check {
		res := w.run("gmail.com", w.cfg(), nil, mem)
		c, _ := res.Check("mtasts.id_changed")
		return c
	}
	// First sight: nothing to compare with, which is neither a pass nor
	// undecided (that would make every first probe an error).
	if c := run(); c.Status != skip || !strings.Contains(c.Reason, "first sight") || !strings.Contains(c.Reason, "remembered for the next probe") {
		t.Fatalf("first probe: %s (%s)", c.Status, c.Reason)
	}
	// The same policy in other clothes (CRLF, mx lines swapped) is the
	// same policy.
	w.policy("gmail.com", "version: STSv1\r\nmode: enforce\r\nmx: *.gmail-smtp-in.l.google.com\r\nmx: gmail-smtp-in.l.google.com\r\nmax_age: 86400\r\n")
	if c := run(); c.Status != pass || !strings.Contains(c.Reason, "unchanged under id 20190429T010101") {
		t.Fatalf("same content: %s (%s)", c.Status, c.Reason)
	}
	// The content changes, the id does not.
	w.policy("gmail.com", strings.Replace(gmailPolicy, "enforce", "testing", 1))
	c := run()
	if c.Status != fail || !strings.Contains(c.Reason, "while the id stayed 20190429T010101: senders that fetched the old policy keep it until") ||
		!strings.Contains(c.Remediation, `publish a new id whenever the policy changes: "_mta-sts.gmail.com. IN TXT \"v=STSv1; id=`) {
		t.Fatalf("changed content: %s (%s) %s", c.Status, c.Reason, c.Remediation)
	}
	if c := run(); c.Status != fail {
		t.Fatalf("the failure lasts while senders may hold the old policy: %s (%s)", c.Status, c.Reason)
	}
	// A new id ends it.
	w.dns.Remove("_mta-sts.gmail.com", 16)
	if err := w.dns.Add(`_mta-sts.gmail.com. 3600 IN TXT "v=STSv1; id=20261121T000000;"`); err != nil {
		t.Fatal(err)
	}
	if c := run(); c.Status != pass || !strings.Contains(c.Reason, "the id changed from 20190429T010101 to 20261121T000000") {
		t.Fatalf("new id: %s (%s)", c.Status, c.Reason)
	}
}

func TestLookupsTakeTwoRounds(t *testing.T) {
	// The TXT record and the policy host's addresses go out beside the MX
	// question, the MX hosts' addresses after it: two rounds, each
	// question once.
	w := newWorld(t, zones)
	w.policy("gmail.com", gmailPolicy)
	w.dns.SetLockstep(50 * time.Millisecond)
	res := w.run("gmail.com", w.cfg(), nil, nil)
	if c, _ := res.Check("mtasts.mx_match"); c.Status != pass {
		t.Fatalf("mtasts.mx_match = %s (%s)", c.Status, c.Reason)
	}
	if rounds := w.dns.Rounds(); rounds != 2 {
		t.Errorf("the probe needed %d rounds of DNS questions; the dependency chain is 2", rounds)
	}
	if d := w.dns.Duplicates(); len(d) > 0 {
		t.Errorf("questions asked more than once: %v", d)
	}
	if n := len(w.dns.Queries()); n != 8 {
		t.Errorf("%d questions, want 8 (MX, TXT, A and AAAA of the policy host and of 2 MX hosts): %v", n, w.dns.Queries())
	}
	if n := len(w.https.Requests()); n != 1 {
		t.Errorf("%d policy fetches, want 1", n)
	}
}

func TestDeadlineEndsAStalledFetch(t *testing.T) {
	// The probe's deadline comes before fetch_timeout: the fetch is cut
	// short, and that is undecided, not the policy host's failure.
	w := serveWorld(t)
	start := time.Now()
	res := runIn(t, w.env(), "stall.test", mtasts.New(w.cfg(), nil), 500*time.Millisecond)
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("Run took %s after a 500ms deadline", elapsed)
	}
	expect{
		checks: statuses(undecided, "mtasts.record", pass),
		errors: "the probe's deadline ended the policy fetch",
	}.assert(t, res)
}

func TestDeniedPolicyHost(t *testing.T) {
	w := serveWorld(t)
	env := w.env()
	env.Dialer = probetest.LoopbackDialer(netip.MustParsePrefix("127.0.0.1/32"))
	res := runIn(t, env, "gmail.com", mtasts.New(w.cfg(), nil), 30*time.Second)
	expect{
		checks:  statuses(skip, "mtasts.record", pass),
		reasons: map[string]string{"mtasts.policy": "the policy host mta-sts.gmail.com was not contacted: 127.0.0.1 is in 127.0.0.1/32, which the module's denied_networks exclude"},
	}.assert(t, res)
	if n := len(w.https.Requests()); n != 0 {
		t.Errorf("%d requests reached a denied address", n)
	}
}
