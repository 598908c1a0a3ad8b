package providerworld

import (
	"net/url"
	"testing"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/fixsafety"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Every remediation of every report of the provider world, read against
// the rest of its report and the world's DNS (internal/fixsafety has the
// rules): on every correctly configured customer, on every breakage of
// providers_test.go, and on the breakages that lead the probes to the
// dangerous fixes issue 15 names.

// riskyBreakages are broken the way that tempts a probe into one of the
// dangerous fixes of issue 15.
var riskyBreakages = []breakage{
	{
		// TLSA records for a server without STARTTLS would make DANE
		// senders defer all its mail.
		name:   "an MX host that stopped offering STARTTLS, its TLSA record removed",
		target: "selfhosted.test",
		break_: func(t *testing.T, w *World) {
			b := w.Behaviour(MX2)
			b.Certificate = nil
			w.SMTP[MX2].SetBehaviour(b)
			w.DNS.Remove("_25._tcp."+MX2+".", dns.TypeTLSA)
		},
		says: []says{{"smtp.starttls", probes.StatusFail, []string{MX2}}, {"dane.tlsa", probes.StatusFail, []string{"_25._tcp." + MX2}}},
	},
	{
		// Commas for semicolons: receivers discard the record; its fix must
		// keep p=reject and the reports.
		name:   "a DMARC record written with commas",
		target: "selfhosted.test",
		break_: func(t *testing.T, w *World) {
			w.DNS.Remove("_dmarc.selfhosted.test.", dns.TypeTXT)
			add(t, w, `_dmarc.selfhosted.test. 3600 IN TXT "v=DMARC1, p=reject, rua=mailto:dmarc-reports@selfhosted.test"`)
		},
		says: []says{{"dmarc.syntax", probes.StatusFail, []string{`v=DMARC1; p=reject; rua=mailto:dmarc-reports@selfhosted.test`}}},
	},
	{
		name:   "a DMARC policy misspelt",
		target: "workspace.test",
		break_: func(t *testing.T, w *World) {
			w.DNS.Remove("_dmarc.workspace.test.", dns.TypeTXT)
			add(t, w, `_dmarc.workspace.test. 3600 IN TXT "v=DMARC1; p=rejct; rua=mailto:dmarc-reports@workspace.test"`)
		},
		says: []says{{"dmarc.syntax", probes.StatusFail, []string{`v=DMARC1; p=reject; rua=mailto:dmarc-reports@workspace.test`}}},
	},
	{
		name:   "two DMARC records, one at p=reject",
		target: "zoho.test",
		break_: func(t *testing.T, w *World) {
			add(t, w, `_dmarc.zoho.test. 3600 IN TXT "v=DMARC1; p=reject"`)
		},
		says: []says{{"dmarc.syntax", probes.StatusFail, []string{`v=DMARC1; p=reject; rua=mailto:dmarc-reports@zoho.test`}}},
	},
	{
		// The module signs with an Ed25519 selector the domain has not
		// published yet: its template must not say k=rsa.
		name:   "an Ed25519 selector not published",
		target: "selfhosted.test",
		params: url.Values{"dkim_selector": {"dkim", "ed25519-2025"}},
		says:   []says{{"dkim.present", probes.StatusFail, []string{"ed25519-2025._domainkey.selfhosted.test", "k=ed25519"}}},
	},
	{
		// a: terms of hosts with IPv4 addresses only beside names that
		// no longer exist: the fix may tell to remove only the latter.
		name:   "SPF a: terms of IPv4-only hosts and of names that are gone",
		target: "selfhosted.test",
		break_: func(t *testing.T, w *World) {
			w.DNS.Remove("selfhosted.test.", dns.TypeTXT)
			add(t, w, `selfhosted.test. 3600 IN TXT "v=spf1 a:`+MX1+` a:`+MX2+` a:old1.selfhosted.test a:old2.selfhosted.test a:old3.selfhosted.test -all"`)
		},
		says: []says{{"spf.void_lookup_limit", probes.StatusFail, []string{"a:old1.selfhosted.test"}}},
	},
	{
		// The reverse DNS of mx2 was set to the web host's name, which
		// resolves to the web server: the fix must not add mx2's address
		// to that name (part of the web traffic would go to the mail
		// server).
		name:   "a PTR naming the web host",
		target: "selfhosted.test",
		break_: func(t *testing.T, w *World) {
			w.DNS.Remove("26.0.0.127.in-addr.arpa.", dns.TypePTR)
			add(t, w, "26.0.0.127.in-addr.arpa. 3600 IN PTR www.selfhosted.test.", "www.selfhosted.test. 3600 IN A 127.0.0.80")
		},
		says: []says{{"ptr.fcrdns", probes.StatusFail, []string{"www.selfhosted.test"}}},
	},
	{
		// No MX: the fix must name a host that serves mail.
		name:   "no MX record",
		target: "selfhosted.test",
		break_: func(t *testing.T, w *World) {
			w.DNS.Remove("selfhosted.test.", dns.TypeMX)
			add(t, w, "selfhosted.test. 3600 IN A "+mxAddrs[MX1])
		},
		says: []says{{"mx.present", probes.StatusFail, nil}},
	},
}

func TestProviderFixesAreSafe(t *testing.T) {
	var found []fixsafety.Finding
	t.Run("customers", func(t *testing.T) {
		w := Start(t)
		m := compileModule(t, w)
		for _, c := range customers {
			r := run(t, m, c.target, c.params)
			found = append(found, label(fixsafety.Audit(fixsafety.FromCollector(r), fixsafety.Resolver{Addr: w.DNS.Addr}), "")...)
		}
	})
	for _, b := range append(append([]breakage(nil), breakages...), riskyBreakages...) {
		t.Run(b.name, func(t *testing.T) {
			w := Start(t)
			if b.break_ != nil {
				b.break_(t, w)
			}
			r := run(t, compileModule(t, w), b.target, b.params)
			// The breakage led the probes where the test wants them.
			checkSays(t, r, b.says)
			found = append(found, label(fixsafety.Audit(fixsafety.FromCollector(r), fixsafety.Resolver{Addr: w.DNS.Addr}), b.name)...)
		})
	}
	for _, f := range found {
		t.Errorf("unsafe fix: %s", f)
	}
}

// label names the breakage in the findings' target, so a finding says
// which breakage led to it.
func label(fs []fixsafety.Finding, breakage string) []fixsafety.Finding {
	if breakage == "" {
		return fs
	}
	for i := range fs {
		fs[i].Target += " (" + breakage + ")"
	}
	return fs
}
