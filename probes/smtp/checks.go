package smtp

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// recordAll records every check once, folded over the sessions and hosts,
// and the measurements of each session.
func (r *run) recordAll() {
	r.hostErrors()
	r.recordReachable()
	r.recordNameCheck(checkBanner, "greeting", func(s *Session) string { return s.GreetingName })
	r.recordHELO()
	r.recordSTARTTLS()
	r.recordTLS()
	r.recordAuth()
	r.recordRcpt(checkPostmaster, RcptPostmaster)
	r.recordRcpt(checkAbuse, RcptAbuse)
	r.recordRcpt(checkNoOpenRelay, RcptOpenRelay)
	r.recordDANE()
	r.recordImplicitTLS()
	r.measure()
	r.details()
	smtpsession.RecordShared(r.res, r.sessions)
	smtpsession.RecordShared(r.res, r.implicit)
}

// hostErrors collects hosts whose addresses could not be resolved: their
// servers were not probed, which is the probe's failure to finish, not the
// servers', and leaves every per-address check undecided unless another
// address fails it.
func (r *run) hostErrors() {
	for _, h := range r.set.Hosts {
		if h.Err != nil {
			r.hostErrs = append(r.hostErrs, fmt.Errorf("addresses of %s (not probed): %w", h.Name, h.Err))
		}
	}
}

// each is perSession over the port-25 sessions, with the hosts that could
// not be resolved counted as undecided.
func (r *run) each(v *probes.Verdict, needs smtpsession.Stage, fn func(s *Session)) {
	for _, err := range r.hostErrs {
		v.Unknown(err)
	}
	r.perSession(v, r.sessions, needs, fn)
}

// perSession runs fn for each session that was probed and got through the
// stage the check needs; a session that was not probed is reported once
// into the verdict (skipped when the module excludes the address,
// undecided otherwise), and so is one the exporter's own deadline cut
// short before that stage was complete: undecided, never the server's
// failure.
func (r *run) perSession(v *probes.Verdict, sessions []*Session, needs smtpsession.Stage, fn func(s *Session)) {
	for _, s := range sessions {
		switch {
		case s.Denied:
			v.Skip(s.NotProbed.Error())
		case s.NotProbed != nil:
			v.Unknown(s.NotProbed)
		case s.CutBefore(needs):
			v.Unknown(cutShort(s))
		default:
			fn(s)
		}
	}
}

// cutShort says where the exporter's deadline ended a conversation.
func cutShort(s *Session) error {
	cause := s.Err
	if cause == nil && s.TLS != nil {
		cause = s.TLS.Err
	}
	return fmt.Errorf("%s: the probe's deadline ended the conversation at the %s stage: %w", s.Label(), s.Stage, errOr(cause))
}

// connectProblem says in a phrase why a session did not get a 220
// greeting, and whether it applies at all.
func connectProblem(s *Session) string {
	switch {
	case !s.Connected && s.Err != nil:
		return fmt.Sprintf("%s does not accept connections (%s)", s.Label(), shortErr(s.Err))
	case s.Greeting == nil && s.Err != nil:
		return fmt.Sprintf("%s sent no complete greeting (%s)", s.Label(), shortErr(s.Err))
	case s.Greeting == nil:
		return fmt.Sprintf("%s sent no greeting", s.Label())
	case s.Greeting.Code != 220:
		return fmt.Sprintf("%s greets with %s instead of 220", s.Label(), probes.Quote(s.Greeting.String()))
	}
	return ""
}

func (r *run) recordReachable() {
	var v probes.Verdict
	r.each(&v, smtpsession.StageGreeting, func(s *Session) {
		if p := connectProblem(s); p != "" {
			fix := fmt.Sprintf("make %s answer on port %d with \"220 <its host name> ESMTP\" (RFC 5321 §4.3.1): check that the MTA listens on that address and that no firewall drops port %d; if only this exporter cannot connect, its network may block outgoing port %d (name addresses known to answer in smtp.egress_check, and the exporter tells the two apart)",
				s.IP, s.Port, s.Port, s.Port)
			if s.Greeting != nil {
				fix = fmt.Sprintf("have %s greet with 220 (RFC 5321 §4.3.1); a 554 greeting refuses all mail", s.Addr())
			}
			v.Fail(p, fix, s.Label()+": "+evidenceOf(s))
			return
		}
		v.Pass(s.Label() + ": " + s.Greeting.String())
	})
	v.RecordObserved(r.res, checkReachable, fmt.Sprintf("%s greeted with 220", probes.Plural(v.Passes, "address", "addresses")))
}

// evidenceOf is the last thing a session showed.
func evidenceOf(s *Session) string {
	switch {
	case s.Greeting != nil:
		return s.Greeting.String()
	case s.TLS != nil && s.TLS.Err != nil:
		return fmt.Sprintf("%s: %s", smtpsession.StageHandshake, shortErr(s.TLS.Err))
	case s.Err != nil:
		return fmt.Sprintf("%s: %s", s.Stage, shortErr(s.Err))
	}
	return "nothing received"
}

// shortErr keeps an error on one bounded line.
func shortErr(err error) string {
	return probes.Clip(probes.EscapeLineBreaks(err.Error()), 300)
}

