package delivery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/textproto"
	"regexp"
	"sort"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tagvalue"
)

// maxSignatures bounds the DKIM signatures verified per message.
const maxSignatures = 8

// verdict judges one delivered message the way a large receiver does.
type verdict struct {
	ctx  context.Context
	env  *probes.Env
	cfg  Config
	lent Lent
	res  *probes.Result
	msg  *probes.ReceivedMessage
	ip   netip.Addr

	header textproto.MIMEHeader
	// fromDomain is the RFC5322.From domain ("" when there is not exactly
	// one From: address).
	fromDomain string
	fromErr    error

	spf, spfHELO authResult
	dkims        []dkimResult
	dkimErr      error
	dmarc        *DMARCPolicy
	dmarcErr     error
	ptrNames     []string
	reverse      *probes.Result
	blocklists   *probes.Result
}

// authResult is one SPF evaluation.
type authResult struct {
	domain string
	result string
	err    error
}

// dkimResult is one DKIM signature and its verification.
type dkimResult struct {
	domain, selector, algorithm string
	keyBits                     int
	keyType                     string
	err                         error
	expired                     bool
}

func (d dkimResult) valid() bool { return d.err == nil }

// judge records every check after arrival on res.
func judge(ctx context.Context, env *probes.Env, cfg Config, lent Lent, reverse, blocklists probes.Probe, msg *probes.ReceivedMessage, res *probes.Result) {
	v := &verdict{ctx: ctx, env: env, cfg: cfg, lent: lent, res: res, msg: msg, ip: msg.Remote.Addr()}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(msg.Data)))
	h, err := tp.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		h = textproto.MIMEHeader{}
	}
	v.header = h
	v.fromDomain, v.fromErr = fromDomain(h)

	var tasks flight.Tasks
	tasks.Go(v.checkSPF)
	tasks.Go(v.verifyDKIM)
	tasks.Go(v.lookupDMARC)
	tasks.Go(v.lookupPTR)
	if reverse != nil {
		tasks.Go(func() { v.reverse = v.runLent(reverse) })
	}
	if blocklists != nil {
		tasks.Go(func() { v.blocklists = v.runLent(blocklists) })
	}
	tasks.Wait()

	v.recordTLS()
	v.recordSPF()
	v.recordDKIM()
	v.recordDMARC()
	v.recordLent(checkFCrDNS, lent.Reverse, v.reverse, func([]probes.Check) string {
		return fmt.Sprintf("%s, the address the relay delivered from, has the PTR name %s, which resolves back to it", v.ip, strings.Join(v.ptrNames, ", "))
	})
	v.recordLent(checkNotListed, lent.Blocklists, v.blocklists, func(passed []probes.Check) string {
		return fmt.Sprintf("%s, the address the relay delivered from: %s", v.ip, passed[0].Reason)
	})
	v.recordReceived()
	v.recordARC()
	v.measure()
}

// fromDomain is the domain of the one From: address (RFC 7489 §6.6.1: a
// message with none or several is not judged by DMARC).
func fromDomain(h textproto.MIMEHeader) (string, error) {
	froms := h.Values("From")
	if len(froms) != 1 {
		return "", fmt.Errorf("the message has %d From: fields; DMARC needs exactly one", len(froms))
	}
	list, err := mail.ParseAddressList(froms[0])
	if err != nil || len(list) != 1 {
		return "", fmt.Errorf("the From: field %s is not one address", probes.Quote(froms[0]))
	}
	return domainOf(list[0].Address), nil
}

// spfIdentity is the MAIL FROM identity: its domain, or the HELO name for
// the null sender (RFC 7208 §2.4).
func (v *verdict) spfIdentity() (domain, sender string) {
	if v.msg.MailFrom == "" {
		return strings.ToLower(v.msg.HELO), "postmaster@" + strings.ToLower(v.msg.HELO)
	}
	return domainOf(v.msg.MailFrom), v.msg.MailFrom
}

