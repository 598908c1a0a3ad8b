package dnsbl_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// zeros20 pads an ip6.arpa-style nibble name below 2001:db8::/32 to the
// last two bytes: 2001:db8::10 is 0.1.0.0.<20 zeros>.8.b.d.0.1.0.0.2.
var zeros20 = strings.Repeat("0.", 20)

// domains are the mail domains of the tests, with addresses from the
// documentation ranges (RFC 5737, RFC 3849).
const domains = `
$ORIGIN example.test.
@            3600 IN SOA ns hostmaster 1 7200 3600 1209600 300
@                 IN MX   10 mx1
mx1               IN A    192.0.2.10
mx1               IN AAAA 2001:db8::10

$ORIGIN clean.test.
@            3600 IN SOA ns hostmaster 1 7200 3600 1209600 300
@                 IN MX   10 mx
mx                IN A    192.0.2.20
mx                IN AAAA 2001:db8::20

$ORIGIN dialup.test.
@                 IN MX   10 mx
mx                IN A    198.51.100.7

$ORIGIN spamdomain.test.
@                 IN MX   10 mx
mx                IN A    192.0.2.20

$ORIGIN nullmx.test.
@                 IN MX   0 .

$ORIGIN v6only.test.
@                 IN MX   10 mx
mx                IN AAAA 2001:db8::20

$ORIGIN internal.test.
@                 IN MX   10 mx
mx                IN A    10.0.0.5
mx                IN A    127.0.0.2

; An organisation's mail host on its own private network, and one on a
; public address.
$ORIGIN corp.test.
@                 IN MX   10 mx
@                 IN MX   20 mx2
mx                IN A    10.0.0.5
mx                IN AAAA fd00::25
mx2               IN A    192.0.2.20

$ORIGIN shared-a.test.
@                 IN MX   10 mx.shared.test.
$ORIGIN shared-b.test.
@                 IN MX   10 mx.shared.test.
$ORIGIN shared.test.
mx                IN A    192.0.2.50
`

// lists are zones acting as blocklists, shaped after real ones:
//   - zen.bl.test answers like zen.spamhaus.org: its test point 127.0.0.2
//     is on SBL, XBL and PBL at once (127.0.0.2, .4 and .10, the answer
//     zen.spamhaus.org gives for 2.0.0.127) with TXT records in Spamhaus'
//     https://www.spamhaus.org/query/ip/<ip> form.
//   - pub.bl.test answers like Spamhaus to a query through a public
//     resolver: 127.255.255.254 for everything, test points included
//     (https://www.spamhaus.org/news/article/788/).
//   - world.bl.test lists everything, 127.0.0.1 included, as lists that
//     shut down have done (RFC 5782 §5 exists for this).
//   - parked.test.bl.test answers a parking service's address, as
//     bl.spamcop.net's wildcard did while its domain had expired in 2021.
//   - dbl.bl.test answers like dbl.spamhaus.org (127.0.1.2, spam domain).
//   - uribl.bl.test refuses like multi.uribl.com, 127.0.0.1 with the TXT
//     quoted on https://uribl.com/refused.shtml.
//   - wl.bl.test answers like list.dnswl.org: 2.0.0.127 is 127.0.10.0,
//     a listed address 127.0.<category>.<trust>.
var lists = `
$ORIGIN zen.bl.test.
@            3600 IN SOA ns hostmaster 1 7200 3600 1209600 300
2.0.0.127     300 IN A    127.0.0.2
2.0.0.127     300 IN A    127.0.0.4
2.0.0.127     300 IN A    127.0.0.10
2.0.0.127     300 IN TXT  "https://www.spamhaus.org/query/ip/127.0.0.2"
10.2.0.192    300 IN A    127.0.0.2
10.2.0.192    300 IN TXT  "https://www.spamhaus.org/query/ip/192.0.2.10"
7.100.51.198  300 IN A    127.0.0.10
7.100.51.198  300 IN TXT  "https://www.spamhaus.org/query/ip/198.51.100.7"
0.1.0.0.` + zeros20 + `8.b.d.0.1.0.0.2 300 IN A 127.0.0.3
0.1.0.0.` + zeros20 + `8.b.d.0.1.0.0.2 300 IN TXT "https://www.spamhaus.org/query/ip/2001:db8::10"

$ORIGIN pub.bl.test.
@            3600 IN SOA ns hostmaster 1 7200 3600 1209600 300
2.0.0.127         IN A    127.255.255.254
1.0.0.127         IN A    127.255.255.254
20.2.0.192        IN A    127.255.255.254
10.2.0.192        IN A    127.255.255.254
0.2.0.0.` + zeros20 + `8.b.d.0.1.0.0.2 IN A 127.255.255.254

$ORIGIN world.bl.test.
@            3600 IN SOA ns hostmaster 1 7200 3600 1209600 300
2.0.0.127         IN A    127.0.0.2
1.0.0.127         IN A    127.0.0.2
20.2.0.192        IN A    127.0.0.2
10.2.0.192        IN A    127.0.0.2

$ORIGIN parked.bl.test.
2.0.0.127         IN A    198.51.100.200
1.0.0.127         IN A    198.51.100.200
20.2.0.192        IN A    198.51.100.200

$ORIGIN dbl.bl.test.
@            3600 IN SOA ns hostmaster 1 7200 3600 1209600 300
test              IN A    127.0.1.2
spamdomain.test   IN A    127.0.1.2
spamdomain.test   IN TXT  "https://www.spamhaus.org/query/domain/spamdomain.test"

$ORIGIN uribl.bl.test.
test              IN A    127.0.0.1
invalid           IN A    127.0.0.1
clean.test        IN A    127.0.0.1
mx.clean.test     IN A    127.0.0.1
test              IN TXT  "127.0.0.1 -> Query Refused. See https://uribl.com/refused.shtml for more information [Your DNS IP: 1.2.3.4]"

; corp.bl.test is an organisation's own list of its address space, as
; rbldnsd serves one: 10.0.0.5 is a workstation caught sending spam.
$ORIGIN corp.bl.test.
@            3600 IN SOA ns hostmaster 1 7200 3600 1209600 300
2.0.0.127         IN A    127.0.0.2
5.0.0.10          IN A    127.0.0.2
5.0.0.10          IN TXT  "compromised workstation, see ticket 4711"

$ORIGIN wl.bl.test.
@            3600 IN SOA ns hostmaster 1 7200 3600 1209600 300
2.0.0.127         IN A    127.0.10.0
20.2.0.192        IN A    127.0.5.2
`