// recordNameCheck is smtp.banner: the name a server gives (in the greeting)
// resolves to the address it was reached on.
func (r *run) recordNameCheck(spec probes.CheckSpec, what string, name func(*Session) string) {
	var v probes.Verdict
	var providers []string
	r.each(&v, smtpsession.StageGreeting, func(s *Session) {
		switch {
		case !s.Greeted():
			v.Skip("no server greeted with 220 (smtp.reachable reports why)")
		case r.providerNamed(&v, &providers, s, what, name(s)):
		default:
			r.judgeName(&v, s, what, name(s), spec)
		}
	})
	r.recordNames(&v, spec, fmt.Sprintf("every %s name resolves to the address it was given on", what), providers)
}

// providerNamed leaves out of a name check a server of an MX host another
// organization runs (a Google Workspace or Microsoft 365 customer's MX
// hosts greet as mx.google.com or as an internal name of Exchange
// Online): how a provider's servers name themselves is the provider's
// choice, which no customer can change, as mx's ptr.not_generic and
// ptr.role_label have it. It reports whether s was left out, noting the
// provider in providers and the name in v's evidence.
func (r *run) providerNamed(v *probes.Verdict, providers *[]string, s *Session, what, name string) bool {
	org := r.providers[s.MX]
	if org == "" {
		return false
	}
	if !slices.Contains(*providers, org) {
		*providers = append(*providers, org)
	}
	v.See(fmt.Sprintf("%s: %s name %s, not judged: the server is %s's", s.Label(), what, probes.Quote(name), org))
	return true
}

// recordNames records a name check: skipped, saying whose they are, when
// every server was a provider's, and with a pass reason that names the
// providers left out when the target's own servers passed.
func (r *run) recordNames(v *probes.Verdict, spec probes.CheckSpec, passReason string, providers []string) {
	if len(providers) > 0 {
		v.Skip(fmt.Sprintf("the mail servers belong to %s: the names they give for themselves are theirs to choose, not something %s can change",
			probes.JoinNames(providers), r.req.Target.Host()))
		passReason += " (of the domain's own servers; those of " + probes.JoinNames(providers) + " are theirs to name)"
	}
	v.RecordObserved(r.res, spec, passReason)
}

// judgeName checks that name resolves to the session's address.
func (r *run) judgeName(v *probes.Verdict, s *Session, what, name string, spec probes.CheckSpec) {
	host := s.MX
	if host == "" {
		host = "<the server's host name>"
	}
	family := dns.TypeToString[qtypeFor(s.IP)]
	publish := fmt.Sprintf("%q", host+". IN "+family+" "+s.IP.String())
	var setting string
	if spec == checkBanner {
		setting = "the greeting (Postfix: smtpd_banner = $myhostname ESMTP, with myhostname = " + host + ")"
	} else {
		setting = "the EHLO reply (Postfix: myhostname = " + host + ")"
	}
	reply := s.Greeting
	if spec != checkBanner {
		reply = s.EHLO
	}
	switch {
	case name == "":
		v.Fail(fmt.Sprintf("%s's %s names no host", s.Label(), what),
			"name the server's host in "+setting+", and publish "+publish, s.Label()+": "+what+" "+probes.Quote(reply.String()))
		return
	case strings.HasPrefix(name, "["):
		v.Fail(fmt.Sprintf("%s's %s gives an address literal %s, not a host name", s.Label(), what, probes.Quote(name)),
			"name the server's host in "+setting+", and publish "+publish, s.Label()+": "+what+" name "+probes.Quote(name))
		return
	}
	n, err := probes.NormalizeName(name)
	if err != nil {
		v.Fail(fmt.Sprintf("%s's %s name %s is not a fully qualified host name", s.Label(), what, probes.Quote(name)),
			"name the server's host in "+setting+", and publish "+publish, s.Label()+": "+what+" name "+probes.Quote(name))
		return
	}
	a := r.names[nameQuestion{name: n, qtype: qtypeFor(s.IP)}]
	switch {
	case a == nil:
		v.Unknown(fmt.Errorf("%s of %s was not looked up", family, n))
	case a.err != nil:
		v.Unknown(a.err)
	case a.ans.HasAddr(s.IP):
		v.Pass(fmt.Sprintf("%s: %s name %s resolves to %s", s.Label(), what, n, s.IP))
	default:
		got := "does not exist"
		if !a.nx {
			got = "has no " + family + " record"
			if first := a.ans.FirstAddrs(4); len(first) > 0 {
				got = "resolves to " + joinAddrs(first)
				if more := len(a.ans.Records) - len(first); more > 0 {
					got += fmt.Sprintf(", and %d more", more)
				}
			}
		}
		v.Fail(fmt.Sprintf("%s's %s name %s %s, not %s", s.Label(), what, n, got, s.IP),
			fmt.Sprintf("publish %q, or give in %s a name that resolves to %s", n+". IN "+family+" "+s.IP.String(), setting, s.IP),
			fmt.Sprintf("%s: %s name %s %s", s.Label(), what, n, got))
	}
}

func joinAddrs[T fmt.Stringer](addrs []T) string {
	var parts []string
	for i, a := range addrs {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("and %d more", len(addrs)-4))
			break
		}
		parts = append(parts, a.String())
	}
	return strings.Join(parts, ", ")
}