func (v *verdict) checkSPF() {
	if v.lent.CheckHost == nil {
		return
	}
	domain, sender := v.spfIdentity()
	r, err := v.lent.CheckHost(v.ctx, v.env.DNS, v.ip, domain, sender, v.msg.HELO)
	v.spf = authResult{domain: domain, result: r, err: err}
	helo := strings.ToLower(strings.TrimSuffix(v.msg.HELO, "."))
	if _, err := probes.NormalizeName(helo); err == nil && strings.Contains(helo, ".") {
		r, err := v.lent.CheckHost(v.ctx, v.env.DNS, v.ip, helo, "postmaster@"+helo, helo)
		v.spfHELO = authResult{domain: helo, result: r, err: err}
	} else {
		v.spfHELO = authResult{domain: helo, result: "none", err: fmt.Errorf("HELO %s is not a domain name", probes.Quote(v.msg.HELO))}
	}
}

// lookupTXT answers go-msgauth's key and policy questions through the
// module's resolvers, with the probe's deadline: not found is reported
// the way net.LookupTXT reports it, which go-msgauth reads as a permanent
// failure; other failures as temporary.
func (v *verdict) lookupTXT(name string) ([]string, error) {
	ans, err := v.env.DNS.Lookup(v.ctx, dns.Fqdn(name), dns.TypeTXT)
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: name, IsTemporary: true}
	}
	txt := ans.TXT()
	if len(txt) == 0 {
		return nil, &net.DNSError{Err: "no TXT record", Name: name, IsNotFound: true}
	}
	return txt, nil
}

func (v *verdict) verifyDKIM() {
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(v.msg.Data), &dkim.VerifyOptions{
		LookupTXT:        v.lookupTXT,
		MaxVerifications: maxSignatures,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		v.dkimErr = err
		return
	}
	// go-msgauth reports d=, i=, t= and x= but neither the selector nor
	// the algorithm nor the key: those come from the signature's own tags
	// and the key record (asked again; the request's cache answers).
	sigs := v.header.Values("Dkim-Signature")
	for i, vf := range verifs {
		d := dkimResult{domain: strings.ToLower(vf.Domain), err: vf.Err}
		if i < len(sigs) {
			if tags, err := tagvalue.Parse(sigs[i]); err == nil {
				d.selector = tagvalue.StripWSP(tags.Value("s"))
				d.algorithm = tagvalue.StripWSP(tags.Value("a"))
				if d.domain == "" {
					d.domain = strings.ToLower(tagvalue.StripWSP(tags.Value("d")))
				}
			}
		}
		if vf.Err != nil && strings.Contains(vf.Err.Error(), "expired") {
			d.expired = true
		}
		if d.valid() && d.selector != "" {
			d.keyType, d.keyBits = v.keySize(d.selector + "._domainkey." + d.domain)
		}
		v.dkims = append(v.dkims, d)
	}
}

// keySize reads the key record the signature verified with: its type and
// size in bits (Ed25519 counts as 256).
func (v *verdict) keySize(name string) (string, int) {
	txts, err := v.lookupTXT(name)
	if err != nil {
		return "", 0
	}
	tags, err := tagvalue.Parse(strings.Join(txts, ""))
	if err != nil {
		return "", 0
	}
	der, err := base64.StdEncoding.DecodeString(tagvalue.StripWSP(tags.Value("p")))
	if err != nil || len(der) == 0 {
		return "", 0
	}
	switch k := tagvalue.StripWSP(tags.Value("k")); k {
	case "ed25519":
		if len(der) == ed25519.PublicKeySize {
			return "ed25519", 256
		}
		return "ed25519", 0
	case "", "rsa":
		if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
			if rk, ok := pub.(*rsa.PublicKey); ok {
				return "rsa", rk.N.BitLen()
			}
		}
		if rk, err := x509.ParsePKCS1PublicKey(der); err == nil {
			return "rsa", rk.N.BitLen()
		}
		return "rsa", 0
	default:
		return k, 0
	}
}