// Lists as a module configures them.
func zen() dnsbl.List {
	return dnsbl.List{Zone: "zen.bl.test", Name: "Test ZEN", Kind: dnsbl.KindIP, IPv6: true,
		Codes: map[string]string{"127.0.0.2": "SBL", "127.0.0.3": "CSS", "127.0.0.4": "XBL", "127.0.0.10": "PBL", "127.0.0.11": "PBL"},
		ErrorCodes: map[string]string{"127.255.255.252": "typo in the DNSBL name",
			"127.255.255.254": "query via public/open resolver", "127.255.255.255": "excessive number of queries"}}
}

func pub() dnsbl.List {
	l := zen()
	l.Zone, l.Name = "pub.bl.test", "Public-resolver ZEN"
	return l
}

func world() dnsbl.List {
	return dnsbl.List{Zone: "world.bl.test", Kind: dnsbl.KindIP, Codes: map[string]string{"127.0.0.2": "listed"}}
}

func dbl() dnsbl.List {
	return dnsbl.List{Zone: "dbl.bl.test", Name: "Test DBL", Kind: dnsbl.KindDomain,
		Codes:      map[string]string{"127.0.1.2": "spam domain"},
		ErrorCodes: map[string]string{"127.0.1.255": "IP queries prohibited", "127.255.255.254": "query via public/open resolver"}}
}

// corp is an organisation's internal list, asked about private addresses.
func corp() dnsbl.List {
	return dnsbl.List{Zone: "corp.bl.test", Name: "Corp RBL", Kind: dnsbl.KindIP, IPv6: true, PrivateAddresses: true,
		Codes: map[string]string{"127.0.0.2": "internal spam source"}}
}

func wl() dnsbl.List {
	return dnsbl.List{Zone: "wl.bl.test", Name: "Test DNSWL", Kind: dnsbl.KindAllow, IPv6: true,
		ErrorCodes: map[string]string{"127.0.0.255": "query refused, over the free limit"}}
}

func config(l ...dnsbl.List) dnsbl.Config {
	return dnsbl.Config{Lists: l, MaxConcurrency: 32, CheckHealth: true}
}

// startWorld starts the in-process DNS with the domains and the lists.
func startWorld(t testing.TB) *testbed.DNSServer {
	t.Helper()
	return testbed.StartDNS(t, domains, lists)
}

// request is one probe request's inputs.
type request struct {
	target   string
	outbound []string
	cache    *dnsbl.Cache
	budgets  *dnsbl.Budgets
	now      func() time.Time
	timeout  time.Duration // per DNS attempt
}