func (r *run) recordHELO() {
	var v probes.Verdict
	var providers []string
	r.each(&v, smtpsession.StageEHLO, func(s *Session) {
		switch {
		case !s.Greeted():
			v.Skip("no server greeted with 220 (smtp.reachable reports why)")
		case s.EHLO == nil:
			v.Fail(fmt.Sprintf("%s did not answer EHLO (%s)", s.Label(), shortErr(errOr(s.Err))),
				"have the server answer EHLO promptly (RFC 5321 §4.1.1.1)", s.Label()+": "+evidenceOf(s))
		case !s.EHLO.Positive():
			refused := "EHLO"
			if s.UsedHELO {
				refused = "EHLO and HELO"
			}
			v.Fail(fmt.Sprintf("%s refused %s %s: %s", s.Label(), refused, s.EHLOName, probes.Quote(s.EHLO.String())),
				"accept EHLO from any client (RFC 5321 §4.1.4); if the refusal is about the probe's own name, set the module's smtp ehlo_name to a name of the exporter host that resolves to its address",
				s.Label()+": "+s.EHLO.String())
		case r.providerNamed(&v, &providers, s, "EHLO reply", s.HELOName):
		default:
			r.judgeName(&v, s, "EHLO reply", s.HELOName, checkHELO)
		}
	})
	r.recordNames(&v, checkHELO, "every EHLO reply names a host that resolves to the address", providers)
}

func errOr(err error) error {
	if err == nil {
		return errors.New("no reply")
	}
	return err
}

// ehloDone reports whether a session got past EHLO, the point from which
// the extensions are known.
func ehloDone(s *Session) bool { return s.Greeted() && s.EHLO.Positive() }

func (r *run) recordSTARTTLS() {
	var v probes.Verdict
	r.each(&v, smtpsession.StageHandshake, func(s *Session) {
		fix := "offer STARTTLS with a certificate for " + nameOr(s.MX, "the host") + " (RFC 3207; Postfix: smtpd_tls_security_level = may and smtpd_tls_chain_files)"
		switch {
		case !ehloDone(s):
			v.Skip("no server got past EHLO (smtp.reachable and smtp.helo report why)")
		case !s.STARTTLSOffered:
			v.Fail(s.Label()+" does not offer STARTTLS", fix, s.Label()+": EHLO "+extList(s.Extensions))
		case s.STARTTLSReply == nil:
			v.Fail(fmt.Sprintf("%s did not answer STARTTLS (%s)", s.Label(), shortErr(errOr(s.Err))), fix, s.Label()+": "+evidenceOf(s))
		case s.STARTTLSReply.Code != 220:
			v.Fail(fmt.Sprintf("%s refused STARTTLS: %s", s.Label(), probes.Quote(s.STARTTLSReply.String())), fix, s.Label()+": STARTTLS "+s.STARTTLSReply.String())
		case s.TLS == nil || s.TLS.Err != nil:
			err := errors.New("no handshake")
			if s.TLS != nil {
				err = s.TLS.Err
			}
			v.Fail(fmt.Sprintf("the TLS handshake with %s failed: %s", s.Label(), shortErr(err)),
				"check the server's TLS settings and certificate files (its log names the error)", s.Label()+": "+shortErr(err))
		default:
			v.Pass(fmt.Sprintf("%s: STARTTLS, %s, %s", s.Label(), s.TLS.VersionName(), s.TLS.CipherName()))
		}
	})
	v.RecordObserved(r.res, checkSTARTTLS, fmt.Sprintf("%s completed STARTTLS", probes.Plural(v.Passes, "address", "addresses")))
}

func nameOr(name, other string) string {
	if name == "" {
		return other
	}
	return name
}

// extList renders extension keywords for evidence.
func extList(exts []Extension) string {
	if len(exts) == 0 {
		return "(no extensions)"
	}
	var kws []string
	for _, e := range exts {
		kws = append(kws, e.Keyword)
	}
	return probes.Clip(strings.Join(kws, " "), 200)
}

// withChain runs fn for sessions where the server sent its certificate;
// the others are skipped.
func (r *run) withChain(v *probes.Verdict, fn func(s *Session)) {
	r.each(v, smtpsession.StageConnect, func(s *Session) {
		switch {
		case (s.TLS == nil || len(s.TLS.Chain) == 0) && s.CutBefore(smtpsession.StageHandshake):
			v.Unknown(cutShort(s))
			return
		case s.TLS == nil || len(s.TLS.Chain) == 0:
			v.Skip("no server sent a certificate (smtp.starttls reports why)")
			return
		}
		fn(s)
	})
}

