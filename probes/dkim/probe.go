// Package dkim is the probe that looks at a mail domain's DKIM keys
// (RFC 6376 §3.6): it looks up the selectors the module names, those the
// request names (dkim_selector=) and, with discovery on, the selectors
// common providers and MTAs publish under, all at once; it parses every key
// record found and judges its validity, strength, revocation, testing flag
// and hash algorithms, and whether an Ed25519 key (RFC 8463) stands beside
// the RSA ones.
package dkim

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/sending"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tagvalue"
)

// Name is the probe's name (the probe label of its metrics).
const Name = "dkim"

// ParamSelector is the repeatable query parameter naming selectors to look
// up besides the module's (each value one selector, or several separated
// by commas).
const ParamSelector = "dkim_selector"

// Probe checks the DKIM keys of a domain. It is safe for concurrent use.
type Probe struct {
	cfg Config
}

var (
	_ probes.Probe          = (*Probe)(nil)
	_ probes.Describer      = (*Probe)(nil)
	_ probes.ParamValidator = (*Probe)(nil)
)

// New makes a probe. cfg should have passed Validate (decoding it from YAML
// does that).
func New(cfg Config) *Probe {
	cfg.Selectors = append([]string(nil), cfg.Selectors...)
	return &Probe{cfg: cfg}
}

// Registration declares the probe to the engine. It reads whether the
// domain declares that it sends no mail (the spf block supplies that
// fact): such a domain needs no key, and its revoked keys protect it.
var Registration = probes.Register(Name, []string{sending.FactName}, DefaultConfig,
	func(c Config, _ probes.Setup) *Probe { return New(c) })

// Name returns "dkim".
func (p *Probe) Name() string { return Name }

// ParamNames says the probe reads dkim_selector=.
func (p *Probe) ParamNames() []string { return []string{ParamSelector} }

