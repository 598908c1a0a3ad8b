package spf

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// The statuses, short for the tables.
const (
	pass      = probes.StatusPass
	fail      = probes.StatusFail
	skip      = probes.StatusSkip
	undecided = probes.StatusError
)

var checkIDs = []string{
	"spf.present", "spf.syntax", "spf.lookup_limit", "spf.void_lookup_limit", "spf.no_loop",
	"spf.all_policy", "spf.no_ptr", "spf.not_too_broad", "spf.authorizes_outbound", "spf.helo",
}

type probeCase struct {
	name   string
	target string
	cfg    func(*Config)
	setup  func(*testbed.DNSServer)
	// outbound are the request's outbound IPs.
	outbound []string
	checks   map[string]probes.Status
	// reasons, remediations and evidence hold substrings expected in the
	// check's text (evidence: in any line).
	reasons      map[string]string
	remediations map[string]string
	evidence     map[string]string
	metrics      []metric
	absent       []metric // samples that must not be recorded (value ignored)
	// tree holds substrings expected, in this order, in lines of the
	// include tree.
	tree       []string
	wantErrors string // substring of a probe error; "" means no errors
}

func TestProbe(t *testing.T) {
	// The checks that rest on the tree, when the domain has one record and
	// no MX or outbound addresses: every one passes unless said otherwise.
	base := func(overrides ...any) map[string]probes.Status {
		return statuses(pass, append([]any{"spf.authorizes_outbound", skip, "spf.helo", skip}, overrides...)...)
	}
	for _, tc := range []probeCase{
		{
			name:   "healthy domain: its MX and Google Workspace",
			target: "healthy.test",
			cfg:    func(c *Config) { c.MaxIPv4Addresses = 1 << 20; c.HeloNames = []string{"MX1.healthy.test"} },
			checks: statuses(pass),
			reasons: map[string]string{
				"spf.present":             "healthy.test publishes one SPF record",
				"spf.lookup_limit":        "5 of 10 DNS-querying terms",
				"spf.void_lookup_limit":   "0 void lookups of 2",
				"spf.all_policy":          "ends in -all: unlisted clients get fail",
				"spf.syntax":              "and the 4 records it includes",
				"spf.not_too_broad":       "the own terms of healthy.test pass 2 IPv4 addresses (at most 1048576 allowed); its provider's shared space (include:_spf.google.com) is not counted",
				"spf.authorizes_outbound": "3 addresses of healthy.test pass",
				"spf.helo":                "mx1.healthy.test",
			},
			evidence: map[string]string{
				"spf.present":             `healthy.test. TXT "v=spf1 mx include:_spf.google.com -all"`,
				"spf.lookup_limit":        "include:_spf.google.com: 4 lookups",
				"spf.authorizes_outbound": "check_host(2001:db8::10, healthy.test) = pass",
				"spf.not_too_broad":       "include:_spf.google.com: a provider's shared space, not counted (IPv4 328960 addresses, IPv6 1610612736 /64 prefixes)",
				"spf.helo":                `mx1.healthy.test. TXT "v=spf1 a -all"`,
			},
			metrics: []metric{
				m("mail_spf_records", 1), m("mail_spf_dns_lookups", 5), m("mail_spf_void_lookups", 0),
				// Google's ranges plus the two MX addresses; the /36s of
				// _netblocks2 are 2^28 /64s each, plus mx1's /64.
				m("mail_spf_authorized_ipv4_addresses", 328962),
				m("mail_spf_authorized_ipv6_prefixes_64", 6<<28+1),
				m("mail_spf_all_info", 1, "fail"),
				m("mail_spf_check_host_result_info", 1, "192.0.2.10", "pass"),
				m("mail_spf_check_host_result_info", 1, "2001:db8::10", "pass"),
				m("mail_spf_check_host_result_info", 1, "192.0.2.20", "pass"),
				m("mail_spf_helo_record", 1, "mx1.healthy.test"),
			},
			tree: []string{
				"healthy.test", "5 lookups in total, 0 void lookups",
				"  mx ", "2 MX hosts, 4 address lookups",
				"  include:_spf.google.com", " 4",
				"    include:_netblocks.google.com", " 1",
				"    include:_netblocks3.google.com", " 1",
			},
		},
		{
			// Google's shared ranges are more than a /16, but they are the
			// provider's: the domain's own terms are what is judged.
			name:   "the default breadth threshold: a provider's include is not held against the domain",
			target: "healthy.test",
			checks: statuses(pass, "spf.helo", skip),
			reasons: map[string]string{
				"spf.not_too_broad": "the own terms of healthy.test pass 2 IPv4 addresses (at most 65536 allowed); its provider's shared space (include:_spf.google.com) is not counted",
				"spf.helo":          "no HELO names to check",
			},
			evidence: map[string]string{"spf.not_too_broad": "its own terms: IPv4 2 addresses, IPv6 1 /64 prefix; the whole tree: IPv4 328962 addresses"},
			metrics:  []metric{m("mail_spf_authorized_ipv4_addresses", 328962)},
		},
		{
			// The domain's own include is its own: its ip4 terms count, the
			// provider include inside it does not.
			name:   "breadth: own terms through an own include, providers beside them",
			target: "ownwide.test",
			checks: base("spf.not_too_broad", fail),
			reasons: map[string]string{
				"spf.not_too_broad": "the own terms of ownwide.test pass 131072 IPv4 addresses, more than the 65536 allowed; include:_spf.ownwide.test adds",
			},
			remediations: map[string]string{
				"spf.not_too_broad": "narrow the record include:_spf.ownwide.test leads to, which is ownwide.test's own, to the addresses you send from",
			},
			evidence: map[string]string{
				"spf.not_too_broad": "include:sendgrid.net in _spf.ownwide.test: a provider's shared space, not counted (IPv4 219136 addresses",
			},
		},
		{
			name:   "exactly 10 lookups: large senders' chains",
			target: "bigsender.test",
			cfg:    func(c *Config) { c.MaxIPv4Addresses = 1 << 32 },
			checks: statuses(pass, "spf.helo", skip),
			reasons: map[string]string{
				"spf.lookup_limit": "10 of 10 DNS-querying terms across the tree of bigsender.test",
				// a has no AAAA: void for IPv6 clients (RFC 7208 §4.6.4).
				"spf.void_lookup_limit": "0 void lookups for IPv4 clients, 1 for IPv6 clients of 2",
			},
			metrics: []metric{m("mail_spf_dns_lookups", 10), m("mail_spf_void_lookups", 1), m("mail_spf_all_info", 1, "softfail")},
			tree:    []string{"bigsender.test", "10 lookups in total", "include:spf.protection.outlook.com", " 1", "include:amazonses.com", " 1"},
		},
		{
			name:   "11 lookups: the 11th inside Google's chain",
			target: "toomany.test",
			cfg:    func(c *Config) { c.MaxIPv4Addresses = 1 << 32 },
			checks: statuses(pass, "spf.lookup_limit", fail, "spf.helo", skip),
			reasons: map[string]string{
				"spf.lookup_limit": "11 DNS-querying terms across the tree of toomany.test; receivers stop at the 11th with permerror (RFC 7208 §4.6.4)",
				// mx matches the MX address before the limit is reached.
				"spf.authorizes_outbound": "1 address of toomany.test pass",
			},
			remediations: map[string]string{
				"spf.lookup_limit": "cut 1 lookup: include:_spf.google.com costs 4 lookups",
			},
			metrics: []metric{m("mail_spf_dns_lookups", 11)},
			tree: []string{
				"include:mail.zendesk.com", " 1",
				"include:_spf.google.com", " 4  << crosses the lookup limit",
				"include:_netblocks2.google.com", " 1",
				"include:_netblocks3.google.com", " 1  << lookup 11: over the limit, receivers stop here with permerror",
			},
		},
		{
			name:   "includes nested 12 deep",
			target: "deep.test",
			checks: base("spf.lookup_limit", fail),
			reasons: map[string]string{
				"spf.lookup_limit": "12 DNS-querying terms",
				"spf.syntax":       "the 12 records it includes",
			},
			remediations: map[string]string{"spf.lookup_limit": "cut 2 lookups: include:l1.deep.test costs 12 lookups"},
			metrics:      []metric{m("mail_spf_dns_lookups", 12), m("mail_spf_authorized_ipv4_addresses", 1)},
			tree: []string{
				"  include:l1.deep.test", "12  << crosses the lookup limit",
				"                    include:l10.deep.test", " 3  << crosses",
				"                      include:l11.deep.test", " 2  << lookup 11",
				"                        include:l12.deep.test", " 1",
			},
		},
		{
			name:   "an include loop",
			target: "loop.test",
			checks: base("spf.no_loop", fail),
			reasons: map[string]string{
				"spf.no_loop": "include:a.loop.test in b.loop.test: loop: a.loop.test is already being evaluated (loop.test -> a.loop.test -> b.loop.test -> a.loop.test); receivers go round it",
			},
			remediations: map[string]string{"spf.no_loop": "remove include:a.loop.test from the record of b.loop.test"},
			// The loop is followed once round: the closing include counts.
			metrics: []metric{m("mail_spf_dns_lookups", 3)},
			tree:    []string{"      include:a.loop.test", " 1  loop: a.loop.test is already being evaluated"},
		},
		{
			name:   "a redirect loop",
			target: "redirloop.test",
			checks: base("spf.no_loop", fail, "spf.all_policy", fail),
			reasons: map[string]string{
				"spf.no_loop":    "redirect=redirloop.test in r.redirloop.test: loop",
				"spf.all_policy": "no all decides for unlisted clients: loop",
			},
			remediations: map[string]string{
				"spf.no_loop":    "remove redirect=redirloop.test from the record of r.redirloop.test",
				"spf.all_policy": "make redirect=r.redirloop.test lead to one valid SPF record that ends in -all",
			},
			absent: []metric{m("mail_spf_all_info", 0, "neutral")},
		},
		{
			name:     "redirect together with all: the redirect is ignored",
			target:   "redirall.test",
			outbound: []string{"192.0.2.7", "203.0.113.9"},
			checks:   base("spf.authorizes_outbound", fail),
			reasons: map[string]string{
				"spf.lookup_limit":        "0 of 10",
				"spf.all_policy":          "redirall.test ends in -all",
				"spf.authorizes_outbound": "203.0.113.9 gets fail",
			},
			remediations: map[string]string{
				"spf.authorizes_outbound": `"redirall.test. IN TXT \"v=spf1 ip4:203.0.113.9 ip4:192.0.2.0/24 redirect=plusall.test -all\""`,
			},
			evidence: map[string]string{"spf.authorizes_outbound": "check_host(192.0.2.7, redirall.test) = pass"},
			metrics: []metric{
				m("mail_spf_dns_lookups", 0), m("mail_spf_all_info", 1, "fail"), m("mail_spf_authorized_ipv4_addresses", 256),
				m("mail_spf_check_host_result_info", 1, "203.0.113.9", "fail"),
			},
			tree: []string{"redirall.test", "redirect=plusall.test is ignored: the record has an all mechanism (RFC 7208 §6.1)"},
		},
		{
			name:    "a redirect decides the all",
			target:  "redirect.test",
			checks:  base(),
			reasons: map[string]string{"spf.all_policy": "redirect.test ends in redirect=_spf.redirect.test (-all): unlisted clients get fail"},
			evidence: map[string]string{
				"spf.all_policy":    "decided by redirect=_spf.redirect.test (-all)",
				"spf.not_too_broad": "redirect=_spf.redirect.test adds 256 IPv4 addresses",
			},
			metrics: []metric{m("mail_spf_dns_lookups", 1), m("mail_spf_all_info", 1, "fail")},
		},
		{
			name:   "3 void lookups",
			target: "void.test",
			checks: base("spf.void_lookup_limit", fail),
			reasons: map[string]string{
				// It sends from IPv4 only (what its record authorises): the
				// IPv6 count is the same, and not what is judged.
				"spf.void_lookup_limit": "3 void lookups for IPv4 clients in the tree of void.test; receivers return permerror after 2",
			},
			remediations: map[string]string{"spf.void_lookup_limit": "remove or repair the terms that match nothing (their lookups find no records): a:nx1.void.test in void.test (NXDOMAIN); a:nx2.void.test in void.test (NXDOMAIN); a:nx3.void.test in void.test (NXDOMAIN)"},
			metrics:      []metric{m("mail_spf_void_lookups", 3), m("mail_spf_dns_lookups", 3)},
			tree:         []string{"a:nx3.void.test", "void lookup (NXDOMAIN)  << void lookup 3 for IPv4 and IPv6 clients: receivers stop here with permerror"},
		},
		{
			// Its names have IPv4 addresses only, and so has everything it
			// authorises: no IPv6 client sends its mail, so the void
			// lookups IPv6 clients would meet are reported, not failed.
			name:   "3 void lookups for IPv6 clients, from which the domain does not send",
			target: "voidv6.test",
			checks: base(),
			reasons: map[string]string{
				"spf.void_lookup_limit": "0 void lookups for IPv4 clients of 2 in the tree of voidv6.test",
			},
			evidence: map[string]string{"spf.void_lookup_limit": "3 void lookups for IPv6 clients, which voidv6.test does not send from (the addresses its record authorises use IPv4 only): not counted"},
			metrics:  []metric{m("mail_spf_void_lookups", 0)},
			tree:     []string{"voidv6.test", "0 void lookups for IPv4 clients, 3 for IPv6 clients", "a:h3.voidv6.test", "<< void lookup 3 for IPv6 clients"},
		},
		{
			// It sends from IPv6 too: the IPv6 count is judged, and the
			// fix completes the names rather than removing them.
			name:     "3 void lookups for IPv6 clients, from which the domain sends",
			target:   "voidv6.test",
			outbound: []string{"192.0.2.61", "2001:db8::61"},
			checks:   base("spf.void_lookup_limit", fail, "spf.authorizes_outbound", fail),
			reasons: map[string]string{
				"spf.void_lookup_limit": "3 void lookups for IPv6 clients in the tree of voidv6.test",
			},
			remediations: map[string]string{
				"spf.void_lookup_limit": "for the terms whose names lack records of one family: a:h1.voidv6.test in voidv6.test: publish AAAA records for h1.voidv6.test, or replace the term with ip4:192.0.2.61 (the addresses it matches today)",
			},
			evidence: map[string]string{"spf.void_lookup_limit": "a:h2.voidv6.test in voidv6.test: no AAAA for IPv6 clients"},
			metrics:  []metric{m("mail_spf_void_lookups", 3)},
		},
		{
			name:   "two SPF records",
			target: "two.test",
			checks: statuses(skip, "spf.present", fail),
			reasons: map[string]string{
				"spf.present": "two.test publishes 2 SPF records; receivers return permerror (RFC 7208 §4.5)",
				"spf.syntax":  "fix spf.present first",
			},
			remediations: map[string]string{
				// ~all: the most lenient of the two, so no server one of them
				// let through fails hard after the merge.
				"spf.present": `publish "two.test. IN TXT \"v=spf1 mx include:_spf.google.com ~all\"" and remove the others`,
			},
			evidence: map[string]string{"spf.present": `two.test. TXT "v=spf1 include:_spf.google.com ~all"`},
			metrics:  []metric{m("mail_spf_records", 2)},
			absent:   []metric{m("mail_spf_dns_lookups", 0)},
		},
		{
			name:     "two SPF records: outbound addresses get permerror",
			target:   "two.test",
			outbound: []string{"192.0.2.1"},
			checks:   statuses(skip, "spf.present", fail, "spf.authorizes_outbound", fail),
			reasons:  map[string]string{"spf.authorizes_outbound": "192.0.2.1 gets permerror"},
			remediations: map[string]string{
				"spf.authorizes_outbound": "merge the 2 SPF records into one (see spf.present), then check that it authorises 192.0.2.1",
			},
			metrics: []metric{m("mail_spf_check_host_result_info", 1, "192.0.2.1", "permerror")},
		},
		{
			name:    "v=spf10 is not an SPF record",
			target:  "spf10.test",
			checks:  statuses(skip, "spf.present", fail),
			reasons: map[string]string{"spf.present": "spf10.test publishes no SPF record"},
			remediations: map[string]string{
				"spf.present": `publish "spf10.test. IN TXT \"v=spf1 -all\""`,
			},
			evidence: map[string]string{"spf.present": `spf10.test. TXT "v=spf10" (not an SPF record: "v=spf1" must be followed by a space)`},
			metrics:  []metric{m("mail_spf_records", 0)},
		},
		{
			name:     "a record split over TXT strings is joined without spaces",
			target:   "split.test",
			cfg:      func(c *Config) { c.MaxIPv4Addresses = 1 << 20 },
			checks:   base(),
			evidence: map[string]string{"spf.present": `split.test. TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.google.com ~all"`},
			metrics:  []metric{m("mail_spf_dns_lookups", 4), m("mail_spf_authorized_ipv4_addresses", 328960+256)},
		},
		{
			name:     "strings joined without a space are not a record",
			target:   "nospace.test",
			checks:   statuses(skip, "spf.present", fail),
			evidence: map[string]string{"spf.present": `nospace.test. TXT "v=spf1mx -all" (not an SPF record`},
		},
		{
			name:   "a macro that expands to an over-long name is truncated from the left",
			target: "longmacro.test",
			checks: base(),
			// The truncated name does not exist: one void lookup.
			metrics: []metric{m("mail_spf_dns_lookups", 1), m("mail_spf_void_lookups", 1)},
		},
		{
			name:    "ip4:0.0.0.0/0",
			target:  "wide.test",
			checks:  base("spf.not_too_broad", fail),
			reasons: map[string]string{"spf.not_too_broad": "the tree of wide.test passes 4294967296 IPv4 addresses, more than the 65536 allowed; ip4:0.0.0.0/0 adds 4294967296"},
			remediations: map[string]string{
				"spf.not_too_broad": "narrow ip4:0.0.0.0/0 to the addresses you send from",
			},
			metrics: []metric{m("mail_spf_authorized_ipv4_addresses", 1<<32), m("mail_spf_authorized_ipv6_prefixes_64", 0)},
		},
		{
			name:   "+all",
			target: "plusall.test",
			checks: base("spf.all_policy", fail, "spf.not_too_broad", fail),
			reasons: map[string]string{
				"spf.all_policy":    "plusall.test ends in +all: every host on the internet passes SPF for it",
				"spf.not_too_broad": "+all adds 4294967296",
			},
			remediations: map[string]string{
				"spf.all_policy":    `end the record with ~all: "plusall.test. IN TXT \"v=spf1 ~all\"" (and -all once every server that sends for plusall.test is listed)`,
				"spf.not_too_broad": "replace +all with ~all",
			},
			metrics: []metric{
				m("mail_spf_all_info", 1, "pass"),
				m("mail_spf_authorized_ipv4_addresses", 1<<32),
				m("mail_spf_authorized_ipv6_prefixes_64", 1<<64),
			},
		},
		{
			name:   "an include that passes every client ends the evaluation",
			target: "incplus.test",
			checks: base("spf.all_policy", fail, "spf.not_too_broad", fail),
			reasons: map[string]string{
				"spf.all_policy":    "incplus.test ends in include:plusall.test (matches every client) (as +all): every host on the internet passes",
				"spf.lookup_limit":  "1 of 10",
				"spf.not_too_broad": "include:plusall.test adds 4294967296",
			},
			remediations: map[string]string{
				"spf.all_policy": "remove include:plusall.test, which matches every client before the all is reached, and end the record with ~all",
			},
			metrics: []metric{m("mail_spf_dns_lookups", 1), m("mail_spf_all_info", 1, "pass")},
			tree:    []string{"incplus.test", "include:_spf.google.com and the terms after it are never evaluated: include:plusall.test matches every client first"},
		},
		{
			name:   "mx with 11 MX hosts",
			target: "mx11.test",
			checks: statuses(pass, "spf.lookup_limit", fail, "spf.authorizes_outbound", fail, "spf.helo", skip),
			reasons: map[string]string{
				"spf.lookup_limit":        "mx in mx11.test: mx11.test has 11 MX records: more than 10 make receivers return permerror (RFC 7208 §4.6.4)",
				"spf.authorizes_outbound": "192.0.2.111 gets permerror",
			},
			remediations: map[string]string{"spf.lookup_limit": "replace mx in the record of mx11.test with a: or ip4:/ip6: terms"},
			metrics: []metric{
				m("mail_spf_dns_lookups", 1),
				m("mail_spf_check_host_result_info", 1, "192.0.2.111", "permerror"),
			},
		},
		{
			name:   "an include that answers SERVFAIL: undecided, not failed",
			target: "servfail.test",
			setup:  func(s *testbed.DNSServer) { s.SetBehaviour("broken.servfail.test", testbed.ServFail) },
			checks: statuses(undecided, "spf.present", pass, "spf.all_policy", pass,
				"spf.authorizes_outbound", skip, "spf.helo", skip),
			reasons: map[string]string{"spf.lookup_limit": `spf include "broken.servfail.test": dns TXT broken.servfail.test: SERVFAIL`},
			metrics: []metric{m("mail_spf_records", 1), m("mail_spf_all_info", 1, "fail")},
			// The counts would be lower bounds: not exported.
			absent:     []metric{m("mail_spf_dns_lookups", 0), m("mail_spf_void_lookups", 0), m("mail_spf_authorized_ipv4_addresses", 0)},
			tree:       []string{"include:broken.servfail.test", "temperror: dns TXT broken.servfail.test: SERVFAIL"},
			wantErrors: `spf include "broken.servfail.test": dns TXT broken.servfail.test: SERVFAIL`,
		},
		{
			name:     "an include that answers SERVFAIL: check_host() is temperror",
			target:   "servfail.test",
			setup:    func(s *testbed.DNSServer) { s.SetBehaviour("broken.servfail.test", testbed.ServFail) },
			outbound: []string{"192.0.2.1"},
			checks: statuses(undecided, "spf.present", pass, "spf.all_policy", pass,
				"spf.authorizes_outbound", undecided, "spf.helo", skip),
			metrics:    []metric{m("mail_spf_check_host_result_info", 1, "192.0.2.1", "temperror")},
			wantErrors: "spf check_host(192.0.2.1)",
		},
		{
			name:   "SERVFAIL on the domain's own TXT",
			target: "healthy.test",
			setup:  func(s *testbed.DNSServer) { s.SetBehaviour("healthy.test", testbed.ServFail) },
			checks: statuses(undecided, "spf.helo", skip),
			absent: []metric{m("mail_spf_records", 0)},
			// The MX question fails too: mailhosts says so.
			wantErrors: "spf TXT healthy.test: dns TXT healthy.test: SERVFAIL",
		},
		{
			name:    "null MX with ~all",
			target:  "nullmx.test",
			checks:  base("spf.all_policy", fail),
			reasons: map[string]string{"spf.all_policy": `nullmx.test publishes a null MX (RFC 7505): it receives no mail and should authorise no sender, but its SPF record is not "v=spf1 -all"`},
			remediations: map[string]string{
				// The record authorises nobody: replacing it loses nothing.
				"spf.all_policy": `publish "nullmx.test. IN TXT \"v=spf1 -all\"" in place of the current record`,
			},
			metrics: []metric{m("mail_spf_all_info", 1, "softfail")},
		},
		{
			// The record authorises a sender: "v=spf1 -all" in its place
			// would stop that mail, so it is the fix only if the domain
			// sends none.
			name:    "null MX beside a record that authorises senders",
			target:  "nullmxsend.test",
			checks:  base("spf.all_policy", fail),
			reasons: map[string]string{"spf.all_policy": `nullmxsend.test publishes a null MX (RFC 7505)`},
			remediations: map[string]string{
				"spf.all_policy": `if nullmxsend.test sends no mail, publish "nullmxsend.test. IN TXT \"v=spf1 -all\"" in place of the current record; if it does, publish MX records naming the host that receives its replies and bounces in place of the null MX`,
			},
		},
		{
			// The protective records of a domain that sends and receives
			// nothing: checked, and what it sends is not.
			name:   "null MX with -all",
			target: "nullok.test",
			checks: base(),
			reasons: map[string]string{
				"spf.all_policy":          `nullok.test sends no mail: its SPF record "v=spf1 -all" authorises no client, so every client gets fail`,
				"spf.authorizes_outbound": `nullok.test sends no mail (its SPF record "v=spf1 -all" authorises no client): this check applies only to mail the domain sends; if it does send, name the addresses it sends from with the module's outbound_ips or the request's outbound_ip=`,
			},
			evidence: map[string]string{"spf.all_policy": "nullok.test publishes a null MX (RFC 7505): it receives no mail either"},
		},
		{
			name:     "null MX: only the request's outbound IPs are evaluated",
			target:   "nullok.test",
			outbound: []string{"192.0.2.1"},
			checks:   base("spf.authorizes_outbound", fail),
			reasons:  map[string]string{"spf.authorizes_outbound": "192.0.2.1 gets fail"},
		},
		{
			name:   "ptr",
			target: "ptr.test",
			checks: base("spf.no_ptr", fail),
			reasons: map[string]string{
				"spf.no_ptr":            "ptr in ptr.test: the ptr mechanism is slow, unreliable and not to be used (RFC 7208 §5.5)",
				"spf.not_too_broad":     "besides what its ptr, exists or macro terms match",
				"spf.void_lookup_limit": "0 void lookups",
			},
			remediations: map[string]string{"spf.no_ptr": "replace ptr with ip4:/ip6: or a: terms"},
		},
		{
			name:    "the MX address is not authorised",
			target:  "noauth.test",
			checks:  statuses(pass, "spf.authorizes_outbound", fail, "spf.helo", skip),
			reasons: map[string]string{"spf.authorizes_outbound": "203.0.113.5 gets fail"},
			remediations: map[string]string{
				"spf.authorizes_outbound": `authorise the failing addresses: "noauth.test. IN TXT \"v=spf1 ip4:203.0.113.5 ip4:198.51.100.0/24 -all\""`,
			},
			evidence: map[string]string{"spf.authorizes_outbound": "check_host(203.0.113.5, noauth.test) = fail"},
			metrics:  []metric{m("mail_spf_check_host_result_info", 1, "203.0.113.5", "fail")},
		},
		{
			name:     "outbound IPs from the request besides the MX addresses",
			target:   "noauth.test",
			outbound: []string{"198.51.100.7", "2001:db8::7"},
			checks:   statuses(pass, "spf.authorizes_outbound", fail, "spf.helo", skip),
			reasons:  map[string]string{"spf.authorizes_outbound": "203.0.113.5 gets fail; 2001:db8::7 gets fail"},
			metrics: []metric{
				m("mail_spf_check_host_result_info", 1, "198.51.100.7", "pass"),
				m("mail_spf_check_host_result_info", 1, "2001:db8::7", "fail"),
			},
		},
		{
			name:   "check_outbound off",
			target: "noauth.test",
			cfg:    func(c *Config) { c.CheckOutbound = false },
			checks: statuses(pass, "spf.authorizes_outbound", skip, "spf.helo", skip),
			absent: []metric{m("mail_spf_check_host_result_info", 0, "203.0.113.5", "fail")},
		},
		{
			name:   "syntax errors name the term and position",
			target: "syntax.test",
			checks: base("spf.syntax", fail),
			reasons: map[string]string{
				"spf.syntax": `receivers return permerror: syntax.test: term "a:foo:8080" at character 8: "foo:8080" is not a domain name`,
			},
			remediations: map[string]string{"spf.syntax": `term "ip4:1.2.3" at character 19: "1.2.3" is not an IPv4 address`},
		},
		{
			name:   "an include of a domain without SPF",
			target: "nospfinc.test",
			checks: base("spf.syntax", fail),
			reasons: map[string]string{
				"spf.syntax": "include:nothing.test in nospfinc.test: nothing.test publishes no SPF record: receivers return permerror (RFC 7208 §5.2)",
			},
			remediations: map[string]string{"spf.syntax": "remove include:nothing.test from the record of nospfinc.test, or have nothing.test publish one valid SPF record"},
			metrics:      []metric{m("mail_spf_void_lookups", 1)},
		},
		{
			name:   "no all: the implicit ?all",
			target: "neutral.test",
			// Its MX host is another organization's (healthy.test's):
			// not its outbound address.
			checks: statuses(pass, "spf.all_policy", fail, "spf.authorizes_outbound", skip, "spf.helo", skip),
			reasons: map[string]string{
				"spf.all_policy":          "neutral.test ends in no all (so ?all): unlisted clients get neutral",
				"spf.authorizes_outbound": "the MX hosts of neutral.test (mx1.healthy.test) are its provider's inbound servers (healthy.test), which send nothing for it, and the request names no outbound IPs: name the addresses it sends from with the module's outbound_ips or the request's outbound_ip= to check them",
			},
			remediations: map[string]string{
				"spf.all_policy": `end the record with ~all: "neutral.test. IN TXT \"v=spf1 mx ~all\"" (and -all once every server that sends for neutral.test is listed)`,
			},
			metrics: []metric{m("mail_spf_all_info", 1, "neutral")},
		},
		{
			name:    "only -all is acceptable",
			target:  "bigsender.test",
			cfg:     func(c *Config) { c.AcceptableAll = []string{"-"}; c.MaxIPv4Addresses = 1 << 32 },
			checks:  statuses(pass, "spf.all_policy", fail, "spf.helo", skip),
			reasons: map[string]string{"spf.all_policy": "bigsender.test ends in ~all; the module accepts -all"},
		},
		{
			name:   "Salesforce's exists:%{i} is counted, not looked up",
			target: "salesforce.test",
			cfg:    func(c *Config) { c.MaxIPv4Addresses = 1 << 20 },
			checks: base(),
			reasons: map[string]string{
				"spf.lookup_limit": "6 of 10 DNS-querying terms across the tree of salesforce.test (terms that depend on the client or sender are counted once each)",
			},
			tree: []string{"exists:%{i}._spf.mta.salesforce.com", " 1  depends on the client address (%{i}): not looked up"},
		},
		{
			name:     "Salesforce's exists:%{i} passes the address it lists",
			target:   "salesforce.test",
			cfg:      func(c *Config) { c.MaxIPv4Addresses = 1 << 20 },
			outbound: []string{"192.0.2.77", "192.0.2.78"},
			checks:   base("spf.authorizes_outbound", fail),
			reasons:  map[string]string{"spf.authorizes_outbound": "192.0.2.78 gets softfail"},
			evidence: map[string]string{"spf.authorizes_outbound": "check_host(192.0.2.77, salesforce.test) = pass"},
		},
		{
			name:    "Mailgun's two-level chain",
			target:  "mailgun.test",
			checks:  base(),
			metrics: []metric{m("mail_spf_dns_lookups", 3), m("mail_spf_authorized_ipv4_addresses", 13208)},
		},
		{
			name:   "the domain does not exist",
			target: "absent.test",
			checks: statuses(skip, "spf.present", fail),
			reasons: map[string]string{
				"spf.present": "absent.test does not exist (NXDOMAIN)",
			},
			evidence: map[string]string{"spf.present": "TXT absent.test: NXDOMAIN from 127.0.0.1:"},
			metrics:  []metric{m("mail_spf_records", 0)},
		},
		{
			name:   "a domain without SPF but with its own MX gets an mx record suggested",
			target: "nothing.test",
			setup: func(s *testbed.DNSServer) {
				if err := s.Add("nothing.test. 300 IN MX 10 mx.nothing.test.", "mx.nothing.test. 300 IN A 192.0.2.71"); err != nil {
					panic(err)
				}
			},
			checks: statuses(skip, "spf.present", fail, "spf.authorizes_outbound", fail),
			remediations: map[string]string{
				"spf.present":             `publish "nothing.test. IN TXT \"v=spf1 mx -all\""`,
				"spf.authorizes_outbound": "publish an SPF record that authorises 192.0.2.71 (see spf.present)",
			},
			evidence: map[string]string{"spf.present": "nothing.test. has 0 TXT records, none starting with v=spf1"},
			metrics:  []metric{m("mail_spf_check_host_result_info", 1, "192.0.2.71", "none")},
		},
		{
			// No MX, an address: senders deliver to it (the implicit MX),
			// which the a term authorises; the mx term would match nothing.
			name:   "a domain without SPF or MX but with an address gets an a record suggested",
			target: "nothing.test",
			checks: statuses(skip, "spf.present", fail, "spf.authorizes_outbound", fail),
			remediations: map[string]string{
				"spf.present":             `publish "nothing.test. IN TXT \"v=spf1 a -all\""`,
				"spf.authorizes_outbound": "publish an SPF record that authorises 192.0.2.70 (see spf.present)",
			},
			metrics: []metric{m("mail_spf_check_host_result_info", 1, "192.0.2.70", "none")},
		},
		{
			name:   "a domain without SPF whose MX is a provider's is pointed at its provider's record",
			target: "nothing.test",
			setup: func(s *testbed.DNSServer) {
				if err := s.Add("nothing.test. 300 IN MX 10 mx1.healthy.test."); err != nil {
					panic(err)
				}
			},
			checks: statuses(skip, "spf.present", fail),
			remediations: map[string]string{
				"spf.present": `publish the SPF record your mail provider documents for nothing.test (usually "v=spf1 include:<the provider's SPF domain> ~all"), listing every other service that sends for it; if nothing.test sends no mail, publish "nothing.test. IN TXT \"v=spf1 -all\""`,
			},
			reasons: map[string]string{"spf.authorizes_outbound": "outbound_ip="},
			absent:  []metric{m("mail_spf_check_host_result_info", 0, "192.0.2.10", "none")},
		},
		{
			name:   "the implicit MX is the domain's outbound address",
			target: "implicit.test",
			checks: statuses(pass, "spf.helo", skip),
			reasons: map[string]string{
				"spf.authorizes_outbound": "1 address of implicit.test pass",
			},
			evidence: map[string]string{"spf.authorizes_outbound": "check_host(192.0.2.80, implicit.test) = pass"},
			metrics:  []metric{m("mail_spf_check_host_result_info", 1, "192.0.2.80", "pass")},
		},
		{
			// Its own MX host is evaluated; another organization's backup
			// MX is not, and the report says so.
			name:   "own and provider MX hosts: only the own ones are outbound",
			target: "mixed.test",
			checks: statuses(pass, "spf.helo", skip),
			reasons: map[string]string{
				"spf.authorizes_outbound": "1 address of mixed.test pass",
			},
			evidence: map[string]string{"spf.authorizes_outbound": "not evaluated: mx1.healthy.test, the inbound servers of mixed.test's provider (healthy.test), which send nothing for it"},
			metrics:  []metric{m("mail_spf_check_host_result_info", 1, "192.0.2.85", "pass")},
			absent:   []metric{m("mail_spf_check_host_result_info", 0, "192.0.2.10", "pass")},
		},
		{
			name:   "HELO names: one with a record, one without",
			target: "nullok.test",
			cfg:    func(c *Config) { c.HeloNames = []string{"mx1.healthy.test", "mx2.healthy.test", "ghost.healthy.test"} },
			checks: base("spf.helo", fail),
			reasons: map[string]string{
				"spf.helo": "HELO name mx2.healthy.test has no SPF record; HELO name ghost.healthy.test does not exist (NXDOMAIN)",
			},
			remediations: map[string]string{
				"spf.helo": `publish "mx2.healthy.test. IN TXT \"v=spf1 a -all\""`,
			},
			metrics: []metric{
				m("mail_spf_helo_record", 1, "mx1.healthy.test"),
				m("mail_spf_helo_record", 0, "mx2.healthy.test"),
				m("mail_spf_helo_record", 0, "ghost.healthy.test"),
			},
		},
		{
			name:   "host target: its name as a HELO identity",
			target: "mx1.healthy.test:25",
			checks: statuses(skip, "spf.helo", pass),
			reasons: map[string]string{
				"spf.present": "the target is one host (mx1.healthy.test:25)",
				"spf.helo":    "every HELO name has its own SPF record: mx1.healthy.test",
			},
			metrics: []metric{m("mail_spf_helo_record", 1, "mx1.healthy.test")},
			absent:  []metric{m("mail_spf_records", 0)},
		},
		{
			name:    "host target without a record",
			target:  "mx2.healthy.test:25",
			checks:  statuses(skip, "spf.helo", fail),
			metrics: []metric{m("mail_spf_helo_record", 0, "mx2.healthy.test")},
		},
		{
			name:    "IP target",
			target:  "192.0.2.10",
			checks:  statuses(skip),
			reasons: map[string]string{"spf.present": "the target is an IP address"},
			absent:  []metric{m("mail_spf_records", 0)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testbed.StartDNS(t, world)
			if tc.setup != nil {
				tc.setup(srv)
			}
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			res, _ := runProbe(t, srv.Addr, tc.target, cfg, tc.outbound, 10*time.Second)
			checkInvariants(t, res)
			assertChecks(t, res, tc)
			assertMetrics(t, res, tc.metrics, tc.absent)
			assertErrors(t, res, tc.wantErrors)
			assertTree(t, res, tc.tree)
		})
	}
}

