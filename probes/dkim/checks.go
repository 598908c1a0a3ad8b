package dkim

import (
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/sending"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tagvalue"
)

// recordPresent records dkim.present: every selector named by the module
// or the request has a key record, and at least one key is not revoked.
// declErr is set when whether the domain sends mail could not be told (its
// SPF record got no answer): without a key, the check is then undecided,
// as a domain that sends no mail needs none.
func (r *run) recordPresent(found []*lookup, declErr error) {
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
	dangling := r.dangling()
	if missing := v.Problems; len(missing) > 0 {
		first := missing[0]
		var names []string
		for _, m := range missing {
			names = append(names, m+"._domainkey."+r.domain)
		}
		v.FailReason = fmt.Sprintf("no key record at %s, named by %s", probes.JoinNames(names), r.originOf(first))
		fix := fmt.Sprintf("publish the public key of each selector your mail is signed with, e.g. %s, or stop naming selectors you no longer sign with",
			probes.ZoneTXT(first+"._domainkey."+r.domain, keyTemplate(first, "")))
		if len(dangling) > 0 {
			v.FailReason += "; " + danglingPhrase(dangling)
			fix = danglingFix(dangling) + "; " + fix
		}
		v.Fixes = []string{fix}
	}
	if len(v.Problems) == 0 && v.Passes == 0 && len(v.Errs) == 0 {
		if declErr != nil {
			v.Unknown(fmt.Errorf("no DKIM key found at %s, and whether it needs one (whether it sends mail at all) is unknown: %w", r.domain, declErr))
		} else {
			r.noKey(&v, found, dangling)
		}
	} else if len(dangling) > 0 && len(v.Problems) == 0 {
		// Keys are there. An alias beside them without a key is not
		// necessarily stale: Microsoft 365 publishes selector2's key only
		// when it first rotates to it. So it is told, not to be removed.
		r.res.Note("%s: mail signed with %s now would fail DKIM (a provider may publish a selector's key only when it rotates to it, as Microsoft 365 does with selector2)",
			danglingPhrase(dangling), probes.PluralForm(len(dangling), "that selector", "those selectors"))
	}
	v.RecordAny(r.res, checkPresent, fmt.Sprintf("%s publishes a DKIM key at %s: %s", r.domain,
		probes.Plural(len(usable), "selector", "selectors"), probes.JoinNames(usable)))
}

// noKey adds the failure of a domain without any usable key to v.
func (r *run) noKey(v *probes.Verdict, found, dangling []*lookup) {
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
		probes.ZoneTXT("<selector>._domainkey."+r.domain, keyTemplate("", "")), ParamSelector)
	var lines []string
	if len(dangling) > 0 {
		// The aliases say which selectors the domain signs with, and
		// where their keys were: repointing them is the fix.
		if len(found) > 0 {
			reason += "; " + danglingPhrase(dangling)
		} else {
			reason = fmt.Sprintf("no DKIM key found at %s: %s", r.domain, danglingPhrase(dangling))
		}
		fix = danglingFix(dangling)
		for _, l := range dangling {
			lines = append(lines, l.evidence()...)
		}
	}
	v.Fail(reason, fix, lines...)
}