// lookupDMARC finds the policy of the From: domain with the dmarc probe's
// discovery: its own record, else its organizational domain's (RFC 7489
// §6.6.3).
func (v *verdict) lookupDMARC() {
	if v.fromDomain == "" || v.lent.DMARC == nil {
		return
	}
	v.dmarc, v.dmarcErr = v.lent.DMARC(v.ctx, v.env.DNS, v.fromDomain)
}

func (v *verdict) lookupPTR() {
	rev, err := dns.ReverseAddr(v.ip.String())
	if err != nil {
		return
	}
	ans, err := v.env.DNS.Lookup(v.ctx, rev, dns.TypePTR)
	if err != nil {
		return
	}
	for _, n := range ans.Names() {
		v.ptrNames = append(v.ptrNames, strings.TrimSuffix(n, "."))
	}
	sort.Strings(v.ptrNames)
}

// runLent runs one of the other probes on the outbound address, with facts
// of its own (the request's are about the target domain).
func (v *verdict) runLent(p probes.Probe) *probes.Result {
	env := *v.env
	env.Facts = probes.NewFacts(nil)
	req := &probes.Request{Target: probes.Target{Kind: probes.KindIP, IP: v.ip, Port: probes.DefaultSMTPPort}}
	return p.Run(v.ctx, req, &env)
}

