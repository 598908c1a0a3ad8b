package mtasts

import (
	"fmt"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// mxHost is one MX host the policy must cover.
type mxHost struct {
	name    string
	literal bool // an IP literal, which no pattern covers
	pattern Pattern
	matched bool
}

// mxHosts lists the hosts senders deliver to: the MX hosts, or the domain
// itself when it publishes no MX (the implicit MX of RFC 5321 §5.1, which
// RFC 8461 §4.1 matches like any other, and which mailhosts lists when it
// has addresses, so its certificate is checked as an MX host's).
func (r *run) mxHosts() (hosts []*mxHost, implicit bool) {
	for _, h := range r.set.Hosts {
		hosts = append(hosts, &mxHost{name: h.Name, literal: h.IPLiteral})
		implicit = implicit || h.Implicit
	}
	if len(hosts) == 0 && !r.set.NullMX {
		return []*mxHost{{name: r.domain}}, true
	}
	return hosts, implicit
}

// judgeMXMatch records mtasts.mx_match and mail_mtasts_mx_match. In
// enforce mode a sender delivers to an MX host only when it matches a
// pattern and presents a certificate valid for its name over STARTTLS
// (RFC 8461 §4.1, §4.2, §5): the certificate half comes from the smtp
// probe's conversations of the same request, when the module runs it.
//
// Testing mode exists to find out whether enforce would break delivery,
// so the patterns are matched there too; only the consequence differs
// (senders still deliver, and report the failure through TLS-RPT), and
// the reason says so. The certificates are left to the smtp probe's tls
// checks in testing mode, so a testing policy never makes the SMTP
// servers be contacted on its account. Mode none withdraws the policy:
// the hosts are measured, the check skipped.
func (r *run) judgeMXMatch() {
	pol := r.policy
	if r.setErr != nil {
		if pol.Mode == ModeNone {
			r.res.Skip(checkMXMatch, noneReason)
			r.res.Error(r.setErr)
		} else {
			r.res.Undecided(checkMXMatch, r.setErr)
		}
		return
	}
	testing := pol.Mode == ModeTesting
	hosts, implicit := r.mxHosts()
	var v probes.Verdict
	var unmatched []string
	if implicit {
		v.See(fmt.Sprintf("%s publishes no MX record: senders deliver to %s itself (RFC 5321 §5.1), matched like an MX host", r.domain, r.domain))
	}
	for _, h := range hosts {
		h.pattern, h.matched = pol.Match(h.name)
		value := 0.0
		if h.matched {
			value = 1
			v.See(fmt.Sprintf("%s matches mx: %s", h.name, h.pattern))
		} else {
			what := "matches no mx: pattern"
			if h.literal {
				what = "is an IP address, which no mx: pattern covers"
			}
			v.See(h.name + " " + what)
			unmatched = append(unmatched, h.name)
		}
		r.res.Measure(metricMXMatch, value, h.name)
	}
	if r.set.Omitted > 0 {
		v.See(fmt.Sprintf("%d more MX hosts not looked at (the first %d are)", r.set.Omitted, len(r.set.Hosts)))
	}
	patterns := patternList(pol)
	if pol.Mode == ModeNone {
		r.res.Skip(checkMXMatch, noneReason)
		return
	}
	if len(unmatched) > 0 {
		fixed := *pol
		fixed.MX = append([]Pattern(nil), pol.MX...)
		for _, name := range unmatched {
			if pat, err := ParsePattern(name); err == nil {
				fixed.MX = append(fixed.MX, pat)
			}
		}
		v.Fail(fmt.Sprintf("%s %s no mx: pattern of the policy (%s): senders enforcing it do not deliver there (RFC 8461 §4.1)",
			probes.JoinNames(unmatched), probes.PluralForm(len(unmatched), "matches", "match"), patterns),
			fmt.Sprintf("list every MX host in the policy: serve %q, then publish a new id: %s", fixed.Text(), r.txtRemedy(freshID(r.now()))))
	}

	// What the request's limits left out may not match or may present a
	// bad certificate: the check cannot pass over the rest.
	v.Unknown(r.set.HostsLimited())
	certNote := ""
	switch {
	case testing:
		certNote = "; certificates are checked here in enforce mode only (the smtp probe's tls checks judge them)"
	case implicit && len(r.set.Hosts) == 0:
		certNote = "; no certificate checked: the smtp probe talks to MX hosts, and there are none"
	case !r.env.Facts.Provided(smtpsession.FactName):
		certNote = "; certificates not checked: the module has no smtp: block (add \"smtp: {}\" to it so enforce mode checks each MX certificate, RFC 8461 §4.2)"
		r.res.Note("MTA-STS enforce mode: the MX certificates were not checked, as the module does not run the smtp probe; add \"smtp: {}\" to the module")
	default:
		v.Unknown(r.set.AddrsLimited())
		certs := r.judgeCertificates(&v, hosts)
		switch {
		case certs.err != nil:
			// Recorded with the failure, or the check is undecided.
			v.Unknown(certs.err)
		case certs.unjudged > 0:
			certNote = fmt.Sprintf("; %s valid, %s without a TLS handshake to judge (smtp.reachable and smtp.starttls say why)",
				probes.Plural(certs.valid, "certificate", "certificates"), probes.Plural(certs.unjudged, "address", "addresses"))
		default:
			certNote = " and present certificates valid for their names"
		}
	}
	if len(v.Problems) > 0 {
		v.FailReason = probes.JoinPhrases(probes.Dedup(v.Problems))
		if testing {
			v.FailReason += "; mode testing: for now senders still deliver there and report the failure through TLS-RPT, but the policy cannot be switched to enforce until this is fixed"
		}
	}
	pass := fmt.Sprintf("%s %s the policy's mx patterns (%s)",
		probes.Plural(len(hosts), "MX host", "MX hosts"), probes.PluralForm(len(hosts), "matches", "match"), patterns)
	if testing {
		pass += "; mode testing: under enforce none of them would be left out for its name"
	}
	v.Record(r.res, checkMXMatch, pass+certNote)
}

// certTally counts what the SMTP conversations said of the MX
// certificates; their problems and evidence go to the check's Verdict.
type certTally struct {
	valid    int // addresses with a certificate a sender accepts
	unjudged int // addresses without a handshake to judge
	err      error
}

// certFix is the remediation of every certificate a sender rejects.
const certFix = "give each MX host a certificate for its own name from a CA senders trust, served with its intermediates over STARTTLS (RFC 8461 §4.2), or set mode: testing until they have one"

// noneReason is why mtasts.mx_match does not apply in mode none.
const noneReason = "mode none: the domain has withdrawn its MTA-STS policy, so senders match nothing against it"

// judgeCertificates reads the SMTP conversations of the request (the
// smtp probe's, shared through env.Shared, so nothing connects twice) and
// adds to v the addresses of the matching MX hosts that would fail a
// sender's certificate check (RFC 8461 §4.2). err is set when some
// conversations could not be held (the probe's deadline, the MX hosts
// unknown).
func (r *run) judgeCertificates(v *probes.Verdict, hosts []*mxHost) certTally {
	var t certTally
	sessions, err := smtpsession.Sessions(r.ctx, r.req, r.env)
	if err != nil {
		t.err = fmt.Errorf("SMTP conversations for the MX certificates: %w", err)
		return t
	}
	smtpsession.RecordShared(r.res, sessions)
	byName := map[string]*mxHost{}
	for _, h := range hosts {
		byName[h.name] = h
	}
	for _, s := range sessions {
		h, ok := byName[s.MX]
		if !ok || !h.matched {
			continue // an unmatched host fails already
		}
		switch {
		case s.Denied:
			t.unjudged++
			v.See(s.Label() + ": not contacted (" + probes.OneLine(s.NotProbed.Error(), 300) + ")")
		case s.NotProbed != nil:
			if t.err == nil {
				t.err = s.NotProbed
			}
		case !s.Handshaked() && s.CutBefore(smtpsession.StageHandshake):
			// The exporter's deadline, not the server, ended it.
			if t.err == nil {
				t.err = fmt.Errorf("%s: the probe's deadline ended the SMTP conversation at the %s stage, before a certificate could be judged", s.Label(), s.Stage)
			}
		case s.Handshaked() && s.TLS.Valid:
			t.valid++
			leaf := s.TLS.Chain[0]
			v.Pass(fmt.Sprintf("%s: certificate valid for %s until %s", s.Label(), s.MX, leaf.NotAfter.UTC().Format(time.RFC3339)))
		case s.Handshaked():
			v.Fail(fmt.Sprintf("%s presents a certificate that senders enforcing the policy reject: %s", s.Label(), probes.OneLine(validErr(s.TLS), 300)),
				certFix, s.Label()+": certificate "+certNames(leafCN(s.TLS), leafNames(s.TLS)))
		case s.Greeted() && s.EHLO != nil && !s.STARTTLSOffered && s.TLS == nil:
			v.Fail(fmt.Sprintf("%s does not offer STARTTLS: senders enforcing the policy do not deliver there", s.Label()), certFix)
		case s.TLS != nil && s.TLS.Err != nil:
			v.Fail(fmt.Sprintf("%s: the STARTTLS handshake fails (%s): senders enforcing the policy do not deliver there", s.Label(), probes.OneLine(s.TLS.Err.Error(), 300)), certFix)
		default:
			// The server could not be talked to at all: smtp.reachable
			// reports that; there is no certificate to judge.
			t.unjudged++
			v.See(fmt.Sprintf("%s: no TLS handshake to judge (the conversation ended at the %s stage)", s.Label(), s.Stage))
		}
	}
	return t
}

func validErr(t *smtpsession.TLSInfo) string {
	if t.ValidErr != nil {
		return t.ValidErr.Error()
	}
	return "it does not verify"
}

func leafCN(t *smtpsession.TLSInfo) string {
	if len(t.Chain) == 0 {
		return ""
	}
	return t.Chain[0].Subject.CommonName
}

func leafNames(t *smtpsession.TLSInfo) []string {
	if len(t.Chain) == 0 {
		return nil
	}
	return t.Chain[0].DNSNames
}

// patternList renders the policy's patterns for a reason line.
func patternList(pol *Policy) string {
	names := make([]string, len(pol.MX))
	for i, p := range pol.MX {
		names[i] = "mx: " + p.Text
	}
	if len(names) == 0 {
		return "no mx: lines"
	}
	return probes.JoinNames(names)
}

// certNames describes whom a certificate is for.
func certNames(cn string, names []string) string {
	switch {
	case len(names) > 0:
		return "for " + probes.JoinNames(names)
	case cn != "":
		return "for CN=" + cn + " (no DNS names)"
	}
	return "for no name"
}
