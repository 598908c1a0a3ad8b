package dnsbl_test

import (
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
)

// severityWorld adds domains whose listings differ in harm:
//   - hosted.test receives its mail at a provider's MX hosts
//     (mx1.provider.test on SBL, mx2.provider.test on PBL), as a Google
//     Workspace customer does: they receive for it and send none of its
//     mail;
//   - hosted-pbl.test receives at mx2.provider.test only;
//   - own.test runs its own MX host, on SBL;
//   - grey.test is on the URIBL-like domain list as grey only, black.test
//     as black and grey (127.0.0.6), with URIBL's bits.
const severityWorld = `
$ORIGIN hosted.test.
@                 IN MX   10 mx1.provider.test.
@                 IN MX   20 mx2.provider.test.
$ORIGIN hosted-pbl.test.
@                 IN MX   10 mx2.provider.test.
$ORIGIN provider.test.
mx1               IN A    192.0.2.60
mx2               IN A    192.0.2.61
$ORIGIN own.test.
@                 IN MX   10 mx
mx                IN A    192.0.2.62
$ORIGIN grey.test.
@                 IN MX   10 mx
mx                IN A    192.0.2.20
$ORIGIN black.test.
@                 IN MX   10 mx
mx                IN A    192.0.2.20

$ORIGIN zen.bl.test.
60.2.0.192        IN A    127.0.0.2
61.2.0.192        IN A    127.0.0.10
62.2.0.192        IN A    127.0.0.2

$ORIGIN multi.bl.test.
test              IN A    127.0.0.2
grey.test         IN A    127.0.0.4
black.test        IN A    127.0.0.6
`

// zenDocumented is zen() with the severities of the default
// zen.spamhaus.org: PBL is a policy listing.
func zenDocumented() dnsbl.List {
	l := zen()
	l.Severity = dnsbl.SeverityCritical
	l.Severities = map[string]dnsbl.Severity{"127.0.0.10": dnsbl.SeverityWarning, "127.0.0.11": dnsbl.SeverityWarning}
	return l
}

// multi is a URIBL-like domain list with URIBL's default severities.
func multi() dnsbl.List {
	for _, l := range dnsbl.DefaultConfig().Lists {
		if l.Zone == "multi.uribl.com" {
			l.Zone, l.Name = "multi.bl.test", "Test URIBL"
			return l
		}
	}
	panic("no multi.uribl.com in the defaults")
}

