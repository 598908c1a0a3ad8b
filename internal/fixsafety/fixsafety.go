// Package fixsafety reads the remediations ("fix:") of a report against the
// rest of the report and the DNS, and finds the ones that would break mail
// or contradict the report if applied as written: the dangerous cases of
// issue 15 and a few of their kind. Tests run it over the example world,
// the provider world and the golden reports; nothing else imports it.
//
// The rules:
//
//   - tlsa-without-starttls: a TLSA record to publish for a host the
//     report shows without working STARTTLS (DANE senders would then
//     defer all mail to it, RFC 7672 §2.2).
//   - dmarc-downgrade: a DMARC record to publish with a weaker policy than
//     the strictest the published record states, or without the mailto:
//     report destinations it has.
//   - target-does-not-exist: an MX or SRV record to publish naming a host
//     that has no address, unless the same fix publishes one.
//   - void-term-has-records: "remove or repair the terms" whose lookups
//     find no records, naming a term whose name has them.
//   - ed25519-as-rsa: a key template with k=rsa for a selector whose name,
//     or published record, says Ed25519.
//   - already-published: a TXT record to publish that the report shows
//     published.
//   - reports-to-null-mx: a mailto: address to publish at a domain that
//     receives no mail (null MX, RFC 7505).
//   - conflicting-addresses: two fixes of one report (of different checks)
//     that publish the same name with different addresses: applied both,
//     they give the name an address neither meant it to have.
//   - address-added-to-name-in-use: an A or AAAA record to publish for a
//     name that already has addresses of that type, none of them the one
//     proposed, unless the fix says to do so only while the name is not in
//     use: the name would then answer both, and part of its traffic (a
//     web server's, say) would go to the address the fix names.
package fixsafety

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Check is one check of a report, as the rules read it.
type Check struct {
	Probe       string
	ID          string
	Status      probes.Status
	Reason      string
	Remediation string
	Evidence    []string
}

// Report is what the rules read of one report: its target, its checks and
// the lines of its detail blocks.
type Report struct {
	Target  string
	Checks  []Check
	Details []string
}

// Finding is one remediation that is not safe to apply as written.
type Finding struct {
	Target string
	Check  string
	Rule   string
	// Why says what in the report or the DNS contradicts the fix.
	Why string
	Fix string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s %s [%s]: %s\n    fix: %s", f.Target, f.Check, f.Rule, f.Why, f.Fix)
}

// Key identifies a finding across runs: target, check and rule.
func (f Finding) Key() string { return f.Target + " " + f.Check + " " + f.Rule }

// DNS answers what the rules ask about the names in remediations.
type DNS interface {
	// Lookup returns the records of type qtype at name (CNAMEs followed)
	// and the answer's rcode.
	Lookup(name string, qtype uint16) ([]dns.RR, int, error)
}

// FromCollector is what the rules read of a report the engine made.
func FromCollector(r *collector.Report) Report {
	out := Report{Target: r.Target.String()}
	for _, p := range r.Probes {
		for _, c := range p.Result.Checks() {
			out.Checks = append(out.Checks, Check{Probe: p.Name, ID: c.ID, Status: c.Status, Reason: c.Reason,
				Remediation: c.Remediation, Evidence: c.Evidence})
		}
		for _, d := range p.Result.Details() {
			out.Details = append(out.Details, d.Lines...)
		}
	}
	return out
}

