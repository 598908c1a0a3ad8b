package mx_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mx"
)

// zeros20 pads an ip6.arpa name below 2001:db8::/32 to the last two bytes.
const zeros20 = "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"

// world holds one domain per situation, written as its operator would
// publish it, with addresses from the documentation ranges (RFC 5737,
// RFC 3849) and their reverse zones.
const world = `
$ORIGIN healthy.test.
$TTL 3600
@                 IN SOA  ns1 hostmaster 2026010101 7200 3600 1209600 3600
@                 IN NS   ns1
ns1               IN A    192.0.2.53
@                 IN MX   10 mx1
@                 IN MX   20 mx2
@                 IN TXT  "v=spf1 mx -all"
@                 IN CAA  0 issue "letsencrypt.org"
@                 IN CAA  0 iodef "mailto:security@healthy.test"
mx1               IN A    192.0.2.10
mx1               IN AAAA 2001:db8::10
mx2               IN A    192.0.2.20
mx2               IN AAAA 2001:db8::20
_submission._tcp  IN SRV  0 1 587 mx1
_submissions._tcp IN SRV  0 1 465 mx1
_imap._tcp        IN SRV  0 1 143 mx1
_imaps._tcp       IN SRV  0 1 993 mx1
_pop3._tcp        IN SRV  0 0 0 .
_pop3s._tcp       IN SRV  0 0 0 .
shop              IN MX   10 mx1

$ORIGIN nomx.test.
@                 IN A    192.0.2.80

$ORIGIN noaddress.test.
@                 IN TXT  "v=spf1 -all"

; Mail hosted by another organization (healthy.test stands for the
; provider), and an own MX host with such a backup.
$ORIGIN hosted.test.
@                 IN MX   10 mx1.healthy.test.
@                 IN MX   20 mx2.healthy.test.

$ORIGIN ownbackup.test.
@                 IN MX   10 mx
@                 IN MX   20 mx2.healthy.test.
mx                IN A    198.51.100.60

$ORIGIN nullmx.test.
@                 IN MX   0 .
@                 IN TXT  "v=spf1 -all"
@                 IN CAA  0 issue ";"

$ORIGIN nullpref.test.
@                 IN MX   10 .

$ORIGIN mixednull.test.
@                 IN MX   0 .
@                 IN MX   10 mx1.healthy.test.

$ORIGIN literal.test.
@                 IN MX   10 192.0.2.30.

$ORIGIN cname.test.
@                 IN MX   10 alias
alias             IN CNAME mx1.healthy.test.

$ORIGIN noaddr.test.
@                 IN MX   10 mx
@                 IN MX   20 ghost
mx                IN TXT  "no addresses here"

$ORIGIN noptr.test.
@                 IN MX   10 mx
mx                IN A    198.51.100.7

$ORIGIN notback.test.
@                 IN MX   10 mx
mx                IN A    198.51.100.8

$ORIGIN elsewhere.test.
mail              IN A    198.51.100.99

$ORIGIN strayptr.test.
@                 IN MX   10 mx
mx                IN A    198.51.100.12

; Mail hosted by a provider (notback.test stands for it) whose hosts
; have no IPv6 address.
$ORIGIN hostedv4.test.
@                 IN MX   10 mx.notback.test.

$ORIGIN norole.test.
@                 IN MX   10 server
server            IN A    198.51.100.13

$ORIGIN generic.test.
@                 IN MX   10 mx
mx                IN A    198.51.100.77

$ORIGIN isp.test.
198-51-100-77.dyn IN A    198.51.100.77

$ORIGIN v6only.test.
@                 IN MX   10 mx
mx                IN AAAA 2001:db8::60

$ORIGIN ptrfail.test.
@                 IN MX   10 mx
@                 IN CAA  0 issue "letsencrypt.org"
mx                IN A    198.51.100.50
mx                IN AAAA 2001:db8::50
_submission._tcp  IN SRV  0 1 587 mx
_submissions._tcp IN SRV  0 0 0 .
_imap._tcp        IN SRV  0 0 0 .
_imaps._tcp       IN SRV  0 1 993 mx
_pop3._tcp        IN SRV  0 0 0 .
_pop3s._tcp       IN SRV  0 0 0 .

$ORIGIN servfail.test.
@                 IN MX   10 mx1.healthy.test.
_submission._tcp  IN SRV  0 0 0 .
_submissions._tcp IN SRV  0 0 0 .
_imap._tcp        IN SRV  0 0 0 .
_imaps._tcp       IN SRV  0 0 0 .
_pop3._tcp        IN SRV  0 0 0 .
_pop3s._tcp       IN SRV  0 0 0 .

$ORIGIN hostfail.test.
@                 IN MX   10 mx1.healthy.test.
@                 IN MX   20 mx

$ORIGIN classless.test.
@                 IN MX   10 mx
mx                IN A    198.51.100.9

$ORIGIN twoptr.test.
@                 IN MX   10 mx
mx                IN A    198.51.100.40
mail              IN A    198.51.100.40

$ORIGIN fiveptr.test.
@                 IN MX   10 mx
mx                IN A    198.51.100.41
mail              IN A    198.51.100.41

$ORIGIN many.test.
@                 IN MX   10 h01
@                 IN MX   10 h02
@                 IN MX   10 h03
@                 IN MX   10 h04
@                 IN MX   10 h05
@                 IN MX   10 h06
@                 IN MX   10 h07
@                 IN MX   10 h08
@                 IN MX   10 h09
@                 IN MX   10 h10
@                 IN MX   10 h11
@                 IN MX   10 h12
@                 IN MX   10 h13
@                 IN MX   10 h14
@                 IN MX   10 h15
@                 IN MX   10 h16
@                 IN MX   20 h17

; Signed, but the DS at the parent names a key the zone does not have:
; a validating resolver refuses every answer (bogus.test), or the
; signatures of the zone that holds an MX host ran out (expired.test).
$ORIGIN bogus.test.
@                 IN MX   10 mx1.healthy.test.
@                 IN CAA  0 issue "letsencrypt.org"

$ORIGIN expired.test.
mx                IN A    192.0.2.20

$ORIGIN badhost.test.
@                 IN MX   10 mx1.healthy.test.
@                 IN MX   20 mx.expired.test.

$ORIGIN 2.0.192.in-addr.arpa.
10                IN PTR  mx1.healthy.test.
20                IN PTR  mx2.healthy.test.

$ORIGIN 100.51.198.in-addr.arpa.
8                 IN PTR  mail.elsewhere.test.
12                IN PTR  old-mail.strayptr.test.
13                IN PTR  server.norole.test.
50                IN PTR  mx.ptrfail.test.
77                IN PTR  198-51-100-77.dyn.isp.test.
40                IN PTR  a-198-51-100-40.pool.isp.test.
40                IN PTR  mail.twoptr.test.
41                IN PTR  a.isp.test.
41                IN PTR  b.isp.test.
41                IN PTR  c.isp.test.
41                IN PTR  d.isp.test.
41                IN PTR  mail.fiveptr.test.
; RFC 2317: the owner of a /26 gets the reverse names through aliases.
9                 IN CNAME 9.0-63.100.51.198.in-addr.arpa.
9.0-63            IN PTR  mx.classless.test.

$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
0.1.0.0.` + zeros20 + ` IN PTR mx1.healthy.test.
0.2.0.0.` + zeros20 + ` IN PTR mx2.healthy.test.
0.5.0.0.` + zeros20 + ` IN PTR mx.ptrfail.test.
0.6.0.0.` + zeros20 + ` IN PTR mx.v6only.test.
`