// dangling returns the selectors that are aliases (CNAMEs) to a name
// without a TXT record: what a provider or tenant change leaves behind
// (Microsoft 365's selector1/selector2 still pointing at the old tenant).
func (r *run) dangling() []*lookup {
	var out []*lookup
	for _, l := range r.lookups {
		if l.err == nil && !l.tooLong && !l.found() && !l.wildcard && l.ans != nil && len(l.ans.CNAMEs) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// danglingPhrase names the dangling aliases and where they point:
// "selector1 and selector2 are CNAMEs to names that do not exist:
// selector1._domainkey.m365.test → selector1-….onmicrosoft.com (NXDOMAIN), …".
func danglingPhrase(ls []*lookup) string {
	var sels, where []string
	nx := true
	for _, l := range ls {
		sels = append(sels, l.selector)
		what := "no TXT record"
		if l.ans.NXDomain() {
			what = "NXDOMAIN"
		} else {
			nx = false
		}
		where = append(where, fmt.Sprintf("%s → %s (%s)", probes.Bare(l.name), probes.Bare(l.ans.Owner()), what))
	}
	to := probes.PluralForm(len(ls), "a name that does not exist", "names that do not exist")
	if !nx {
		to = probes.PluralForm(len(ls), "a name without a key record", "names without a key record")
	}
	return fmt.Sprintf("%s %s %s %s: %s", probes.PluralForm(len(ls), "selector", "selectors"), probes.JoinNames(sels),
		probes.PluralForm(len(ls), "is a CNAME to", "are CNAMEs to"), to, strings.Join(where, ", "))
}

// danglingFix says to point the aliases at the keys' current names.
func danglingFix(ls []*lookup) string {
	var aliases []string
	for _, l := range ls {
		aliases = append(aliases, probes.ZoneLine(l.name, "CNAME", "<the target your mail provider shows now>"))
	}
	return fmt.Sprintf("point %s at the key names your mail provider's DKIM settings show now (a provider or tenant change moves them; Microsoft 365: Get-DkimSigningConfig, Selector1CNAME and Selector2CNAME), e.g. %s, or remove the aliases of selectors your mail is no longer signed with",
		probes.PluralForm(len(ls), "the alias", "each alias"), strings.Join(aliases, ", "))
}

// anyValid reports whether a valid, unrevoked key was found.
func anyValid(found []*lookup) bool {
	for _, l := range found {
		if l.valid() {
			return true
		}
	}
	return false
}

// recordNoMail records the checks of a domain that declares it sends no
// mail and publishes no valid key: the key checks do not apply to it, and
// what is checked instead is the protective record, a revoked key (the
// wildcard *._domainkey with an empty p= that M3AAWG advises for parked
// domains), reported when published and optional when not.
func (r *run) recordNoMail(found []*lookup, decl *sending.Declaration) {
	r.res.Skip(checkPresent, fmt.Sprintf("%s sends no mail (%s), and a domain that sends no mail needs no DKIM key", r.domain, decl.Why))
	r.res.SkipAll(decl.SkipReason(), checkKeyValid, checkKeyStrength, checkNotTesting, checkHash, checkEd25519)
	var revoked []string
	var evidence []string
	for _, l := range found {
		if l.revoked() {
			revoked = append(revoked, l.selector)
			evidence = append(evidence, l.evidence()...)
		}
	}
	switch {
	case r.wildcard != nil && r.wildcard.revoked():
		r.res.Pass(checkNotRevoked, fmt.Sprintf("the revoked wildcard key %s (empty p=) answers every selector: any DKIM signature in %s's name fails, as a domain that sends no mail wants",
			"*._domainkey."+r.domain, r.domain), evidence...)
	case len(revoked) > 0:
		r.res.Pass(checkNotRevoked, fmt.Sprintf("%s revoked (empty p=): signatures with %s fail, and %s sends no mail",
			probes.Plural(len(revoked), "selector", "selectors")+" "+probes.JoinNames(revoked), probes.PluralForm(len(revoked), "it", "them"), r.domain), evidence...)
	default:
		r.res.Skip(checkNotRevoked, fmt.Sprintf("no DKIM key record found, and %s sends no mail, so it needs none; a revoked wildcard key (%s) is optional: it makes every signature in its name fail explicitly",
			r.domain, probes.ZoneTXT("*._domainkey."+r.domain, "v=DKIM1; p=")))
	}
}

// keyTemplate is the key record a remediation shows for a selector whose
// key is not at hand: of the type the record declares (keyType), or the
// selector's name says (an "ed25519" selector holds an Ed25519 key), RSA
// otherwise.
func keyTemplate(selector, keyType string) string {
	if keyType == KeyTypeEd25519 || keyType == "" && ed25519Named(selector) {
		return "v=DKIM1; k=ed25519; p=<base64 of the 32-byte public key>"
	}
	return "v=DKIM1; k=rsa; p=<base64 public key>"
}

// ed25519Named reports whether a selector's name says it holds an Ed25519
// key: "ed25519", "eddsa", or a label part "ed" ("2024-ed", "ed.mail").
func ed25519Named(selector string) bool {
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
			probes.ZoneTXT(l.name, keyTemplate(l.selector, declaredType(l)))
	case strings.Contains(fix, "="):
		return "publish " + probes.ZoneTXT(l.name, fix)
	}
	return fix
}

// declaredType is the key type the selector's record declares with k=,
// "" when it declares none that is known (without k=, RSA is only the
// default, and the selector's name may say better what was meant).
func declaredType(l *lookup) string {
	if len(l.records) != 1 {
		return ""
	}
	tags, err := tagvalue.Parse(l.records[0])
	if err != nil {
		return ""
	}
	if t, ok := tags.Get("k"); ok {
		switch v := strings.ToLower(tagvalue.TrimWSP(t.Value)); v {
		case KeyTypeRSA, KeyTypeEd25519:
			return v
		}
	}
	return ""
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
		fix := "publish " + probes.ZoneTXT(l.name, rewrite(l.key.Tags, map[string]string{"t": strings.Join(flags, ":")}))
		if l.key.Type == KeyTypeRSA && l.key.Bits < r.cfg.MinRSABits {
			// dkim.key_strength replaces this key: publishing it again
			// without t=y would keep a key that must go.
			fix = fmt.Sprintf("publish the key that replaces selector %s (dkim.key_strength) without y in t=", l.selector)
			if len(flags) > 0 {
				fix += ", keeping t=" + strings.Join(flags, ":")
			}
		}
		v.Fail(fmt.Sprintf("selector %s has t=%s", l.selector, probes.OneLine(l.key.Tags.Value("t"), 64)), fix, l.evidence()...)
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