func (r *run) recordTLS() {
	now := r.env.Clock()

	var version probes.Verdict
	r.withChain(&version, func(s *Session) {
		if !s.Handshaked() && s.CutBefore(smtpsession.StageHandshake) {
			version.Unknown(cutShort(s))
			return
		}
		if !s.Handshaked() {
			version.Skip("no TLS handshake completed (smtp.starttls reports why)")
			return
		}
		line := fmt.Sprintf("%s: %s, %s%s", s.Label(), s.TLS.VersionName(), s.TLS.CipherName(), insecureNote(s.TLS.CipherSuite))
		if s.TLS.Version < tlsVersion12 {
			version.Fail(fmt.Sprintf("%s negotiates %s at best", s.Label(), s.TLS.VersionName()),
				"enable TLS 1.2 and 1.3 on the server (RFC 8996 deprecates TLS 1.0 and 1.1; Postfix: smtpd_tls_protocols = >=TLSv1.2)", line)
			return
		}
		version.Pass(line)
	})
	version.RecordObserved(r.res, checkTLSVersion, "every server negotiates TLS 1.2 or newer")

	var trusted probes.Verdict
	r.withChain(&trusted, func(s *Session) {
		if s.TLS.Trusted {
			trusted.Pass(fmt.Sprintf("%s: %s (chain of %d verifies)", s.Label(), certLine(s.TLS.Chain[0]), len(s.TLS.Chain)))
			return
		}
		trusted.Fail(fmt.Sprintf("the chain of %s does not verify: %s", s.Label(), shortErr(s.TLS.TrustErr)),
			"serve a certificate from a public CA with its intermediates (leaf first, as in Let's Encrypt's fullchain.pem), or add the private CA to the module's ca_file",
			chainLines(s)...)
	})
	trusted.RecordObserved(r.res, checkCertTrusted, "every served chain verifies against the trusted roots")

	var name probes.Verdict
	r.withChain(&name, func(s *Session) {
		switch {
		case !s.TLS.NameChecked:
			name.Skip("the target is an IP address: there is no host name to match the certificate against")
		case s.TLS.NameMatched:
			name.Pass(fmt.Sprintf("%s: the certificate covers %s", s.Label(), s.MX))
		default:
			leaf := s.TLS.Chain[0]
			name.Fail(fmt.Sprintf("the certificate of %s covers %s, not %s", s.Label(), certNames(leaf), s.MX),
				fmt.Sprintf("get a certificate whose subjectAltName lists %s (the MX host name senders check, RFC 7672 §3.2.2, RFC 8461 §4.2)", s.MX),
				fmt.Sprintf("%s: %s", s.Label(), certLine(leaf)))
		}
	})
	name.RecordObserved(r.res, checkCertName, "every certificate covers its MX host name")

	var expiry probes.Verdict
	var earliest time.Time
	r.withChain(&expiry, func(s *Session) {
		notAfter, _ := chainDates(s.TLS.Chain)
		if earliest.IsZero() || notAfter.Before(earliest) {
			earliest = notAfter
		}
		if problems := dateProblems(s.TLS.Chain, now); len(problems) > 0 {
			expiry.Fail(fmt.Sprintf("on %s %s", s.Label(), strings.Join(problems, ", ")),
				"renew the certificate (and its chain) and reload the server; automate renewal (ACME)", chainLines(s)...)
			return
		}
		expiry.Pass(fmt.Sprintf("%s: earliest notAfter %s", s.Label(), notAfter.UTC().Format(time.RFC3339)))
	})
	expiry.RecordObserved(r.res, checkCertExpiry, fmt.Sprintf("every certificate is within its validity period; the earliest expires in %s", until(now, earliest)))

	var key probes.Verdict
	r.withChain(&key, func(s *Session) {
		leaf := s.TLS.Chain[0]
		line := fmt.Sprintf("%s: %s", s.Label(), describeKey(leaf.PublicKey))
		if p := keyProblem(leaf.PublicKey, r.cfg); p != "" {
			key.Fail(fmt.Sprintf("%s serves %s", s.Label(), p),
				fmt.Sprintf("issue the certificate for a new key: RSA of %d bits or more, or ECDSA P-256 or larger", r.cfg.MinRSABits), line)
			return
		}
		key.Pass(line)
	})
	key.RecordObserved(r.res, checkKeyStrength, "every server key is strong enough")
}

const tlsVersion12 = 0x0303

// insecureNote marks cipher suites Go lists as insecure.
func insecureNote(id uint16) string {
	if smtpsession.InsecureSuites[id] {
		return " (an insecure cipher suite)"
	}
	return ""
}

// until renders the time left as whole days.
func until(now, t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	days := int(t.Sub(now).Hours() / 24)
	return probes.Plural(days, "day", "days")
}

// certNames lists the names a certificate covers.
func certNames(c *x509.Certificate) string {
	names := c.DNSNames
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no name (no subjectAltName)"
	}
	var quoted []string
	for _, n := range names {
		quoted = append(quoted, probes.Quote(n))
	}
	return probes.JoinNames(quoted)
}

// chainLines are evidence lines for each certificate of a session's chain.
func chainLines(s *Session) []string {
	var out []string
	for i, c := range s.TLS.Chain {
		out = append(out, fmt.Sprintf("%s: [%d] %s", s.Label(), i, certLine(c)))
	}
	return out
}

func hasAuth(exts []Extension) (string, bool) {
	e, ok := smtpsession.FindExtension(exts, "AUTH")
	if !ok {
		return "", false
	}
	return probes.Clip(strings.Join(e.Params, " "), 100), true
}

func (r *run) recordAuth() {
	var plain, port25 probes.Verdict
	r.each(&plain, smtpsession.StageEHLO, func(s *Session) {
		if !ehloDone(s) {
			plain.Skip("no server got past EHLO")
			return
		}
		if mechs, ok := hasAuth(s.Extensions); ok {
			plain.Fail(fmt.Sprintf("%s offers AUTH %s before STARTTLS: passwords would cross the network in the clear", s.Label(), mechs),
				"offer AUTH only after STARTTLS (Postfix: smtpd_tls_auth_only = yes), and only on the submission ports",
				s.Label()+": EHLO "+extList(s.Extensions))
			return
		}
		plain.Pass(s.Label() + ": EHLO " + extList(s.Extensions))
	})
	plain.RecordObserved(r.res, checkNoPlainAuth, "no server offers AUTH before STARTTLS")

	r.each(&port25, smtpsession.StageEHLOTLS, func(s *Session) {
		switch {
		case s.Port == 465 || s.Port == 587:
			port25.Skip(fmt.Sprintf("port %d is a submission port (RFC 8314, RFC 6409), where AUTH belongs", s.Port))
			return
		case !ehloDone(s):
			port25.Skip("no server got past EHLO")
			return
		}
		fix := "offer AUTH on the submission ports 587 and 465 only (RFC 6409, RFC 8314), not to other mail servers on port 25 (Postfix: no smtpd_sasl_auth_enable for the smtp service)"
		if mechs, ok := hasAuth(s.Extensions); ok {
			port25.Fail(fmt.Sprintf("%s offers AUTH %s on the relay port", s.Label(), mechs), fix, s.Label()+": EHLO "+extList(s.Extensions))
			return
		}
		if mechs, ok := hasAuth(s.ExtensionsTLS); ok {
			port25.Fail(fmt.Sprintf("%s offers AUTH %s after STARTTLS on the relay port", s.Label(), mechs), fix, s.Label()+": EHLO after TLS "+extList(s.ExtensionsTLS))
			return
		}
		if s.STARTTLSOffered && s.ExtensionsTLS == nil {
			port25.Skip("the EHLO after STARTTLS was not seen")
			return
		}
		port25.Pass(s.Label() + ": no AUTH")
	})
	port25.RecordObserved(r.res, checkNoAuthPort25, "no server offers AUTH on the relay port")
}