// The statuses, short for the tables.
const (
	pass      = probes.StatusPass
	fail      = probes.StatusFail
	skip      = probes.StatusSkip
	undecided = probes.StatusError
)

var checkIDs = []string{
	"mx.present", "mx.null", "mx.hostname", "mx.resolves", "mx.ipv6",
	"ptr.present", "ptr.fcrdns", "ptr.not_generic", "ptr.role_label",
	"dnssec.domain", "dnssec.mx", "dnssec.not_bogus", "caa.present", "srv.client",
}

type probeCase struct {
	name   string
	target string
	setup  func(*testbed.DNSServer)
	checks map[string]probes.Status
	// reasons, remediations and evidence hold substrings expected in the
	// check's text (evidence: in any line).
	reasons      map[string]string
	remediations map[string]string
	evidence     map[string]string
	metrics      []metric
	absent       []metric // samples that must not be recorded (value ignored)
	wantErrors   string   // substring of a probe error; "" means no errors
	// notInRemediations holds substrings the check's remediation must not
	// contain: records that would do harm if published as written.
	notInRemediations map[string]string
}

func secure(zones ...string) func(*testbed.DNSServer) {
	return func(s *testbed.DNSServer) { s.SetSecure(zones...) }
}

// bogus signs the world's zones and makes one of them bogus, with the
// Extended DNS Errors the resolver gives.
func bogus(zone string, errs ...dns.EDNS0_EDE) func(*testbed.DNSServer) {
	return func(s *testbed.DNSServer) {
		s.SetSecure("healthy.test", "badhost.test", "bogus.test", "expired.test", "2.0.192.in-addr.arpa")
		s.SetBogus(zone, errs...)
	}
}