// runProbe runs the probe once against the resolver at addr.
func runProbe(t *testing.T, addr, target string, cfg Config, outbound []string, timeout time.Duration) (*probes.Result, *dnsclient.Resolver) {
	t.Helper()
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	ips, err := probes.ParseOutboundIPs(outbound)
	if err != nil {
		t.Fatal(err)
	}
	resolver := newResolver(t, addr)
	env := &probes.Env{DNS: resolver, Facts: probes.NewFacts(nil), Now: time.Now, Logger: log.NewNopLogger()}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := New(cfg).Run(ctx, &probes.Request{Target: tgt, OutboundIPs: ips}, env)
	if res == nil {
		t.Fatal("Run returned nil")
	}
	return res, resolver
}

// assertTree checks that the include tree has lines containing the pairs
// of want in order: want[0] and want[1] on one line, then want[2] and
// want[3] on a later one, and so on.
func assertTree(t *testing.T, res *probes.Result, want []string) {
	t.Helper()
	if len(want) == 0 {
		return
	}
	var lines []string
	for _, d := range res.Details() {
		if d.Title == "SPF include tree (DNS lookups per branch):" {
			lines = d.Lines
		}
	}
	i := 0
	for k := 0; k+1 < len(want); k += 2 {
		for i < len(lines) && !(strings.Contains(lines[i], want[k]) && strings.Contains(lines[i], want[k+1])) {
			i++
		}
		if i == len(lines) {
			t.Errorf("no tree line (after the ones matched before) contains %q and %q; tree:\n%s", want[k], want[k+1], strings.Join(lines, "\n"))
			return
		}
		i++
	}
}