// recordRcpt judges one RCPT check over the sessions.
func (r *run) recordRcpt(spec probes.CheckSpec, check string) {
	var v probes.Verdict
	t := r.req.Target
	switch {
	case !r.cfg.Session.Enabled(check):
		r.res.Skip(spec, fmt.Sprintf("not enabled: add %s to the module's smtp rcpt_checks", check))
		return
	case check == RcptAbuse && t.Kind != probes.KindDomain:
		r.res.Skip(spec, "the target is a host or an address: abuse@ needs the mail domain (RFC 2142)")
		return
	case check == RcptOpenRelay && smtpsession.RelayIsLocal(r.cfg.Session.RelayTestRecipient, t.Name) && t.Kind == probes.KindDomain:
		r.res.Skip(spec, fmt.Sprintf("relay_test_recipient %s is in %s itself; name an address in a foreign domain", r.cfg.Session.RelayTestRecipient, t.Name))
		return
	}
	r.each(&v, smtpsession.StageRcpt, func(s *Session) {
		var rc *RcptResult
		for i := range s.Rcpts {
			if s.Rcpts[i].Check == check {
				rc = &s.Rcpts[i]
			}
		}
		mail := s.MailFrom
		switch {
		case mail == nil:
			v.Skip("no conversation got to MAIL FROM (the other checks report why)")
			return
		case mail.Transient():
			v.Unknown(fmt.Errorf("%s deferred MAIL FROM:<>: %s", s.Label(), mail))
			return
		case !mail.Positive():
			if check == RcptOpenRelay {
				v.Skip("MAIL FROM:<> was refused, so relaying could not be tried")
				return
			}
			v.Fail(fmt.Sprintf("%s refuses MAIL FROM:<> (%s): it refuses bounces", s.Label(), probes.Quote(mail.String())),
				"accept the null reverse-path <> (RFC 5321 §4.5.5): delivery status notifications use it", s.Label()+": MAIL FROM:<> "+mail.String())
			return
		case rc == nil || rc.Reply == nil:
			v.Skip("the RCPT TO was not sent")
			return
		}
		line := fmt.Sprintf("%s: RCPT TO:<%s> %s", s.Label(), rc.Address, rc.Reply)
		reply := rc.Reply
		if check == RcptOpenRelay {
			switch {
			case reply.Positive():
				v.Fail(fmt.Sprintf("%s accepts mail for <%s> from an unauthenticated client: an open relay", s.Label(), rc.Address),
					"refuse relaying for clients that are neither local nor authenticated (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination)", line)
			default:
				v.Pass(line)
			}
			return
		}
		switch {
		case reply.Positive():
			v.Pass(line)
		case reply.Transient():
			v.Unknown(fmt.Errorf("%s deferred RCPT TO:<%s> with %s (greylisting or a temporary failure): it is neither accepted nor refused yet", s.Label(), rc.Address, reply), line)
		default:
			rfc := "RFC 5321 §4.5.1"
			if check == RcptAbuse {
				rfc = "RFC 2142 §2"
			}
			v.Fail(fmt.Sprintf("%s refuses RCPT TO:<%s>: %s", s.Label(), rc.Address, probes.Quote(reply.String())),
				fmt.Sprintf("accept mail for <%s> (%s), for example with an alias to the people who handle it", rc.Address, rfc), line)
		}
	})
	pass := map[string]string{
		RcptPostmaster: "every server accepts mail for postmaster",
		RcptAbuse:      "every server accepts mail for abuse",
		RcptOpenRelay:  "every server refuses to relay to " + r.cfg.Session.RelayTestRecipient,
	}[check]
	v.RecordObserved(r.res, spec, pass)
}