func TestProbe(t *testing.T) {
	for _, tc := range []probeCase{
		{
			name:   "healthy domain",
			target: "healthy.test",
			setup:  secure("healthy.test"),
			checks: statuses(pass, "mx.null", skip),
			reasons: map[string]string{
				"mx.present":       "2 MX records",
				"caa.present":      "healthy.test publishes 2 CAA records",
				"srv.client":       "not offered: pop3, pop3s",
				"dnssec.not_bogus": "the signed answers for healthy.test and its mail hosts validate: the resolver refused none as DNSSEC-bogus",
			},
			evidence: map[string]string{
				"mx.present":     "healthy.test. MX 10 mx1.healthy.test.",
				"mx.resolves":    "mx2.healthy.test. AAAA 2001:db8::20",
				"ptr.fcrdns":     "192.0.2.10 PTR mx1.healthy.test (resolves back)",
				"ptr.role_label": `2001:db8::20 PTR mx2.healthy.test (role label "mx")`,
				"caa.present":    `healthy.test. CAA 0 issue "letsencrypt.org"`,
				"srv.client":     "_pop3._tcp.healthy.test. SRV 0 0 0 . (not offered)",
				"dnssec.domain":  "AD bit set by 127.0.0.1:",
			},
			metrics: []metric{
				m("mail_mx_hosts", 2),
				m("mail_mx_null", 0),
				m("mail_mx_host_info", 1, "mx1.healthy.test", "10"),
				m("mail_mx_host_info", 1, "mx2.healthy.test", "20"),
				m("mail_mx_host_addresses", 1, "mx1.healthy.test", "ipv4"),
				m("mail_mx_host_addresses", 1, "mx2.healthy.test", "ipv6"),
				m("mail_ptr_info", 1, "mx1.healthy.test", "192.0.2.10", "mx1.healthy.test"),
				m("mail_ptr_info", 1, "mx2.healthy.test", "2001:db8::20", "mx2.healthy.test"),
				m("mail_ptr_forward_confirmed", 1, "mx1.healthy.test", "2001:db8::10"),
				m("mail_ptr_forward_confirmed", 1, "mx2.healthy.test", "192.0.2.20"),
				m("mail_dnssec_authenticated", 1, "healthy.test"),
				m("mail_dnssec_authenticated", 1, "mx1.healthy.test"),
				m("mail_dnssec_authenticated", 1, "mx2.healthy.test"),
				m("mail_srv_records", 1, "submission"),
				m("mail_srv_records", 1, "pop3"),
			},
		},
		{
			// RFC 5321 §5.1: senders deliver to the domain's own address,
			// which is checked as its mail host (the implicit MX);
			// mx.present still fails, and its fix names that host.
			name:   "no MX: the implicit MX",
			target: "nomx.test",
			checks: statuses(fail, "mx.present", fail, "mx.null", skip, "mx.hostname", skip, "mx.resolves", pass,
				"ptr.not_generic", skip, "ptr.role_label", skip, "dnssec.not_bogus", skip),
			reasons: map[string]string{
				"mx.present":  "nomx.test publishes no MX records; senders fall back to its own address records (the implicit MX of RFC 5321 §5.1)",
				"mx.hostname": "there is no MX target to judge (its implicit MX is the domain itself)",
				"ptr.present": "192.0.2.80 has no PTR record",
				"dnssec.mx":   `answers for "nomx.test" are not validated`,
				"srv.client":  "no SRV record for submission, submissions, imap, imaps, pop3, pop3s",
				"caa.present": "neither nomx.test nor its parents publish CAA",
			},
			remediations: map[string]string{
				"mx.present":  `publish "nomx.test. IN MX 10 nomx.test.", the host that receives its mail now, or "nomx.test. IN MX 0 ." if it receives no mail (RFC 7505)`,
				"ptr.present": `publish "80.2.0.192.in-addr.arpa. IN PTR nomx.test."`,
				"srv.client":  `"_imaps._tcp.nomx.test. IN SRV 0 1 993 nomx.test."`,
				// No CA is named for the domain: the one it uses is its own.
				"caa.present": `publish one CAA record for each certificate authority that issues certificates for names under nomx.test, e.g. "nomx.test. IN CAA 0 issue \"<the CA's domain, such as letsencrypt.org>\"" (RFC 8659 §4.2)`,
			},
			evidence: map[string]string{
				"mx.present":  "nomx.test. A 192.0.2.80",
				"mx.resolves": "nomx.test. A 192.0.2.80",
			},
			metrics: []metric{m("mail_mx_hosts", 0), m("mail_mx_null", 0), m("mail_mx_implicit", 1), m("mail_srv_records", 0, "imap"),
				m("mail_mx_host_addresses", 1, "nomx.test", "ipv4"), m("mail_dnssec_authenticated", 0, "nomx.test")},
			absent: []metric{m("mail_mx_host_info", 0, "nomx.test", "0")},
		},
		{
			// No MX and no address: nothing receives its mail, and the fix
			// does not name a host that may not exist without saying to
			// create it.
			name:   "no MX and no addresses",
			target: "noaddress.test",
			checks: statuses(skip, "mx.present", fail, "dnssec.domain", fail, "caa.present", fail, "srv.client", fail),
			reasons: map[string]string{
				"mx.present":  "noaddress.test publishes no MX records and has no addresses of its own: no mail can be delivered to it",
				"mx.resolves": "no MX hosts and no addresses of its own (no implicit MX)",
			},
			remediations: map[string]string{
				"mx.present": `if it receives mail, publish an MX record naming the host of your mail server, which must have A/AAAA records (for example "mail.noaddress.test. IN A <its IPv4 address>", if that name is not in use yet, and "noaddress.test. IN MX 10 mail.noaddress.test."); otherwise publish "noaddress.test. IN MX 0 ."`,
				"srv.client": `"_imaps._tcp.noaddress.test. IN SRV 0 1 993 <the host that serves it>."`,
			},
			metrics: []metric{m("mail_mx_hosts", 0), m("mail_mx_implicit", 0)},
		},
		{
			// The customer cannot sign its provider's zone: dnssec.mx
			// does not judge it.
			name:   "MX hosts of a provider: dnssec.mx is the provider's",
			target: "hosted.test",
			setup:  secure("hosted.test"),
			checks: statuses(pass, "ptr.not_generic", skip, "ptr.role_label", skip, "mx.null", skip, "dnssec.mx", skip, "caa.present", fail, "srv.client", fail),
			reasons: map[string]string{
				"dnssec.mx": "the MX hosts of hosted.test (mx1.healthy.test, mx2.healthy.test) are its provider's, in healthy.test, whose answers did not validate: whether they are DNSSEC-signed is the provider's decision, not hosted.test's",
				// How a provider names its addresses is its own choice.
				"ptr.role_label":  "the mail hosts belong to healthy.test: how their addresses are named is theirs to choose, not something hosted.test can change",
				"ptr.not_generic": "the mail hosts belong to healthy.test",
			},
			remediations: map[string]string{
				// A provider's inbound host is not where its clients submit.
				"srv.client": `"_submission._tcp.hosted.test. IN SRV 0 1 587 <the host that serves it>."`,
			},
			metrics: []metric{m("mail_dnssec_authenticated", 0, "mx1.healthy.test"), m("mail_mx_implicit", 0)},
		},
		{
			// A provider whose zone is signed: its hosts validate, and
			// that passes (DANE works for its customers).
			name:   "MX hosts of a provider in a signed zone: dnssec.mx passes",
			target: "hosted.test",
			setup:  secure("hosted.test", "healthy.test"),
			checks: statuses(pass, "ptr.not_generic", skip, "ptr.role_label", skip, "mx.null", skip, "caa.present", fail, "srv.client", fail),
			reasons: map[string]string{
				"dnssec.mx": "the answers for every mail host validated",
			},
			evidence: map[string]string{"dnssec.mx": "A/AAAA mx1.healthy.test: AD bit set by"},
		},
		{
			name:   "an own MX host with a provider's backup: dnssec.mx judges the own one",
			target: "ownbackup.test",
			// mx2.healthy.test's PTR passes; the own host has none.
			checks: statuses(pass, "ptr.not_generic", skip, "ptr.role_label", skip, "mx.null", skip, "dnssec.domain", fail, "dnssec.mx", fail, "caa.present", fail, "srv.client", fail,
				"ptr.present", fail, "ptr.fcrdns", fail, "dnssec.not_bogus", skip),
			reasons: map[string]string{
				"dnssec.mx": `answers for "mx.ownbackup.test" are not validated`,
			},
			evidence: map[string]string{
				"dnssec.mx": "mx2.healthy.test: not validated, in healthy.test, its provider's zone: not judged (only healthy.test can sign it)",
			},
			remediations: map[string]string{"dnssec.mx": "sign the zones of mx.ownbackup.test with DNSSEC"},
		},
		{
			name:    "domain does not exist",
			target:  "absent.test",
			checks:  statuses(skip, "mx.present", fail),
			reasons: map[string]string{"mx.present": "absent.test does not exist (NXDOMAIN)", "caa.present": "does not exist"},
			absent:  []metric{m("mail_mx_hosts", 0), m("mail_mx_null", 0)},
		},
		{
			name:   "null MX alone",
			target: "nullmx.test",
			setup:  secure("nullmx.test"),
			checks: statuses(skip, "dnssec.not_bogus", pass, "mx.present", pass, "mx.null", pass, "dnssec.domain", pass, "caa.present", pass),
			reasons: map[string]string{
				"mx.null":     "receives no mail",
				"mx.resolves": "null MX",
				"srv.client":  "receives no mail",
			},
			evidence: map[string]string{"mx.null": "nullmx.test. MX 0 ."},
			metrics:  []metric{m("mail_mx_hosts", 0), m("mail_mx_null", 1)},
		},
		{
			name:    "null MX with a preference other than 0",
			target:  "nullpref.test",
			checks:  statuses(skip, "dnssec.not_bogus", skip, "mx.present", pass, "mx.null", fail, "dnssec.domain", fail, "caa.present", fail),
			reasons: map[string]string{"mx.null": "preference 10"},
			remediations: map[string]string{
				"mx.null": `publish "nullpref.test. IN MX 0 ."`,
			},
		},
		{
			name:   "null MX mixed with other MX records",
			target: "mixednull.test",
			setup:  secure("healthy.test", "mixednull.test"),
			checks: statuses(pass, "ptr.not_generic", skip, "ptr.role_label", skip, "mx.null", fail, "caa.present", fail, "srv.client", fail),
			reasons: map[string]string{
				"mx.null": "RFC 7505 §3",
			},
			remediations: map[string]string{"mx.null": `remove "mixednull.test. IN MX 0 ."`},
			metrics:      []metric{m("mail_mx_hosts", 1), m("mail_mx_null", 1)},
		},
		{
			name:   "MX pointing at an IP literal",
			target: "literal.test",
			checks: statuses(skip, "dnssec.not_bogus", skip, "mx.present", pass, "mx.hostname", fail, "mx.resolves", fail, "mx.ipv6", fail,
				"dnssec.domain", fail, "caa.present", fail, "srv.client", fail),
			reasons: map[string]string{
				"mx.hostname": `"192.0.2.30" is an IP address`,
				"ptr.present": "no mail host has an address",
				"dnssec.mx":   "no MX target is a host name",
			},
			remediations: map[string]string{
				"mx.hostname": `publish "mail.literal.test. IN A 192.0.2.30" (or the address under another host name not yet in use) and change the MX to "literal.test. IN MX 10 mail.literal.test."`,
			},
		},
		{
			name:   "MX that is a CNAME",
			target: "cname.test",
			setup:  secure("healthy.test", "cname.test"),
			checks: statuses(pass, "mx.null", skip, "mx.hostname", fail, "caa.present", fail, "srv.client", fail),
			reasons: map[string]string{
				"mx.hostname": `"alias.cname.test" is an alias (CNAME to "mx1.healthy.test")`,
			},
			remediations: map[string]string{
				"mx.hostname": `"cname.test. IN MX 10 mx1.healthy.test."`,
			},
			evidence: map[string]string{"mx.hostname": "alias.cname.test. CNAME mx1.healthy.test."},
		},
		{
			name:   "MX hosts without addresses",
			target: "noaddr.test",
			checks: statuses(skip, "dnssec.not_bogus", skip, "mx.present", pass, "mx.hostname", pass, "mx.resolves", fail, "mx.ipv6", fail,
				"dnssec.domain", fail, "dnssec.mx", fail, "caa.present", fail, "srv.client", fail),
			reasons: map[string]string{
				"mx.resolves": `host "mx.noaddr.test" has no A or AAAA record; host "ghost.noaddr.test" does not exist (NXDOMAIN)`,
				"ptr.present": "no mail host has an address",
			},
			remediations: map[string]string{
				"mx.resolves": `publish "ghost.noaddr.test. IN A <its IPv4 address>" (and AAAA for IPv6), or remove "noaddr.test. IN MX 20 ghost.noaddr.test."`,
			},
			metrics: []metric{m("mail_mx_host_addresses", 0, "mx.noaddr.test", "ipv4"), m("mail_mx_host_addresses", 0, "ghost.noaddr.test", "ipv6")},
		},
		{
			name:   "MX address without PTR",
			target: "noptr.test",
			checks: statuses(fail, "dnssec.not_bogus", skip, "mx.present", pass, "mx.null", skip, "mx.hostname", pass, "mx.resolves", pass,
				"ptr.not_generic", skip, "ptr.role_label", skip),
			reasons: map[string]string{"ptr.present": "198.51.100.7 has no PTR record"},
			remediations: map[string]string{
				"ptr.present": `publish "7.100.51.198.in-addr.arpa. IN PTR mx.noptr.test."`,
			},
			evidence: map[string]string{"ptr.present": "198.51.100.7 no PTR (NXDOMAIN at 7.100.51.198.in-addr.arpa.)"},
			metrics:  []metric{m("mail_ptr_forward_confirmed", 0, "mx.noptr.test", "198.51.100.7")},
			absent:   []metric{m("mail_ptr_info", 0, "mx.noptr.test", "198.51.100.7", "")},
		},
		{
			name:   "PTR that does not resolve back",
			target: "notback.test",
			checks: statuses(fail, "dnssec.not_bogus", skip, "mx.present", pass, "mx.null", skip, "mx.hostname", pass, "mx.resolves", pass,
				"ptr.present", pass, "ptr.not_generic", pass, "ptr.role_label", pass),
			reasons: map[string]string{"ptr.fcrdns": `PTR "mail.elsewhere.test" of 198.51.100.8 does not resolve back to it`},
			remediations: map[string]string{
				// mail.elsewhere.test is another host's name: an address
				// added to it would send part of its traffic here.
				"ptr.fcrdns": `have the PTR changed to "8.100.51.198.in-addr.arpa. IN PTR mx.notback.test." (mail.elsewhere.test resolves to 198.51.100.99: an address added to it would send part of its traffic to 198.51.100.8)`,
			},
			notInRemediations: map[string]string{"ptr.fcrdns": "IN A 198.51.100.8"},
			evidence:          map[string]string{"ptr.fcrdns": "198.51.100.8 PTR mail.elsewhere.test (resolves to 198.51.100.99, not back)"},
			metrics: []metric{
				m("mail_ptr_forward_confirmed", 0, "mx.notback.test", "198.51.100.8"),
				m("mail_ptr_info", 1, "mx.notback.test", "198.51.100.8", "mail.elsewhere.test"),
			},
		},
		{
			// A PTR name that does not exist may be given the address.
			name:   "PTR naming a host that does not exist",
			target: "strayptr.test",
			checks: statuses(fail, "dnssec.not_bogus", skip, "mx.present", pass, "mx.null", skip, "mx.hostname", pass, "mx.resolves", pass,
				"ptr.present", pass, "ptr.not_generic", pass, "ptr.role_label", pass),
			remediations: map[string]string{
				"ptr.fcrdns": `publish "old-mail.strayptr.test. IN A 198.51.100.12" if that name is yours, or have the PTR changed to "12.100.51.198.in-addr.arpa. IN PTR mx.strayptr.test."`,
			},
			evidence: map[string]string{"ptr.fcrdns": "198.51.100.12 PTR old-mail.strayptr.test (does not exist)"},
		},
		{
			name:   "generic-looking PTR",
			target: "generic.test",
			checks: statuses(fail, "dnssec.not_bogus", skip, "mx.present", pass, "mx.null", skip, "mx.hostname", pass, "mx.resolves", pass,
				"ptr.present", pass, "ptr.fcrdns", pass),
			reasons: map[string]string{
				"ptr.not_generic": `PTR "198-51-100-77.dyn.isp.test" of 198.51.100.77 looks auto-assigned: it embeds the address`,
				"ptr.role_label":  "has no role label",
			},
			remediations: map[string]string{
				"ptr.not_generic": `"77.100.51.198.in-addr.arpa. IN PTR mx.generic.test."`,
				"ptr.role_label":  `"77.100.51.198.in-addr.arpa. IN PTR mx.generic.test.", published with "mx.generic.test. IN A 198.51.100.77"`,
			},
			// The MX host's own name resolves to the address already.
			notInRemediations: map[string]string{"ptr.role_label": "not in use yet"},
			metrics:           []metric{m("mail_ptr_forward_confirmed", 1, "mx.generic.test", "198.51.100.77")},
		},
		{
			name:   "IPv6-only MX",
			target: "v6only.test",
			setup:  secure("v6only.test"),
			checks: statuses(pass, "mx.null", skip, "caa.present", fail, "srv.client", fail),
			evidence: map[string]string{
				"mx.ipv6":    "mx.v6only.test. AAAA 2001:db8::60",
				"ptr.fcrdns": "2001:db8::60 PTR mx.v6only.test (resolves back)",
			},
			metrics: []metric{
				m("mail_mx_host_addresses", 0, "mx.v6only.test", "ipv4"),
				m("mail_mx_host_addresses", 1, "mx.v6only.test", "ipv6"),
				m("mail_ptr_info", 1, "mx.v6only.test", "2001:db8::60", "mx.v6only.test"),
				m("mail_ptr_forward_confirmed", 1, "mx.v6only.test", "2001:db8::60"),
			},
		},
		{
			name:   "DNSSEC not validated",
			target: "healthy.test",
			checks: statuses(pass, "dnssec.not_bogus", skip, "mx.null", skip, "dnssec.domain", fail, "dnssec.mx", fail),
			reasons: map[string]string{
				"dnssec.domain":    "did not set the AD bit",
				"dnssec.not_bogus": "no answer for healthy.test or its mail hosts is DNSSEC-signed (no AD bit from 127.0.0.1:",
				"dnssec.mx":        `answers for "mx1.healthy.test", "mx2.healthy.test" are not validated (no AD bit from resolver 127.0.0.1:`,
			},
			remediations: map[string]string{"dnssec.domain": "sign healthy.test with DNSSEC"},
			evidence:     map[string]string{"dnssec.domain": "MX healthy.test: no AD bit from 127.0.0.1:"},
			metrics: []metric{
				m("mail_dnssec_authenticated", 0, "healthy.test"),
				m("mail_dnssec_authenticated", 0, "mx2.healthy.test"),
			},
		},
		{
			name:   "DNSSEC-bogus domain",
			target: "bogus.test",
			setup:  bogus("bogus.test", dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeDNSKEYMissing, ExtraText: "validation failure <bogus.test. MX IN>: no DNSKEY matches the DS"}),
			// Everything else is judged on the answers given with CD: the
			// MX host is secure and healthy.
			checks: statuses(pass, "ptr.not_generic", skip, "ptr.role_label", skip, "mx.null", skip, "dnssec.domain", fail, "dnssec.not_bogus", fail, "srv.client", fail),
			reasons: map[string]string{
				"dnssec.domain":    "the MX answer for bogus.test does not validate: resolver 127.0.0.1:",
				"dnssec.not_bogus": `the validating resolver refused the answers for "bogus.test" (MX) as DNSSEC-bogus: senders that validate cannot deliver mail to bogus.test at all`,
				"mx.present":       "1 MX record",
				"caa.present":      "bogus.test publishes 1 CAA record",
			},
			remediations: map[string]string{
				"dnssec.domain":    "make the DS records of the zone of bogus.test at the registrar (the parent zone) match a key the zone publishes",
				"dnssec.not_bogus": "if a zone is to be unsigned, remove its DS records at the registrar first",
			},
			evidence: map[string]string{
				"dnssec.domain":    "MX bogus.test: SERVFAIL from 127.0.0.1:",
				"dnssec.not_bogus": "with EDE 9 (DNSKEY Missing): validation failure <bogus.test. MX IN>: no DNSKEY matches the DS",
				"dnssec.mx":        "A/AAAA mx1.healthy.test: AD bit set",
				"mx.present":       "bogus.test. MX 10 mx1.healthy.test. (DNSSEC-bogus: unvalidated, asked with checking disabled)",
			},
			metrics: []metric{
				m("mail_dnssec_authenticated", 0, "bogus.test"),
				m("mail_dnssec_authenticated", 1, "mx1.healthy.test"),
				m("mail_mx_hosts", 1),
			},
		},
		{
			name:   "DNSSEC-bogus zone of an MX host",
			target: "badhost.test",
			setup:  bogus("expired.test", dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeSignatureExpired}),
			checks: statuses(pass, "ptr.not_generic", skip, "ptr.role_label", skip, "mx.null", skip, "dnssec.mx", fail, "dnssec.not_bogus", fail,
				"caa.present", fail, "srv.client", fail),
			reasons: map[string]string{
				"dnssec.mx":        `the resolver refused the answers for "mx.expired.test" as DNSSEC-bogus`,
				"dnssec.not_bogus": `the validating resolver refused the answers for "mx.expired.test" (A, AAAA) as DNSSEC-bogus: senders that validate cannot reach mx.expired.test and deliver only to mx1.healthy.test`,
				"ptr.fcrdns":       "every mail server address resolves back",
			},
			remediations: map[string]string{
				"dnssec.mx":        "re-sign the zone of mx.expired.test: the RRSIG records are outside their validity period",
				"dnssec.not_bogus": "re-sign the zone of mx.expired.test",
			},
			evidence: map[string]string{
				"dnssec.not_bogus": "A mx.expired.test: SERVFAIL from 127.0.0.1:",
				"dnssec.mx":        "gave with checking disabled (CD): what validating senders never get",
				"mx.resolves":      "mx.expired.test. A 192.0.2.20 (DNSSEC-bogus: unvalidated, asked with checking disabled)",
			},
			metrics: []metric{
				m("mail_dnssec_authenticated", 1, "badhost.test"),
				m("mail_dnssec_authenticated", 0, "mx.expired.test"),
				m("mail_ptr_forward_confirmed", 1, "mx.expired.test", "192.0.2.20"),
			},
		},
		{
			name:   "NXDOMAIN from a DNSSEC-bogus zone",
			target: "gone.bogus.test",
			setup:  bogus("bogus.test"),
			checks: statuses(skip, "mx.present", fail, "dnssec.domain", fail, "dnssec.not_bogus", fail),
			reasons: map[string]string{
				"mx.present":       "gone.bogus.test does not exist (NXDOMAIN)",
				"dnssec.not_bogus": `"gone.bogus.test" (MX)`,
			},
			evidence: map[string]string{"dnssec.not_bogus": "without an Extended DNS Error, but an answer with checking disabled (CD)"},
		},
		{
			name:   "CAA found at the parent",
			target: "shop.healthy.test",
			setup:  secure("healthy.test"),
			checks: statuses(pass, "mx.null", skip, "srv.client", fail),
			reasons: map[string]string{
				"caa.present": "shop.healthy.test publishes no CAA; its parent healthy.test does (2 records)",
			},
			evidence: map[string]string{"caa.present": "shop.healthy.test. no CAA records"},
		},
		{
			name:   "SERVFAIL on the MX lookup",
			target: "servfail.test",
			setup: func(s *testbed.DNSServer) {
				s.SetBehaviour("servfail.test", testbed.ServFail)
			},
			checks:     statuses(undecided, "srv.client", pass),
			reasons:    map[string]string{"mx.present": "SERVFAIL"},
			absent:     []metric{m("mail_mx_hosts", 0), m("mail_mx_null", 0), m("mail_dnssec_authenticated", 0, "servfail.test")},
			wantErrors: "MX of servfail.test: dns MX servfail.test: SERVFAIL",
		},
		{
			name:   "SERVFAIL on a PTR lookup",
			target: "ptrfail.test",
			setup: func(s *testbed.DNSServer) {
				s.SetSecure("ptrfail.test")
				s.SetBehaviour("50.100.51.198.in-addr.arpa", testbed.ServFail)
			},
			checks: statuses(pass, "mx.null", skip,
				"ptr.present", undecided, "ptr.fcrdns", undecided, "ptr.not_generic", undecided, "ptr.role_label", undecided),
			reasons:    map[string]string{"ptr.present": "PTR of 198.51.100.50"},
			metrics:    []metric{m("mail_ptr_forward_confirmed", 1, "mx.ptrfail.test", "2001:db8::50")},
			absent:     []metric{m("mail_ptr_forward_confirmed", 0, "mx.ptrfail.test", "198.51.100.50")},
			wantErrors: "PTR of 198.51.100.50: dns PTR 50.100.51.198.in-addr.arpa: SERVFAIL",
		},
		{
			name:   "SERVFAIL on one MX host's addresses",
			target: "hostfail.test",
			setup: func(s *testbed.DNSServer) {
				s.SetSecure("healthy.test", "hostfail.test")
				s.SetBehaviour("mx.hostfail.test", testbed.ServFail)
			},
			// The other host has IPv6, so mx.ipv6 is decided; everything
			// that needs the failed host's addresses is not.
			checks: statuses(undecided, "mx.present", pass, "mx.null", skip, "mx.ipv6", pass,
				"dnssec.domain", pass, "caa.present", fail, "srv.client", fail),
			wantErrors: "addresses of mx.hostfail.test: dns",
		},
		{
			name:   "reverse DNS delegated through RFC 2317 aliases",
			target: "classless.test",
			checks: statuses(pass, "dnssec.not_bogus", skip, "mx.null", skip, "mx.ipv6", fail, "dnssec.domain", fail, "dnssec.mx", fail,
				"caa.present", fail, "srv.client", fail),
			evidence: map[string]string{"ptr.fcrdns": "198.51.100.9 PTR mx.classless.test (resolves back)"},
			metrics:  []metric{m("mail_ptr_info", 1, "mx.classless.test", "198.51.100.9", "mx.classless.test")},
		},
		{
			// The first name in sorted order is generic and does not resolve;
			// the name that resolves back is the one receivers use.
			name:   "two PTR names, the second forward-confirmed",
			target: "twoptr.test",
			checks: statuses(pass, "dnssec.not_bogus", skip, "mx.null", skip, "mx.ipv6", fail, "dnssec.domain", fail, "dnssec.mx", fail,
				"caa.present", fail, "srv.client", fail),
			evidence: map[string]string{
				"ptr.fcrdns":      "198.51.100.40 PTR a-198-51-100-40.pool.isp.test (does not exist)",
				"ptr.not_generic": "198.51.100.40 PTR mail.twoptr.test (not generic)",
			},
			metrics: []metric{
				m("mail_ptr_info", 1, "mx.twoptr.test", "198.51.100.40", "a-198-51-100-40.pool.isp.test"),
				m("mail_ptr_info", 1, "mx.twoptr.test", "198.51.100.40", "mail.twoptr.test"),
				m("mail_ptr_forward_confirmed", 1, "mx.twoptr.test", "198.51.100.40"),
			},
		},
		{
			name:   "more PTR names than are checked",
			target: "fiveptr.test",
			checks: statuses(fail, "dnssec.not_bogus", skip, "mx.present", pass, "mx.null", skip, "mx.hostname", pass, "mx.resolves", pass,
				"ptr.present", pass, "ptr.not_generic", pass),
			evidence: map[string]string{
				"ptr.fcrdns": "198.51.100.41 PTR mail.fiveptr.test (not checked: only the first 4 names are)",
			},
			metrics: []metric{
				m("mail_ptr_info", 1, "mx.fiveptr.test", "198.51.100.41", "d.isp.test"),
				m("mail_ptr_forward_confirmed", 0, "mx.fiveptr.test", "198.51.100.41"),
			},
			absent: []metric{m("mail_ptr_info", 1, "mx.fiveptr.test", "198.51.100.41", "mail.fiveptr.test")},
		},
		{
			name:   "more MX hosts than are checked",
			target: "many.test",
			// The 17th host is not looked at: what holds for the first 16
			// cannot pass for all (mx.hostname, mx.ipv6), what fails for
			// them fails.
			checks: statuses(skip, "dnssec.not_bogus", skip, "mx.present", pass, "mx.hostname", probes.StatusError, "mx.resolves", fail, "mx.ipv6", probes.StatusError,
				"dnssec.domain", fail, "dnssec.mx", fail, "caa.present", fail, "srv.client", fail),
			reasons: map[string]string{
				"mx.hostname": "many.test publishes 17 MX hosts; only the 16 most preferred were looked at (the module's limits.mx_hosts is 16)",
				"mx.ipv6":     "limits.mx_hosts",
			},
			metrics:    []metric{m("mail_mx_hosts", 17), m("mail_mx_host_info", 1, "h16.many.test", "10")},
			absent:     []metric{m("mail_mx_host_info", 1, "h17.many.test", "20")},
			wantErrors: "only the 16 most preferred were looked at",
		},
		{
			name:   "host target",
			target: "mx1.healthy.test:25",
			setup:  secure("healthy.test"),
			checks: statuses(pass, "mx.present", skip, "mx.null", skip, "mx.hostname", skip, "dnssec.domain", skip, "srv.client", skip),
			reasons: map[string]string{
				"mx.present":  "the target is one host (mx1.healthy.test:25)",
				"caa.present": "its parent healthy.test does",
			},
			metrics: []metric{
				m("mail_mx_hosts", 1),
				m("mail_mx_host_addresses", 1, "mx1.healthy.test", "ipv4"),
				m("mail_ptr_forward_confirmed", 1, "mx1.healthy.test", "192.0.2.10"),
				m("mail_dnssec_authenticated", 1, "mx1.healthy.test"),
			},
			absent: []metric{m("mail_mx_null", 0), m("mail_mx_host_info", 0, "mx1.healthy.test", "0")},
		},
		{
			name:   "host target in a DNSSEC-bogus zone",
			target: "mx.expired.test:25",
			setup:  bogus("expired.test", dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeRRSIGsMissing}),
			checks: statuses(pass, "mx.present", skip, "mx.null", skip, "mx.hostname", skip, "dnssec.domain", skip, "srv.client", skip,
				"mx.ipv6", fail, "dnssec.mx", fail, "dnssec.not_bogus", fail, "caa.present", fail),
			reasons: map[string]string{
				"dnssec.not_bogus": `the validating resolver refused the answers for "mx.expired.test" (A, AAAA) as DNSSEC-bogus: senders that validate cannot reach mx.expired.test, so they cannot deliver mail to mx.expired.test`,
			},
			remediations: map[string]string{"dnssec.not_bogus": "serve the zone of mx.expired.test signed from every name server"},
			evidence:     map[string]string{"dnssec.not_bogus": "A mx.expired.test: SERVFAIL from 127.0.0.1:"},
			metrics:      []metric{m("mail_dnssec_authenticated", 0, "mx.expired.test")},
		},
		{
			name:   "IP target",
			target: "192.0.2.10",
			checks: statuses(skip, "ptr.present", pass, "ptr.fcrdns", pass, "ptr.not_generic", pass, "ptr.role_label", pass),
			reasons: map[string]string{
				"mx.present": "the target is an IP address",
			},
			metrics: []metric{
				m("mail_ptr_info", 1, "", "192.0.2.10", "mx1.healthy.test"),
				m("mail_ptr_forward_confirmed", 1, "", "192.0.2.10"),
			},
			absent: []metric{m("mail_mx_hosts", 0)},
		},
		{
			// The name proposed is a new one, which may be in use by
			// another host: to be published only while free.
			name:   "PTR without a role label",
			target: "norole.test",
			checks: statuses(fail, "dnssec.not_bogus", skip, "mx.present", pass, "mx.null", skip, "mx.hostname", pass, "mx.resolves", pass,
				"ptr.present", pass, "ptr.fcrdns", pass, "ptr.not_generic", pass),
			remediations: map[string]string{
				"ptr.role_label": `set the PTR of 198.51.100.13 to a name with a role label, e.g. "13.100.51.198.in-addr.arpa. IN PTR mail.norole.test.", published with "mail.norole.test. IN A 198.51.100.13", if that name is not in use yet (else another new name of yours)`,
			},
		},
		{
			name:   "IP target with a generic PTR",
			target: "198.51.100.77",
			checks: statuses(skip, "ptr.present", pass, "ptr.fcrdns", pass, "ptr.not_generic", fail, "ptr.role_label", fail),
			remediations: map[string]string{
				"ptr.not_generic": `"77.100.51.198.in-addr.arpa. IN PTR mail.<your domain>."`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testbed.StartDNS(t, world)
			if tc.setup != nil {
				tc.setup(srv)
			}
			res, _ := runProbe(t, srv.Addr, tc.target, mx.DefaultConfig(), 10*time.Second)
			checkInvariants(t, res)
			assertChecks(t, res, tc)
			assertMetrics(t, res, tc.metrics, tc.absent)
			assertErrors(t, res, tc.wantErrors)
		})
	}
}

