package dkim

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// recordPresent records dkim.present: every selector named by the module
// or the request has a key record, and at least one key is not revoked.
func (r *run) recordPresent(found []*lookup) {
	var v probes.Verdict
	var usable []string
	for _, l := range r.lookups {
		switch {
		case l.tooLong:
			r.res.Note("selector %s is not looked up: %s is longer than a DNS name can be", l.selector, l.name)
		case l.err != nil:
			var lines []string
			if l.origin.named() {
				lines = l.evidence()
			}
			v.Unknown(l.err, lines...)
		case l.usable():
			usable = append(usable, l.selector)
			v.Pass(l.evidence()...)
		case l.found():
			v.See(l.evidence()...)
		case l.origin.named():
			// The problem is the selector; the reason names them all.
			v.Fail(l.selector, "", l.evidence()...)
		}
	}
	if missing := v.Problems; len(missing) > 0 {
		first := missing[0]
		var names []string
		for _, m := range missing {
			names = append(names, m+"._domainkey."+r.domain)
		}
		v.FailReason = fmt.Sprintf("no key record at %s, named by %s", probes.JoinNames(names), r.originOf(first))
		v.Fixes = []string{fmt.Sprintf("publish the public key of each selector your mail is signed with, e.g. %s, or stop naming selectors you no longer sign with",
			probes.ZoneTXT(first+"._domainkey."+r.domain, "v=DKIM1; k=rsa; p=<base64 public key>"))}
	}
	if len(v.Problems) == 0 && v.Passes == 0 && len(v.Errs) == 0 {
		r.noKey(&v, found)
	}
	v.RecordAny(r.res, checkPresent, fmt.Sprintf("%s publishes a DKIM key at %s: %s", r.domain,
		probes.Plural(len(usable), "selector", "selectors"), probes.JoinNames(usable)))
}

// noKey adds the failure of a domain without any usable key to v.
func (r *run) noKey(v *probes.Verdict, found []*lookup) {
	var tried []string
	for _, l := range r.lookups {
		if l.selector != "*" {
			tried = append(tried, l.selector)
		}
	}
	reason := fmt.Sprintf("no DKIM key found at %s; tried %s", r.domain, probes.JoinNames(tried))
	if len(found) > 0 {
		var names []string
		for _, l := range found {
			names = append(names, l.selector)
		}
		reason = fmt.Sprintf("every key record found at %s is revoked (empty p=): %s", r.domain, probes.JoinNames(names))
	}
	fix := fmt.Sprintf("publish the public key your mail is signed with, e.g. %s (generate the pair with your MTA or provider); "+
		"if the domain already signs with a selector not in the discovery list, pass it as %s=<selector> or list it under the module's dkim: selectors:",
		probes.ZoneTXT("<selector>._domainkey."+r.domain, "v=DKIM1; k=rsa; p=<base64 public key>"), ParamSelector)
	var lines []string
	if why, ok := r.nonSending(); ok {
		reason += "; " + r.domain + " sends no mail (" + why + "), and a domain that sends no mail needs no DKIM key"
		fix = "nothing, as long as " + r.domain + " sends no mail; to make every signature fail explicitly, publish the revoked wildcard " +
			probes.ZoneTXT("*._domainkey."+r.domain, "v=DKIM1; p=")
		lines = append(lines, r.domain+": "+why)
	}
	v.Fail(reason, fix, lines...)
}

// nonSending reports whether the domain declares it sends no mail: a null
// MX alone (RFC 7505) and the SPF record "v=spf1 -all". It asks only when
// no key was found, so domains with keys never pay for it; the MX answer
// comes from mailhosts, shared with the other probes.
func (r *run) nonSending() (string, bool) {
	set, err := mailhosts.Discover(r.ctx, r.req, r.env)
	if err != nil || set.MX == nil || !set.NullMX || len(set.Hosts) > 0 {
		return "", false
	}
	ans, err := r.env.DNS.Lookup(r.ctx, r.domain, dns.TypeTXT)
	if err != nil {
		return "", false
	}
	var spf []string
	for _, txt := range ans.TXT() {
		fields := strings.Fields(strings.ToLower(txt))
		if len(fields) > 0 && fields[0] == "v=spf1" {
			spf = append(spf, txt)
		}
	}
	if len(spf) != 1 {
		return "", false
	}
	if f := strings.Fields(strings.ToLower(spf[0])); len(f) != 2 || f[1] != "-all" {
		return "", false
	}
	return fmt.Sprintf("null MX and SPF %q", spf[0]), true
}

func (r *run) originOf(selector string) string {
	for _, l := range r.lookups {
		if l.selector == selector {
			if l.origin == originParam {
				return ParamSelector + "="
			}
			return "the module's dkim selectors"
		}
	}
	return ""
}