// recordDANE judges the TLSA records of each MX host and the chains its
// addresses served against them.
func (r *run) recordDANE() {
	if r.req.Target.Kind == probes.KindIP {
		for _, spec := range []probes.CheckSpec{checkDANETLSA, checkDANEMatch, checkDANERollover} {
			r.res.Skip(spec, "the target is an IP address: TLSA records hang off a host name")
		}
		return
	}
	now := r.env.Clock()
	var tlsaV, match, rollover probes.Verdict
	for _, h := range r.set.Hosts {
		ts := r.tlsa[h.Name]
		if ts == nil {
			continue
		}
		sessions := r.hostSessions(h.Name)
		if b := addressesBogus(h); b != nil {
			// A sender that validates cannot even find the host;
			// dnssec.not_bogus (mx) reports that, and TLSA has no say.
			reason := "the address records of " + h.Name + " are DNSSEC-bogus: senders that validate cannot reach it, so its TLSA records are never asked"
			tlsaV.Skip(reason)
			match.Skip(reason)
			rollover.Skip(reason)
			continue
		}
		if ts.Err != nil {
			tlsaV.Unknown(ts.Err)
			match.Unknown(ts.Err)
			rollover.Unknown(ts.Err)
			continue
		}
		owner := strings.TrimSuffix(ts.Name, ".")
		if b := ts.Answer.Bogus; b != nil {
			// RFC 7672 §2.1.1: a bogus TLSA answer is not "no TLSA"; a
			// DANE sender defers the mail rather than deliver without
			// authentication. The records (taken with checking disabled)
			// are shown, never used.
			var lines []string
			for _, rec := range ts.Records {
				lines = append(lines, fmt.Sprintf("%s TLSA %d %d %d %s (DNSSEC-bogus: unvalidated, asked with checking disabled)", ts.Name, rec.Usage, rec.Selector, rec.MatchingType, probes.Clip(strings.ToLower(rec.Certificate), 64)))
			}
			lines = append(lines, b.String())
			problem := fmt.Sprintf("the TLSA answer for %s is DNSSEC-bogus (resolver %s refused it): DANE senders defer all mail to %s (RFC 7672 §2.1.1)", owner, b.Server, h.Name)
			fix := "repair the DNSSEC of the zone of " + owner + " so its answers validate again (the DS records at the registrar must match a key the zone publishes, and its signatures must be current); until then DANE senders do not deliver to " + h.Name
			tlsaV.Fail(problem, fix, lines...)
			match.Fail(problem, fix, lines...)
			rollover.Skip("the TLSA answer is DNSSEC-bogus")
			r.res.Note("TLSA records of %s not used: the answer is DNSSEC-bogus", owner)
			continue
		}
		if len(ts.Records) == 0 {
			tlsaV.Fail(fmt.Sprintf("%s publishes no TLSA records", owner), r.tlsaFix(h.Name, sessions), fmt.Sprintf("%s: no TLSA records", ts.Name))
			match.Skip("no MX host publishes DNSSEC-validated TLSA records")
			rollover.Skip("no MX host publishes DNSSEC-validated TLSA records")
			continue
		}
		var lines []string
		for _, rec := range ts.Records {
			lines = append(lines, fmt.Sprintf("%s TLSA %d %d %d %s", ts.Name, rec.Usage, rec.Selector, rec.MatchingType, probes.Clip(strings.ToLower(rec.Certificate), 64)))
		}
		if !ts.Validated() {
			tlsaV.Fail(fmt.Sprintf("the TLSA records of %s are not DNSSEC-validated (no AD bit from %s): senders ignore them (RFC 7672 §2.1.1)", owner, ts.Answer.Server),
				"sign the zone of "+h.Name+" with DNSSEC (and have the parent publish its DS), and probe through a validating resolver", lines...)
			r.res.Note("TLSA records of %s ignored: not DNSSEC-validated", owner)
			match.Skip("the TLSA records are not DNSSEC-validated, so they are ignored")
			rollover.Skip("the TLSA records are not DNSSEC-validated, so they are ignored")
			continue
		}
		if !addressesValidated(h) {
			// A sender uses TLSA records only for a host whose address
			// records are secure too; otherwise it falls back to
			// opportunistic TLS (RFC 7672 §2.2.2).
			tlsaV.Fail(fmt.Sprintf("%s publishes validated TLSA records, but the address records of %s are not DNSSEC-validated: senders do not use the TLSA records of a host whose addresses are insecure (RFC 7672 §2.2.2)", owner, h.Name),
				"sign the zone that holds the A/AAAA records of "+h.Name+" (or point the MX at a name in a signed zone)", lines...)
			r.res.Note("TLSA records of %s ignored: the address records of %s are not DNSSEC-validated", owner, h.Name)
			match.Skip("the host's address records are not DNSSEC-validated, so its TLSA records are not used")
			rollover.Skip("the host's address records are not DNSSEC-validated, so its TLSA records are not used")
			continue
		}
		tlsaV.Pass(lines...)
		usable, unusable := usableTLSA(ts)
		r.res.Measure(metricTLSARecords, float64(len(usable)), h.Name)
		switch {
		case len(usable) == 0:
			match.Fail(fmt.Sprintf("none of the %s of %s is usable for SMTP", probes.Plural(len(ts.Records), "TLSA record", "TLSA records"), owner),
				r.tlsaFix(h.Name, sessions), unusable...)
			rollover.Skip("no usable TLSA records")
			continue
		case len(usable) == 1:
			rollover.Fail(fmt.Sprintf("%s publishes a single usable TLSA record: a key or CA change breaks delivery from DANE senders until the DNS catches up", owner),
				fmt.Sprintf("publish the next key's record beside the current one before changing keys (RFC 7671 §8.1), e.g. a %q for the issuing CA", ts.Name+" IN TLSA 2 1 1 <SHA-256 of the CA's public key>"),
				lines...)
		default:
			rollover.Pass(fmt.Sprintf("%s: %d usable TLSA records", owner, len(usable)))
		}
		r.perSession(&match, sessions, smtpsession.StageHandshake, func(s *Session) {
			r.judgeDANE(&match, s, usable, now)
		})
	}
	tlsaV.RecordObserved(r.res, checkDANETLSA, "every MX host publishes DNSSEC-validated TLSA records")
	match.RecordObserved(r.res, checkDANEMatch, "every served chain matches a usable TLSA record")
	rollover.RecordObserved(r.res, checkDANERollover, "every MX host publishes more than one usable TLSA record")
}