// runProbe runs the probe once against the resolver at addr.
func runProbe(t *testing.T, addr, target string, cfg mx.Config, timeout time.Duration) (*probes.Result, *dnsclient.Resolver) {
	t.Helper()
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{addr}, Timeout: time.Second, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	env := probetest.Env(client)
	resolver := env.DNS
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := mx.New(cfg).Run(ctx, &probes.Request{Target: tgt}, env)
	if res == nil {
		t.Fatal("Run returned nil")
	}
	return res, resolver
}

// TestIPv6FixNamesWhatTheDomainCanChange: an AAAA record is asked of a
// mail host the domain runs; a provider's hosts are in the provider's
// zone, where the domain can publish nothing.
func TestIPv6FixNamesWhatTheDomainCanChange(t *testing.T) {
	srv := testbed.StartDNS(t, world)
	for _, tc := range []struct {
		target, fix, never string
	}{
		{"notback.test", `publish an AAAA record for at least one mail host, e.g. "mx.notback.test. IN AAAA <its IPv6 address>"`, ""},
		{"hostedv4.test", "the mail hosts are in notback.test, whose records only the provider can change: ask your provider whether it offers MX hosts with IPv6 addresses", "IN AAAA"},
	} {
		res, _ := runProbe(t, srv.Addr, tc.target, mx.DefaultConfig(), 10*time.Second)
		c, _ := res.Check("mx.ipv6")
		if c.Status != probes.StatusFail || !strings.Contains(c.Remediation, tc.fix) {
			t.Errorf("%s: mx.ipv6 %s, fix %q; want a failure with %q", tc.target, c.Status, c.Remediation, tc.fix)
		}
		if tc.never != "" && strings.Contains(c.Remediation, tc.never) {
			t.Errorf("%s: mx.ipv6 fix %q asks for a record in the provider's zone", tc.target, c.Remediation)
		}
	}
}

