package dnsbl

import (
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// record turns the answers into measurements, checks, errors and the
// report's detail block. Each check is recorded exactly once.
func (r *run) record() {
	for _, lr := range r.lists {
		if err := lr.listError(); err != nil {
			r.res.Error(err)
		}
	}
	r.measure()
	r.recordBlocklist(checkIP, KindIP)
	r.recordBlocklist(checkDomain, KindDomain)
	r.recordHealth()
	r.recordAllowlist()
	r.recordDetail()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// measure records the gauges: per list its errors and health, per subject
// whether it is listed and with which codes. A list that lists everything
// has its answers ignored, and a question that got no usable answer has no
// sample: absent is "we don't know", 0 is "not listed".
func (r *run) measure() {
	for _, lr := range r.lists {
		l := lr.list
		r.res.Measure(metricListError, b2f(lr.erring()), l.Zone)
		if lr.health.asked && lr.health.decided {
			r.res.Measure(metricListHealthy, b2f(lr.health.healthy), l.Zone)
		}
		if lr.health.ignore {
			continue
		}
		for _, s := range lr.subjects {
			if s.outcome != listed && s.outcome != notListed {
				continue
			}
			v := b2f(s.outcome == listed)
			if l.Kind == KindAllow {
				r.res.Measure(metricAllowListed, v, l.Zone, s.subject)
			} else {
				sev, _ := r.severity(l, s)
				r.res.Measure(metricListed, v, l.Zone, s.subject, string(sev))
			}
			for _, c := range s.codes {
				r.res.Measure(metricReturnCode, 1, l.Zone, s.subject, c.Code(), c.Meaning)
			}
		}
	}
}

// severity is how much a listing of s on l harms mail (the severity
// label): the highest severity of its codes on l (the list's own when it
// is not listed, so its series keeps its labels when it is listed at the
// list's severity), one step lower for a subject that only receives mail;
// lowered says so.
func (r *run) severity(l *List, s *subjectRun) (sev Severity, lowered bool) {
	sev = l.listSeverity()
	if s.outcome == listed && len(s.codes) > 0 {
		sev = SeverityInfo
		for _, c := range s.codes {
			if cs := l.codeSeverity(c.Code()); cs.rank() > sev.rank() {
				sev = cs
			}
		}
	}
	if _, ok := r.subj.receiving[s.subject]; ok && sev != SeverityInfo {
		return sev.Lower(), true
	}
	return sev, false
}

// listSeverity is the list's severity: critical when none is set.
func (l *List) listSeverity() Severity {
	if l.Severity == "" {
		return SeverityCritical
	}
	return l.Severity
}

// codeSeverity is the severity of a return code: its own, or the list's.
func (l *List) codeSeverity(code string) Severity {
	if sev, ok := l.Severities[code]; ok && sev != "" {
		return sev
	}
	return l.listSeverity()
}

// severityPhrase says a listing's severity and, when the subject's role
// lowered it, why: "severity warning, one step below the listing's own:
// 192.0.2.1 only receives mail (an address or name of
// aspmx.l.google.com, a provider's MX host, ...)".
func (r *run) severityPhrase(l *List, s *subjectRun, sev Severity, lowered bool) string {
	if !lowered {
		return "severity " + string(sev)
	}
	host := r.subj.receiving[s.subject]
	why := fmt.Sprintf("an address or name of %s, a provider's MX host, which receives the domain's mail and sends none of it", host)
	if r.p.cfg.MXSends == MXSendsNever {
		why = fmt.Sprintf("an address or name of the MX host %s, and the module's dnsbl.mx_sends is never", host)
	}
	return fmt.Sprintf("severity %s, one step below the listing's own: %s only receives mail (%s)", sev, s.subject, why)
}

// tally is what the lists of one kind said about their subjects.
type tally struct {
	configured, consulted int
	answered              int // lists that gave at least one usable answer
	ignored               []string
	errs                  []error
	// covered are the subjects some list answered for.
	covered map[string]bool
	// blocked holds each listing as the failure of a blocklist check,
	// with what every list answered as its evidence; a listing of severity
	// info is evidence, and a phrase in minor, not a failure.
	blocked probes.Verdict
	minor   []string
}

func (r *run) tally(kind Kind) tally {
	var t tally
	for i := range r.p.cfg.Lists {
		if r.p.cfg.Lists[i].Kind == kind {
			t.configured++
		}
	}
	for _, lr := range r.lists {
		l := lr.list
		if l.Kind != kind || len(lr.subjects) == 0 {
			// A list asked only its test points says nothing about the
			// subjects; dnsbl.list_health reports it.
			continue
		}
		t.consulted++
		if lr.health.ignore {
			// Its answers do not count, its failures neither.
			t.ignored = append(t.ignored, l.Zone)
			t.blocked.See(l.Zone + ": answers ignored, the list lists everything")
			continue
		}
		if err := lr.listError(); err != nil {
			t.errs = append(t.errs, err)
		}
		clean, hits := 0, 0
		for _, s := range lr.subjects {
			switch s.outcome {
			case listed:
				hits++
				sev, lowered := r.severity(l, s)
				phrase := listingPhrase(l, s) + " (" + r.severityPhrase(l, s, sev, lowered) + ")"
				if sev == SeverityInfo && kind != KindAllow {
					t.minor = append(t.minor, phrase)
					t.blocked.See(listingEvidence(l, s) + "; severity info, not a failure")
					break
				}
				t.blocked.Fail(phrase, r.listingFix(l, s), listingEvidence(l, s)+"; severity "+string(sev))
			case notListed:
				clean++
			default:
				continue
			}
			if t.covered == nil {
				t.covered = map[string]bool{}
			}
			t.covered[s.subject] = true
		}
		if clean > 0 || hits > 0 {
			t.answered++
		}
		if clean > 0 {
			t.blocked.See(fmt.Sprintf("%s: %s not listed", l.Zone, plural(clean, subjectWord(kind))))
		}
	}
	return t
}

func subjectWord(k Kind) string {
	if k == KindDomain {
		return "name"
	}
	return "address"
}

// plural counts n of word and forms the plural itself ("addresses",
// "lists"), as the word is often chosen at run time (subjectWord). It stays
// apart from probes.Plural, which is given both forms.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// recordBlocklist records dnsbl.ip or dnsbl.domain. A listing fails the
// check whatever else happened; without one, a list that erred (or
// subjects that could not be found) leaves the check undecided, never
// passed: "not listed on the lists that answered" is not "not listed".
func (r *run) recordBlocklist(spec probes.CheckSpec, kind Kind) {
	t := r.tally(kind)
	nSubjects, noReason := len(r.ipSubjects(kind)), r.subj.noIPs
	if kind == KindDomain {
		nSubjects, noReason = len(r.subj.names), r.subj.noNames
	}
	kindWord := map[Kind]string{KindIP: "IP", KindDomain: "domain"}[kind]
	switch {
	case t.configured == 0:
		r.res.Skip(spec, "no "+kindWord+" blocklists are configured")
		return
	case nSubjects == 0 && len(r.subj.unknown) > 0:
		r.undecided(spec, r.subj.unknown)
		return
	case nSubjects == 0:
		if noReason == "" {
			noReason = "nothing to ask the " + kindWord + " lists about"
		}
		r.res.Skip(spec, noReason)
		return
	case t.consulted == 0:
		r.res.Skip(spec, "no configured "+kindWord+" list takes the subjects: the addresses are IPv6 and no list has ipv6: true")
		return
	}
	v := t.blocked
	for _, err := range t.errs {
		v.Unknown(err)
	}
	for _, err := range r.subj.unknown {
		v.Unknown(err)
	}
	if len(v.Problems) == 0 && t.answered == 0 && len(v.Errs) == 0 {
		v.Unknown(fmt.Errorf("dnsbl: every %s list asked lists everything (%s), so nothing could be checked; see dnsbl.list_health", kindWord, strings.Join(t.ignored, ", ")))
	}
	v.Record(r.res, spec, r.notListedReason(t, kind, kindWord))
}

// notListedReason is the reason of a blocklist check that passed.
func (r *run) notListedReason(t tally, kind Kind, kindWord string) string {
	reason := fmt.Sprintf("%s not listed on %s", plural(len(t.covered), subjectWord(kind)), plural(t.answered, kindWord+" list"))
	if len(t.minor) > 0 {
		reason = fmt.Sprintf("%s asked of %s, none listed at severity warning or critical; listed at severity info, which does not fail the check: %s",
			plural(len(t.covered), subjectWord(kind)), plural(t.answered, kindWord+" list"), probes.JoinPhrases(t.minor))
	}
	if kind == KindIP {
		// Lists that take no IPv6 are not asked about IPv6 addresses; a
		// pass must not hide that nothing vouched for them.
		var unasked []string
		for _, ip := range r.ipSubjects(kind) {
			if !t.covered[ip.String()] {
				unasked = append(unasked, ip.String())
			}
		}
		if len(unasked) > 0 {
			reason += "; " + probes.JoinNames(unasked) + " not asked: no configured IP list takes IPv6 (ipv6: true)"
		}
	}
	return reason
}

// undecided records the check as undecided for the first error and every
// error against the probe.
func (r *run) undecided(spec probes.CheckSpec, errs []error) {
	r.res.Undecided(spec, errs[0])
	for _, err := range errs[1:] {
		r.res.Error(err)
	}
}

// listingPhrase is the reason line of one listing:
// "192.0.2.10 is listed on Spamhaus ZEN (zen.spamhaus.org) as PBL:
// residential address space per the list's policy, not a spam report".
func listingPhrase(l *List, s *subjectRun) string {
	var parts []string
	for _, c := range s.codes {
		p := c.Meaning
		if e := explain(c.Meaning); e != "" {
			p += ": " + e
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("%s is listed on %s as %s", s.subject, l.Display(), strings.Join(parts, " and "))
}

// listingEvidence is the evidence line: the codes and the TXT reason.
func listingEvidence(l *List, s *subjectRun) string {
	line := fmt.Sprintf("%s A: listed, %s", strings.TrimSuffix(s.q.name, "."), describeCodes(s.codes))
	if txt := txtReason(s); txt != "" {
		line += "; TXT " + txt
	}
	return line
}

// txtReason is the list's TXT record for a listing, quoted, or "".
func txtReason(s *subjectRun) string {
	if s.txt == nil || s.txt.err != nil || s.txt.ans == nil {
		return ""
	}
	txts := s.txt.ans.TXT()
	if len(txts) == 0 {
		return ""
	}
	quoted := make([]string, 0, 2)
	for _, t := range txts {
		if len(quoted) == 2 {
			break
		}
		quoted = append(quoted, probes.Quote(t))
	}
	return strings.Join(quoted, ", ")
}

// listingFix is the remediation of one listing: what to change, then how
// to be delisted (the list's TXT answer usually names the page). A
// provider's MX host is the provider's to clean and delist: the domain
// can only tell it.
func (r *run) listingFix(l *List, s *subjectRun) string {
	where := "request removal from " + l.Display()
	if txt := txtReason(s); txt != "" {
		where += " (its answer says where: " + txt + ")"
	}
	if host, ok := r.subj.receiving[s.subject]; ok && host != "" && r.p.cfg.MXSends == MXSendsAuto {
		return fmt.Sprintf("%s is the provider's (of its MX host %s, which receives the domain's mail): only the provider can stop what got it listed and have it removed, so report the listing on %s to the provider (the list's answer: %s); no change on the domain's side delists it",
			s.subject, host, l.Display(), describeCodes(s.codes))
	}
	policy := false
	for _, c := range s.codes {
		policy = policy || isPolicyListing(c.Meaning)
	}
	switch {
	case policy:
		return fmt.Sprintf("%s lists %s by policy as address space that should not send mail directly: send through your provider's smarthost, or, if %s is a mail server with a static address and a proper PTR, have the address's owner take it out of the list or %s", l.Display(), s.subject, s.subject, where)
	case l.Kind == KindDomain:
		return fmt.Sprintf("find where %s appeared in spam, phishing or malware (a compromised site or account, a mailing without confirmed opt-in), fix it, then %s", s.subject, where)
	}
	return fmt.Sprintf("find and stop what sent spam from %s (a compromised account or machine, an open relay, an abused web form), then %s; most lists also drop a listing once the spam stops", s.subject, where)
}

// recordHealth records dnsbl.list_health: every list asked answers its
// test points and no error code.
func (r *run) recordHealth() {
	if !r.p.cfg.CheckHealth {
		r.res.Skip(checkHealth, "check_health is off")
		return
	}
	if len(r.lists) == 0 {
		r.res.Skip(checkHealth, "no lists are configured")
		return
	}
	var v probes.Verdict
	for _, lr := range r.lists {
		h := lr.health
		v.Merge(&h.verdict)
		if lr.refusedCount > 0 && !h.refused {
			v.Fail(fmt.Sprintf("%s answered %s to %d of %d queries", lr.list.Display(), describeCodes(lr.refusedCodes), lr.refusedCount, lr.asked),
				refusalHint(lr.list))
		}
		if !h.decided {
			if err := lr.listError(); err != nil {
				v.Unknown(err)
			} else {
				v.Unknown(fmt.Errorf("dnsbl list %s: test points unanswered", lr.list.Zone))
			}
		}
	}
	v.Record(r.res, checkHealth, fmt.Sprintf("%s asked: each answers its RFC 5782 test points as it must, with no error code", plural(len(r.lists), "list")))
}

// recordAllowlist records dnswl.listed: some address is on an allowlist.
func (r *run) recordAllowlist() {
	t := r.tallyAllow()
	ips := r.ipSubjects(KindAllow)
	switch {
	case t.configured == 0:
		r.res.Skip(checkAllow, "no allowlists are configured")
		return
	case len(ips) == 0 && len(r.subj.unknown) > 0:
		r.undecided(checkAllow, r.subj.unknown)
		return
	case len(ips) == 0:
		reason := r.subj.noIPs
		if reason == "" {
			reason = "there are no addresses to look up"
		}
		r.res.Skip(checkAllow, reason)
		return
	case t.consulted == 0:
		r.res.Skip(checkAllow, "no configured allowlist takes the subjects: the addresses are IPv6 and no allowlist has ipv6: true")
		return
	}
	if len(t.listings) > 0 {
		r.res.Pass(checkAllow, probes.JoinPhrases(t.listings), t.evidence...)
		return
	}
	errs := append(append([]error(nil), t.errs...), r.subj.unknown...)
	if t.answered == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("dnsbl: every allowlist asked lists everything (%s), so nothing could be checked", strings.Join(t.ignored, ", ")))
	}
	if len(errs) > 0 {
		r.undecided(checkAllow, errs)
		return
	}
	r.res.Fail(checkAllow, fmt.Sprintf("none of %s is on %s", plural(len(ips), "address"), strings.Join(t.names, ", ")),
		fmt.Sprintf("allowlists vouch for established, well-run senders: apply to %s for %s (DNSWL has a self service at https://www.dnswl.org); this helps, but no receiver requires it",
			strings.Join(t.names, ", "), probes.JoinNames(ipStrings(r))), t.evidence...)
}

// allowTally is what the allowlists said. Of the tally it keeps the
// counts and the errors: tally phrases listings as blocklistings, and an
// allowlisting reads differently.
type allowTally struct {
	tally
	names, listings, evidence []string
}

func (r *run) tallyAllow() allowTally {
	t := allowTally{tally: r.tally(KindAllow)}
	for _, lr := range r.lists {
		l := lr.list
		if l.Kind != KindAllow || len(lr.subjects) == 0 {
			continue
		}
		t.names = append(t.names, l.Display())
		if lr.health.ignore {
			t.evidence = append(t.evidence, l.Zone+": answers ignored, the list lists everything")
			continue
		}
		for _, s := range lr.subjects {
			switch s.outcome {
			case listed:
				t.listings = append(t.listings, fmt.Sprintf("%s is on %s (%s)", s.subject, l.Display(), describeCodes(s.codes)))
				t.evidence = append(t.evidence, fmt.Sprintf("%s A: listed, %s", strings.TrimSuffix(s.q.name, "."), describeCodes(s.codes)))
			case notListed:
				t.evidence = append(t.evidence, fmt.Sprintf("%s A: %s", strings.TrimSuffix(s.q.name, "."), answerText(s.outcome, s.codes, &s.q)))
			}
		}
	}
	return t
}

// ipStrings lists the public addresses, the ones an allowlist run by
// others can vouch for.
func ipStrings(r *run) []string {
	out := make([]string, len(r.subj.ips))
	for i, ip := range r.subj.ips {
		out[i] = ip.String()
	}
	return out
}

// recordDetail adds the report block: each list asked, its health and
// every answer.
func (r *run) recordDetail() {
	if len(r.lists) == 0 {
		return
	}
	var lines []string
	for _, lr := range r.lists {
		l := lr.list
		state := "health not checked"
		switch {
		case !lr.health.asked:
		case lr.health.ignore:
			state = "lists everything: answers ignored"
		case !lr.health.decided:
			state = "health unknown"
		case lr.health.healthy:
			state = "healthy"
		default:
			state = "unhealthy"
		}
		errState := "no errors"
		if lr.erring() {
			errState = fmt.Sprintf("%d refused, %d unanswered", lr.refusedCount, len(lr.failures))
		}
		lines = append(lines, fmt.Sprintf("%s [%s list]: %s; %s of %s", l.Display(), l.Kind, state, errState, plural(lr.asked, "question")))
		for _, s := range lr.subjects {
			line := fmt.Sprintf("  %-40s %s", s.subject, answerText(s.outcome, s.codes, &s.q))
			if s.outcome == listed {
				line = fmt.Sprintf("  %-40s listed: %s", s.subject, describeCodes(s.codes))
				if l.Kind != KindAllow {
					sev, lowered := r.severity(l, s)
					line += "; severity " + string(sev)
					if lowered {
						line += " (only receives mail)"
					}
				}
				if txt := txtReason(s); txt != "" {
					line += "; TXT " + txt
				} else if s.txt != nil && s.txt.err != nil {
					line += "; TXT unavailable: " + s.txt.err.Error()
				}
			} else if s.outcome == refused {
				line = fmt.Sprintf("  %-40s error: %s", s.subject, describeCodes(s.codes))
			}
			lines = append(lines, line)
		}
	}
	r.res.AddDetail("Blocklists and allowlists asked", lines...)
}