func TestLongMacroIsTruncatedFromTheLeft(t *testing.T) {
	// RFC 7208 §7.3: 20 copies of "longmacro.test" joined by dots are 299
	// characters; labels come off the left until at most 253 remain:
	// longmacro, test, longmacro, test, longmacro, test, longmacro (-55),
	// leaving 244 characters that start with "test.".
	srv := testbed.StartDNS(t, world)
	res, _ := runProbe(t, srv.Addr, "longmacro.test", DefaultConfig(), nil, 10*time.Second)
	if c, _ := res.Check("spf.void_lookup_limit"); c.Status != probes.StatusPass {
		t.Fatalf("spf.void_lookup_limit = %s (%s)", c.Status, c.Reason)
	}
	want := strings.TrimPrefix(strings.Repeat(".longmacro.test", 20), ".")[55:] + "."
	if len(want) != 245 || !strings.HasPrefix(want, "test.longmacro.") {
		t.Fatalf("test arithmetic: %d %q", len(want), want)
	}
	var asked []string
	for _, q := range srv.Queries() {
		if len(q.Name) > 100 {
			asked = append(asked, q.Name)
		}
	}
	if len(asked) != 1 || asked[0] != want {
		t.Errorf("long questions asked: %q, want exactly [%q]", asked, want)
	}
}