// SplitSelectors returns the selectors of dkim_selector= values: each value
// is one selector or several separated by commas (no selector has one),
// which is how Prometheus' single-valued __param_dkim_selector label
// carries more than one.
func SplitSelectors(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

// ValidateParams checks the dkim_selector= values.
func (p *Probe) ValidateParams(v url.Values) error {
	values := SplitSelectors(v[ParamSelector])
	if len(values) > maxSelectors {
		return fmt.Errorf("%s: %d given; at most %d", ParamSelector, len(values), maxSelectors)
	}
	for _, s := range values {
		if err := ValidateSelector(s); err != nil {
			return fmt.Errorf("%s: %w", ParamSelector, err)
		}
	}
	return nil
}

// origin says where a selector to look up came from.
type origin int

const (
	originConfig origin = iota
	originParam
	originDiscovery
)

func (o origin) String() string {
	switch o {
	case originConfig:
		return "module selectors"
	case originParam:
		return ParamSelector
	}
	return "discovery list"
}

// named reports whether someone asked for the selector by name, so its
// absence is a finding rather than a miss of a guess.
func (o origin) named() bool { return o != originDiscovery }

// candidate is a selector to look up.
type candidate struct {
	selector string // lower case
	origin   origin
}

// candidates merges the module's, the request's and the discovery list's
// selectors, each once, the named origin winning.
func (p *Probe) candidates(req *probes.Request, res *probes.Result) []candidate {
	var out []candidate
	seen := map[string]bool{}
	add := func(s string, o origin) {
		s = strings.ToLower(s)
		if !seen[s] {
			seen[s] = true
			out = append(out, candidate{selector: s, origin: o})
		}
	}
	for _, s := range p.cfg.Selectors {
		add(s, originConfig)
	}
	params := SplitSelectors(req.Params[ParamSelector])
	if len(params) > maxSelectors {
		res.Note("%s: only the first %d of %d values are looked up", ParamSelector, maxSelectors, len(params))
		params = params[:maxSelectors]
	}
	for _, s := range params {
		// The collector refuses bad values before Run; a caller that
		// skipped ValidateParams still gets no malformed question sent.
		if err := ValidateSelector(s); err != nil {
			res.Note("%s %q ignored: %v", ParamSelector, s, err)
			continue
		}
		add(s, originParam)
	}
	if p.cfg.Discover {
		for _, s := range discoverySelectors {
			add(s, originDiscovery)
		}
	}
	return out
}

// lookup is what one selector name answered.
type lookup struct {
	candidate
	name    string // fully qualified
	ans     *dnsclient.Answer
	err     error
	tooLong bool
	// wildcard: the answer is the domain's *._domainkey wildcard, not a
	// key published for this selector.
	wildcard bool
	records  []string
	key      *Key
	keyErr   *KeyError
}

// found reports whether a key record answered for the selector itself.
func (l *lookup) found() bool { return !l.wildcard && len(l.records) > 0 }

// usable reports whether the selector has a key record that is not revoked
// (valid or not).
func (l *lookup) usable() bool { return l.found() && (l.key == nil || !l.key.Revoked) }

// valid reports whether the selector has a valid, unrevoked key.
func (l *lookup) valid() bool { return l.found() && l.key != nil && !l.key.Revoked }

func (l *lookup) revoked() bool { return l.found() && l.key != nil && l.key.Revoked }

// Run checks the target's DKIM keys. It returns when the checks are done or
// ctx ends, whichever is first, with what it found.
func (p *Probe) Run(ctx context.Context, req *probes.Request, env *probes.Env) *probes.Result {
	r := &run{cfg: p.cfg, ctx: ctx, req: req, env: env, res: probes.NewResult(Name), domain: req.Target.Name}
	if why := req.Target.NotADomain("DKIM keys"); why != "" {
		r.res.SkipAll(why, allChecks...)
		return r.res
	}
	cands := p.candidates(req, r.res)
	if len(cands) == 0 {
		r.res.SkipAll("no selectors to look up: the module's dkim block has discover: false and no selectors, and the request has no "+ParamSelector+"=", allChecks...)
		return r.res
	}
	// Whether the domain sends mail at all is asked beside the selectors:
	// it depends on none of them, so it costs no round of its own.
	var tasks flight.Tasks
	tasks.Go(func() { r.decl, r.declErr = sending.Of(ctx, req, env) })
	r.lookups, r.wildcard = lookupSelectors(ctx, env.DNS, r.domain, cands, p.cfg.Discover)
	tasks.Wait()
	r.judge()
	return r.res
}

// run is the state of one Run.
type run struct {
	cfg    Config
	ctx    context.Context
	req    *probes.Request
	env    *probes.Env
	res    *probes.Result
	domain string
	// lookups are in candidate order; the wildcard, when it answered,
	// comes last as selector "*".
	lookups  []*lookup
	wildcard *lookup
	// decl says whether the domain declares it sends no mail; declErr is
	// why that is unknown.
	decl    *sending.Declaration
	declErr error
}

// lookupSelectors asks TXT of every selector (and, with discovery, of a
// label no provider uses, to recognise a wildcard) at once: the answers do
// not depend on each other, so the whole list costs one round trip.
func lookupSelectors(ctx context.Context, r *dnsclient.Resolver, domain string, cands []candidate, discover bool) ([]*lookup, *lookup) {
	lookups := make([]*lookup, len(cands))
	for i, c := range cands {
		lookups[i] = &lookup{candidate: c, name: dns.Fqdn(c.selector + "._domainkey." + domain)}
	}
	var wild *lookup
	all := lookups
	if discover {
		wild = &lookup{candidate: candidate{selector: "*", origin: originDiscovery},
			name: dns.Fqdn(wildcardLabel + "._domainkey." + domain)}
		all = append(append([]*lookup(nil), lookups...), wild)
	}
	var tasks flight.Tasks
	for _, l := range all {
		// RFC 1035 §2.3.4 via RFC 2181 §11: 255 octets on the wire, 253
		// characters of text.
		if len(l.name) > 254 {
			l.tooLong = true
			continue
		}
		tasks.Go(func() {
			ans, err := r.Lookup(ctx, l.name, dns.TypeTXT)
			if err != nil {
				l.err = fmt.Errorf("DKIM selector %s: %w", l.selector, err)
				return
			}
			l.ans = ans
			l.records = ans.TXT()
		})
	}
	tasks.Wait()
	if wild != nil && len(wild.records) == 0 {
		wild = nil
	}
	for _, l := range all {
		if !l.found() {
			continue
		}
		if wild != nil && l != wild && l.origin == originDiscovery && len(l.ans.CNAMEs) == 0 && sameSet(l.records, wild.records) {
			l.wildcard = true
			continue
		}
		l.parse()
	}
	if wild != nil {
		lookups = append(lookups, wild)
	}
	return lookups, wild
}

// parse parses the selector's key record.
func (l *lookup) parse() {
	if len(l.records) > 1 {
		// RFC 6376 §3.6.2.2: several TXT records at a selector make the
		// result undefined; verifiers may pick any.
		l.keyErr = &KeyError{Reason: fmt.Sprintf("%d TXT records; RFC 6376 §3.6.2.2 leaves a selector with several records undefined", len(l.records)),
			Fix: "keep exactly one TXT record at " + l.name}
		return
	}
	k, err := ParseKey(l.records[0])
	if err != nil {
		if !errors.As(err, &l.keyErr) {
			l.keyErr = &KeyError{Reason: err.Error()}
		}
		return
	}
	l.key = k
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
		if count[s] < 0 {
			return false
		}
	}
	return true
}