// FromJSON is what the rules read of the reports of a JSON document, as
// the web package writes it (/probe?format=json).
func FromJSON(data []byte) ([]Report, error) {
	var doc struct {
		Reports []struct {
			Target struct {
				Input string `json:"input"`
			} `json:"target"`
			Probes []struct {
				Name   string `json:"name"`
				Checks []struct {
					ID          string   `json:"id"`
					Status      string   `json:"status"`
					Reason      string   `json:"reason"`
					Remediation string   `json:"remediation"`
					Evidence    []string `json:"evidence"`
				} `json:"checks"`
				Details []struct {
					Lines []string `json:"lines"`
				} `json:"details"`
			} `json:"probes"`
		} `json:"reports"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	statuses := map[string]probes.Status{"pass": probes.StatusPass, "fail": probes.StatusFail, "skip": probes.StatusSkip, "error": probes.StatusError}
	var out []Report
	for _, r := range doc.Reports {
		rep := Report{Target: r.Target.Input}
		for _, p := range r.Probes {
			for _, c := range p.Checks {
				st, ok := statuses[c.Status]
				if !ok {
					return nil, fmt.Errorf("%s: check %s has status %q", r.Target.Input, c.ID, c.Status)
				}
				rep.Checks = append(rep.Checks, Check{Probe: p.Name, ID: c.ID, Status: st, Reason: c.Reason,
					Remediation: c.Remediation, Evidence: c.Evidence})
			}
			for _, d := range p.Details {
				rep.Details = append(rep.Details, d.Lines...)
			}
		}
		out = append(out, rep)
	}
	return out, nil
}

// Audit returns the findings of every rule on the report, sorted.
func Audit(r Report, d DNS) []Finding {
	a := &audit{r: r, dns: d}
	for _, c := range r.Checks {
		if c.Remediation == "" {
			continue
		}
		a.tlsaWithoutSTARTTLS(c)
		a.dmarcDowngrade(c)
		a.targetDoesNotExist(c)
		a.voidTermHasRecords(c)
		a.ed25519AsRSA(c)
		a.alreadyPublished(c)
		a.reportsToNullMX(c)
		a.addressAddedToNameInUse(c)
	}
	a.conflictingAddresses()
	return merge(a.out)
}

// merge makes one finding of those with the same key, their reasons
// joined, sorted by key.
func merge(fs []Finding) []Finding {
	var out []Finding
	at := map[string]int{}
	for _, f := range fs {
		i, ok := at[f.Key()]
		if !ok {
			at[f.Key()] = len(out)
			out = append(out, f)
			continue
		}
		if !strings.Contains(out[i].Why, f.Why) {
			out[i].Why += "; " + f.Why
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

type audit struct {
	r   Report
	dns DNS
	out []Finding
}

func (a *audit) find(c Check, rule, why string) {
	a.out = append(a.out, Finding{Target: a.r.Target, Check: c.ID, Rule: rule, Why: why, Fix: c.Remediation})
}

// check returns the report's check with the id.
func (a *audit) check(id string) (Check, bool) {
	for _, c := range a.r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// has says whether name has records of type qtype; an error counts as
// having them (a rule finds only what it can show).
func (a *audit) has(name string, qtype uint16) bool {
	rrs, _, err := a.dns.Lookup(name, qtype)
	if err != nil {
		return true
	}
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype {
			return true
		}
	}
	return false
}

func (a *audit) hasAddress(name string) bool {
	return a.has(name, dns.TypeA) || a.has(name, dns.TypeAAAA)
}

// zoneLineRE matches a record a remediation quotes: "<owner>. IN <TYPE>
// <data>", as probes.ZoneLine writes it (inside a Go-quoted string, so the
// data's own quotes are escaped).
var zoneLineRE = regexp.MustCompile(`"([A-Za-z0-9_*.<>-]+?)\.? IN ([A-Z]+) ((?:[^"\\]|\\.)*)"`)

// zoneLine is one record a remediation quotes.
type zoneLine struct {
	owner, rrtype, data string
	// before and after are the text of the remediation before and after
	// the record.
	before, after string
}

func zoneLines(fix string) []zoneLine {
	var out []zoneLine
	for _, m := range zoneLineRE.FindAllStringSubmatchIndex(fix, -1) {
		out = append(out, zoneLine{owner: strings.ToLower(fix[m[2]:m[3]]), rrtype: fix[m[4]:m[5]],
			data: strings.ReplaceAll(fix[m[6]:m[7]], `\"`, `"`), before: fix[:m[0]], after: fix[m[1]:]})
	}
	return out
}

// removed reports whether the remediation names the record as one to
// remove or replace, not to publish.
func (z zoneLine) removed() bool {
	b := strings.TrimRight(z.before, " ")
	return strings.HasSuffix(b, "remove") || strings.HasSuffix(b, "instead of") || strings.HasSuffix(b, "or remove")
}

// txtText joins the character-strings of a TXT record's data as
// verifiers do: `"a" "b"` is "ab".
func txtText(data string) string {
	var b strings.Builder
	rest := strings.TrimSpace(data)
	for strings.HasPrefix(rest, `"`) {
		end := strings.Index(rest[1:], `"`)
		if end < 0 {
			break
		}
		b.WriteString(rest[1 : end+1])
		rest = strings.TrimSpace(rest[end+2:])
	}
	return b.String()
}

// starttlsProblemRE finds a host without working STARTTLS in
// smtp.starttls' reason: "mx.example.test 192.0.2.1:25 does not offer
// STARTTLS", "refused STARTTLS", "did not answer STARTTLS", "the TLS
// handshake with mx.example.test … failed".
var starttlsProblems = []string{"does not offer STARTTLS", "refused STARTTLS", "did not answer STARTTLS", "the TLS handshake with"}