func TestErrorsNeverFailAChecks(t *testing.T) {
	// Every check of a domain whose MX lookup fails is undecided or comes
	// from lookups of its own; none fails because of the error.
	srv := testbed.StartDNS(t, world)
	srv.SetBehaviour("servfail.test", testbed.ServFail)
	res, _ := runProbe(t, srv.Addr, "servfail.test", mx.DefaultConfig(), 10*time.Second)
	for _, c := range res.Checks() {
		if c.Status == probes.StatusFail {
			t.Errorf("%s failed: %s", c.ID, c.Reason)
		}
	}
	if !res.Failed() {
		t.Error("the probe recorded no error")
	}
}

func TestSilentResolverEndsAtDeadline(t *testing.T) {
	silent := testbed.StartSilentResolver(t)
	tgt, _ := probes.ParseTarget("healthy.test")
	// One attempt could outlast the deadline many times over.
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{silent.Addr}, Timeout: 10 * time.Second, Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	env := probetest.Env(client)
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	res := mx.New(mx.DefaultConfig()).Run(ctx, &probes.Request{Target: tgt}, env)
	elapsed := time.Since(start)
	if elapsed > deadline+2*time.Second {
		t.Errorf("Run took %s after a %s deadline", elapsed, deadline)
	}
	if !res.Failed() {
		t.Error("no probe error recorded after the resolver never answered")
	}
	if c, _ := res.Check("mx.present"); c.Status != probes.StatusError {
		t.Errorf("mx.present = %s, want undecided", c.Status)
	}
	for _, c := range res.Checks() {
		if c.Status == probes.StatusFail || c.Status == probes.StatusPass {
			t.Errorf("%s = %s without a single answer", c.ID, c.Status)
		}
	}
}