// orgDomain is the organizational domain as the dmarc probe and the mail
// hosts facts find it (mailhosts.OrganizationalDomain: the ICANN section of
// the public suffix list), or the name itself when it has none, so the
// delivered message is aligned and its DMARC policy found the way the
// domain's DMARC record is judged.
func orgDomain(name string) string {
	if org := mailhosts.OrganizationalDomain(name); org != "" {
		return org
	}
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// aligned reports whether id is aligned with the From: domain in the mode
// (RFC 7489 §3.1): strict wants the same name, relaxed the same
// organizational domain.
func aligned(id, from string, strict bool) bool {
	id, from = strings.ToLower(strings.TrimSuffix(id, ".")), strings.ToLower(strings.TrimSuffix(from, "."))
	if strict {
		return id == from
	}
	return orgDomain(id) == orgDomain(from)
}

// tlsName is the TLS version's name ("TLS 1.3").
func tlsName(v uint16) string { return tls.VersionName(v) }

func (v *verdict) recordTLS() {
	ev := fmt.Sprintf("delivered by %s (HELO %s)", v.msg.Remote, probes.Quote(v.msg.HELO))
	switch {
	case v.msg.TLSVersion == 0:
		v.res.Fail(checkTLS, "the relay delivered the message in plain text: it did not use STARTTLS although the receiver offered it",
			"turn on opportunistic TLS for outgoing mail on the relay (Postfix: smtp_tls_security_level = may)", ev)
	case v.msg.TLSVersion < tls.VersionTLS12:
		v.res.Fail(checkTLS, fmt.Sprintf("the relay delivered the message over %s; receivers expect TLS 1.2 or later", tls.VersionName(v.msg.TLSVersion)),
			"allow TLS 1.2 and 1.3 for outgoing mail on the relay (Postfix: smtp_tls_protocols = >=TLSv1.2)", ev)
	default:
		v.res.Pass(checkTLS, fmt.Sprintf("the relay delivered the message over %s with %s",
			tls.VersionName(v.msg.TLSVersion), tls.CipherSuiteName(v.msg.TLSCipher)), ev)
	}
}

func (v *verdict) recordSPF() {
	if v.lent.CheckHost == nil {
		v.res.Skip(checkSPF, "no SPF evaluator was lent to the probe")
		return
	}
	domain, _ := v.spfIdentity()
	ev := []string{
		fmt.Sprintf("MAIL FROM %s, client %s: spf=%s", probes.Quote(v.msg.MailFrom), v.ip, v.spf.result),
		fmt.Sprintf("HELO %s: spf=%s", probes.Quote(v.msg.HELO), v.spfHELO.result),
	}
	if v.spf.err != nil {
		ev = append(ev, "why: "+v.spf.err.Error())
	}
	switch v.spf.result {
	case "pass":
		v.res.Pass(checkSPF, fmt.Sprintf("SPF of %s authorises %s, the address the relay delivered from", domain, v.ip), ev...)
	case "temperror":
		v.res.Undecided(checkSPF, fmt.Errorf("SPF of %s for %s could not be evaluated: %v", domain, v.ip, v.spf.err))
	default:
		v.res.Fail(checkSPF, fmt.Sprintf("SPF of %s gives %s for %s, the address the relay delivered from", domain, v.spf.result, v.ip),
			spfFix(domain, v.ip, v.spf.result), ev...)
	}
}

func spfFix(domain string, ip netip.Addr, result string) string {
	mech := "ip4:" + ip.String()
	if ip.Is6() {
		mech = "ip6:" + ip.String()
	}
	if result == "none" {
		return fmt.Sprintf("publish an SPF record for %s that authorises the relay, such as \"%s. IN TXT \\\"v=spf1 %s -all\\\"\"", domain, domain, mech)
	}
	return fmt.Sprintf("add %s (or an include: of the provider that runs the relay) to the SPF record of %s, before its all term", mech, domain)
}

func (v *verdict) recordDKIM() {
	if v.dkimErr != nil {
		v.res.Undecided(checkDKIM, fmt.Errorf("DKIM signatures could not be read: %w", v.dkimErr))
		v.res.Skip(checkDKIMKey, "the signatures could not be read")
		return
	}
	if len(v.dkims) == 0 {
		v.res.Fail(checkDKIM, "the message carries no DKIM signature: the relay does not sign",
			"sign outgoing mail on the relay (for example with OpenDKIM) with a key published at <selector>._domainkey."+v.fromOr("your domain"))
		v.res.Skip(checkDKIMKey, "no signature verified")
		return
	}
	var ev []string
	var alignedValid, validKeys []dkimResult
	temp := false
	adkimStrict := v.dmarc != nil && v.dmarc.StrictDKIM
	for _, d := range v.dkims {
		line := fmt.Sprintf("d=%s s=%s a=%s", d.domain, d.selector, d.algorithm)
		if d.keyBits > 0 {
			line += fmt.Sprintf(" key=%s/%d", d.keyType, d.keyBits)
		}
		if d.err != nil {
			line += ": " + d.err.Error()
			if dkim.IsTempFail(d.err) {
				temp = true
			}
		} else {
			line += ": verifies"
			validKeys = append(validKeys, d)
			if v.fromDomain != "" && aligned(d.domain, v.fromDomain, adkimStrict) {
				alignedValid = append(alignedValid, d)
			}
		}
		ev = append(ev, line)
	}
	switch {
	case len(alignedValid) > 0:
		d := alignedValid[0]
		v.res.Pass(checkDKIM, fmt.Sprintf("the signature of %s (selector %s) verifies and is aligned with From: %s", d.domain, d.selector, v.fromDomain), ev...)
	case temp:
		v.res.Undecided(checkDKIM, errors.New("a DKIM key could not be fetched: "+strings.Join(ev, "; ")))
	case v.fromDomain == "":
		v.res.Fail(checkDKIM, "no signature can be aligned: "+v.fromErr.Error(), "send the probe message with exactly one From: address", ev...)
	case len(validKeys) > 0:
		v.res.Fail(checkDKIM, fmt.Sprintf("signatures verify, but none is by a domain aligned with From: %s", v.fromDomain),
			"sign with d="+v.fromDomain+" (a key at <selector>._domainkey."+v.fromDomain+"), not only with the relay provider's domain", ev...)
	default:
		v.res.Fail(checkDKIM, "no DKIM signature verifies: "+firstErr(v.dkims),
			dkimFix(v.dkims), ev...)
	}
	v.recordKeyStrength(validKeys)
}

func (v *verdict) fromOr(s string) string {
	if v.fromDomain != "" {
		return v.fromDomain
	}
	return s
}

func firstErr(ds []dkimResult) string {
	for _, d := range ds {
		if d.err != nil {
			return fmt.Sprintf("d=%s s=%s: %v", d.domain, d.selector, d.err)
		}
	}
	return ""
}

// dkimFix says what to do about signatures that do not verify.
func dkimFix(ds []dkimResult) string {
	for _, d := range ds {
		msg := ""
		if d.err != nil {
			msg = d.err.Error()
		}
		owner := d.selector + "._domainkey." + d.domain
		switch {
		case d.expired:
			return "sign without x= or with an expiry longer than the delivery takes"
		case strings.Contains(msg, "no key") || strings.Contains(msg, "no TXT") || strings.Contains(msg, "key unavailable"):
			return "publish the relay's public key at " + owner + " (TXT \"v=DKIM1; k=rsa; p=...\"), or make the relay sign with the selector that is published"
		case strings.Contains(msg, "body hash"):
			return "make sure nothing changes the message after the relay signs it (a footer, a re-encoding, a mailing list); sign last"
		}
	}
	return "publish at <selector>._domainkey.<domain> the public key of the private key the relay signs with"
}

func (v *verdict) recordKeyStrength(valid []dkimResult) {
	if len(valid) == 0 {
		v.res.Skip(checkDKIMKey, "no signature verified")
		return
	}
	var weak, unread, ev []string
	for _, d := range valid {
		owner := d.selector + "._domainkey." + d.domain
		if d.keyBits == 0 {
			// Verified, but the key record did not read again as a key
			// of a known size: its strength is not known.
			ev = append(ev, owner+": key not measured")
			unread = append(unread, owner)
			continue
		}
		ev = append(ev, fmt.Sprintf("%s: %s, %d bits", owner, d.keyType, d.keyBits))
		if d.keyType == "rsa" && d.keyBits < v.cfg.MinRSAKeyBits {
			weak = append(weak, fmt.Sprintf("%s (%d bits)", owner, d.keyBits))
		}
	}
	switch {
	case len(weak) > 0:
		v.res.Fail(checkDKIMKey, fmt.Sprintf("the relay signs with RSA keys shorter than %d bits: %s", v.cfg.MinRSAKeyBits, strings.Join(weak, ", ")),
			fmt.Sprintf("generate a %d-bit RSA key under a new selector, publish it, switch the relay to it, then remove the old key", max(2048, v.cfg.MinRSAKeyBits)), ev...)
		return
	case len(unread) > 0:
		v.res.Undecided(checkDKIMKey, fmt.Errorf("the size of the verifying key at %s could not be read", strings.Join(unread, ", ")))
		return
	}
	v.res.Pass(checkDKIMKey, fmt.Sprintf("every verifying signature's key is Ed25519 or RSA of at least %d bits", v.cfg.MinRSAKeyBits), ev...)
}

// dmarcOutcome is the DMARC evaluation (RFC 7489 §4.2) of the message.
func (v *verdict) dmarcOutcome() (result string, why string) {
	if v.fromDomain == "" {
		return "permerror", v.fromErr.Error()
	}
	if v.dmarcErr != nil {
		return "temperror", v.dmarcErr.Error()
	}
	if v.dmarc == nil {
		why := v.fromDomain + " publishes no DMARC record"
		if org := orgDomain(v.fromDomain); org != v.fromDomain {
			why += " (nor does " + org + ")"
		}
		return "none", why
	}
	if v.dmarc.Unusable != "" {
		return "permerror", v.dmarc.Unusable
	}
	var reasons []string
	spfDomain, _ := v.spfIdentity()
	if v.spf.result == "pass" {
		if aligned(spfDomain, v.fromDomain, v.dmarc.StrictSPF) {
			return "pass", fmt.Sprintf("SPF passes for %s, aligned with From: %s", spfDomain, v.fromDomain)
		}
		reasons = append(reasons, fmt.Sprintf("SPF passes for %s, which is not aligned with %s", spfDomain, v.fromDomain))
	} else {
		reasons = append(reasons, fmt.Sprintf("SPF of %s is %s", spfDomain, v.spf.result))
	}
	for _, d := range v.dkims {
		if d.valid() && aligned(d.domain, v.fromDomain, v.dmarc.StrictDKIM) {
			return "pass", fmt.Sprintf("the DKIM signature of %s verifies, aligned with From: %s", d.domain, v.fromDomain)
		}
	}
	reasons = append(reasons, "no verifying DKIM signature is aligned with "+v.fromDomain)
	return "fail", strings.Join(reasons, "; ")
}

func (v *verdict) recordDMARC() {
	if v.lent.DMARC == nil {
		v.res.Skip(checkDMARC, "no DMARC policy discovery was lent to the probe")
		return
	}
	result, why := v.dmarcOutcome()
	var ev []string
	if d := v.dmarc; d != nil && d.Unusable == "" {
		ev = append(ev, fmt.Sprintf("%s: policy %s for %s, adkim=%s aspf=%s", d.Owner, d.Policy, v.fromDomain, alignMode(d.StrictDKIM), alignMode(d.StrictSPF)))
	}
	switch result {
	case "pass":
		v.res.Pass(checkDMARC, "DMARC passes: "+why, ev...)
	case "temperror":
		v.res.Undecided(checkDMARC, errors.New(why))
	case "none":
		v.res.Fail(checkDMARC, why+": receivers apply no policy and Gmail and Yahoo refuse bulk mail without one",
			fmt.Sprintf("publish \"_dmarc.%s. IN TXT \\\"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\\\"\" and tighten p= once the reports are clean", orgDomain(v.fromDomain), orgDomain(v.fromDomain)), ev...)
	case "permerror":
		if v.dmarc != nil {
			// A record is there that receivers cannot apply: the dmarc
			// probe's dmarc.syntax says what to publish instead.
			v.res.Fail(checkDMARC, "DMARC permerror: receivers apply no DMARC to the message: "+why,
				"correct the DMARC record as the dmarc probe's dmarc.syntax check proposes")
			return
		}
		fallthrough
	default:
		policy := "none"
		if v.dmarc != nil {
			policy = v.dmarc.Policy
		}
		v.res.Fail(checkDMARC, fmt.Sprintf("DMARC %s (policy %s applies): %s", result, policy, why),
			"make the relay sign with d="+v.fromOr("the From: domain")+" (DKIM alignment), or send with a MAIL FROM in the From: domain whose SPF authorises the relay", ev...)
	}
}

func alignMode(strict bool) string {
	if strict {
		return "s"
	}
	return "r"
}

// recordLent turns the lent probe's checks about the outbound address into
// the delivery check: failing when any of them fails, undecided when one
// could not be decided, passing when all passed, skipped otherwise.
func (v *verdict) recordLent(spec probes.CheckSpec, l LentProbe, res *probes.Result, passReason func([]probes.Check) string) {
	if res == nil {
		v.res.Skip(spec, "no probe was lent to judge the outbound address")
		return
	}
	var passed, failed, undecided, skipped []probes.Check
	for _, id := range l.Checks {
		c, ok := res.Check(id)
		if !ok {
			continue
		}
		switch c.Status {
		case probes.StatusPass:
			passed = append(passed, c)
		case probes.StatusFail:
			failed = append(failed, c)
		case probes.StatusError:
			undecided = append(undecided, c)
		default:
			skipped = append(skipped, c)
		}
	}
	var ev []string
	for _, group := range [][]probes.Check{failed, undecided, passed} {
		for _, c := range group {
			ev = append(ev, c.Evidence...)
		}
	}
	ev = probes.Dedup(ev)
	switch {
	case len(failed) > 0:
		c := failed[0]
		v.res.Fail(spec, fmt.Sprintf("%s (%s, the address the relay delivered from)", c.Reason, v.ip), c.Remediation, ev...)
	case len(undecided) > 0:
		v.res.Undecided(spec, fmt.Errorf("%s of %s: %s", undecided[0].ID, v.ip, undecided[0].Reason))
	case len(passed) > 0 && len(skipped) == 0:
		v.res.Pass(spec, passReason(passed), ev...)
	case len(skipped) > 0:
		v.res.Skip(spec, skipped[0].Reason)
	default:
		reason := "the lent probe recorded none of " + strings.Join(l.Checks, ", ")
		if notes := res.Notes(); len(notes) > 0 {
			reason = notes[0]
		}
		v.res.Skip(spec, reason)
	}
}

// receivedAddr finds address literals in a Received field: "[192.0.2.1]",
// "[IPv6:2001:db8::1]", "(host [10.0.0.1])" and bare dotted quads.
var receivedAddr = regexp.MustCompile(`\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]|\b(\d{1,3}(?:\.\d{1,3}){3})\b`)

// cgnat is RFC 6598 shared address space, which netip does not call
// private.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func internalAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || cgnat.Contains(ip)
}

