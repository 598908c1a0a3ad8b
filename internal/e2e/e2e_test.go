// Package e2e is the end-to-end suite: real daemons from Debian packages
// (Knot signing the test zones, Unbound validating them, Postfix with
// STARTTLS, nginx serving MTA-STS policies, Prometheus) on loopback
// addresses, the exporter built from this tree, and the shipped scrape
// config, alert rules and dashboards, checked through Prometheus' HTTP API.
//
// It needs root and the packages (see .ci/run); elsewhere it skips, unless
// REQUIRE_E2E=1 makes that a failure.
package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/e2e/assets"
)

// TestEndToEnd brings the world up once and checks it from every side.
func TestEndToEnd(t *testing.T) {
	requireDaemons(t)
	start := time.Now()
	wired := wiredProbes(t)
	w := newWorld(t)
	t.Logf("world on %s0/24 in %s; probes wired into the collector: %v", w.prefix, w.dir, sortedKeys(wired))

	resolver := w.startDNS(t)
	t.Run("resolver validates", func(t *testing.T) { checkValidation(t, w, resolver) })
	w.startPostfix(t)
	w.startNginx(t)
	exporter := w.startExporter(t, resolver, wired)
	t.Cleanup(func() { // before the daemons stop
		if t.Failed() {
			for _, target := range scrapedTargets {
				t.Logf("--- the exporter's report for %s:\n%s", target, debugReport(exporter, target))
			}
		}
	})
	prom := w.startPrometheus(t, exporter)
	t.Logf("daemons up after %s", time.Since(start).Round(time.Millisecond))
	prom.waitForScrapes(t)
	t.Logf("three scrapes after %s", time.Since(start).Round(time.Millisecond))

	t.Run("series", func(t *testing.T) { checkSeries(t, prom, w, wired) })
	t.Run("bogus report", func(t *testing.T) { checkBogusReport(t, exporter) })
	t.Run("alerts", func(t *testing.T) { checkAlerts(t, prom, w, wired) })
	t.Run("dashboards", func(t *testing.T) { checkDashboards(t, prom) })
	t.Run("fleet of replicas", func(t *testing.T) { checkFleet(t, w, resolver, wired) })
	t.Logf("done after %s", time.Since(start).Round(time.Millisecond))
}

// checkValidation asks the resolver directly: the world's answers validate
// where they must and fail where they must, so the exporter's dnssec
// checks meet real validation.
func checkValidation(t *testing.T, w *world, resolver string) {
	for _, tc := range []struct {
		name  string
		qtype uint16
		rcode int
		ad    bool
	}{
		{goodDomain, dns.TypeMX, dns.RcodeSuccess, true},
		{"_25._tcp.mx1." + goodDomain, dns.TypeTLSA, dns.RcodeSuccess, true},
		{brokenDomain, dns.TypeMX, dns.RcodeSuccess, true},
		{listedDomain, dns.TypeMX, dns.RcodeSuccess, false},            // no DS: insecure
		{bogusDomain, dns.TypeMX, dns.RcodeServerFailure, false},       // DS for another key: bogus
		{downDomain, dns.TypeMX, dns.RcodeServerFailure, false},        // no name server to ask
		{"nothing." + goodDomain, dns.TypeA, dns.RcodeNameError, true}, // NXDOMAIN proven by NSEC
		{"www.example.com", dns.TypeA, dns.RcodeRefused, false},        // outside the world
		{reverseIP(w.ip(hostMXGood)) + ".in-addr.arpa", dns.TypePTR, dns.RcodeSuccess, false},
	} {
		r, err := query(resolver, tc.name, tc.qtype, true)
		if err != nil {
			t.Errorf("%s %s: %v", tc.name, dns.TypeToString[tc.qtype], err)
			continue
		}
		if r.Rcode != tc.rcode || r.AuthenticatedData != tc.ad {
			t.Errorf("%s %s: %s AD=%v, want %s AD=%v", tc.name, dns.TypeToString[tc.qtype],
				dns.RcodeToString[r.Rcode], r.AuthenticatedData, dns.RcodeToString[tc.rcode], tc.ad)
		}
	}
	// The bogus zone itself is served: the SERVFAIL is the validator's,
	// which says why (RFC 8914) and gives the data with checking disabled.
	if _, err := exchange(w.addr(hostKnot, 53), bogusDomain, dns.TypeMX, true); err != nil {
		t.Errorf("Knot does not serve %s: %v", bogusDomain, err)
	}
	if r, err := query(resolver, bogusDomain, dns.TypeMX, true); err == nil {
		var codes []string
		if opt := r.IsEdns0(); opt != nil {
			for _, o := range opt.Option {
				if e, ok := o.(*dns.EDNS0_EDE); ok {
					codes = append(codes, e.String())
				}
			}
		}
		if len(codes) == 0 {
			t.Errorf("%s MX: SERVFAIL without an Extended DNS Error (is ede: yes in Unbound's config?)", bogusDomain)
		}
		t.Logf("%s MX: %s, %v", bogusDomain, dns.RcodeToString[r.Rcode], codes)
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(bogusDomain), dns.TypeMX)
	m.SetEdns0(4096, true)
	m.CheckingDisabled = true
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	if r, _, err := c.Exchange(m, resolver); err != nil || r.Rcode != dns.RcodeSuccess || r.AuthenticatedData || !hasType(r.Answer, dns.TypeMX) {
		t.Errorf("%s MX with CD: %v %v, want the MX records, unvalidated", bogusDomain, r, err)
	}
}