func TestEachQuestionAskedOnce(t *testing.T) {
	srv := testbed.StartDNS(t, world)
	srv.SetSecure("healthy.test")
	res, resolver := runProbe(t, srv.Addr, "healthy.test", mx.DefaultConfig(), 10*time.Second)
	if c, _ := res.Check("ptr.fcrdns"); c.Status != probes.StatusPass {
		t.Fatalf("ptr.fcrdns = %s (%s); the run is not the healthy one this test needs", c.Status, c.Reason)
	}
	if d := srv.Duplicates(); len(d) > 0 {
		t.Errorf("questions asked more than once: %v", d)
	}
	distinct := map[string]bool{}
	for _, q := range srv.Queries() {
		distinct[q.String()] = true
	}
	st := resolver.Stats()
	if st.Queries != int64(len(distinct)) {
		t.Errorf("%d queries sent for %d distinct questions", st.Queries, len(distinct))
	}
	// MX; A and AAAA of two hosts; PTR of four addresses; CAA of the domain
	// and the TLD; six SRV names. The PTR names are the MX hosts, whose
	// addresses mailhosts already has: confirming them costs nothing.
	if want := 1 + 4 + 4 + 2 + 6; len(distinct) != want {
		t.Errorf("%d distinct questions, want %d: %v", len(distinct), want, srv.Queries())
	}
	if st.CacheHits != 0 {
		t.Errorf("%d questions were asked of the resolver twice; each should be asked once", st.CacheHits)
	}
}