// judgeDANE matches one session's chain against its host's usable records.
func (r *run) judgeDANE(v *probes.Verdict, s *Session, usable []*dns.TLSA, now time.Time) {
	fail := func(problem string) {
		r.res.Measure(metricDANEMatch, 0, s.MX, s.IP.String())
		v.Fail(problem, "serve the certificate the TLSA records name, or publish records for the one served (update TLSA before changing keys)", s.Label()+": "+problem)
	}
	switch {
	case !ehloDone(s):
		v.Skip("no server got past EHLO")
	case !s.STARTTLSOffered:
		fail(s.Label() + " publishes TLSA but does not offer STARTTLS: DANE senders will not deliver (RFC 7672 §2.2)")
	case !s.Handshaked():
		fail(s.Label() + " publishes TLSA but its TLS handshake fails: DANE senders will not deliver")
	default:
		m := matchDANE(usable, s.TLS.Chain, s.MX, now)
		if m.matched == nil {
			fail(fmt.Sprintf("the chain of %s matches none of the usable TLSA records (%s)", s.Label(), probes.EscapeLineBreaks(probes.JoinPhrases(m.why))))
			return
		}
		r.res.Measure(metricDANEMatch, 1, s.MX, s.IP.String())
		v.Pass(fmt.Sprintf("%s: the chain matches TLSA %s", s.Label(), tlsaText(m.matched)))
	}
}

// tlsaFix says what TLSA records a host can publish safely. DANE senders
// defer all mail to a host whose TLSA records no offered STARTTLS can
// satisfy (RFC 7672 §2.2), so records are proposed only when every
// address of the host that was talked to completed STARTTLS: then one
// DANE-EE record per key served (an address serving another key would
// fail against a record for the first). A host where an address offers no
// STARTTLS or fails the handshake is told to fix that first, and one none
// of whose addresses was talked to is told the condition.
func (r *run) tlsaFix(mx string, sessions []*Session) string {
	name := mailhosts.TLSAName(mx)
	var records, broken []string
	for _, s := range sessions {
		switch {
		case s.Denied || s.NotProbed != nil || !ehloDone(s):
			continue
		case !s.STARTTLSOffered:
			broken = append(broken, s.Label()+" offers no STARTTLS")
		case !s.Handshaked():
			broken = append(broken, s.Label()+" fails the TLS handshake")
		case len(s.TLS.Chain) > 0:
			data, err := association(selectorSPKI, matchSHA256, s.TLS.Chain[0])
			if err != nil {
				continue
			}
			if rec := fmt.Sprintf("%q", name+" IN TLSA 3 1 1 "+data); !slices.Contains(records, rec) {
				records = append(records, rec)
			}
		}
	}
	switch {
	case len(broken) > 0:
		return fmt.Sprintf("make every address of %s offer STARTTLS with a certificate first (%s; see smtp.starttls), then publish TLSA records for the keys it serves: a host with TLSA records that offers no working STARTTLS gets no mail from DANE senders at all (RFC 7672 §2.2)",
			mx, probes.JoinPhrases(broken))
	case len(records) > 0:
		return fmt.Sprintf("publish %s in the DNSSEC-signed zone of %s (DANE-EE for the %s served now; RFC 7672 §3.1.1)",
			strings.Join(records, " and "), mx, map[bool]string{true: "key", false: "keys"}[len(records) == 1])
	}
	return fmt.Sprintf("once every address of %s offers STARTTLS, publish %q in the DNSSEC-signed zone of %s for the key it serves (RFC 7672 §3.1.1); never before: a host with TLSA records and no working STARTTLS gets no mail from DANE senders",
		mx, name+" IN TLSA 3 1 1 <SHA-256 of the server's public key>", mx)
}

// hostSessions returns the port-25 sessions of one MX host.
func (r *run) hostSessions(mx string) []*Session {
	var out []*Session
	for _, s := range r.sessions {
		if s.MX == mx {
			out = append(out, s)
		}
	}
	return out
}

// addressesBogus returns why the host's address answers are bogus, if one
// is.
func addressesBogus(h *mailhosts.Host) *dnsclient.Bogus {
	for _, a := range []*dnsclient.Answer{h.A, h.AAAA} {
		if a != nil && a.Bogus != nil {
			return a.Bogus
		}
	}
	return nil
}

// addressesValidated reports whether the host's address answers that hold
// records carried the AD bit.
func addressesValidated(h *mailhosts.Host) bool {
	for _, a := range []*dnsclient.Answer{h.A, h.AAAA} {
		if a != nil && len(a.Records) > 0 && !a.Authenticated {
			return false
		}
	}
	return true
}