// dnssecEDE is how the report quotes the Extended DNS Error Unbound gives
// for a DS that matches no key: 6 (DNSSEC Bogus) in Unbound 1.17, 9
// (DNSKEY Missing) in others.
var dnssecEDE = regexp.MustCompile(` with EDE (6 \(DNSSEC Bogus\)|9 \(DNSKEY Missing\))`)

// checkBogusReport reads the exporter's report of the bogus domain: the
// DNSSEC check fails with Unbound's Extended DNS Error as evidence, and
// the report says the other checks ran on unvalidated answers.
func checkBogusReport(t *testing.T, exporter string) {
	report := debugReport(exporter, bogusDomain)
	var failLine, edeLine, inCheck bool
	for _, line := range strings.Split(report, "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 3 && (fields[0] == "PASS" || fields[0] == "FAIL" || fields[0] == "SKIP" || fields[0] == "ERROR") {
			inCheck = fields[0] == "FAIL" && fields[1] == "must" && fields[2] == "dnssec.not_bogus"
			failLine = failLine || inCheck
		}
		if inCheck && strings.Contains(line, "- MX "+bogusDomain+": SERVFAIL from ") && dnssecEDE.MatchString(line) {
			edeLine = true
		}
	}
	if !failLine || !edeLine {
		t.Errorf("the report does not fail dnssec.not_bogus with the resolver's Extended DNS Error as evidence (failed: %v, EDE line: %v):\n%s", failLine, edeLine, report)
	}
	if !strings.Contains(report, "DNSSEC: the resolver refused ") {
		t.Errorf("the report does not say which answers were taken unvalidated:\n%s", report)
	}
}

// debugReport fetches the exporter's report of a target.
func debugReport(exporter, target string) string {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + exporter + "/probe?" + url.Values{"module": {"mail"}, "target": {target}, "debug": {"true"}}.Encode())
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.Status + "\n" + string(body)
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// expectation is a query about the world and what its answer must be.
type expectation struct {
	needs string // the probe that must be wired for it; "" always
	why   string
	query string
	check func([]sample) error
}

// equal wants at least one series, every one with value v.
func equal(v float64) func([]sample) error {
	return func(ss []sample) error {
		if len(ss) == 0 {
			return fmt.Errorf("no series, want value %g", v)
		}
		for _, s := range ss {
			if s.Value != v {
				return fmt.Errorf("%s, want value %g", s, v)
			}
		}
		return nil
	}
}