func TestListingSeverity(t *testing.T) {
	srv := testbed.StartDNS(t, domains, lists, severityWorld)
	withSends := func(c dnsbl.Config, sends dnsbl.MXSends) dnsbl.Config {
		c.MXSends = sends
		return c
	}
	for _, tc := range []probeCase{
		{
			name:     "a policy listing of a sending address is a warning",
			target:   "clean.test",
			outbound: []string{"198.51.100.7"},
			cfg:      config(zenDocumented()),
			checks:   statuses("dnsbl.ip", fail, "dnsbl.list_health", pass),
			reasons:  map[string]string{"dnsbl.ip": "198.51.100.7 is listed on Test ZEN (zen.bl.test) as PBL: residential address space per the list's policy, not a spam report (severity warning)"},
			metrics: []metric{
				m("mail_dnsbl_listed", 1, "zen.bl.test", "198.51.100.7", "warning"),
				// Not listed: the list's own severity, the label a listing
				// at it keeps.
				m("mail_dnsbl_listed", 0, "zen.bl.test", "192.0.2.20", "critical"),
			},
			absent: []metric{m("mail_dnsbl_listed", 0, "zen.bl.test", "198.51.100.7", "critical")},
		},
		{
			name:    "a spam listing of the domain's own MX host is critical: it may send",
			target:  "own.test",
			cfg:     config(zenDocumented()),
			checks:  statuses("dnsbl.ip", fail, "dnsbl.list_health", pass),
			reasons: map[string]string{"dnsbl.ip": "192.0.2.62 is listed on Test ZEN (zen.bl.test) as SBL: a spam source or spam operation verified by Spamhaus (severity critical)"},
			metrics: []metric{m("mail_dnsbl_listed", 1, "zen.bl.test", "192.0.2.62", "critical")},
		},
		{
			name:   "a provider's MX host only receives: its listings are a step lower",
			target: "hosted.test",
			cfg:    config(zenDocumented()),
			checks: statuses("dnsbl.ip", fail, "dnsbl.list_health", pass),
			reasons: map[string]string{"dnsbl.ip": "192.0.2.60 is listed on Test ZEN (zen.bl.test) as SBL: a spam source or spam operation verified by Spamhaus " +
				"(severity warning, one step below the listing's own: 192.0.2.60 only receives mail (an address or name of mx1.provider.test, a provider's MX host, which receives the domain's mail and sends none of it))"},
			// The provider's to clean: not "find and stop what sent spam".
			remediations:   map[string]string{"dnsbl.ip": "192.0.2.60 is the provider's (of its MX host mx1.provider.test, which receives the domain's mail): only the provider can stop what got it listed and have it removed, so report the listing on Test ZEN (zen.bl.test) to the provider (the list's answer: 127.0.0.2 SBL)"},
			notRemediation: map[string]string{"dnsbl.ip": "find and stop what sent spam from 192.0.2.60"},
			metrics: []metric{
				m("mail_dnsbl_listed", 1, "zen.bl.test", "192.0.2.60", "warning"),
				m("mail_dnsbl_listed", 1, "zen.bl.test", "192.0.2.61", "info"),
			},
		},
		{
			name:     "a policy listing of an MX host that only receives is information, not a failure",
			target:   "hosted-pbl.test",
			cfg:      config(zenDocumented()),
			checks:   statuses("dnsbl.ip", pass, "dnsbl.list_health", pass),
			reasons:  map[string]string{"dnsbl.ip": "1 address asked of 1 IP list, none listed at severity warning or critical; listed at severity info, which does not fail the check: 192.0.2.61 is listed on Test ZEN (zen.bl.test) as PBL"},
			evidence: map[string]string{"dnsbl.ip": "61.2.0.192.zen.bl.test A: listed, 127.0.0.10 PBL; severity info, not a failure"},
			metrics:  []metric{m("mail_dnsbl_listed", 1, "zen.bl.test", "192.0.2.61", "info")},
		},
		{
			name:     "mx_sends: never: the domain's own MX hosts only receive",
			target:   "own.test",
			cfg:      withSends(config(zenDocumented()), dnsbl.MXSendsNever),
			checks:   statuses("dnsbl.ip", fail, "dnsbl.list_health", pass),
			reasons:  map[string]string{"dnsbl.ip": "(severity warning, one step below the listing's own: 192.0.2.62 only receives mail (an address or name of the MX host mx.own.test, and the module's dnsbl.mx_sends is never))"},
			metrics:  []metric{m("mail_dnsbl_listed", 1, "zen.bl.test", "192.0.2.62", "warning")},
			outbound: nil,
		},
		{
			name:     "an outbound address that is also a provider's MX address sends",
			target:   "hosted.test",
			outbound: []string{"192.0.2.60"},
			cfg:      config(zenDocumented()),
			checks:   statuses("dnsbl.ip", fail, "dnsbl.list_health", pass),
			metrics:  []metric{m("mail_dnsbl_listed", 1, "zen.bl.test", "192.0.2.60", "critical")},
		},
		{
			name:    "mx_sends: always: a provider's MX hosts send too",
			target:  "hosted.test",
			cfg:     withSends(config(zenDocumented()), dnsbl.MXSendsAlways),
			checks:  statuses("dnsbl.ip", fail, "dnsbl.list_health", pass),
			metrics: []metric{m("mail_dnsbl_listed", 1, "zen.bl.test", "192.0.2.60", "critical"), m("mail_dnsbl_listed", 1, "zen.bl.test", "192.0.2.61", "warning")},
		},
		{
			name:    "a grey listing of the domain is information",
			target:  "grey.test",
			cfg:     config(multi()),
			checks:  statuses("dnsbl.domain", pass, "dnsbl.list_health", pass),
			reasons: map[string]string{"dnsbl.domain": "listed at severity info, which does not fail the check: grey.test is listed on Test URIBL (multi.bl.test) as grey: a domain seen in bulk mail that may be solicited (severity info)"},
			metrics: []metric{m("mail_dnsbl_listed", 1, "multi.bl.test", "grey.test", "info"), m("mail_dnsbl_listed", 0, "multi.bl.test", "mx.grey.test", "critical")},
		},
		{
			name:    "black and grey at once is black",
			target:  "black.test",
			cfg:     config(multi()),
			checks:  statuses("dnsbl.domain", fail, "dnsbl.list_health", pass),
			reasons: map[string]string{"dnsbl.domain": "black.test is listed on Test URIBL (multi.bl.test) as black+grey: a domain used by spammers; a domain seen in bulk mail that may be solicited (severity critical)"},
			metrics: []metric{m("mail_dnsbl_listed", 1, "multi.bl.test", "black.test", "critical")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := runProbe(t, srv.Addr, tc.cfg, request{target: tc.target, outbound: tc.outbound})
			assertCase(t, res, tc)
		})
	}
}

// TestListingSeverityInTheDetail: the report's block of answers names each
// listing's severity.
func TestListingSeverityInTheDetail(t *testing.T) {
	srv := testbed.StartDNS(t, domains, lists, severityWorld)
	res, _ := runProbe(t, srv.Addr, config(zenDocumented()), request{target: "hosted.test"})
	var lines []string
	for _, d := range res.Details() {
		lines = append(lines, d.Lines...)
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		"listed: 127.0.0.2 SBL; severity warning (only receives mail)",
		"listed: 127.0.0.10 PBL; severity info (only receives mail)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the detail does not say %q:\n%s", want, text)
		}
	}
}