func (r *run) recordImplicitTLS() {
	if !r.cfg.ImplicitTLS {
		r.res.Skip(checkImplicitTLS, "not enabled: set implicit_tls: true in the module's smtp block")
		return
	}
	var v probes.Verdict
	for _, err := range r.hostErrs {
		v.Unknown(err)
	}
	r.perSession(&v, r.implicit, smtpsession.StageGreeting, func(s *Session) {
		fix := fmt.Sprintf("serve submission with implicit TLS on port %d (RFC 8314 §3.3) with a valid certificate for %s (Postfix: the submissions service with smtpd_tls_wrappermode = yes)", s.Port, nameOr(s.MX, "the host"))
		switch {
		case !s.Connected:
			v.Fail(fmt.Sprintf("%s does not accept connections (%s)", s.Label(), shortErr(errOr(s.Err))), fix, s.Label()+": "+evidenceOf(s))
		case s.TLS == nil || s.TLS.Err != nil:
			v.Fail(fmt.Sprintf("the TLS handshake with %s failed: %s", s.Label(), shortErr(errOr(tlsErr(s.TLS)))), fix, s.Label()+": "+evidenceOf(s))
		case !s.Greeted():
			v.Fail(fmt.Sprintf("%s sent no 220 greeting over TLS (%s)", s.Label(), evidenceOf(s)), fix, s.Label()+": "+evidenceOf(s))
		case !implicitCertOK(s, r.env.Clock()):
			v.Fail(fmt.Sprintf("the certificate of %s is not valid: %s", s.Label(), shortErr(implicitCertErr(s, r.env.Clock()))), fix, chainLines(s)...)
		default:
			v.Pass(fmt.Sprintf("%s: %s, %s, %s", s.Label(), s.TLS.VersionName(), s.TLS.CipherName(), s.Greeting.String()))
		}
	})
	v.RecordObserved(r.res, checkImplicitTLS, fmt.Sprintf("implicit TLS with a valid certificate on %s", probes.Plural(v.Passes, "address", "addresses")))
}

func tlsErr(t *TLSInfo) error {
	if t == nil {
		return nil
	}
	return t.Err
}

// implicitCertOK: trusted, covering the host name when there is one, and
// within its dates.
func implicitCertOK(s *Session, now time.Time) bool { return implicitCertErr(s, now) == nil }

func implicitCertErr(s *Session, now time.Time) error {
	t := s.TLS
	switch {
	case !t.Trusted:
		return errOr(t.TrustErr)
	case t.NameChecked && !t.NameMatched:
		return errOr(t.NameErr)
	}
	if p := dateProblems(t.Chain, now); len(p) > 0 {
		return errors.New(p[0])
	}
	return nil
}

// measure records each session's samples.
func (r *run) measure() {
	for _, s := range r.sessions {
		if s.NotProbed != nil || s.CutBefore(smtpsession.StageGreeting) {
			// Not probed, or the exporter's deadline came first: nothing
			// is known of the server's answers.
			continue
		}
		mx, ip := s.MX, s.IP.String()
		r.res.Measure(metricUp, b2f(s.Greeted()), mx, ip)
		if ehloDone(s) && !s.CutBefore(smtpsession.StageHandshake) {
			r.res.Measure(metricSTARTTLS, b2f(s.STARTTLSOffered), mx, ip)
			r.res.Measure(metricHandshake, b2f(s.Handshaked()), mx, ip)
		}
		r.measureTLS(s)
		for _, rc := range s.Rcpts {
			if rc.Reply != nil {
				r.res.Measure(metricRcptCode, float64(rc.Reply.Code), mx, ip, rc.Check)
			}
		}
	}
	for _, s := range r.implicit {
		if s.NotProbed != nil || s.CutBefore(smtpsession.StageGreeting) {
			continue
		}
		r.res.Measure(metricSMTPSUp, b2f(s.Handshaked() && s.Greeted()), s.MX, s.IP.String())
	}
}

// measureTLS records the certificate facts whatever the verification said,
// and the negotiated parameters when the handshake completed.
func (r *run) measureTLS(s *Session) {
	if s.TLS == nil {
		return
	}
	mx, ip := s.MX, s.IP.String()
	if s.Handshaked() {
		r.res.Measure(metricVersion, 1, mx, ip, s.TLS.VersionName())
		r.res.Measure(metricCipher, 1, mx, ip, s.TLS.CipherName())
	}
	if len(s.TLS.Chain) == 0 {
		return
	}
	notAfter, notBefore := chainDates(s.TLS.Chain)
	r.res.Measure(metricExpiry, float64(notAfter.Unix()), mx, ip)
	r.res.Measure(metricNotBefore, float64(notBefore.Unix()), mx, ip)
	r.res.Measure(metricTrusted, b2f(s.TLS.Trusted), mx, ip)
	if s.TLS.NameChecked {
		r.res.Measure(metricNameMatch, b2f(s.TLS.NameMatched), mx, ip)
	}
	leaf := s.TLS.Chain[0]
	r.res.Measure(metricCertInfo, 1, mx, ip, probes.Clip(leaf.Subject.CommonName, 100), probes.Clip(leaf.Issuer.CommonName, 100), serialText(leaf))
	kt, bits := keyFacts(leaf.PublicKey)
	r.res.Measure(metricKeyBits, float64(bits), mx, ip, kt)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// details adds each conversation's transcript to the report.
func (r *run) details() {
	for _, s := range append(append([]*Session(nil), r.sessions...), r.implicit...) {
		if s.NotProbed != nil || len(s.Transcript) == 0 {
			continue
		}
		title := fmt.Sprintf("SMTP conversation with %s (%s)", s.Label(), s.Duration.Round(time.Millisecond))
		if s.Shared != nil {
			title = fmt.Sprintf("SMTP conversation with %s (%s), held for %s at %s", s.Label(), s.Duration.Round(time.Millisecond),
				s.Shared.Target, s.Shared.At.UTC().Format(time.RFC3339))
		}
		r.res.AddDetail(title, s.Transcript...)
	}
}