func TestSRVServicesFromConfig(t *testing.T) {
	srv := testbed.StartDNS(t, world)
	res, _ := runProbe(t, srv.Addr, "healthy.test", mx.Config{SRVServices: []string{"imaps", "jmap"}}, 10*time.Second)
	c, _ := res.Check("srv.client")
	if c.Status != probes.StatusFail || !strings.Contains(c.Reason, "jmap") || strings.Contains(c.Reason, "imaps") {
		t.Errorf("srv.client = %s (%s), want a failure naming jmap only", c.Status, c.Reason)
	}
	if !strings.Contains(c.Remediation, `"_jmap._tcp.healthy.test. IN SRV 0 1 <port> mx1.healthy.test."`) {
		t.Errorf("remediation %q", c.Remediation)
	}
	if _, ok := findMeasurement(res, "mail_srv_records", "submission"); ok {
		t.Error("an unconfigured service was measured")
	}
	if v, ok := findMeasurement(res, "mail_srv_records", "jmap"); !ok || v != 0 {
		t.Errorf("mail_srv_records{jmap} = %v, %v; want 0", v, ok)
	}

	off, _ := runProbe(t, srv.Addr, "healthy.test", mx.Config{}, 10*time.Second)
	if c, _ := off.Check("srv.client"); c.Status != probes.StatusSkip {
		t.Errorf("srv.client with no services = %s, want skipped", c.Status)
	}
}