// recordKeyValid records dkim.key_valid over every unrevoked key record.
func (r *run) recordKeyValid(found []*lookup) {
	var v probes.Verdict
	var good []string
	for _, l := range found {
		if !l.usable() {
			continue
		}
		v.See(l.evidence()...)
		if l.keyErr != nil {
			v.Fail("selector "+l.selector+": "+l.keyErr.Reason, r.fixFor(l, l.keyErr.Fix))
			continue
		}
		good = append(good, fmt.Sprintf("%s (%s)", l.selector, l.key.summary()))
		var note []string
		if l.key.WhitespaceInKey {
			note = append(note, fmt.Sprintf("%s: p= has whitespace inside it, which RFC 6376 §3.6.1 allows and verifiers remove", l.selector))
		}
		v.Pass(note...)
	}
	v.RecordOrSkip(r.res, checkKeyValid, probes.Plural(len(good), "key decodes", "keys decode")+": "+probes.JoinNames(good), r.noKeyReason(found))
}

// fixFor turns a KeyError's fix into a remediation: a corrected record is
// quoted as the zone line to publish.
func (r *run) fixFor(l *lookup, fix string) string {
	if l.ans != nil && len(l.ans.CNAMEs) > 0 {
		// The record is the provider's, reached through the alias.
		return fmt.Sprintf("%s is an alias to %s, published by your mail provider: ask it to fix the key, or point the alias at the record the provider's setup page shows now",
			probes.Bare(l.name), probes.Bare(l.ans.Owner()))
	}
	switch {
	case fix == "":
		return "publish the key again as the key generator wrote it, e.g. " +
			probes.ZoneTXT(l.name, "v=DKIM1; k="+orDefault(l, KeyTypeRSA)+"; p=<base64 public key>")
	case strings.Contains(fix, "="):
		return "publish " + probes.ZoneTXT(l.name, fix)
	}
	return fix
}

func orDefault(l *lookup, def string) string {
	if t, _ := declared(l); t != "unknown" {
		return t
	}
	return def
}

// noKeyReason says why a check about keys does not apply.
func (r *run) noKeyReason(found []*lookup) string {
	if len(found) > 0 {
		return "every key record found is revoked or invalid"
	}
	return "no DKIM key record found"
}

// recordStrength records dkim.key_strength over every valid key.
func (r *run) recordStrength(found []*lookup) {
	var v probes.Verdict
	var good []string
	for _, l := range found {
		if !l.valid() {
			continue
		}
		v.See(fmt.Sprintf("%s: %s key of %d bits", l.selector, l.key.Type, l.key.Bits))
		if l.key.Type != KeyTypeRSA {
			good = append(good, fmt.Sprintf("%s (Ed25519)", l.selector))
			v.Pass()
			continue
		}
		if l.key.Bits < r.cfg.MinRSABits {
			p := fmt.Sprintf("selector %s: RSA key of %d bits, under %d", l.selector, l.key.Bits, r.cfg.MinRSABits)
			if l.key.Bits < 1024 {
				p += " (RFC 8301 §3.2: verifiers must reject keys under 1024 bits)"
			}
			fix := ""
			if len(v.Fixes) == 0 {
				// One new key replaces every weak one: the first says how.
				fix = fmt.Sprintf("generate a %d-bit key pair, publish it under a new selector, e.g. %s, sign with it, then revoke %s with an empty p=",
					max(r.cfg.MinRSABits, DefaultMinRSABits), probes.ZoneTXT("<new selector>._domainkey."+r.domain, "v=DKIM1; k=rsa; p=<base64 public key>"), probes.Bare(l.name))
			}
			v.Fail(p, fix)
			continue
		}
		good = append(good, fmt.Sprintf("%s (%d bits)", l.selector, l.key.Bits))
		v.Pass()
	}
	if len(v.Problems) > 0 {
		v.FailReason = probes.JoinPhrases(v.Problems) + "; RFC 8301 §3.2 says signers should use 2048 bits"
	}
	v.RecordOrSkip(r.res, checkKeyStrength, fmt.Sprintf("every key is Ed25519 or RSA of at least %d bits: %s", r.cfg.MinRSABits, probes.JoinNames(good)), r.noKeyReason(found))
}