func TestEachQuestionAskedOnce(t *testing.T) {
	// The audit, the check_host() runs for the outbound addresses and
	// mailhosts all ask through the request cache: no question twice.
	srv := testbed.StartDNS(t, world)
	cfg := DefaultConfig()
	cfg.HeloNames = []string{"mx1.healthy.test"}
	res, resolver := runProbe(t, srv.Addr, "bigsender.test", cfg, []string{"192.0.2.1", "2001:db8::1"}, 10*time.Second)
	if c, _ := res.Check("spf.lookup_limit"); c.Status != probes.StatusPass {
		t.Fatalf("spf.lookup_limit = %s (%s)", c.Status, c.Reason)
	}
	if d := srv.Duplicates(); len(d) > 0 {
		t.Errorf("questions asked more than once: %v", d)
	}
	if st := resolver.Stats(); st.CacheMisses != int64(len(srv.Queries())) {
		t.Errorf("%d questions asked of the cache, %d reached the server", st.CacheMisses, len(srv.Queries()))
	}
}

func TestLookupsFollowTheTreeDepth(t *testing.T) {
	// toomany.test's tree is three records deep (toomany, _spf.google.com,
	// _netblocks*); mx needs MX then the hosts' addresses. The audit asks
	// each level at once: 3 rounds, where asking term after term would
	// take over a dozen. check_host() for the MX address then runs from
	// the cache.
	srv := testbed.StartDNS(t, world)
	srv.SetLockstep(100 * time.Millisecond)
	cfg := DefaultConfig()
	res, _ := runProbe(t, srv.Addr, "toomany.test", cfg, nil, 60*time.Second)
	if c, _ := res.Check("spf.lookup_limit"); c.Status != probes.StatusFail {
		t.Fatalf("spf.lookup_limit = %s (%s)", c.Status, c.Reason)
	}
	if rounds := srv.Rounds(); rounds != 3 {
		t.Errorf("the probe needed %d rounds of DNS questions; the tree is 3 deep", rounds)
	}
}