// judge records every check and measurement from the lookups.
func (r *run) judge() {
	var found []*lookup
	for _, l := range r.lookups {
		if l.err != nil {
			r.res.Error(l.err)
		}
		if l.found() {
			found = append(found, l)
		}
	}
	r.measure(found)
	r.detail()
	if r.wildcard != nil {
		r.res.Note("%s answers for any selector (a wildcard *._domainkey record): discovered selectors that only match it are not reported", r.wildcard.name)
	}
	decl, declErr := r.decl, r.declErr
	if errors.Is(declErr, probes.ErrNotProvided) {
		// No spf block: nothing says whether the domain sends, so it is
		// judged as one that may.
		decl, declErr = nil, nil
	}
	if decl != nil && decl.NoMail {
		if !anyValid(found) {
			r.recordNoMail(found, decl)
			return
		}
		var live []string
		for _, l := range found {
			if l.valid() {
				live = append(live, l.selector)
			}
		}
		r.res.Note("%s declares that it sends no mail (%s), yet it publishes DKIM keys at %s, and mail signed with them passes DMARC: if the domain really sends nothing, revoke them (empty p=)",
			r.domain, decl.Why, probes.JoinNames(live))
	}
	r.recordPresent(found, declErr)
	r.recordKeyValid(found)
	r.recordStrength(found)
	r.recordRevoked(found)
	r.recordTesting(found)
	r.recordHash(found)
	r.recordEd25519(found)
}

func (r *run) measure(found []*lookup) {
	r.res.Measure(metricSelectorsFound, float64(len(found)))
	for _, l := range found {
		keyType, flags := declared(l)
		r.res.Measure(metricKeyInfo, 1, l.selector, keyType, flags)
		r.res.Measure(metricKeyRevoked, boolValue(l.revoked()), l.selector)
		if l.valid() {
			r.res.Measure(metricKeyBits, float64(l.key.Bits), l.selector, l.key.Type)
		}
	}
}