func (v *verdict) recordReceived() {
	fields := v.header.Values("Received")
	var leaks, ev []string
	for _, f := range fields {
		found := false
		for _, m := range receivedAddr.FindAllStringSubmatch(f, -1) {
			s := m[1]
			if s == "" {
				s = m[2]
			}
			ip, err := netip.ParseAddr(s)
			if err != nil || !internalAddr(ip) {
				continue
			}
			leaks = append(leaks, ip.String())
			found = true
		}
		if found {
			ev = append(ev, "Received: "+probes.Clip(strings.Join(strings.Fields(f), " "), 200))
		}
	}
	leaks = probes.Dedup(leaks)
	if len(leaks) > 0 {
		v.res.Fail(checkNoPrivateReceived,
			fmt.Sprintf("the message's Received headers name internal addresses (%s): they reveal the internal network and spam filters score them", probes.JoinNames(leaks)),
			"have the relay drop or rewrite the Received header of authenticated submissions (Postfix: a cleanup header_checks rule \"/^Received:.*with ESMTPSA/ IGNORE\" on the submission service)", ev...)
		return
	}
	v.res.Pass(checkNoPrivateReceived, fmt.Sprintf("none of the %s names an internal address", probes.Plural(len(fields), "Received header", "Received headers")))
}

// recordARC notes ARC sets when the message carries any. go-msgauth v0.7.0
// has no ARC verifier, so they are listed, not judged.
func (v *verdict) recordARC() {
	seals := v.header.Values("Arc-Seal")
	if len(seals) == 0 {
		return
	}
	lines := make([]string, 0, len(seals))
	for _, s := range seals {
		lines = append(lines, "ARC-Seal: "+probes.Clip(strings.Join(strings.Fields(s), " "), 160))
	}
	v.res.AddDetail(fmt.Sprintf("ARC: %s (listed, not verified: go-msgauth v0.7.0 has no ARC verifier)", probes.Plural(len(seals), "seal", "seals")), lines...)
}