// runProbe runs the probe once against the resolver at addr, as the
// collector does: a fresh resolver and memo per request.
func runProbe(t testing.TB, addr string, cfg dnsbl.Config, rq request) (*probes.Result, *dnsclient.Resolver) {
	t.Helper()
	tgt, err := probes.ParseTarget(rq.target)
	if err != nil {
		t.Fatal(err)
	}
	out, err := probes.ParseOutboundIPs(rq.outbound)
	if err != nil {
		t.Fatal(err)
	}
	timeout := rq.timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{addr}, Timeout: timeout, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	now := rq.now
	if now == nil {
		now = time.Now
	}
	resolver := client.NewResolver()
	env := &probes.Env{DNS: resolver, Facts: probes.NewFacts(nil), Now: now, Logger: log.NewNopLogger()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := dnsbl.New(cfg, rq.cache)
	if rq.budgets != nil {
		p = p.WithBudgets(rq.budgets)
	}
	res := p.Run(ctx, &probes.Request{Target: tgt, OutboundIPs: out}, env)
	if res == nil {
		t.Fatal("Run returned nil")
	}
	checkInvariants(t, res)
	return res, resolver
}

// The statuses, short for the tables.
const (
	pass      = probes.StatusPass
	fail      = probes.StatusFail
	skip      = probes.StatusSkip
	undecided = probes.StatusError
)

var checkIDs = []string{"dnsbl.domain", "dnsbl.ip", "dnsbl.list_health", "dnswl.listed"}

type probeCase struct {
	name     string
	target   string
	outbound []string
	cfg      dnsbl.Config
	setup    func(*testbed.DNSServer)
	timeout  time.Duration
	checks   map[string]probes.Status
	// reasons, remediations and evidence hold substrings expected in the
	// check's text (evidence: in any line).
	reasons      map[string]string
	remediations map[string]string
	evidence     map[string]string
	notReason    map[string]string // substrings the reason must not contain
	// notRemediation holds substrings the remediation must not contain.
	notRemediation map[string]string
	metrics        []metric
	absent         []metric // samples that must not be recorded (value ignored)
	wantErrors     []string // substrings, each in some probe error; nil means no errors
	notErrors      []string // substrings no probe error may contain
	notes          string
	detail         string // substring of the detail block
}

func TestProbe(t *testing.T) {
	slowNames := []string{"2.0.0.127.slow.bl.test", "1.0.0.127.slow.bl.test", "10.2.0.192.slow.bl.test", "20.2.0.192.slow.bl.test"}
	slow := dnsbl.List{Zone: "slow.bl.test", Kind: dnsbl.KindIP, Codes: map[string]string{"127.0.0.2": "listed"}}
	dropSlow := func(s *testbed.DNSServer) {
		for _, n := range slowNames {
			s.SetBehaviour(n, testbed.Drop)
		}
	}
	parked := dnsbl.List{Zone: "parked.bl.test", Kind: dnsbl.KindIP}
	uribl := dnsbl.List{Zone: "uribl.bl.test", Name: "Test URIBL", Kind: dnsbl.KindDomain,
		Codes: map[string]string{"127.0.0.2": "black"}, ErrorCodes: map[string]string{"127.0.0.1": "query refused"}}
	zen4 := zen()
	zen4.IPv6 = false
	noHealth := config(zen())
	noHealth.CheckHealth = false

	for _, tc := range []probeCase{
		{
			name:   "IPv4 and IPv6 MX addresses listed, with TXT reasons",
			target: "example.test",
			cfg:    config(zen(), dbl(), wl()),
			checks: statuses("dnsbl.ip", fail, "dnsbl.domain", pass, "dnsbl.list_health", pass, "dnswl.listed", fail),
			reasons: map[string]string{
				"dnsbl.ip": "192.0.2.10 is listed on Test ZEN (zen.bl.test) as SBL: a spam source or spam operation verified by Spamhaus (severity critical); " +
					"2001:db8::10 is listed on Test ZEN (zen.bl.test) as CSS: snowshoe spam",
				"dnsbl.domain":      "2 names not listed on 1 domain list",
				"dnsbl.list_health": "3 lists asked: each answers its RFC 5782 test points as it must, with no error code",
				"dnswl.listed":      "none of 2 addresses is on Test DNSWL (wl.bl.test)",
			},
			remediations: map[string]string{
				"dnsbl.ip": `find and stop what sent spam from 192.0.2.10 (a compromised account or machine, an open relay, an abused web form), then request removal from Test ZEN (zen.bl.test) (its answer says where: "https://www.spamhaus.org/query/ip/192.0.2.10")`,
			},
			evidence: map[string]string{
				"dnsbl.ip":          `0.1.0.0.` + zeros20 + `8.b.d.0.1.0.0.2.zen.bl.test A: listed, 127.0.0.3 CSS; TXT "https://www.spamhaus.org/query/ip/2001:db8::10"`,
				"dnsbl.list_health": "zen.bl.test test point 127.0.0.2: 127.0.0.2 SBL, 127.0.0.4 XBL, 127.0.0.10 PBL, as it must be",
			},
			metrics: []metric{
				m("mail_dnsbl_listed", 1, "zen.bl.test", "192.0.2.10", "critical"),
				m("mail_dnsbl_listed", 1, "zen.bl.test", "2001:db8::10", "critical"),
				m("mail_dnsbl_return_code_info", 1, "zen.bl.test", "192.0.2.10", "127.0.0.2", "SBL"),
				m("mail_dnsbl_return_code_info", 1, "zen.bl.test", "2001:db8::10", "127.0.0.3", "CSS"),
				m("mail_dnsbl_listed", 0, "dbl.bl.test", "example.test", "critical"),
				m("mail_dnsbl_listed", 0, "dbl.bl.test", "mx1.example.test", "critical"),
				m("mail_dnsbl_list_error", 0, "zen.bl.test"),
				m("mail_dnsbl_list_error", 0, "dbl.bl.test"),
				m("mail_dnsbl_list_healthy", 1, "zen.bl.test"),
				m("mail_dnsbl_list_healthy", 1, "dbl.bl.test"),
				m("mail_dnsbl_list_healthy", 1, "wl.bl.test"),
				m("mail_dnswl_listed", 0, "wl.bl.test", "192.0.2.10"),
				m("mail_dnswl_listed", 0, "wl.bl.test", "2001:db8::10"),
			},
			absent: []metric{m("mail_dnsbl_listed", 0, "wl.bl.test", "192.0.2.10")},
			detail: `192.0.2.10                               listed: 127.0.0.2 SBL; severity critical; TXT "https://www.spamhaus.org/query/ip/192.0.2.10"`,
		},
		{
			name:   "PBL listing reads as residential address space",
			target: "dialup.test",
			cfg:    config(zen()),
			checks: statuses("dnsbl.ip", fail, "dnsbl.domain", skip, "dnsbl.list_health", pass, "dnswl.listed", skip),
			reasons: map[string]string{
				"dnsbl.ip":     "198.51.100.7 is listed on Test ZEN (zen.bl.test) as PBL: residential address space per the list's policy, not a spam report",
				"dnsbl.domain": "no domain blocklists are configured",
				"dnswl.listed": "no allowlists are configured",
			},
			notReason: map[string]string{"dnsbl.ip": "spam source"},
			remediations: map[string]string{
				"dnsbl.ip": "Test ZEN (zen.bl.test) lists 198.51.100.7 by policy as address space that should not send mail directly: send through your provider's smarthost",
			},
			metrics: []metric{m("mail_dnsbl_return_code_info", 1, "zen.bl.test", "198.51.100.7", "127.0.0.10", "PBL")},
		},
		{
			name:   "public-resolver error code is a list error, not a listing",
			target: "clean.test",
			cfg:    config(zen(), pub()),
			checks: statuses("dnsbl.ip", undecided, "dnsbl.list_health", fail),
			reasons: map[string]string{
				"dnsbl.ip":          "dnsbl list pub.bl.test: answered an error code to 4 of 4 queries: 127.255.255.254 query via public/open resolver",
				"dnsbl.list_health": "Public-resolver ZEN (pub.bl.test) answered 127.255.255.254 query via public/open resolver for its test points 127.0.0.2 and 127.0.0.1",
			},
			remediations: map[string]string{
				"dnsbl.list_health": "pub.bl.test refuses the queries: use a dedicated recursive resolver such as unbound on localhost instead of a public resolver, and check the list's usage terms",
			},
			metrics: []metric{
				m("mail_dnsbl_list_error", 1, "pub.bl.test"),
				m("mail_dnsbl_list_healthy", 0, "pub.bl.test"),
				m("mail_dnsbl_list_error", 0, "zen.bl.test"),
				m("mail_dnsbl_listed", 0, "zen.bl.test", "192.0.2.20", "critical"),
				m("mail_dnsbl_listed", 0, "zen.bl.test", "2001:db8::20", "critical"),
			},
			absent: []metric{
				m("mail_dnsbl_listed", 0, "pub.bl.test", "192.0.2.20"),
				m("mail_dnsbl_listed", 0, "pub.bl.test", "2001:db8::20"),
				m("mail_dnsbl_return_code_info", 0, "pub.bl.test", "192.0.2.20", "127.255.255.254", "query via public/open resolver"),
			},
			wantErrors: []string{"dnsbl list pub.bl.test", "use a dedicated recursive resolver such as unbound on localhost instead of a public resolver, and check the list's usage terms"},
			notErrors:  []string{"zen.bl.test"},
		},
		{
			name:   "a listing stands beside a list that refuses",
			target: "example.test",
			cfg:    config(zen(), pub()),
			checks: statuses("dnsbl.ip", fail, "dnsbl.list_health", fail),
			reasons: map[string]string{
				"dnsbl.ip": "192.0.2.10 is listed on Test ZEN (zen.bl.test) as SBL",
			},
			notReason:  map[string]string{"dnsbl.ip": "Public-resolver"},
			metrics:    []metric{m("mail_dnsbl_list_error", 1, "pub.bl.test")},
			absent:     []metric{m("mail_dnsbl_listed", 0, "pub.bl.test", "192.0.2.10")},
			wantErrors: []string{"dnsbl list pub.bl.test"},
		},
		{
			name:   "a list that lists 127.0.0.1 is unhealthy and ignored",
			target: "clean.test",
			cfg:    config(zen(), world()),
			checks: statuses("dnsbl.ip", pass, "dnsbl.list_health", fail),
			reasons: map[string]string{
				"dnsbl.ip":          "2 addresses not listed on 1 IP list",
				"dnsbl.list_health": "world.bl.test lists 127.0.0.1, which RFC 5782 §5 says no list may contain: it is listing everything, so its answers are ignored",
			},
			remediations: map[string]string{"dnsbl.list_health": "remove world.bl.test from the module's dnsbl lists"},
			evidence:     map[string]string{"dnsbl.ip": "world.bl.test: answers ignored, the list lists everything"},
			metrics: []metric{
				m("mail_dnsbl_list_healthy", 0, "world.bl.test"),
				m("mail_dnsbl_list_healthy", 1, "zen.bl.test"),
				m("mail_dnsbl_list_error", 0, "world.bl.test"),
				m("mail_dnsbl_listed", 0, "zen.bl.test", "192.0.2.20", "critical"),
			},
			absent: []metric{
				m("mail_dnsbl_listed", 0, "world.bl.test", "192.0.2.20"),
				m("mail_dnsbl_return_code_info", 0, "world.bl.test", "192.0.2.20", "127.0.0.2", "listed"),
			},
			detail: "world.bl.test [ip list]: lists everything: answers ignored",
		},
		{
			name:   "a list that lists everything cannot pass a check alone",
			target: "clean.test",
			cfg:    config(world()),
			checks: statuses("dnsbl.ip", undecided, "dnsbl.list_health", fail),
			reasons: map[string]string{
				"dnsbl.ip": "every IP list asked lists everything (world.bl.test), so nothing could be checked",
			},
			absent:     []metric{m("mail_dnsbl_listed", 0, "world.bl.test", "192.0.2.20")},
			wantErrors: []string{"every IP list asked lists everything"},
		},
		{
			// A receiver whose resolver validates gets SERVFAIL from a
			// bogus list zone: no listing, no test point. The records the
			// exporter gets with checking disabled (a listing of
			// 192.0.2.10) count for nothing.
			name:   "a list whose zone is DNSSEC-bogus is an error of that list, not a listing",
			target: "example.test",
			cfg:    config(zen(), dbl()),
			setup: func(s *testbed.DNSServer) {
				s.SetSecure("bl.test")
				s.SetBogus("zen.bl.test", dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeDNSBogus})
			},
			checks: statuses("dnsbl.ip", undecided, "dnsbl.domain", pass, "dnsbl.list_health", undecided),
			reasons: map[string]string{
				"dnsbl.list_health": "dnsbl list zen.bl.test: ",
			},
			metrics: []metric{
				m("mail_dnsbl_list_error", 1, "zen.bl.test"),
				m("mail_dnsbl_list_error", 0, "dbl.bl.test"),
			},
			absent: []metric{
				m("mail_dnsbl_listed", 0, "zen.bl.test", "192.0.2.10"),
				m("mail_dnsbl_list_healthy", 0, "zen.bl.test"),
			},
			wantErrors: []string{"zen.bl.test: SERVFAIL from 127.0.0.1:", "with EDE 6 (DNSSEC Bogus): the answer is DNSSEC-bogus, so receivers that validate get none"},
		},
		{
			name:    "a list that times out is an error of that list only",
			target:  "example.test",
			cfg:     config(zen(), slow),
			setup:   dropSlow,
			timeout: 300 * time.Millisecond,
			checks:  statuses("dnsbl.ip", fail, "dnsbl.list_health", undecided),
			reasons: map[string]string{
				"dnsbl.ip":          "192.0.2.10 is listed on Test ZEN (zen.bl.test) as SBL",
				"dnsbl.list_health": "dnsbl list slow.bl.test: 3 of 3 queries got no answer",
			},
			metrics: []metric{
				m("mail_dnsbl_list_error", 1, "slow.bl.test"),
				m("mail_dnsbl_list_error", 0, "zen.bl.test"),
				m("mail_dnsbl_listed", 1, "zen.bl.test", "192.0.2.10", "critical"),
				m("mail_dnsbl_list_healthy", 1, "zen.bl.test"),
			},
			absent: []metric{
				m("mail_dnsbl_listed", 0, "slow.bl.test", "192.0.2.10"),
				m("mail_dnsbl_list_healthy", 0, "slow.bl.test"),
			},
			wantErrors: []string{"dnsbl list slow.bl.test: 3 of 3 queries got no answer: dns A "},
			notErrors:  []string{"zen.bl.test"},
		},
		{
			name:    "a list that times out leaves a clean result undecided",
			target:  "clean.test",
			cfg:     config(zen(), slow),
			setup:   dropSlow,
			timeout: 300 * time.Millisecond,
			checks:  statuses("dnsbl.ip", undecided),
			reasons: map[string]string{"dnsbl.ip": "dnsbl list slow.bl.test"},
			metrics: []metric{
				m("mail_dnsbl_listed", 0, "zen.bl.test", "192.0.2.20", "critical"),
				m("mail_dnsbl_listed", 0, "zen.bl.test", "2001:db8::20", "critical"),
			},
			wantErrors: []string{"dnsbl list slow.bl.test"},
		},
		{
			name:   "an answer outside 127.0.0.0/8 is an error of the list",
			target: "clean.test",
			cfg:    config(zen(), parked),
			checks: statuses("dnsbl.ip", undecided, "dnsbl.list_health", fail),
			reasons: map[string]string{
				"dnsbl.ip":          "answered an address outside 127.0.0.0/8",
				"dnsbl.list_health": "parked.bl.test answered 198.51.100.200 answer outside 127.0.0.0/8 for its test points 127.0.0.2 and 127.0.0.1",
			},
			metrics:    []metric{m("mail_dnsbl_list_error", 1, "parked.bl.test")},
			absent:     []metric{m("mail_dnsbl_listed", 0, "parked.bl.test", "192.0.2.20")},
			wantErrors: []string{"dnsbl list parked.bl.test", "198.51.100.200"},
		},
		{
			name:   "a domain list hit",
			target: "spamdomain.test",
			cfg:    config(zen(), dbl()),
			checks: statuses("dnsbl.ip", pass, "dnsbl.domain", fail, "dnsbl.list_health", pass),
			reasons: map[string]string{
				"dnsbl.domain": "spamdomain.test is listed on Test DBL (dbl.bl.test) as spam domain",
				"dnsbl.ip":     "1 address not listed on 1 IP list",
			},
			remediations: map[string]string{
				"dnsbl.domain": `find where spamdomain.test appeared in spam, phishing or malware (a compromised site or account, a mailing without confirmed opt-in), fix it, then request removal from Test DBL (dbl.bl.test) (its answer says where: "https://www.spamhaus.org/query/domain/spamdomain.test")`,
			},
			evidence: map[string]string{"dnsbl.domain": `spamdomain.test.dbl.bl.test A: listed, 127.0.1.2 spam domain; TXT "https://www.spamhaus.org/query/domain/spamdomain.test"`},
			metrics: []metric{
				m("mail_dnsbl_listed", 1, "dbl.bl.test", "spamdomain.test", "critical"),
				m("mail_dnsbl_listed", 0, "dbl.bl.test", "mx.spamdomain.test", "critical"),
				m("mail_dnsbl_return_code_info", 1, "dbl.bl.test", "spamdomain.test", "127.0.1.2", "spam domain"),
			},
		},
		{
			name:   "a domain list that refuses leaves the domain undecided",
			target: "clean.test",
			cfg:    config(dbl(), uribl),
			checks: statuses("dnsbl.domain", undecided, "dnsbl.list_health", fail, "dnsbl.ip", skip),
			reasons: map[string]string{
				"dnsbl.domain":      "dnsbl list uribl.bl.test: answered an error code to 4 of 4 queries: 127.0.0.1 query refused",
				"dnsbl.list_health": "Test URIBL (uribl.bl.test) answered 127.0.0.1 query refused for its test points test and invalid",
			},
			metrics:    []metric{m("mail_dnsbl_listed", 0, "dbl.bl.test", "clean.test", "critical"), m("mail_dnsbl_list_error", 1, "uribl.bl.test")},
			absent:     []metric{m("mail_dnsbl_listed", 0, "uribl.bl.test", "clean.test")},
			wantErrors: []string{"dnsbl list uribl.bl.test"},
		},
		{
			name:    "an IP target is asked of IP lists only",
			target:  "192.0.2.10",
			cfg:     config(zen(), dbl()),
			checks:  statuses("dnsbl.ip", fail, "dnsbl.domain", skip, "dnsbl.list_health", pass),
			reasons: map[string]string{"dnsbl.domain": "the target is an IP address; domain lists are asked about names"},
			// The domain list is asked its test points only: its health
			// does not depend on the target.
			metrics: []metric{m("mail_dnsbl_list_error", 0, "dbl.bl.test"), m("mail_dnsbl_list_healthy", 1, "dbl.bl.test")},
			absent:  []metric{m("mail_dnsbl_listed", 0, "dbl.bl.test", "192.0.2.10")},
		},
		{
			name:     "null MX with an outbound IP",
			target:   "nullmx.test",
			outbound: []string{"192.0.2.10"},
			cfg:      config(zen(), dbl()),
			checks:   statuses("dnsbl.ip", fail, "dnsbl.domain", pass),
			reasons:  map[string]string{"dnsbl.ip": "192.0.2.10 is listed", "dnsbl.domain": "1 name not listed"},
			metrics:  []metric{m("mail_dnsbl_listed", 0, "dbl.bl.test", "nullmx.test", "critical")},
		},
		{
			name:    "null MX without outbound IPs",
			target:  "nullmx.test",
			cfg:     config(zen(), wl()),
			checks:  statuses("dnsbl.ip", skip, "dnswl.listed", skip, "dnsbl.domain", skip),
			reasons: map[string]string{"dnsbl.ip": "nullmx.test receives no mail (null MX) and no outbound IPs are configured"},
		},
		{
			name:     "outbound IPs are asked besides the MX addresses",
			target:   "clean.test",
			outbound: []string{"198.51.100.7", "192.0.2.20"},
			cfg:      config(zen()),
			checks:   statuses("dnsbl.ip", fail),
			reasons:  map[string]string{"dnsbl.ip": "198.51.100.7 is listed on Test ZEN (zen.bl.test) as PBL"},
			metrics:  []metric{m("mail_dnsbl_listed", 0, "zen.bl.test", "192.0.2.20", "critical"), m("mail_dnsbl_listed", 1, "zen.bl.test", "198.51.100.7", "critical")},
		},
		{
			name:    "an allowlisted address",
			target:  "clean.test",
			cfg:     config(wl()),
			checks:  statuses("dnswl.listed", pass, "dnsbl.ip", skip, "dnsbl.list_health", pass),
			reasons: map[string]string{"dnswl.listed": "192.0.2.20 is on Test DNSWL (wl.bl.test) (127.0.5.2 unmapped)"},
			metrics: []metric{
				m("mail_dnswl_listed", 1, "wl.bl.test", "192.0.2.20"),
				m("mail_dnswl_listed", 0, "wl.bl.test", "2001:db8::20"),
				m("mail_dnsbl_return_code_info", 1, "wl.bl.test", "192.0.2.20", "127.0.5.2", "unmapped"),
			},
			absent: []metric{m("mail_dnsbl_listed", 0, "wl.bl.test", "192.0.2.20")},
		},
		{
			name:    "loopback and private MX addresses are not asked of public lists",
			target:  "internal.test",
			cfg:     config(zen()),
			checks:  statuses("dnsbl.ip", skip, "dnsbl.list_health", pass),
			reasons: map[string]string{"dnsbl.ip": "every address is loopback, private or link-local, which no public list holds (a list with private_addresses: true is asked about them)"},
			metrics: []metric{m("mail_dnsbl_list_healthy", 1, "zen.bl.test")},
			absent:  []metric{m("mail_dnsbl_listed", 0, "zen.bl.test", "127.0.0.2"), m("mail_dnsbl_listed", 0, "zen.bl.test", "10.0.0.5")},
			notes:   "not asked of any list (loopback, private or link-local, which no public list holds; a list with private_addresses: true is asked about them): 10.0.0.5",
		},
		{
			// An organisation's own list of its address space is asked
			// about the private addresses; the public list is not.
			name:    "a list with private_addresses: true",
			target:  "corp.test",
			cfg:     config(zen(), corp()),
			checks:  statuses("dnsbl.ip", fail, "dnsbl.list_health", pass),
			reasons: map[string]string{"dnsbl.ip": "10.0.0.5 is listed on Corp RBL (corp.bl.test) as internal spam source"},
			evidence: map[string]string{
				"dnsbl.ip": `5.0.0.10.corp.bl.test A: listed, 127.0.0.2 internal spam source; TXT "compromised workstation, see ticket 4711"`,
			},
			metrics: []metric{
				m("mail_dnsbl_listed", 1, "corp.bl.test", "10.0.0.5", "critical"),
				m("mail_dnsbl_listed", 0, "corp.bl.test", "fd00::25", "critical"),
				m("mail_dnsbl_listed", 0, "corp.bl.test", "192.0.2.20", "critical"),
				m("mail_dnsbl_listed", 0, "zen.bl.test", "192.0.2.20", "critical"),
			},
			absent: []metric{m("mail_dnsbl_listed", 0, "zen.bl.test", "10.0.0.5"), m("mail_dnsbl_listed", 0, "zen.bl.test", "fd00::25")},
			notes:  "asked only of the lists with private_addresses: true (corp.bl.test), being loopback, private or link-local: 10.0.0.5, fd00::25",
		},
		{
			// Only private addresses, and a list that takes them: the
			// check is decided on them. 127.0.0.2 is the list's own test
			// point, which it lists whoever asks: never a subject.
			name:    "only private addresses, asked of the internal list",
			target:  "internal.test",
			cfg:     config(zen(), corp()),
			checks:  statuses("dnsbl.ip", fail, "dnsbl.list_health", pass),
			reasons: map[string]string{"dnsbl.ip": "10.0.0.5 is listed on Corp RBL (corp.bl.test)"},
			metrics: []metric{m("mail_dnsbl_listed", 1, "corp.bl.test", "10.0.0.5", "critical")},
			absent:  []metric{m("mail_dnsbl_listed", 0, "corp.bl.test", "127.0.0.2")},
			notes:   "not asked of any list: 127.0.0.2, RFC 5782's test point",
		},
		{
			name:     "an internal list that does not list the address",
			target:   "clean.test",
			outbound: []string{"10.0.0.6", "fe80::1"},
			cfg:      config(corp()),
			checks:   statuses("dnsbl.ip", pass, "dnsbl.list_health", pass),
			reasons:  map[string]string{"dnsbl.ip": "4 addresses not listed on 1 IP list"},
			metrics:  []metric{m("mail_dnsbl_listed", 0, "corp.bl.test", "10.0.0.6", "critical"), m("mail_dnsbl_listed", 0, "corp.bl.test", "fe80::1", "critical")},
		},
		{
			// Nothing to ask any list about: their health is decided all
			// the same, from the test points.
			name:    "list health without subjects",
			target:  "nullmx.test",
			cfg:     config(zen(), dbl()),
			checks:  statuses("dnsbl.ip", skip, "dnsbl.domain", pass, "dnsbl.list_health", pass),
			reasons: map[string]string{"dnsbl.list_health": "2 lists asked: each answers its RFC 5782 test points as it must"},
			metrics: []metric{m("mail_dnsbl_list_healthy", 1, "zen.bl.test"), m("mail_dnsbl_list_healthy", 1, "dbl.bl.test")},
		},
		{
			name:    "IPv6 addresses go only to lists that take them",
			target:  "v6only.test",
			cfg:     config(zen4),
			checks:  statuses("dnsbl.ip", skip),
			reasons: map[string]string{"dnsbl.ip": "no configured IP list takes the subjects"},
			notes:   "zen.bl.test not asked: its addresses are IPv6",
		},
		{
			name:    "a pass says which IPv6 addresses no list was asked about",
			target:  "clean.test",
			cfg:     config(zen4),
			checks:  statuses("dnsbl.ip", pass),
			reasons: map[string]string{"dnsbl.ip": "1 address not listed on 1 IP list; 2001:db8::20 not asked: no configured IP list takes IPv6 (ipv6: true)"},
			absent:  []metric{m("mail_dnsbl_listed", 0, "zen.bl.test", "2001:db8::20")},
		},
		{
			name:    "a host target: its addresses and its name",
			target:  "mx1.example.test:25",
			cfg:     config(zen(), dbl()),
			checks:  statuses("dnsbl.ip", fail, "dnsbl.domain", pass),
			reasons: map[string]string{"dnsbl.ip": "192.0.2.10 is listed", "dnsbl.domain": "2 names not listed"},
			metrics: []metric{m("mail_dnsbl_listed", 0, "dbl.bl.test", "mx1.example.test", "critical"), m("mail_dnsbl_listed", 0, "dbl.bl.test", "example.test", "critical")},
		},
		{
			name:    "health checks off",
			target:  "example.test",
			cfg:     noHealth,
			checks:  statuses("dnsbl.ip", fail, "dnsbl.list_health", skip),
			reasons: map[string]string{"dnsbl.list_health": "check_health is off"},
			absent:  []metric{m("mail_dnsbl_list_healthy", 0, "zen.bl.test")},
			detail:  "Test ZEN (zen.bl.test) [ip list]: health not checked; no errors of 2 questions",
		},
		{
			name:       "MX unknown: the outbound IPs alone cannot pass",
			target:     "example.test",
			outbound:   []string{"192.0.2.20"},
			cfg:        config(zen(), dbl()),
			setup:      func(s *testbed.DNSServer) { s.SetBehaviour("example.test", testbed.ServFail) },
			checks:     statuses("dnsbl.ip", undecided, "dnsbl.domain", undecided),
			reasons:    map[string]string{"dnsbl.ip": "MX of example.test: dns MX example.test: SERVFAIL"},
			metrics:    []metric{m("mail_dnsbl_listed", 0, "zen.bl.test", "192.0.2.20", "critical"), m("mail_dnsbl_listed", 0, "dbl.bl.test", "example.test", "critical")},
			wantErrors: []string{"SERVFAIL"},
		},
		{
			name:       "MX unknown: an outbound listing still fails",
			target:     "example.test",
			outbound:   []string{"198.51.100.7"},
			cfg:        config(zen()),
			setup:      func(s *testbed.DNSServer) { s.SetBehaviour("example.test", testbed.ServFail) },
			checks:     statuses("dnsbl.ip", fail),
			reasons:    map[string]string{"dnsbl.ip": "198.51.100.7 is listed on Test ZEN (zen.bl.test) as PBL"},
			wantErrors: []string{"SERVFAIL"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startWorld(t)
			if tc.setup != nil {
				tc.setup(srv)
			}
			res, _ := runProbe(t, srv.Addr, tc.cfg, request{target: tc.target, outbound: tc.outbound, timeout: tc.timeout})
			assertCase(t, res, tc)
		})
	}
}