func (a *audit) tlsaWithoutSTARTTLS(c Check) {
	starttls, ok := a.check("smtp.starttls")
	if !ok || starttls.Status != probes.StatusFail {
		return
	}
	for _, z := range zoneLines(c.Remediation) {
		if z.rrtype != "TLSA" || z.removed() || !strings.HasPrefix(z.owner, "_25._tcp.") {
			continue
		}
		host := strings.TrimPrefix(z.owner, "_25._tcp.")
		for _, phrase := range strings.Split(starttls.Reason, "; ") {
			if !strings.Contains(strings.ToLower(phrase), host+" ") {
				continue
			}
			for _, p := range starttlsProblems {
				if strings.Contains(phrase, p) {
					a.find(c, "tlsa-without-starttls", fmt.Sprintf("publishes TLSA for %s, but smtp.starttls says: %s", host, phrase))
					return
				}
			}
		}
	}
}

// policyRE finds a DMARC policy tag in a record, however the record is
// broken (commas, spaces, the tag repeated); rua finds a mailto: report
// destination.
var (
	policyRE  = regexp.MustCompile(`(?i)(?:^|[;,\s])p\s*=\s*(none|quarantine|reject)\b`)
	mailtoRUA = regexp.MustCompile(`(?i)(?:^|[;,\s])rua\s*=\s*[^;]*mailto:[^;,\s]+@`)
)

var policyRank = map[string]int{"none": 0, "quarantine": 1, "reject": 2}

// strictest returns the strictest policy a DMARC text states, -1 for none.
func strictest(text string) (string, int) {
	best, rank := "", -1
	for _, m := range policyRE.FindAllStringSubmatch(text, -1) {
		if r := policyRank[strings.ToLower(m[1])]; r > rank {
			best, rank = strings.ToLower(m[1]), r
		}
	}
	return best, rank
}