func TestDescriber(t *testing.T) {
	p := mx.New(mx.DefaultConfig())
	if p.Name() != "mx" {
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
	wantLevels := map[string]probes.Level{"mx.present": probes.LevelMust, "mx.null": probes.LevelInfo,
		"ptr.not_generic": probes.LevelShould, "ptr.role_label": probes.LevelMay, "dnssec.mx": probes.LevelShould}
	for _, spec := range p.CheckSpecs() {
		if want, ok := wantLevels[spec.ID]; ok && spec.Level != want {
			t.Errorf("%s level %q, want %q", spec.ID, spec.Level, want)
		}
	}
	var names []string
	for _, spec := range p.MetricSpecs() {
		names = append(names, spec.Name)
		if !strings.HasSuffix(spec.Help, ".") || strings.Contains(spec.Help, "\n") {
			t.Errorf("%s: HELP %q is not a short sentence", spec.Name, spec.Help)
		}
	}
	want := []string{"mail_mx_hosts", "mail_mx_null", "mail_mx_implicit", "mail_mx_host_info", "mail_mx_host_addresses",
		"mail_ptr_info", "mail_ptr_forward_confirmed", "mail_dnssec_authenticated", "mail_srv_records"}
	if !slices.Equal(names, want) {
		t.Errorf("MetricSpecs = %q, want %q", names, want)
	}
}

func TestLookupsFollowTheDependencyChain(t *testing.T) {
	// The dependency chain of a healthy domain is MX -> A/AAAA -> PTR: the
	// CAA climb and the SRV lookups run beside it, and the PTR names are
	// confirmed from answers already received. Asking the 17 questions
	// one after another would take 17 rounds.
	srv := testbed.StartDNS(t, world)
	srv.SetSecure("healthy.test")
	srv.SetLockstep(50 * time.Millisecond)
	res, _ := runProbe(t, srv.Addr, "healthy.test", mx.DefaultConfig(), 30*time.Second)
	if c, _ := res.Check("ptr.fcrdns"); c.Status != probes.StatusPass {
		t.Fatalf("ptr.fcrdns = %s (%s)", c.Status, c.Reason)
	}
	if rounds := srv.Rounds(); rounds != 3 {
		t.Errorf("the probe needed %d rounds of DNS questions; the dependency chain is 3", rounds)
	}
}

// limitsWorld is a healthy domain with two MX hosts of five addresses
// each, every address with a PTR that resolves back and carries a role
// label: without limits every check passes.
const limitsWorld = `
$ORIGIN wide.test.
$TTL 3600
@      IN MX   10 mx1
@      IN MX   20 mx2
mx1    IN A    192.0.2.11
mx1    IN A    192.0.2.12
mx1    IN A    192.0.2.13
mx1    IN A    192.0.2.14
mx1    IN A    192.0.2.15
mx2    IN A    192.0.2.21
mx2    IN A    192.0.2.22
mx2    IN A    192.0.2.23
mx2    IN A    192.0.2.24
mx2    IN A    192.0.2.25

$ORIGIN 2.0.192.in-addr.arpa.
11     IN PTR  mx1.wide.test.
12     IN PTR  mx1.wide.test.
13     IN PTR  mx1.wide.test.
14     IN PTR  mx1.wide.test.
15     IN PTR  mx1.wide.test.
21     IN PTR  mx2.wide.test.
22     IN PTR  mx2.wide.test.
23     IN PTR  mx2.wide.test.
24     IN PTR  mx2.wide.test.
25     IN PTR  mx2.wide.test.
`

// TestLimitsMakeChecksUndecided runs the probe with each of the request's
// limits below what the domain publishes: the checks on every host or
// address become undecided with the limit as the reason (never a pass over
// the part looked at), and nothing beyond the limit is asked.
func TestLimitsMakeChecksUndecided(t *testing.T) {
	ptrChecks := []string{"ptr.present", "ptr.fcrdns", "ptr.not_generic", "ptr.role_label"}
	for _, tc := range []struct {
		name      string
		limits    probes.Limits
		undecided []string
		reason    string
		wantPTRs  int // PTR questions the server may see
	}{
		{name: "no limit reached", limits: probes.Limits{}, wantPTRs: 10},
		{name: "MX hosts", limits: probes.Limits{MXHosts: 1},
			undecided: append([]string{"mx.hostname", "mx.resolves"}, ptrChecks...),
			reason:    "wide.test publishes 2 MX hosts; only the 1 most preferred were looked at (the module's limits.mx_hosts is 1)", wantPTRs: 5},
		{name: "addresses per host", limits: probes.Limits{AddressesPerHost: 3}, undecided: ptrChecks,
			reason: "mx1.wide.test, mx2.wide.test have more addresses than the first 3 that were looked at (4 left out) (the module's limits.addresses_per_host is 3)", wantPTRs: 6},
		{name: "PTR questions", limits: probes.Limits{PTRQuestions: 4}, undecided: ptrChecks,
			reason: "reverse DNS was looked up for 4 of 10 mail server addresses (the module's limits.ptr_questions is 4)", wantPTRs: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testbed.StartDNS(t, limitsWorld)
			client, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 2})
			if err != nil {
				t.Fatal(err)
			}
			env := probetest.Env(client)
			env.Limits = tc.limits
			tgt, _ := probes.ParseTarget("wide.test")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res := mx.New(mx.Config{}).Run(ctx, &probes.Request{Target: tgt}, env)
			checkInvariants(t, res)
			for _, id := range append([]string{"mx.present", "mx.hostname", "mx.resolves"}, ptrChecks...) {
				c, _ := res.Check(id)
				want := probes.StatusPass
				if slices.Contains(tc.undecided, id) {
					want = probes.StatusError
				}
				if c.Status != want {
					t.Errorf("%s = %s (%s), want %s", id, c.Status, c.Reason, want)
				}
				if want == probes.StatusError && c.Reason != tc.reason {
					t.Errorf("%s reason %q, want %q", id, c.Reason, tc.reason)
				}
			}
			if tc.reason != "" {
				assertErrors(t, res, tc.reason)
			} else {
				assertErrors(t, res, "")
			}
			ptrs := 0
			for _, q := range srv.Queries() {
				if strings.HasSuffix(q.Name, ".in-addr.arpa.") {
					ptrs++
				}
			}
			if ptrs != tc.wantPTRs {
				t.Errorf("the server saw %d PTR questions, want %d", ptrs, tc.wantPTRs)
			}
		})
	}
}

// The shared assertions (internal/probetest), bound to this probe.

type metric = probetest.Metric

var (
	m               = probetest.M
	findMeasurement = probetest.FindMeasurement
	assertMetrics   = probetest.AssertMetrics
	assertErrors    = probetest.AssertErrors
)

// statuses expects every check to have status def except those overridden
// ("mx.null", skip, ...).
func statuses(def probes.Status, overrides ...any) map[string]probes.Status {
	return probetest.Statuses(checkIDs, def, overrides...)
}

func checkInvariants(t testing.TB, res *probes.Result) {
	t.Helper()
	probetest.CheckInvariants(t, res, mx.New(mx.DefaultConfig()), checkIDs)
}

func assertChecks(t testing.TB, res *probes.Result, tc probeCase) {
	t.Helper()
	probetest.AssertChecks(t, res, tc.checks, tc.reasons, tc.remediations, tc.evidence)
	for id, bad := range tc.notInRemediations {
		if c, _ := res.Check(id); strings.Contains(c.Remediation, bad) {
			t.Errorf("%s remediation %q contains %q", id, c.Remediation, bad)
		}
	}
}