func assertCase(t *testing.T, res *probes.Result, tc probeCase) {
	t.Helper()
	probetest.AssertChecks(t, res, tc.checks, tc.reasons, tc.remediations, tc.evidence)
	for id, not := range tc.notReason {
		if c, _ := res.Check(id); strings.Contains(c.Reason, not) {
			t.Errorf("%s reason %q contains %q", id, c.Reason, not)
		}
	}
	for id, not := range tc.notRemediation {
		if c, _ := res.Check(id); strings.Contains(c.Remediation, not) {
			t.Errorf("%s remediation %q contains %q", id, c.Remediation, not)
		}
	}
	assertMetrics(t, res, tc.metrics, tc.absent)
	errs := res.Errors()
	if tc.wantErrors == nil && len(errs) > 0 {
		t.Errorf("probe errors %q, want none", errs)
	}
	for _, want := range tc.wantErrors {
		if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, want) }) {
			t.Errorf("probe errors %q, want one containing %q", errs, want)
		}
	}
	for _, not := range tc.notErrors {
		if slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, not) }) {
			t.Errorf("probe errors %q mention %q", errs, not)
		}
	}
	if tc.notes != "" && !strings.Contains(strings.Join(res.Notes(), "\n"), tc.notes) {
		t.Errorf("notes %q, want one containing %q", res.Notes(), tc.notes)
	}
	if tc.detail != "" {
		var lines []string
		for _, d := range res.Details() {
			lines = append(lines, d.Lines...)
		}
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, tc.detail) }) {
			t.Errorf("detail lines %q\nwant one containing %q", lines, tc.detail)
		}
	}
}