func (v *verdict) measure() {
	if v.lent.CheckHost != nil {
		v.res.Measure(metricAuth, 1, ReceiverBuiltin, MethodSPF, v.spf.result)
		v.res.Measure(metricAuth, 1, ReceiverBuiltin, MethodSPFHELO, v.spfHELO.result)
	}
	v.res.Measure(metricAuth, 1, ReceiverBuiltin, MethodDKIM, v.dkimSummary())
	if v.lent.DMARC != nil {
		dmarcResult, _ := v.dmarcOutcome()
		v.res.Measure(metricAuth, 1, ReceiverBuiltin, MethodDMARC, dmarcResult)
	}
	ptr := strings.Join(v.ptrNames, ",")
	v.res.Measure(metricOutbound, 1, ReceiverBuiltin, v.ip.String(), probes.Clip(strings.ToLower(v.msg.HELO), 100), probes.Clip(ptr, 200))
}

// dkimSummary is the DKIM result as an Authentication-Results header would
// give it for the message: pass when a signature verifies, else the first
// signature's result, none without signatures (RFC 8601 §2.7.1).
func (v *verdict) dkimSummary() string {
	switch {
	case v.dkimErr != nil:
		return "permerror"
	case len(v.dkims) == 0:
		return "none"
	}
	for _, d := range v.dkims {
		if d.valid() {
			return "pass"
		}
	}
	switch err := v.dkims[0].err; {
	case dkim.IsTempFail(err):
		return "temperror"
	case dkim.IsPermFail(err):
		return "permerror"
	}
	return "fail"
}