func TestSilentResolverEndsAtDeadline(t *testing.T) {
	silent := testbed.StartSilentResolver(t)
	tgt, _ := probes.ParseTarget("healthy.test")
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{silent.Addr}, Timeout: 10 * time.Second, Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	env := probetest.Env(client)
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	cfg := DefaultConfig()
	cfg.HeloNames = []string{"mx1.healthy.test"}
	res := New(cfg).Run(ctx, &probes.Request{Target: tgt, OutboundIPs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}, env)
	if elapsed := time.Since(start); elapsed > deadline+5*time.Second {
		t.Errorf("Run took %s after a %s deadline", elapsed, deadline)
	}
	if !res.Failed() {
		t.Error("no probe error recorded after the resolver never answered")
	}
	for _, c := range res.Checks() {
		if c.Status == probes.StatusFail || c.Status == probes.StatusPass {
			t.Errorf("%s = %s without a single answer", c.ID, c.Status)
		}
	}
}

func TestDescriber(t *testing.T) {
	p := New(DefaultConfig())
	if p.Name() != "spf" {
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
	// docs/checks.md: must for the first six, should for the rest.
	for _, spec := range p.CheckSpecs() {
		want := probes.LevelShould
		if slices.Index(checkIDs, spec.ID) < 6 {
			want = probes.LevelMust
		}
		if spec.Level != want {
			t.Errorf("%s level %q, want %q", spec.ID, spec.Level, want)
		}
	}
	var names []string
	for _, spec := range p.MetricSpecs() {
		names = append(names, spec.Name+"{"+strings.Join(spec.Labels, ",")+"}")
		if !strings.HasSuffix(spec.Help, ".") || strings.Contains(spec.Help, "\n") {
			t.Errorf("%s: HELP %q is not a short sentence", spec.Name, spec.Help)
		}
	}
	want := []string{"mail_spf_dns_lookups{}", "mail_spf_void_lookups{}", "mail_spf_records{}",
		"mail_spf_authorized_ipv4_addresses{}", "mail_spf_authorized_ipv6_prefixes_64{}",
		"mail_spf_all_info{qualifier}", "mail_spf_check_host_result_info{ip,result}", "mail_spf_helo_record{helo}"}
	if !slices.Equal(names, want) {
		t.Errorf("MetricSpecs = %q, want %q", names, want)
	}
}

// The shared assertions (internal/probetest), bound to this probe.

type metric = probetest.Metric

var (
	m             = probetest.M
	assertMetrics = probetest.AssertMetrics
	assertErrors  = probetest.AssertErrors
)

// statuses expects every check to have status def except those overridden
// ("spf.helo", skip, ...).
func statuses(def probes.Status, overrides ...any) map[string]probes.Status {
	return probetest.Statuses(checkIDs, def, overrides...)
}

func checkInvariants(t testing.TB, res *probes.Result) {
	t.Helper()
	probetest.CheckInvariants(t, res, New(DefaultConfig()), checkIDs)
}

func assertChecks(t testing.TB, res *probes.Result, tc probeCase) {
	t.Helper()
	probetest.AssertChecks(t, res, tc.checks, tc.reasons, tc.remediations, tc.evidence)
}