// declared returns the key type and t= flags a record declares, for
// labels: "rsa", "ed25519" or "unknown", and "", "y", "s" or "y:s".
func declared(l *lookup) (string, string) {
	if l.key != nil {
		return l.key.Type, l.key.FlagsLabel()
	}
	if len(l.records) != 1 {
		return "unknown", ""
	}
	tags, err := tagvalue.Parse(l.records[0])
	if err != nil {
		return "unknown", ""
	}
	k := &Key{Type: KeyTypeRSA, Flags: lowerList(tags.Value("t"))}
	if t, ok := tags.Get("k"); ok {
		k.Type = strings.ToLower(t.Value)
	}
	if k.Type != KeyTypeRSA && k.Type != KeyTypeEd25519 {
		k.Type = "unknown"
	}
	return k.Type, k.FlagsLabel()
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// detail adds the report block listing every selector asked and what it
// answered.
func (r *run) detail() {
	var lines []string
	// Discovered selectors that are not there are most of the list: one
	// line for all of them.
	var absent, wildcard []string
	for _, l := range r.lookups {
		switch {
		case l.origin == originDiscovery && l.wildcard:
			wildcard = append(wildcard, l.selector)
		case l.origin == originDiscovery && l.err == nil && !l.found() && !l.tooLong:
			absent = append(absent, l.selector)
		default:
			lines = append(lines, fmt.Sprintf("%-14s %-16s %s", l.selector, "("+l.origin.String()+")", l.outcome()))
		}
	}
	if len(absent) > 0 {
		lines = append(lines, fmt.Sprintf("no record at %d selectors of the discovery list: %s", len(absent), strings.Join(absent, ", ")))
	}
	if len(wildcard) > 0 {
		lines = append(lines, fmt.Sprintf("only the wildcard answers %d selectors of the discovery list: %s", len(wildcard), strings.Join(wildcard, ", ")))
	}
	r.res.AddDetail("DKIM selectors looked up at "+r.domain, lines...)
}

// outcome says in a few words what the selector answered.
func (l *lookup) outcome() string {
	switch {
	case l.tooLong:
		return "not looked up: " + l.name + " is longer than a DNS name can be"
	case l.err != nil:
		return "no answer: " + l.err.Error()
	case l.wildcard:
		return "only the wildcard answers"
	case !l.found():
		if l.ans != nil && len(l.ans.CNAMEs) > 0 {
			return fmt.Sprintf("alias to %s, which has no TXT record", probes.Bare(l.ans.Owner()))
		}
		if l.ans != nil && l.ans.NXDomain() {
			return "no record (NXDOMAIN)"
		}
		return "no TXT record"
	case l.keyErr != nil:
		return "invalid: " + l.keyErr.Reason
	case l.key.Revoked:
		return "revoked (empty p=)"
	}
	return l.key.summary()
}

// summary describes a valid key: "rsa 2048 bits".
func (k *Key) summary() string {
	s := fmt.Sprintf("%s, %d bits", k.Type, k.Bits)
	if k.Type == KeyTypeRSA {
		s += ", " + k.Encoding
	}
	if f := k.FlagsLabel(); f != "" {
		s += ", t=" + f
	}
	if k.Hashes != nil {
		s += ", h=" + strings.Join(k.Hashes, ":")
	}
	return s
}

// evidence renders what the selector's name answered.
func (l *lookup) evidence() []string {
	var lines []string
	owner := l.name
	var wildcardNote string
	if l.selector == "*" {
		// The answer to a selector nobody uses is the wildcard record;
		// it is shown as published.
		owner = "*._domainkey." + strings.TrimPrefix(l.name, wildcardLabel+"._domainkey.")
		wildcardNote = fmt.Sprintf("(the answer to %s, a selector nobody uses)", l.name)
	}
	if l.ans != nil {
		prev := l.name
		for _, c := range l.ans.CNAMEs {
			lines = append(lines, fmt.Sprintf("%s CNAME %s", prev, c))
			prev = c
		}
		if len(l.ans.CNAMEs) > 0 {
			owner = prev
		}
	}
	switch {
	case l.tooLong:
		lines = append(lines, l.name+" is longer than 253 characters; not looked up")
	case l.err != nil:
		lines = append(lines, l.err.Error())
	case len(l.records) == 0 && l.ans != nil && l.ans.NXDomain():
		lines = append(lines, owner+" no TXT record (NXDOMAIN)")
	case len(l.records) == 0:
		lines = append(lines, owner+" no TXT record")
	}
	for _, rec := range l.records {
		lines = append(lines, owner+" TXT "+probes.Quote(rec))
	}
	if wildcardNote != "" {
		lines = append(lines, wildcardNote)
	}
	return lines
}
