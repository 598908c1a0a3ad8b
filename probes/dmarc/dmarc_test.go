package dmarc_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dmarc"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// world publishes the real records at their real names and broken ones at
// .test domains. The report authorizations are written the way RFC 7489
// §7.1 says the destinations publish them; whether the real destinations
// do is not what these tests are about.
func world() []string {
	var lines []string
	for _, rr := range realRecords {
		lines = append(lines, fmt.Sprintf("_dmarc.%s. 3600 IN TXT %q", rr.domain, rr.record))
	}
	return []string{strings.Join(lines, "\n"), `
; Agari accepts Microsoft's reports; Google accepts gmail.com's.
microsoft.com._report._dmarc.rua.agari.com. IN TXT "v=DMARC1"
microsoft.com._report._dmarc.ruf.agari.com. IN TXT "v=DMARC1"
gmail.com._report._dmarc.google.com. IN TXT "v=DMARC1"
; apple.com's reports: only the aggregate destination agreed.
apple.com._report._dmarc.rua.agari.com. IN TXT "v=DMARC1"
; An authorization that is not a DMARC record does not count.
apple.com._report._dmarc.ruf.agari.com. IN TXT "v=spf1 -all"

support.apple.com. IN A 192.0.2.80
_dmarc.nop.test. IN TXT "v=DMARC1; rua=mailto:dmarc@nop.test"
_dmarc.nopnorua.test. IN TXT "v=DMARC1; sp=reject"
_dmarc.notfirst.test. IN TXT "p=none; v=DMARC1; rua=mailto:dmarc@notfirst.test"
_dmarc.pct150.test. IN TXT "v=DMARC1; p=reject; pct=150; rua=mailto:dmarc@pct150.test"
_dmarc.emptyrua.test. IN TXT "v=DMARC1; p=none; rua=mailto:"
_dmarc.two.test. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@two.test"
_dmarc.two.test. IN TXT "v=DMARC1; p=reject"
_dmarc.commas.test. IN TXT "v=DMARC1, p=reject, rua=mailto:dmarc@commas.test"
_dmarc.typo.test. IN TXT "v=DMARC1; p=quarantaine; rua=mailto:dmarc@typo.test"
; Domains that send no mail.
parked.test. IN TXT "v=spf1 -all"
_dmarc.parked.test. IN TXT "v=DMARC1; p=reject"
parkednone.test. IN TXT "v=spf1 -all"
_dmarc.parkednone.test. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@parkednone.test"
parkednodmarc.test. IN TXT "v=spf1 -all"
parkedbroken.test. IN TXT "v=spf1 -all"
_dmarc.parkedbroken.test. IN TXT "v=DMARC1 p=quarantine"
; A domain that sends (through a provider) and receives nothing.
noreply.test. IN MX 0 .
noreply.test. IN TXT "v=spf1 include:_spf.provider.test -all"
_dmarc.noreply.test. IN TXT "v=DMARC1; p=reject"
; Domains with a null MX that ask for reports at themselves: they bounce.
noreplyrua.test. IN MX 0 .
noreplyrua.test. IN TXT "v=spf1 include:_spf.provider.test -all"
_dmarc.noreplyrua.test. IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@noreplyrua.test"
parkedrua.test. IN MX 0 .
parkedrua.test. IN TXT "v=spf1 -all"
_dmarc.parkedrua.test. IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@parkedrua.test"
; Other TXT records at _dmarc are not DMARC records.
_dmarc.other.test. IN TXT "google-site-verification=abc"
_dmarc.other.test. IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@other.test"
; A record only at a grandparent: the tree walk finds it, and so does the
; organizational domain of the public suffix list.
_dmarc.example.test. IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.test"
mail.eu.corp.example.test. IN A 192.0.2.81
; Reports to a sibling inside the organization need no authorization.
_dmarc.inside.test. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@reports.inside.test"
`}
}

const (
	pass      = probes.StatusPass
	fail      = probes.StatusFail
	skip      = probes.StatusSkip
	undecided = probes.StatusError
)

var checkIDs = []string{
	"dmarc.present", "dmarc.syntax", "dmarc.policy", "dmarc.reports", "dmarc.external_reports", "dmarc.pct",
}

type probeCase struct {
	name         string
	target       string
	cfg          *dmarc.Config
	setup        func(*testbed.DNSServer)
	checks       map[string]probes.Status
	reasons      map[string]string
	remediations map[string]string
	evidence     map[string]string
	metrics      []metric
	absent       []string // metric names that must not be recorded
	wantErrors   string
}