// A domain list that documents its own test entry (as Spamhaus DBL does
// with dbltest.com) is healthy when that entry is listed, even though RFC
// 5782's "test" is not; without test_point the same list reads unhealthy.
func TestDomainListTestPoint(t *testing.T) {
	srv := testbed.StartDNS(t, domains, `
$ORIGIN own.bl.test.
@            3600 IN SOA ns hostmaster 1 7200 3600 1209600 300
dbltest.test      IN A    127.0.1.2
`)
	own := dnsbl.List{Zone: "own.bl.test", Kind: dnsbl.KindDomain, Codes: map[string]string{"127.0.1.2": "spam domain"}}
	res, _ := runProbe(t, srv.Addr, config(own), request{target: "example.test"})
	if c, _ := res.Check("dnsbl.list_health"); c.Status != fail {
		t.Errorf("without test_point: list_health %s (%s), want fail", c.Status, c.Reason)
	}
	own.TestPoint = "dbltest.test"
	res, _ = runProbe(t, srv.Addr, config(own), request{target: "example.test"})
	if c, _ := res.Check("dnsbl.list_health"); c.Status != pass {
		t.Errorf("with test_point: list_health %s (%s), want pass", c.Status, c.Reason)
	}
	bad := own
	bad.Kind, bad.TestPoint = dnsbl.KindIP, "dbltest.test"
	if err := config(bad).Validate(); err == nil || !strings.Contains(err.Error(), "test_point applies to domain lists") {
		t.Errorf("test_point on an IP list: %v", err)
	}
}

// The shared assertions (internal/probetest), bound to this probe.

type metric = probetest.Metric

var (
	m               = probetest.M
	findMeasurement = probetest.FindMeasurement
	assertMetrics   = probetest.AssertMetrics
	describe        = probetest.Describe
)

// statuses expects the checks named in pairs ("dnsbl.ip", fail, ...).
func statuses(overrides ...any) map[string]probes.Status {
	return probetest.Statuses(nil, 0, overrides...)
}

// checkInvariants is probetest's, and the checks come in their order, and
// no label is empty.
func checkInvariants(t testing.TB, res *probes.Result) {
	t.Helper()
	probetest.CheckInvariants(t, res, dnsbl.New(dnsbl.DefaultConfig(), nil), checkIDs)
	var ids []string
	for _, c := range res.Checks() {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, checkIDs) {
		t.Errorf("checks recorded %q, want %q", ids, checkIDs)
	}
	for _, s := range res.Measurements() {
		if slices.Contains(s.LabelValues, "") {
			t.Errorf("measurement %s%q has an empty label", s.Name(), s.LabelValues)
		}
	}
}