// within wants at least one series, every one in [lo, hi].
func within(lo, hi float64) func([]sample) error {
	return func(ss []sample) error {
		if len(ss) == 0 {
			return fmt.Errorf("no series, want values in [%g, %g]", lo, hi)
		}
		for _, s := range ss {
			if s.Value < lo || s.Value > hi {
				return fmt.Errorf("%s, want a value in [%g, %g]", s, lo, hi)
			}
		}
		return nil
	}
}

// empty wants no series.
func empty(ss []sample) error {
	if len(ss) > 0 {
		return fmt.Errorf("want no series, got %v", ss)
	}
	return nil
}

// labelSet wants the series' values of a label to be exactly want.
func labelSet(label string, want ...string) func([]sample) error {
	return func(ss []sample) error {
		var got []string
		for _, s := range ss {
			got = append(got, s.Labels[label])
		}
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			return fmt.Errorf("%s values %v, want %v", label, got, want)
		}
		return nil
	}
}

// failingMust lists the must checks a domain fails with the probes wired.
func failingMust(wired map[string]bool, byProbe map[string][]string) []string {
	var out []string
	for p, checks := range byProbe {
		if p == "" || wired[p] {
			out = append(out, checks...)
		}
	}
	return out
}

func wiredNames(wired map[string]bool, only ...string) []string {
	var out []string
	for _, p := range sortedKeys(wired) {
		if len(only) == 0 || contains(only, p) {
			out = append(out, p)
		}
	}
	return out
}