func TestProbe(t *testing.T) {
	onlyStrict := &dmarc.Config{AcceptedPolicies: []string{"quarantine", "reject"}, CheckExternalReports: true}
	for _, tc := range []probeCase{
		{
			name:   "google.com",
			target: "google.com",
			checks: statuses(pass, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.present":          "_dmarc.google.com publishes a DMARC record",
				"dmarc.policy":           "p=reject applies to google.com, an accepted policy (none, quarantine, reject)",
				"dmarc.reports":          "aggregate reports go to mailto:mailauth-reports@google.com",
				"dmarc.external_reports": "every report destination is within google.com",
				"dmarc.pct":              "no pct=",
			},
			evidence: map[string]string{"dmarc.present": `_dmarc.google.com. TXT "v=DMARC1; p=reject; rua=mailto:mailauth-reports@google.com"`},
			metrics: []metric{
				m("mail_dmarc_policy_info", 1, "reject", "reject"),
				m("mail_dmarc_pct", 100),
				m("mail_dmarc_report_destinations", 1, "rua"),
				m("mail_dmarc_report_destinations", 0, "ruf"),
				m("mail_dmarc_record_source_info", 1, "domain"),
			},
		},
		{
			name:   "gmail.com reports to google.com, which authorises it",
			target: "gmail.com",
			checks: statuses(pass),
			reasons: map[string]string{
				"dmarc.external_reports": "every external report destination authorises gmail.com: google.com",
			},
			evidence: map[string]string{"dmarc.external_reports": `gmail.com._report._dmarc.google.com. TXT "v=DMARC1"`},
			metrics:  []metric{m("mail_dmarc_policy_info", 1, "none", "quarantine")},
		},
		{
			name:   "p=none against a module that wants enforcement",
			target: "gmail.com",
			cfg:    onlyStrict,
			checks: statuses(pass, "dmarc.policy", fail),
			reasons: map[string]string{
				"dmarc.policy": "p=none applies to gmail.com; the module accepts only quarantine, reject",
			},
			remediations: map[string]string{
				"dmarc.policy": `publish "_dmarc.gmail.com. IN TXT \"v=DMARC1; p=quarantine; sp=quarantine; rua=mailto:mailauth-reports@google.com\""`,
			},
		},
		{
			name:   "microsoft.com reports to Agari, which authorises both destinations",
			target: "microsoft.com",
			checks: statuses(pass),
			reasons: map[string]string{
				"dmarc.external_reports": "every external report destination authorises microsoft.com: rua.agari.com, ruf.agari.com",
			},
			metrics: []metric{m("mail_dmarc_report_destinations", 1, "ruf"), m("mail_dmarc_pct", 100)},
		},
		{
			name:   "an external destination without authorization",
			target: "alipay.com",
			checks: statuses(pass, "dmarc.external_reports", fail),
			reasons: map[string]string{
				"dmarc.external_reports": "service.alibaba.com has not authorised alipay.com's reports: no v=DMARC1 record at alipay.com._report._dmarc.service.alibaba.com, so receivers send them nowhere (RFC 7489 §7.1)",
			},
			remediations: map[string]string{
				"dmarc.external_reports": `ask service.alibaba.com to publish "alipay.com._report._dmarc.service.alibaba.com. IN TXT \"v=DMARC1\"", or send the reports to an address within alipay.com`,
			},
			evidence: map[string]string{"dmarc.external_reports": "alipay.com._report._dmarc.service.alibaba.com. no TXT record (NXDOMAIN)"},
		},
		{
			name:   "external report checks off",
			target: "alipay.com",
			cfg:    &dmarc.Config{AcceptedPolicies: []string{"none", "quarantine", "reject"}},
			checks: statuses(pass, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.external_reports": "check_external_reports is off",
			},
		},
		{
			name:   "pct=5 in a real record",
			target: "aliyun.com",
			checks: statuses(pass, "dmarc.pct", fail, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.pct": "pct=5: the policy applies to 5% of failing mail only",
			},
			remediations: map[string]string{
				"dmarc.pct": `"_dmarc.aliyun.com. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:dmarc@service.aliyun.com\"" (without pct=, which means 100)`,
			},
			metrics: []metric{m("mail_dmarc_pct", 5)},
		},
		{
			name:   "no rua in a real record",
			target: "wikitide.com",
			checks: statuses(pass, "dmarc.reports", fail, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.reports": "no rua= tag: nobody receives the aggregate reports that show who sends mail as wikitide.com",
			},
			remediations: map[string]string{
				"dmarc.reports": `publish "_dmarc.wikitide.com. IN TXT \"v=DMARC1; p=quarantine; pct=100; fo=1; rua=mailto:dmarc-reports@wikitide.com\""`,
			},
		},
		{
			name:   "a subdomain covered by its organizational domain",
			target: "support.apple.com",
			cfg:    onlyStrict,
			checks: statuses(pass, "dmarc.external_reports", fail),
			reasons: map[string]string{
				"dmarc.present":          "support.apple.com has no DMARC record; its organizational domain apple.com has one, which applies to it (RFC 7489 §6.6.3)",
				"dmarc.policy":           "sp=reject of apple.com's record applies to support.apple.com",
				"dmarc.external_reports": "ruf.agari.com has not authorised apple.com's reports",
			},
			evidence: map[string]string{
				"dmarc.present":          "_dmarc.support.apple.com. no TXT record (NXDOMAIN)",
				"dmarc.external_reports": `apple.com._report._dmarc.ruf.agari.com. TXT "v=spf1 -all"`,
			},
			metrics: []metric{
				m("mail_dmarc_policy_info", 1, "reject", "reject"),
				m("mail_dmarc_record_source_info", 1, "organizational_domain"),
			},
		},
		{
			name:   "the organizational domain found by the public suffix list",
			target: "mail.eu.corp.example.test",
			checks: statuses(pass, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.present": "its organizational domain example.test has one",
				"dmarc.policy":  "p=reject of example.test's record (it has no sp=, so p= covers subdomains) applies to mail.eu.corp.example.test",
			},
			metrics: []metric{m("mail_dmarc_record_source_info", 1, "organizational_domain")},
		},
		{
			name:   "the same record found by the DNS tree walk",
			target: "mail.eu.corp.example.test",
			cfg:    &dmarc.Config{AcceptedPolicies: []string{"none", "quarantine", "reject"}, TreeWalk: true, CheckExternalReports: true},
			checks: statuses(pass, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.present": "mail.eu.corp.example.test has no DMARC record; the DNS tree walk (DMARCbis) finds one at _dmarc.example.test",
			},
			evidence: map[string]string{"dmarc.present": "_dmarc.corp.example.test. no TXT record"},
			metrics:  []metric{m("mail_dmarc_record_source_info", 1, "tree_walk")},
		},
		{
			name:   "p missing with a valid rua",
			target: "nop.test",
			checks: statuses(pass, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.syntax": "it has no p=, so receivers act as if p=none because rua= is valid (RFC 7489 §6.6.3)",
				"dmarc.policy": "none (receivers' reading of a record without a valid p= or sp=, RFC 7489 §6.6.3) applies to nop.test",
			},
			metrics: []metric{m("mail_dmarc_policy_info", 1, "none", "none")},
		},
		{
			name:   "p missing without rua",
			target: "nopnorua.test",
			checks: statuses(skip, "dmarc.present", pass, "dmarc.syntax", fail),
			reasons: map[string]string{
				"dmarc.syntax": "_dmarc.nopnorua.test: no p= tag and no valid rua= URI: receivers apply no DMARC (RFC 7489 §6.6.3)",
				"dmarc.policy": "receivers apply no DMARC with the record at _dmarc.nopnorua.test",
			},
			remediations: map[string]string{
				"dmarc.syntax": `publish "_dmarc.nopnorua.test. IN TXT \"v=DMARC1; p=none; sp=reject\""`,
			},
			absent: []string{"mail_dmarc_policy_info", "mail_dmarc_pct"},
		},
		{
			name:   "v=DMARC1 not first",
			target: "notfirst.test",
			checks: statuses(skip, "dmarc.present", pass, "dmarc.syntax", fail),
			reasons: map[string]string{
				"dmarc.syntax": "v=DMARC1 is not the first tag; RFC 7489 §6.3 requires it first, and receivers discard the record",
				"dmarc.policy": "receivers discard the record",
			},
			remediations: map[string]string{
				"dmarc.syntax": `publish "_dmarc.notfirst.test. IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc@notfirst.test\""`,
			},
			absent: []string{"mail_dmarc_policy_info"},
		},
		{
			name:   "pct=150",
			target: "pct150.test",
			checks: statuses(pass, "dmarc.syntax", fail, "dmarc.pct", fail, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.syntax": "_dmarc.pct150.test: pct=150 is not a whole number from 0 to 100",
				"dmarc.pct":    "pct=150 is not a whole number from 0 to 100; receivers ignore it",
			},
			remediations: map[string]string{
				"dmarc.syntax": `publish "_dmarc.pct150.test. IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@pct150.test\""`,
			},
			metrics: []metric{m("mail_dmarc_pct", 100)},
		},
		{
			name:   "rua=mailto: with no address",
			target: "emptyrua.test",
			checks: statuses(pass, "dmarc.syntax", fail, "dmarc.reports", fail, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.syntax":  `rua=: "mailto:" has no address after mailto:`,
				"dmarc.reports": `rua= has no valid mailto: URI: "mailto:" has no address after mailto:`,
			},
			remediations: map[string]string{
				"dmarc.reports": `publish "_dmarc.emptyrua.test. IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@emptyrua.test\""`,
			},
			metrics: []metric{m("mail_dmarc_report_destinations", 0, "rua")},
		},
		{
			name:   "two DMARC records",
			target: "two.test",
			checks: statuses(skip, "dmarc.present", pass, "dmarc.syntax", fail),
			reasons: map[string]string{
				"dmarc.syntax": "_dmarc.two.test has 2 DMARC records: receivers apply no DMARC at all (RFC 7489 §6.6.3)",
			},
			remediations: map[string]string{
				// One is p=none with reports, the other p=reject: the
				// record to keep says what both meant.
				"dmarc.syntax": `keep exactly one, with the strictest policy and every report destination of them, e.g. "_dmarc.two.test. IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@two.test\""`,
			},
			absent: []string{"mail_dmarc_policy_info"},
		},
		{
			// Commas for semicolons: receivers discard the record; the
			// record to publish keeps p=reject and the reports.
			name:   "commas between the tags",
			target: "commas.test",
			checks: statuses(skip, "dmarc.present", pass, "dmarc.syntax", fail),
			remediations: map[string]string{
				"dmarc.syntax": `publish "_dmarc.commas.test. IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@commas.test\""`,
			},
		},
		{
			name:   "a misspelt policy",
			target: "typo.test",
			checks: statuses(pass, "dmarc.syntax", fail, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.policy": "none (receivers' reading of a record without a valid p= or sp=, RFC 7489 §6.6.3)",
			},
			remediations: map[string]string{
				"dmarc.syntax": `publish "_dmarc.typo.test. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:dmarc@typo.test\""`,
			},
		},
		{
			// A parked domain (v=spf1 -all) with the record M3AAWG
			// advises: p=reject is what protects it, reports are optional.
			name:   "a domain that sends no mail, at p=reject without reports",
			target: "parked.test",
			checks: statuses(pass, "dmarc.reports", skip, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.policy":  "p=reject applies to parked.test, which sends no mail: receivers refuse mail forged in its name",
				"dmarc.reports": `parked.test sends no mail (its SPF record "v=spf1 -all" authorises no client): aggregate reports would show only who forges it, so they are optional`,
			},
		},
		{
			name:   "a domain that sends no mail, at p=none",
			target: "parkednone.test",
			checks: statuses(pass, "dmarc.policy", fail, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.policy": "p=none applies to parkednone.test; parkednone.test sends no mail (its SPF record \"v=spf1 -all\" authorises no client), so nothing legitimate can fail DMARC",
			},
			remediations: map[string]string{
				"dmarc.policy": `publish "_dmarc.parkednone.test. IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@parkednone.test\""`,
			},
		},
		{
			name:   "a domain that sends no mail, without DMARC",
			target: "parkednodmarc.test",
			checks: statuses(skip, "dmarc.present", fail),
			remediations: map[string]string{
				"dmarc.present": `publish "_dmarc.parkednodmarc.test. IN TXT \"v=DMARC1; p=reject\"": parkednodmarc.test sends no mail (its SPF record`,
			},
		},
		{
			name:   "a domain that sends no mail, with a broken record",
			target: "parkedbroken.test",
			checks: statuses(skip, "dmarc.present", pass, "dmarc.syntax", fail),
			remediations: map[string]string{
				"dmarc.syntax": `publish "_dmarc.parkedbroken.test. IN TXT \"v=DMARC1; p=reject\""`,
			},
		},
		{
			// A domain that sends mail but receives none (a null MX):
			// reports addressed to it would bounce.
			name:   "no reports asked, at a domain that receives no mail",
			target: "noreply.test",
			checks: statuses(pass, "dmarc.reports", fail, "dmarc.external_reports", skip),
			remediations: map[string]string{
				"dmarc.reports": `publish "_dmarc.noreply.test. IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc-reports@<a domain of yours that receives mail>\""`,
			},
		},
		{
			// Reports to a domain that receives no mail bounce: nobody
			// reads them.
			name:   "reports asked at a domain with a null MX",
			target: "noreplyrua.test",
			checks: statuses(pass, "dmarc.reports", fail, "dmarc.external_reports", skip),
			reasons: map[string]string{
				"dmarc.reports": "rua= sends the reports to mailto:dmarc@noreplyrua.test, but noreplyrua.test publishes a null MX (RFC 7505), so they bounce",
			},
			remediations: map[string]string{
				"dmarc.reports": `rua=mailto:dmarc-reports@<a domain of yours that receives mail>`,
			},
		},
		{
			// For a domain that sends no mail the reports are optional:
			// the bounce is a note, not a failure.
			name:   "a parked domain asking for reports at itself",
			target: "parkedrua.test",
			checks: statuses(pass, "dmarc.reports", skip, "dmarc.external_reports", skip),
		},
		{
			name:   "other TXT records beside the DMARC record",
			target: "other.test",
			checks: statuses(pass, "dmarc.external_reports", skip),
		},
		{
			name:    "reports inside the organization",
			target:  "inside.test",
			checks:  statuses(pass, "dmarc.external_reports", skip),
			reasons: map[string]string{"dmarc.external_reports": "every report destination is within inside.test"},
		},
		{
			name:   "no DMARC record",
			target: "nodmarc.test",
			checks: statuses(skip, "dmarc.present", fail),
			reasons: map[string]string{
				"dmarc.present": "no DMARC record at _dmarc.nodmarc.test",
				"dmarc.syntax":  "no DMARC record",
			},
			remediations: map[string]string{
				"dmarc.present": `"_dmarc.nodmarc.test. IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@nodmarc.test\""`,
			},
			absent: []string{"mail_dmarc_policy_info", "mail_dmarc_record_source_info"},
		},
		{
			name:   "no DMARC record for a subdomain or its organization",
			target: "mail.nodmarc.test",
			checks: statuses(skip, "dmarc.present", fail),
			reasons: map[string]string{
				"dmarc.present": "no DMARC record at _dmarc.mail.nodmarc.test, _dmarc.nodmarc.test",
			},
			remediations: map[string]string{
				"dmarc.present": `(or publish it at _dmarc.nodmarc.test, which covers every subdomain of nodmarc.test)`,
			},
		},
		{
			name:   "SERVFAIL at the domain",
			target: "google.com",
			setup: func(s *testbed.DNSServer) {
				s.SetBehaviour("_dmarc.google.com", testbed.ServFail)
			},
			checks:     statuses(undecided),
			wantErrors: "DMARC record of google.com: dns TXT _dmarc.google.com: SERVFAIL",
		},
		{
			name:   "SERVFAIL at the subdomain, a record at the organization",
			target: "support.apple.com",
			setup: func(s *testbed.DNSServer) {
				s.SetBehaviour("_dmarc.support.apple.com", testbed.ServFail)
			},
			checks:     statuses(undecided),
			wantErrors: "SERVFAIL",
		},
		{
			name:   "SERVFAIL for an authorization",
			target: "microsoft.com",
			setup: func(s *testbed.DNSServer) {
				s.SetBehaviour("microsoft.com._report._dmarc.ruf.agari.com", testbed.ServFail)
			},
			checks:     statuses(pass, "dmarc.external_reports", undecided),
			wantErrors: "DMARC report authorization at microsoft.com._report._dmarc.ruf.agari.com",
		},
		{
			name:   "a host target",
			target: "mx.google.com:25",
			checks: statuses(skip),
			reasons: map[string]string{
				"dmarc.present": "the target is one mail host (mx.google.com:25)",
			},
		},
		{
			name:   "an IP target",
			target: "192.0.2.80",
			checks: statuses(skip),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testbed.StartDNS(t, world()...)
			if tc.setup != nil {
				tc.setup(srv)
			}
			cfg := dmarc.DefaultConfig()
			if tc.cfg != nil {
				cfg = *tc.cfg
			}
			res, _ := runProbe(t, srv.Addr, tc.target, cfg, 10*time.Second)
			checkInvariants(t, res)
			probetest.AssertChecks(t, res, tc.checks, tc.reasons, tc.remediations, tc.evidence)
			var absent []metric
			for _, name := range tc.absent {
				absent = append(absent, m(name, 0)) // no labels: no sample of the name
			}
			assertMetrics(t, res, tc.metrics, absent)
			assertErrors(t, res, tc.wantErrors)
		})
	}
}

func TestBouncingReportsAreNoted(t *testing.T) {
	srv := testbed.StartDNS(t, world()...)
	res, _ := runProbe(t, srv.Addr, "parkedrua.test", dmarc.DefaultConfig(), 5*time.Second)
	want := "_dmarc.parkedrua.test. sends aggregate reports to mailto:dmarc@parkedrua.test, but parkedrua.test publishes a null MX (RFC 7505): the reports bounce"
	if !slices.Contains(res.Notes(), want) {
		t.Errorf("notes %q, want %q", res.Notes(), want)
	}
}

func TestWithoutAnSPFBlock(t *testing.T) {
	// A module without an spf block cannot tell that a domain sends no
	// mail: it is judged as one that may, and asked for reports.
	srv := testbed.StartDNS(t, world()...)
	tgt, _ := probes.ParseTarget("parked.test")
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	res := dmarc.New(dmarc.DefaultConfig()).Run(context.Background(), &probes.Request{Target: tgt}, probetest.Env(client))
	checkInvariants(t, res)
	if c, _ := res.Check("dmarc.reports"); c.Status != probes.StatusFail {
		t.Errorf("dmarc.reports = %s (%s), want the failure of a domain that may send", c.Status, c.Reason)
	}
	if errs := res.Errors(); len(errs) > 0 {
		t.Errorf("probe errors %q", errs)
	}
}

func runProbe(t testing.TB, addr, target string, cfg dmarc.Config, timeout time.Duration) (*probes.Result, *dnsclient.Resolver) {
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
	// The module's spf block supplies whether the domain sends mail.
	env.Facts = env.Facts.WithProviders(probetest.WithSPFBlock())
	resolver := env.DNS
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := dmarc.New(cfg).Run(ctx, &probes.Request{Target: tgt}, env)
	if res == nil {
		t.Fatal("Run returned nil")
	}
	return res, resolver
}

func TestLookupsTakeTwoRounds(t *testing.T) {
	// Both _dmarc names of a subdomain (and its SPF record, whether it
	// sends mail, and its MX, whether it receives any: the mx probe's
	// question too) in one round, both report authorizations in the next;
	// asked one by one they would take six.
	srv := testbed.StartDNS(t, world()...)
	srv.SetLockstep(50 * time.Millisecond)
	res, _ := runProbe(t, srv.Addr, "support.apple.com", dmarc.DefaultConfig(), 30*time.Second)
	if c, _ := res.Check("dmarc.external_reports"); c.Status != probes.StatusFail {
		t.Fatalf("dmarc.external_reports = %s (%s)", c.Status, c.Reason)
	}
	if rounds := srv.Rounds(); rounds != 2 {
		t.Errorf("the probe needed %d rounds of DNS questions; the dependency chain is 2", rounds)
	}
	if d := srv.Duplicates(); len(d) > 0 {
		t.Errorf("questions asked more than once: %v", d)
	}
	if n := len(srv.Queries()); n != 6 {
		t.Errorf("%d questions, want 6: %v", n, srv.Queries())
	}
}

func TestTreeWalkIsBounded(t *testing.T) {
	// Ten labels: the name itself, then the last seven labels down to the
	// TLD, all at once (DMARCbis caps the walk at eight queries).
	srv := testbed.StartDNS(t, world()...)
	srv.SetLockstep(50 * time.Millisecond)
	cfg := dmarc.Config{AcceptedPolicies: dmarc.Policies, TreeWalk: true, CheckExternalReports: true}
	res, _ := runProbe(t, srv.Addr, "a.b.c.d.e.f.g.h.example.test", cfg, 30*time.Second)
	if c, _ := res.Check("dmarc.present"); c.Status != probes.StatusPass || !strings.Contains(c.Reason, "finds one at _dmarc.example.test") {
		t.Fatalf("dmarc.present = %s (%s)", c.Status, c.Reason)
	}
	var names []string
	for _, q := range srv.Queries() {
		if strings.HasPrefix(q.Name, "_dmarc.") {
			names = append(names, q.Name)
		}
	}
	want := []string{
		"_dmarc.a.b.c.d.e.f.g.h.example.test.", "_dmarc.d.e.f.g.h.example.test.", "_dmarc.e.f.g.h.example.test.",
		"_dmarc.f.g.h.example.test.", "_dmarc.g.h.example.test.", "_dmarc.h.example.test.", "_dmarc.example.test.", "_dmarc.test.",
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("asked %q, want %q", names, want)
	}
	if rounds := srv.Rounds(); rounds != 1 {
		t.Errorf("the walk took %d rounds; its questions are independent", rounds)
	}
}

func TestSilentResolverEndsAtDeadline(t *testing.T) {
	silent := testbed.StartSilentResolver(t)
	tgt, _ := probes.ParseTarget("google.com")
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{silent.Addr}, Timeout: 10 * time.Second, Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	env := probetest.Env(client)
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	res := dmarc.New(dmarc.DefaultConfig()).Run(ctx, &probes.Request{Target: tgt}, env)
	if elapsed := time.Since(start); elapsed > deadline+2*time.Second {
		t.Errorf("Run took %s after a %s deadline", elapsed, deadline)
	}
	for _, c := range res.Checks() {
		if c.Status != probes.StatusError {
			t.Errorf("%s = %s without a single answer, want undecided", c.ID, c.Status)
		}
	}
}

func TestDescriber(t *testing.T) {
	p := dmarc.New(dmarc.DefaultConfig())
	if p.Name() != "dmarc" {
		t.Errorf("Name() = %q", p.Name())
	}
	var ids []string
	want := map[string]probes.Level{
		"dmarc.present": probes.LevelMust, "dmarc.syntax": probes.LevelMust, "dmarc.policy": probes.LevelShould,
		"dmarc.reports": probes.LevelShould, "dmarc.external_reports": probes.LevelShould, "dmarc.pct": probes.LevelMay,
	}
	for _, spec := range p.CheckSpecs() {
		ids = append(ids, spec.ID)
		if spec.Level != want[spec.ID] || spec.Passing == "" {
			t.Errorf("%s: level %q (want %q), passing %q", spec.ID, spec.Level, want[spec.ID], spec.Passing)
		}
	}
	if !slices.Equal(ids, checkIDs) {
		t.Errorf("CheckSpecs ids = %q, want %q", ids, checkIDs)
	}
	var names []string
	for _, spec := range p.MetricSpecs() {
		names = append(names, spec.Name)
		if !strings.HasSuffix(spec.Help, ".") || strings.Contains(spec.Help, "\n") {
			t.Errorf("%s: HELP %q is not a short sentence", spec.Name, spec.Help)
		}
	}
	if w := []string{"mail_dmarc_policy_info", "mail_dmarc_pct", "mail_dmarc_report_destinations", "mail_dmarc_record_source_info"}; !slices.Equal(names, w) {
		t.Errorf("MetricSpecs = %q, want %q", names, w)
	}
}

func BenchmarkProbe(b *testing.B) {
	srv := testbed.StartDNS(b, world()...)
	tgt, _ := probes.ParseTarget("support.apple.com")
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 2})
	if err != nil {
		b.Fatal(err)
	}
	p := dmarc.New(dmarc.DefaultConfig())
	b.ReportAllocs()
	for b.Loop() {
		env := probetest.Env(client)
		res := p.Run(context.Background(), &probes.Request{Target: tgt}, env)
		if c, _ := res.Check("dmarc.present"); c.Status != probes.StatusPass {
			b.Fatalf("dmarc.present = %s", c.Status)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	rec := realRecords[3].record // microsoft.com
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dmarc.Parse(rec); err != nil {
			b.Fatal(err)
		}
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
// ("dmarc.rua", skip, ...).
func statuses(def probes.Status, overrides ...any) map[string]probes.Status {
	return probetest.Statuses(checkIDs, def, overrides...)
}

func checkInvariants(t testing.TB, res *probes.Result) {
	t.Helper()
	probetest.CheckInvariants(t, res, dmarc.New(dmarc.DefaultConfig()), checkIDs)
}