// published returns the TXT records the report shows published, by owner
// (fully qualified, lower case): the evidence lines `<owner> TXT "<text>"`.
func (a *audit) published() map[string][]string {
	out := map[string][]string{}
	lines := append([]string(nil), a.r.Details...)
	for _, c := range a.r.Checks {
		lines = append(lines, c.Evidence...)
	}
	for _, l := range lines {
		owner, rest, ok := strings.Cut(l, " TXT ")
		if !ok || strings.Contains(owner, " ") || strings.HasSuffix(rest, `…"`) {
			continue
		}
		text, err := strconv.Unquote(rest)
		if err != nil {
			continue
		}
		owner = probes.FQDN(strings.ToLower(owner))
		if !contains(out[owner], text) {
			out[owner] = append(out[owner], text)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (a *audit) dmarcDowngrade(c Check) {
	pub := a.published()
	for _, z := range zoneLines(c.Remediation) {
		text := txtText(z.data)
		if z.rrtype != "TXT" || z.removed() || !strings.HasPrefix(z.owner, "_dmarc.") || !strings.HasPrefix(text, "v=DMARC1") {
			continue
		}
		records := pub[probes.FQDN(z.owner)]
		if len(records) == 0 {
			continue // a record of its own for a name that has none
		}
		all := strings.Join(records, "; ")
		if want, wantRank := strictest(all); wantRank >= 0 {
			if got, gotRank := strictest(text); gotRank < wantRank {
				a.find(c, "dmarc-downgrade", fmt.Sprintf("the published record at %s states p=%s; the fix proposes p=%s", z.owner, want, orNone(got)))
			}
		}
		if mailtoRUA.MatchString(all) && !mailtoRUA.MatchString(text) {
			a.find(c, "dmarc-downgrade", fmt.Sprintf("the published record at %s sends aggregate reports (rua=mailto:); the fix drops them", z.owner))
		}
	}
}

func orNone(p string) string {
	if p == "" {
		return "(none given)"
	}
	return p
}

// srvTargetRE reads the target of an SRV record's data: "0 1 587
// mail.example.test.".
var srvTargetRE = regexp.MustCompile(`^\d+ \d+ (\d+) (\S+)$`)

func (a *audit) targetDoesNotExist(c Check) {
	lines := zoneLines(c.Remediation)
	publishes := map[string]bool{}
	for _, z := range lines {
		if (z.rrtype == "A" || z.rrtype == "AAAA") && !z.removed() {
			publishes[z.owner] = true
		}
	}
	for _, z := range lines {
		if z.removed() {
			continue
		}
		var host string
		switch z.rrtype {
		case "MX":
			f := strings.Fields(z.data)
			if len(f) != 2 {
				continue
			}
			host = f[1]
		case "SRV":
			m := srvTargetRE.FindStringSubmatch(z.data)
			if m == nil || m[1] == "0" {
				continue
			}
			host = m[2]
		default:
			continue
		}
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		if host == "" || strings.ContainsAny(host, "<>") || publishes[host] {
			continue
		}
		if !a.hasAddress(host) {
			a.find(c, "target-does-not-exist", fmt.Sprintf("the %s record to publish names %s, which has no A or AAAA record, and the fix does not publish one", z.rrtype, host))
		}
	}
}

// voidTermRE reads the terms spf.void_lookup_limit's remediation tells to
// remove: "a:x.example in example.test (NXDOMAIN); mx in …".
var voidTermRE = regexp.MustCompile(`([+~?-]?[a-z]+(?:[:=][^\s;()]+)?) in (\S+) \(`)

func (a *audit) voidTermHasRecords(c Check) {
	// "remove or repair the terms whose names have no records: …" or
	// "… the terms that match nothing (their lookups find no records): …".
	i := strings.Index(c.Remediation, "remove or repair the terms")
	if i < 0 {
		return
	}
	j := strings.Index(c.Remediation[i:], ": ")
	if j < 0 {
		return
	}
	for _, m := range voidTermRE.FindAllStringSubmatch(c.Remediation[i+j+2:], -1) {
		term, domain := strings.TrimLeft(m[1], "+~?-"), m[2]
		mech, name, _ := strings.Cut(term, ":")
		mech, _, _ = strings.Cut(mech, "/") // "a/24": the domain's own name
		name, _, _ = strings.Cut(name, "/")
		if name == "" {
			name = domain
		}
		if strings.Contains(name, "%") {
			continue // a macro: the name depends on the client
		}
		var has bool
		switch strings.ToLower(mech) {
		case "a":
			has = a.hasAddress(name)
		case "mx":
			has = a.has(name, dns.TypeMX)
		case "include", "redirect":
			has = a.has(name, dns.TypeTXT)
		case "exists":
			has = a.has(name, dns.TypeA)
		default:
			continue
		}
		if has {
			a.find(c, "void-term-has-records", fmt.Sprintf("the fix removes %s as a term whose name has no records, but %s has records", term, name))
		}
	}
}

func (a *audit) ed25519AsRSA(c Check) {
	pub := a.published()
	for _, z := range zoneLines(c.Remediation) {
		text := txtText(z.data)
		sel, _, ok := strings.Cut(z.owner, "._domainkey.")
		if z.rrtype != "TXT" || !ok || !strings.Contains(text, "k=rsa") || !strings.Contains(text, "p=<") {
			continue
		}
		named := Ed25519Named(sel)
		declared := false
		for _, rec := range pub[probes.FQDN(z.owner)] {
			declared = declared || strings.Contains(strings.ReplaceAll(strings.ToLower(rec), " ", ""), "k=ed25519")
		}
		if named || declared {
			a.find(c, "ed25519-as-rsa", fmt.Sprintf("the key template for selector %s says k=rsa, but the selector is an Ed25519 one", sel))
		}
	}
}

// Ed25519Named reports whether a selector's name says it holds an Ed25519
// key: "ed25519", "eddsa", or a label part "ed".
func Ed25519Named(selector string) bool {
	s := strings.ToLower(selector)
	if strings.Contains(s, "ed25519") || strings.Contains(s, "eddsa") {
		return true
	}
	for _, part := range strings.FieldsFunc(s, func(c rune) bool { return c == '-' || c == '_' || c == '.' }) {
		if part == "ed" {
			return true
		}
	}
	return false
}

func (a *audit) alreadyPublished(c Check) {
	pub := a.published()
	for _, z := range zoneLines(c.Remediation) {
		// "keep exactly one, e.g. <one of them>" names a published record
		// on purpose.
		if tail := z.before[max(0, len(z.before)-60):]; z.rrtype != "TXT" || z.removed() || strings.Contains(tail, "keep") {
			continue
		}
		if contains(pub[probes.FQDN(z.owner)], txtText(z.data)) {
			a.find(c, "already-published", fmt.Sprintf("asks to publish the TXT record at %s that the report shows published", z.owner))
		}
	}
}

// mailtoRE finds the mailto: addresses of records a fix proposes.
var mailtoRE = regexp.MustCompile(`(?i)mailto:[^@\s,;"\\]+@([a-z0-9.-]+)`)

func (a *audit) reportsToNullMX(c Check) {
	for _, z := range zoneLines(c.Remediation) {
		if z.rrtype != "TXT" || z.removed() {
			continue
		}
		for _, m := range mailtoRE.FindAllStringSubmatch(z.data, -1) {
			domain := strings.ToLower(strings.TrimSuffix(m[1], "."))
			if a.nullMX(domain) {
				a.find(c, "reports-to-null-mx", fmt.Sprintf("the record to publish sends reports to %s, which publishes a null MX: it receives no mail", m[0]))
			}
		}
	}
}

func (a *audit) nullMX(domain string) bool {
	rrs, _, err := a.dns.Lookup(domain, dns.TypeMX)
	if err != nil || len(rrs) != 1 {
		return false
	}
	mx, ok := rrs[0].(*dns.MX)
	return ok && mx.Mx == "."
}

// notInUseCaveat is how a fix says a record is to be published only for a
// name not in use yet, right after the record.
var notInUseCaveat = regexp.MustCompile(`^[^"]{0,40}?(?:not in use yet|not yet in use)`)

func (a *audit) addressAddedToNameInUse(c Check) {
	for _, z := range zoneLines(c.Remediation) {
		if (z.rrtype != "A" && z.rrtype != "AAAA") || z.removed() || strings.ContainsAny(z.data, "<>") ||
			notInUseCaveat.MatchString(z.after) {
			continue
		}
		qtype := dns.TypeA
		if z.rrtype == "AAAA" {
			qtype = dns.TypeAAAA
		}
		want, err := netip.ParseAddr(strings.TrimSpace(z.data))
		if err != nil {
			continue
		}
		rrs, _, err := a.dns.Lookup(z.owner, qtype)
		if err != nil {
			continue // a rule finds only what it can show
		}
		var others []string
		for _, rr := range rrs {
			var have netip.Addr
			switch v := rr.(type) {
			case *dns.A:
				have, _ = netip.AddrFromSlice(v.A.To4())
			case *dns.AAAA:
				have, _ = netip.AddrFromSlice(v.AAAA)
			default:
				continue
			}
			if have == want {
				others = nil
				break
			}
			others = append(others, have.String())
		}
		if len(others) > 0 {
			a.find(c, "address-added-to-name-in-use", fmt.Sprintf("publishes %s as %s %s, but %s already resolves to %s: the name would answer both",
				z.owner, z.rrtype, want, z.owner, strings.Join(others, ", ")))
		}
	}
}

func (a *audit) conflictingAddresses() {
	type source struct {
		checks []string
		fix    string
	}
	seen := map[string]map[string]*source{} // owner and type → data → where
	for _, c := range a.r.Checks {
		for _, z := range zoneLines(c.Remediation) {
			if (z.rrtype != "A" && z.rrtype != "AAAA") || z.removed() || strings.ContainsAny(z.data, "<>") {
				continue
			}
			key := z.owner + " " + z.rrtype
			if seen[key] == nil {
				seen[key] = map[string]*source{}
			}
			if seen[key][z.data] == nil {
				seen[key][z.data] = &source{fix: c.Remediation}
			}
			seen[key][z.data].checks = append(seen[key][z.data].checks, c.ID)
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		byData := seen[key]
		if len(byData) < 2 {
			continue
		}
		var data, checks, why []string
		for d, s := range byData {
			data = append(data, d)
			checks = append(checks, s.checks...)
		}
		sort.Strings(data)
		sort.Strings(checks)
		if len(dedup(checks)) < 2 {
			// One fix naming a host with several addresses: a name may
			// have many; it is two fixes that disagree.
			continue
		}
		for _, d := range data {
			why = append(why, fmt.Sprintf("%s (%s)", d, strings.Join(dedup(byData[d].checks), ", ")))
		}
		a.out = append(a.out, Finding{Target: a.r.Target, Check: strings.Join(dedup(checks), "+"), Rule: "conflicting-addresses",
			Why: fmt.Sprintf("the fixes publish %s as %s", key, strings.Join(why, " and as ")), Fix: byData[data[0]].fix})
	}
}

func dedup(s []string) []string {
	var out []string
	for _, x := range s {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

// Resolver asks the DNS server at addr (a test world's, on loopback).
type Resolver struct {
	Addr string
}

// Lookup implements DNS.
func (r Resolver) Lookup(name string, qtype uint16) ([]dns.RR, int, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := dns.ExchangeContext(ctx, m, r.Addr)
	if err != nil {
		return nil, 0, err
	}
	if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
		return nil, resp.Rcode, fmt.Errorf("%s %s: %s", dns.TypeToString[qtype], name, dns.RcodeToString[resp.Rcode])
	}
	return resp.Answer, resp.Rcode, nil
}