// checkSeries asserts what the exporter told Prometheus about each domain.
func checkSeries(t *testing.T, prom *promClient, w *world, wired map[string]bool) {
	unix := func(tm time.Time) float64 { return float64(tm.Unix()) }
	good, broken := w.certs["mx1."+goodDomain], w.certs["mx1."+brokenDomain]
	stsGood, stsBroken := w.certs["mta-sts."+goodDomain], w.certs["mta-sts."+brokenDomain]
	sel := func(instance string, more ...string) string {
		return strings.Join(append([]string{`job="mail"`, fmt.Sprintf("instance=%q", instance)}, more...), ", ")
	}
	g, b, l, x, d := sel(goodDomain), sel(brokenDomain), sel(listedDomain), sel(bogusDomain), sel(downDomain)
	ip := func(host int) string { return fmt.Sprintf("ip=%q", w.ip(host)) }

	for _, e := range []expectation{
		// The healthy domain.
		{"", "every probe finished and every must check passed", `probe_success{` + g + `}`, equal(1)},
		{"", "every wired probe ran and finished", `mail_probe_error{` + g + `}`, func(ss []sample) error {
			if err := equal(0)(ss); err != nil {
				return err
			}
			return labelSet("probe", wiredNames(wired)...)(ss)
		}},
		{"", "only the checks the loopback world cannot pass fail: no IPv6 (mx.ipv6), and the list that lists everything (dnsbl.list_health)",
			`mail_check_success{` + g + `} == 0`, labelSet("check", "mx.ipv6", "dnsbl.list_health")},
		{"", "Unbound validated the domain and its MX host (AD bit)", `mail_dnssec_authenticated{` + g + `}`,
			func(ss []sample) error {
				if err := equal(1)(ss); err != nil {
					return err
				}
				return labelSet("name", goodDomain, "mx1."+goodDomain)(ss)
			}},
		{"", "the key under the selector only the target's __dkim_selector names (relabeled to dkim_selector=)",
			`mail_dkim_key_bits{` + g + `, selector="` + goodSelector + `", key_type="rsa"}`, equal(2048)},
		{"", "the Ed25519 key the discovery list finds", `mail_dkim_key_bits{` + g + `, selector="dkim", key_type="ed25519"}`, equal(256)},
		{"", "SPF: one mx term", `mail_spf_dns_lookups{` + g + `}`, equal(1)},
		{"", "the outbound address from the target's __outbound_ip (relabeled to outbound_ip=) passes SPF",
			`mail_spf_check_host_result_info{` + g + `, ip="` + goodOutbound + `", result="pass"}`, equal(1)},
		{"", "the outbound address is asked of the IP lists and not listed", `mail_dnsbl_listed{` + g + `, subject="` + goodOutbound + `"}`,
			func(ss []sample) error {
				if err := equal(0)(ss); err != nil {
					return err
				}
				return labelSet("zone", "zen.bl.test")(ss) // dead.bl.test's answers are ignored
			}},
		{"", "the healthy lists answer their test points", `mail_dnsbl_list_healthy{` + g + `, zone=~"zen.bl.test|dbl.bl.test"}`, equal(1)},
		{"", "the list that lists everything fails its test points", `mail_dnsbl_list_healthy{` + g + `, zone="dead.bl.test"}`, equal(0)},
		{"", "the score: only the may check mx.ipv6 fails", `mail_score{` + g + `}`, within(95, 99.99)},
		{"smtp", "Postfix greets, offers STARTTLS and completes the handshake", `mail_tls_handshake_success{` + g + `, mx="mx1.` + goodDomain + `", ` + ip(hostMXGood) + `}`, equal(1)},
		{"smtp", "the chain verifies against the module's ca_file and names the host", `mail_tls_cert_trusted{` + g + `} * mail_tls_cert_name_match{` + g + `}`, equal(1)},
		{"smtp", "the served certificate's notAfter", `probe_ssl_earliest_cert_expiry{` + g + `, mx="mx1.` + goodDomain + `"}`, equal(unix(good.notAfter))},
		{"smtp", "the served certificate's notBefore", `mail_tls_cert_not_before_timestamp_seconds{` + g + `, mx="mx1.` + goodDomain + `"}`, equal(unix(good.notBefore))},
		{"smtp", "TLS 1.2 or newer", `probe_tls_version_info{` + g + `, version=~"TLS 1\\.[23]"}`, equal(1)},
		{"smtp", "the chain matches a DNSSEC-validated TLSA record", `mail_dane_tlsa_match{` + g + `}`, equal(1)},
		{"smtp", "Postfix refuses to relay for a foreign address", `mail_smtp_rcpt_code{` + g + `, rcpt="open_relay"} >= 400`, equal(554)},
		{"smtp", "two usable TLSA records: the current key and the next", `mail_dane_tlsa_records{` + g + `, mx="mx1.` + goodDomain + `"}`, equal(2)},
		{"mtasts", "the enforced policy nginx serves", `mail_mtasts_policy_info{` + g + `, mode="enforce"}`, equal(1)},
		{"mtasts", "the MX host is in the policy", `mail_mtasts_mx_match{` + g + `, mx="mx1.` + goodDomain + `"}`, equal(1)},
		{"mtasts", "the policy's max_age", `mail_mtasts_max_age_seconds{` + g + `}`, equal(604800)},
		{"mtasts", "the policy host's certificate", `mail_mtasts_cert_expiry_timestamp_seconds{` + g + `}`, equal(unix(stsGood.notAfter))},
		{"tlsrpt", "one TLS-RPT destination", `sum(mail_tlsrpt_destinations{` + g + `})`, equal(1)},

		// The broken domain: broken, not unknown.
		{"", "a must check fails", `probe_success{` + b + `}`, equal(0)},
		{"", "every probe finished: the domain is broken, the exporter can tell", `mail_probe_error{` + b + `}`, equal(0)},
		{"", "exactly the must checks the world breaks fail", `mail_check_success{` + b + `, level="must"} == 0`,
			labelSet("check", failingMust(wired, map[string][]string{
				"":       {"spf.lookup_limit", "dkim.key_strength", "dmarc.present"},
				"smtp":   {"dane.match", "smtp.starttls"},
				"mtasts": {"mtasts.mx_match"},
			})...)},
		{"", "11 includes", `mail_spf_dns_lookups{` + b + `}`, equal(11)},
		{"", "the 1024-bit key", `mail_dkim_key_bits{` + b + `, selector="default", key_type="rsa"}`, equal(1024)},
		{"", "in testing mode", `mail_dkim_key_info{` + b + `, selector="default", testing="y"}`, equal(1)},
		{"smtp", "the certificate expires in 10 days", `(probe_ssl_earliest_cert_expiry{` + b + `, mx="mx1.` + brokenDomain + `"} - time()) / 86400`, within(9.9, 10.01)},
		{"smtp", "its exact notAfter", `probe_ssl_earliest_cert_expiry{` + b + `, mx="mx1.` + brokenDomain + `"}`, equal(unix(broken.notAfter))},
		{"smtp", "the TLSA record names another key", `mail_dane_tlsa_match{` + b + `, mx="mx1.` + brokenDomain + `", ` + ip(hostMXBroken1) + `}`, equal(0)},
		{"smtp", "mx2 greets", `mail_smtp_up{` + b + `, mx="mx2.` + brokenDomain + `", ` + ip(hostMXBroken2) + `}`, equal(1)},
		{"smtp", "but offers no STARTTLS", `mail_smtp_starttls{` + b + `, mx="mx2.` + brokenDomain + `"}`, equal(0)},
		{"smtp", "so no handshake", `mail_tls_handshake_success{` + b + `, mx="mx2.` + brokenDomain + `"}`, equal(0)},
		{"mtasts", "neither MX host is in the enforced policy", `mail_mtasts_mx_match{` + b + `}`, func(ss []sample) error {
			if err := equal(0)(ss); err != nil {
				return err
			}
			return labelSet("mx", "mx1."+brokenDomain, "mx2."+brokenDomain)(ss)
		}},
		{"mtasts", "the policy host's certificate expires in 10 days", `mail_mtasts_cert_expiry_timestamp_seconds{` + b + `}`, equal(unix(stsBroken.notAfter))},
		{"tlsrpt", "no TLS-RPT record", `mail_check_success{` + b + `, check="tlsrpt.present"}`, equal(0)},

		// The listed domain.
		{"", "its outbound address is on the IP list, as residential space", `mail_dnsbl_return_code_info{` + l + `, zone="zen.bl.test", subject="` + listedIP + `", code="127.0.0.11", meaning="PBL"}`, equal(1)},
		{"", "listed on the IP list, at PBL's severity: a policy listing is a warning", `mail_dnsbl_listed{` + l + `, zone="zen.bl.test", subject="` + listedIP + `", severity="warning"}`, equal(1)},
		{"", "the domain is on the domain list", `mail_dnsbl_listed{` + l + `, zone="dbl.bl.test", subject="` + listedDomain + `"}`, equal(1)},
		{"", "its MX host name and registered domain are asked and not listed", `mail_dnsbl_listed{` + l + `, zone="dbl.bl.test", subject!="` + listedDomain + `"}`,
			func(ss []sample) error {
				if err := equal(0)(ss); err != nil {
					return err
				}
				return labelSet("subject", "mx1."+goodDomain, parentZone)(ss)
			}},
		{"", "the list that lists everything is ignored, not counted as a listing", `mail_dnsbl_listed{` + l + `, zone="dead.bl.test"}`, empty},
		{"", "exactly the blocklist checks fail", `mail_check_success{` + l + `, level="must"} == 0`, labelSet("check", "dnsbl.ip", "dnsbl.domain")},
		{"", "no DS in the parent: insecure, not validated", `mail_dnssec_authenticated{` + l + `, name="` + listedDomain + `"}`, equal(0)},

		// The bogus domain: broken, and the exporter can tell. The
		// resolver's SERVFAIL carries an Extended DNS Error, the CD
		// question gets the zone's data, and everything else is judged on
		// it.
		{"", "the SERVFAIL is read as DNSSEC, not as an error: every probe finishes", `mail_probe_error{` + x + `}`, func(ss []sample) error {
			if err := equal(0)(ss); err != nil {
				return err
			}
			return labelSet("probe", wiredNames(wired)...)(ss)
		}},
		{"", "exactly the DNSSEC must check fails", `mail_check_success{` + x + `, level="must"} == 0`, labelSet("check", "dnssec.not_bogus")},
		{"", "dnssec.domain is 0, not absent", `mail_check_success{` + x + `, check="dnssec.domain"}`, equal(0)},
		{"", "the MX host (in the good zone) validates", `mail_check_success{` + x + `, check="dnssec.mx"}`, equal(1)},
		{"", "the other probes still report, on the unvalidated answers", `mail_check_success{` + x + `, check=~"mx.present|mx.resolves|ptr.fcrdns|spf.present|spf.authorizes_outbound|dkim.present|dmarc.present|dmarc.policy|dnsbl.domain"}`,
			func(ss []sample) error {
				if err := equal(1)(ss); err != nil {
					return err
				}
				return labelSet("check", "mx.present", "mx.resolves", "ptr.fcrdns", "spf.present", "spf.authorizes_outbound", "dkim.present", "dmarc.present", "dmarc.policy", "dnsbl.domain")(ss)
			}},
		{"smtp", "the MX host's conversation runs, DANE included (its zone validates)", `mail_tls_handshake_success{` + x + `} * mail_dane_tlsa_match{` + x + `}`, equal(1)},
		{"", "not validated", `mail_dnssec_authenticated{` + x + `, name="` + bogusDomain + `"}`, equal(0)},
		{"", "and the probe does not succeed", `probe_success{` + x + `}`, equal(0)},

		// The domain without name servers: the exporter cannot tell.
		{"", "the resolver answers SERVFAIL, with CD too: the probes cannot finish", `mail_probe_error{` + d + `, probe=~"mx|spf|dkim|dmarc"}`, equal(1)},
		{"", "no must check is decided, so none fails", `mail_check_success{` + d + `, level="must"}`, empty},
		{"", "nothing about DNSSEC is claimed", `mail_check_success{` + d + `, check=~"dnssec.*"}`, empty},
		{"", "and the probe does not succeed", `probe_success{` + d + `}`, equal(0)},

		// Not a domain: the scrape itself fails.
		{"", "the exporter answers 400", `up{job="mail", instance="` + invalidTarget + `"}`, equal(0)},
		{"", "so there is no probe result", `probe_success{instance="` + invalidTarget + `"}`, empty},

		// The exporter's own metrics, scraped by the example's second job.
		{"", "probe requests counted", `deliverability_exporter_probes_total{job="deliverability_exporter", outcome="success"}`, within(1, 1e9)},
		{"", "the 400s for the bad target counted", `deliverability_exporter_probe_requests_rejected_total{job="deliverability_exporter", reason="bad_target"}`, within(1, 1e9)},
		{"", "the configuration loaded", `deliverability_exporter_config_last_reload_successful{job="deliverability_exporter"}`, equal(1)},
	} {
		if e.needs != "" && !wired[e.needs] {
			continue
		}
		got, err := prom.query(e.query)
		if err == nil {
			err = e.check(got)
		}
		if err != nil {
			t.Errorf("%s\n  query: %s\n  %v", e.why, e.query, err)
		}
	}
	for _, p := range []string{"smtp", "mtasts", "tlsrpt"} {
		if !wired[p] {
			t.Logf("the %s probe is not wired into the collector: its expectations wait for it", p)
		}
	}
}