// recordRevoked records dkim.not_revoked: a revoked selector next to live
// keys is an old selector retired properly and passes; only a domain whose
// every key record is revoked fails (an info check, never scored).
func (r *run) recordRevoked(found []*lookup) {
	var revoked, live, evidence []string
	for _, l := range found {
		if l.revoked() {
			revoked = append(revoked, l.selector)
			evidence = append(evidence, l.evidence()...)
		} else {
			live = append(live, l.selector)
		}
	}
	switch {
	case len(found) == 0:
		r.res.Skip(checkNotRevoked, "no DKIM key record found")
	case len(revoked) == 0:
		r.res.Pass(checkNotRevoked, "no key is revoked")
	case len(live) > 0:
		r.res.Pass(checkNotRevoked, fmt.Sprintf("%s revoked (empty p=), an old selector retired; keys remain at %s",
			probes.Plural(len(revoked), "selector", "selectors")+" "+probes.JoinNames(revoked), probes.JoinNames(live)), evidence...)
	default:
		r.res.Fail(checkNotRevoked, "every key record found is revoked (empty p=): "+probes.JoinNames(revoked),
			"if the domain sends mail, publish a current key under a new selector, e.g. "+
				probes.ZoneTXT("<selector>._domainkey."+r.domain, "v=DKIM1; k=rsa; p=<base64 public key>"), evidence...)
	}
}

// recordTesting records dkim.not_testing over every valid key.
func (r *run) recordTesting(found []*lookup) {
	var v probes.Verdict
	for _, l := range found {
		if !l.valid() {
			continue
		}
		if !l.key.Testing() {
			v.Pass()
			continue
		}
		var flags []string
		for _, f := range l.key.Flags {
			if f != "y" {
				flags = append(flags, f)
			}
		}
		v.Fail(fmt.Sprintf("selector %s has t=%s", l.selector, probes.OneLine(l.key.Tags.Value("t"), 64)),
			"publish "+probes.ZoneTXT(l.name, rewrite(l.key.Tags, map[string]string{"t": strings.Join(flags, ":")})),
			l.evidence()...)
	}
	if len(v.Problems) > 0 {
		v.FailReason = probes.JoinPhrases(v.Problems) + ": the domain is testing DKIM, and verifiers treat its signed mail like unsigned mail (RFC 6376 §3.6.1)"
		v.Fixes = []string{"once signing works, drop y from t=: " + probes.JoinPhrases(v.Fixes)}
	}
	v.RecordOrSkip(r.res, checkNotTesting, "no key has t=y", r.noKeyReason(found))
}

// recordHash records dkim.hash over every valid key.
func (r *run) recordHash(found []*lookup) {
	var v probes.Verdict
	for _, l := range found {
		if !l.valid() {
			continue
		}
		if l.key.AllowsSHA256() {
			v.Pass()
			continue
		}
		v.Fail(fmt.Sprintf("selector %s has h=%s, which does not allow sha256", l.selector, probes.OneLine(l.key.Tags.Value("h"), 64)),
			"publish "+probes.ZoneTXT(l.name, rewrite(l.key.Tags, map[string]string{"h": "sha256"}))+" and sign with rsa-sha256",
			l.evidence()...)
	}
	if len(v.Problems) > 0 {
		v.FailReason = probes.JoinPhrases(v.Problems) + "; RFC 8301 §3.1 forbids rsa-sha1, so verifiers reject every signature the key can make"
	}
	v.RecordOrSkip(r.res, checkHash, "every key allows sha256", r.noKeyReason(found))
}

// recordEd25519 records dkim.ed25519: an Ed25519 key beside an RSA one
// (RFC 8463 §1 expects dual signing, because verifiers without Ed25519
// support see only the RSA signature).
func (r *run) recordEd25519(found []*lookup) {
	var rsaSel, edSel []string
	for _, l := range found {
		if !l.valid() {
			continue
		}
		if l.key.Type == KeyTypeEd25519 {
			edSel = append(edSel, l.selector)
		} else {
			rsaSel = append(rsaSel, l.selector)
		}
	}
	switch {
	case len(edSel) > 0 && len(rsaSel) > 0:
		r.res.Pass(checkEd25519, fmt.Sprintf("Ed25519 at %s beside RSA at %s", probes.JoinNames(edSel), probes.JoinNames(rsaSel)))
	case len(edSel) > 0:
		r.res.Fail(checkEd25519, "only Ed25519 keys ("+probes.JoinNames(edSel)+"): verifiers without RFC 8463 support see no valid signature",
			"sign with an RSA key as well, published under its own selector, e.g. "+
				probes.ZoneTXT("<selector>._domainkey."+r.domain, "v=DKIM1; k=rsa; p=<base64 public key>"))
	case len(rsaSel) > 0:
		r.res.Fail(checkEd25519, "no Ed25519 key beside the RSA key at "+probes.JoinNames(rsaSel),
			"add an Ed25519 key under a second selector and sign with both (RFC 8463), e.g. "+
				probes.ZoneTXT("<selector>._domainkey."+r.domain, "v=DKIM1; k=ed25519; p=<base64 of the 32-byte public key>"))
	default:
		r.res.Skip(checkEd25519, r.noKeyReason(found))
	}
}