// checkAlerts asserts that Prometheus loaded the rules without evaluation
// errors, and that exactly the expected alerts are pending or firing: the
// faults the world has, each once, and nothing for the healthy domain.
func checkAlerts(t *testing.T, prom *promClient, w *world, wired map[string]bool) {
	var rules struct {
		Groups []struct {
			Name           string  `json:"name"`
			EvaluationTime float64 `json:"evaluationTime"`
			Rules          []struct {
				Name      string `json:"name"`
				Type      string `json:"type"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := prom.get("/api/v1/rules", nil, &rules); err != nil {
		t.Fatal(err)
	}
	files, err := assets.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	want := len(assets.Alerts(files))
	loaded := 0
	for _, g := range rules.Groups {
		t.Logf("rule group %s: %d rules evaluated in %.2f ms", g.Name, len(g.Rules), g.EvaluationTime*1000)
		for _, r := range g.Rules {
			loaded++
			if r.Health != "ok" {
				t.Errorf("rule %s/%s: health %q: %s", g.Name, r.Name, r.Health, r.LastError)
			}
		}
	}
	if loaded != want {
		t.Errorf("Prometheus loaded %d rules, alerts/ has %d", loaded, want)
	}

	type alert map[string]string
	expected := []alert{
		{"alertname": "MailBlocklistUnhealthy", "severity": "warning", "job": "mail", "zone": "dead.bl.test"},
		// A PBL listing of the outbound address is a ticket, not a page.
		{"alertname": "MailBlocklistedWarning", "severity": "warning", "job": "mail", "instance": listedDomain, "zone": "zen.bl.test", "subject": listedIP},
		{"alertname": "MailBlocklisted", "severity": "critical", "job": "mail", "instance": listedDomain, "zone": "dbl.bl.test", "subject": listedDomain},
		{"alertname": "MailSPFLookupLimitExceeded", "severity": "warning", "job": "mail", "instance": brokenDomain},
		{"alertname": "MailDKIMKeyWeak", "severity": "warning", "job": "mail", "instance": brokenDomain, "selector": "default", "key_type": "rsa"},
		{"alertname": "MailDMARCMissingOrBroken", "severity": "warning", "job": "mail", "instance": brokenDomain, "check": "dmarc.present", "level": "must"},
		{"alertname": "MailProbeScrapeFailed", "severity": "warning", "job": "mail", "instance": invalidTarget},
	}
	// The bogus domain pages once, as bogus, not as probe errors.
	expected = append(expected, alert{"alertname": "MailDNSSECBogus", "severity": "critical", "job": "mail", "instance": bogusDomain, "check": "dnssec.not_bogus", "level": "must"})
	// Every probe of the domain without name servers asks its DNS, and
	// gets SERVFAIL, with checking disabled too.
	for _, p := range wiredNames(wired) {
		expected = append(expected, alert{"alertname": "MailProbeError", "severity": "warning", "job": "mail", "instance": downDomain, "probe": p})
	}
	if wired["smtp"] {
		expected = append(expected,
			alert{"alertname": "MailTLSCertificateExpiringSoon", "severity": "warning", "job": "mail", "instance": brokenDomain, "mx": "mx1." + brokenDomain},
			alert{"alertname": "MailDANEMismatch", "severity": "critical", "job": "mail", "instance": brokenDomain, "mx": "mx1." + brokenDomain, "ip": w.ip(hostMXBroken1)},
			alert{"alertname": "MailSTARTTLSMissing", "severity": "critical", "job": "mail", "instance": brokenDomain, "mx": "mx2." + brokenDomain, "ip": w.ip(hostMXBroken2)})
	}
	if wired["mtasts"] {
		for _, mx := range []string{"mx1." + brokenDomain, "mx2." + brokenDomain} {
			expected = append(expected, alert{"alertname": "MailMTASTSPolicyMismatch", "severity": "critical", "job": "mail", "instance": brokenDomain, "mx": mx})
		}
		expected = append(expected, alert{"alertname": "MailMTASTSCertificateExpiringSoon", "severity": "warning", "job": "mail", "instance": brokenDomain})
	}
	key := func(a map[string]string) string {
		var parts []string
		for k, v := range a {
			if k != "__name__" && k != "alertstate" {
				parts = append(parts, k+"="+v)
			}
		}
		sort.Strings(parts)
		return strings.Join(parts, ",")
	}
	wantSet := map[string]bool{}
	for _, a := range expected {
		wantSet[key(a)] = true
	}
	gotSet := map[string]bool{}
	for _, s := range prom.mustQuery(t, `ALERTS`) {
		k := key(s.Labels)
		gotSet[k] = true
		if st := s.Labels["alertstate"]; st != "pending" && st != "firing" {
			t.Errorf("alert %s in state %q", k, st)
		}
		if !wantSet[k] {
			t.Errorf("unexpected alert: %s", k)
		}
	}
	for k := range wantSet {
		if !gotSet[k] {
			t.Errorf("missing alert: %s", k)
		}
	}
}

// checkDashboards runs every query of every dashboard panel against the
// world's Prometheus, with the template variables set as Grafana would, and
// wants data from each: the fleet dashboard with every domain selected, the
// domain dashboard with at least one of the domains. The variables'
// label_values() queries must list the job and the domains.
func checkDashboards(t *testing.T, prom *promClient) {
	dashboards, err := assets.LoadDashboards()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := assets.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	domains := []string{goodDomain, brokenDomain, listedDomain, bogusDomain, downDomain}
	base := map[string]string{"job": "mail", "datasource": "prometheus",
		"exporter_job": "deliverability_exporter", "exporter": ".+",
		"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
	queries := 0
	var total, slowest time.Duration
	var slowestQuery string
	for _, d := range dashboards {
		iv, _ := d.Variable("instance")
		var instances []string
		if iv.Multi || iv.IncludeAll {
			instances = []string{iv.AllValue}
			if iv.AllValue == "" {
				instances = []string{strings.Join(domains, "|")}
			}
		} else {
			instances = domains
		}

		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			sel, label, _ := assets.LabelValuesQuery(v.QueryString())
			vars := map[string]string{}
			for k, val := range base {
				vars[k] = val
			}
			expr, err := assets.Expand(sel, vars)
			if err != nil {
				t.Errorf("%s: variable %s: %v", d.Path, v.Name, err)
				continue
			}
			got := map[string]bool{}
			for _, s := range prom.mustQuery(t, expr) {
				got[s.Labels[label]] = true
			}
			wantValues := map[string][]string{"job": {"mail"}, "instance": domains, "exporter_job": {"deliverability_exporter"}}[v.Name]
			for _, val := range wantValues {
				if !got[val] {
					t.Errorf("%s: variable %s (%s) does not offer %q: %v", d.Path, v.Name, v.QueryString(), val, got)
				}
			}
			// The jobs offered are this exporter's only (Prometheus scrapes
			// itself and the exporter's own metrics too).
			if v.Name == "job" && len(got) != 1 {
				t.Errorf("%s: variable job (%s) offers %v, want the mail job only", d.Path, v.QueryString(), got)
			}
		}

		for _, p := range d.AllPanels() {
			for _, tg := range p.Targets {
				where := fmt.Sprintf("%s: panel %q query %s", d.Path, p.Title, tg.RefID)
				if pending, _ := cat.PendingIn(tg.Expr); len(pending) > 0 {
					t.Logf("%s: waits for the %v probe to be wired", where, pending)
					continue
				}
				if ownWorldQuery(tg.Expr) {
					continue // TestDelivery checks it in its own world
				}
				// "or vector(0)" keeps a stat at 0 instead of "No data"; the
				// data must come from the left side.
				expr := strings.TrimSuffix(strings.TrimSpace(tg.Expr), " or vector(0)")
				var lastErr error
				found := false
				for _, inst := range instances {
					vars := map[string]string{"instance": inst}
					for k, v := range base {
						vars[k] = v
					}
					q, err := assets.Expand(expr, vars)
					if err != nil {
						lastErr = err
						break
					}
					began := time.Now()
					got, err := prom.query(q)
					took := time.Since(began)
					queries++
					total += took
					if took > slowest {
						slowest, slowestQuery = took, q
					}
					if err != nil {
						lastErr = err
						break
					}
					if len(got) > 0 {
						found = true
						break
					}
				}
				switch {
				case lastErr != nil:
					t.Errorf("%s: %v", where, lastErr)
				case !found:
					t.Errorf("%s: no data for any of %v: %s", where, instances, expr)
				}
			}
		}
	}
	if queries > 0 {
		t.Logf("%d dashboard queries, %s on average (HTTP round trip included); the slowest, %s: %s",
			queries, (total / time.Duration(queries)).Round(time.Microsecond), slowest.Round(time.Microsecond), slowestQuery)
	}
}
