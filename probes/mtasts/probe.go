// Package mtasts is the probe that looks at a mail domain's MTA-STS policy
// (RFC 8461) the way a sending MTA finds and applies it: the _mta-sts TXT
// record (exactly one, v=STSv1 with a valid id), the policy fetched from
// https://mta-sts.<domain>/.well-known/mta-sts.txt (HTTPS with a verified
// certificate, no redirects, 200, text/plain, size-limited, within a
// timeout), parsed strictly, and every MX host matched against its mx:
// patterns. In enforce mode it also asks whether each MX host presents a
// certificate valid for its name (RFC 8461 §4.2), reading the SMTP probe's
// conversations of the same request instead of connecting again. A
// process-wide Memory remembers each domain's last policy, so a policy
// whose content changed while its id did not is reported: senders keep the
// old one until its max_age runs out.
//
// The lookups take one round beside the MX discovery all probes share: the
// TXT record and the policy host's A and AAAA at once. Then the policy is
// fetched, at most once per probe.
package mtasts

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// Name is the probe's name (the probe label of its metrics).
const Name = "mtasts"

// maxTXTLines bounds the TXT records quoted as evidence: a name with
// hundreds of them must not flood the report.
const maxTXTLines = 10

// Probe checks the MTA-STS set-up of a mail domain. It is safe for
// concurrent use.
type Probe struct {
	cfg    Config
	memory *Memory
}

var (
	_ probes.Probe     = (*Probe)(nil)
	_ probes.Describer = (*Probe)(nil)
)

// New makes a probe. cfg should have passed Validate (decoding it from YAML
// does that). In enforce mode every MX host's certificate is checked from
// the SMTP conversations of the request (smtpsession.FactName) when the
// module's smtp block provides them; without them, that part is left out
// and the report says how to add it. memory is the process-wide policy
// memory; nil gives the probe one of its own, which a config reload then
// forgets.
func New(cfg Config, memory *Memory) *Probe {
	p := &Probe{cfg: cfg, memory: memory}
	if p.memory == nil {
		p.memory = NewMemory(0)
	}
	return p
}

// Registration declares the probe to the engine; the policy memory is
// process-wide, so a reload keeps what the policies were.
var Registration = probes.Register(Name,
	[]string{mailhosts.FactName, smtpsession.FactName},
	DefaultConfig, func(c Config, s probes.Setup) *Probe { return New(c, SharedMemory(s.Kept)) })

// SharedMemory returns the process-wide policy memory kept in k.
func SharedMemory(k *probes.Kept) *Memory {
	return probes.Keep(k, "mtasts.memory", nil, func() *Memory { return NewMemory(DefaultMemoryDomains) })
}

// Name returns "mtasts".
func (p *Probe) Name() string { return Name }

// run is the state of one Run.
type run struct {
	p      *Probe
	ctx    context.Context
	req    *probes.Request
	env    *probes.Env
	res    *probes.Result
	domain string
	// policyHost is mta-sts.<domain>.
	policyHost string

	set    *mailhosts.Set
	setErr error

	txtName string // _mta-sts.<domain>.
	txt     *dnsclient.Answer
	txtErr  error

	hostA, hostAAAA       *dnsclient.Answer
	hostAErr, hostAAAAErr error

	record *Record
	fetch  *fetched
	policy *Policy
}

// Run checks the target's MTA-STS set-up. It returns when the checks are
// done or ctx ends, whichever is first, with what it found.
func (p *Probe) Run(ctx context.Context, req *probes.Request, env *probes.Env) *probes.Result {
	r := &run{p: p, ctx: ctx, req: req, env: env, res: probes.NewResult(Name)}
	if why := req.Target.NotADomain("MTA-STS policies"); why != "" {
		r.res.SkipAll(why, allChecks...)
		return r.res
	}
	r.domain = req.Target.Name
	r.policyHost = "mta-sts." + r.domain
	r.checkDomain()
	return r.res
}

// checkDomain runs every check on a mail domain.
func (r *run) checkDomain() {
	r.lookup()
	if r.setErr == nil {
		switch {
		case r.set.MX != nil && r.set.MX.NXDomain():
			r.res.SkipAll(r.domain+" does not exist (NXDOMAIN)", allChecks...)
			return
		case r.set.NullMX && len(r.set.Hosts) == 0:
			r.res.SkipAll(r.domain+" receives no mail (null MX, RFC 7505): there is no delivery for MTA-STS to protect", allChecks...)
			return
		}
	}
	if !r.judgeRecord() || !r.judgePolicy() {
		return
	}
	r.judgeMode()
	r.judgeMaxAge()
	r.judgeMXMatch()
	r.judgeIDChanged()
}

// lookup asks everything that depends on nothing else at once: the TXT
// record and the policy host's addresses, beside the shared MX discovery.
func (r *run) lookup() {
	dnsr := r.env.DNS
	r.txtName = dns.Fqdn("_mta-sts." + r.domain)
	var tasks flight.Tasks
	tasks.Go(func() {
		r.txt, r.txtErr = dnsr.Lookup(r.ctx, r.txtName, dns.TypeTXT)
		if r.txtErr != nil {
			r.txtErr = fmt.Errorf("MTA-STS record of %s: %w", r.domain, r.txtErr)
		}
	})
	tasks.Go(func() {
		r.hostA, r.hostAErr = dnsr.Lookup(r.ctx, r.policyHost, dns.TypeA)
	})
	tasks.Go(func() {
		r.hostAAAA, r.hostAAAAErr = dnsr.Lookup(r.ctx, r.policyHost, dns.TypeAAAA)
	})
	r.set, r.setErr = mailhosts.Discover(r.ctx, r.req, r.env)
	tasks.Wait()
}

// policyAddrs returns the policy host's addresses, IPv4 first, at most
// the request's limits.addresses_per_host of them: a sender tries a few,
// and a host name with thousands must not turn into thousands of
// connection attempts. The error is set when they are unknown: both
// questions failed, or one failed and the other found nothing.
func (r *run) policyAddrs() ([]netip.Addr, error) {
	var addrs []netip.Addr
	limit := r.env.Limit().AddressesPerHost
	for _, a := range []*dnsclient.Answer{r.hostA, r.hostAAAA} {
		if a != nil && len(addrs) < limit {
			addrs = append(addrs, a.FirstAddrs(limit-len(addrs))...)
		}
	}
	if len(addrs) == 0 {
		for _, err := range []error{r.hostAErr, r.hostAAAAErr} {
			if err != nil {
				return nil, fmt.Errorf("addresses of the MTA-STS policy host %s: %w", r.policyHost, err)
			}
		}
	}
	return addrs, nil
}

// policyHostResolves reports whether the policy host is known to have an
// address.
func (r *run) policyHostResolves() bool {
	addrs, err := r.policyAddrs()
	return err == nil && len(addrs) > 0
}

// dependents are the checks that need a fetched, parsed policy.
var dependents = []probes.CheckSpec{checkMXMatch, checkMode, checkMaxAge, checkIDChanged}

// judgeRecord records mtasts.record. It reports whether a record senders
// accept was found; when not, the checks that need one are recorded too.
func (r *run) judgeRecord() bool {
	if r.txtErr != nil {
		r.res.UndecidedAll(r.txtErr, allChecks...)
		return false
	}
	var records, misfits []string
	for _, t := range r.txt.TXT() {
		switch {
		case IsRecord(t):
			records = append(records, t)
		case LooksLikeRecord(t):
			misfits = append(misfits, t)
		}
	}
	evidence := probes.TXTEvidence(r.txtName, r.txt, maxTXTLines)
	noPolicy := "no valid _mta-sts record: senders look no further and apply no MTA-STS policy (RFC 8461 §3.1)"
	switch {
	case len(records) == 0:
		reason := probes.Bare(r.txtName) + " publishes no MTA-STS record"
		if len(misfits) > 0 {
			reason += fmt.Sprintf("; senders discard %s because it does not begin with exactly \"v=STSv1\"", probes.Quote(misfits[0]))
		}
		if r.policyHostResolves() {
			reason += "; " + r.policyHost + " resolves, but senders never fetch a policy without the record"
		}
		r.res.Fail(checkRecord, reason, r.starterRemedy(), evidence...)
		r.res.SkipAll(noPolicy, checkPolicy)
		r.res.SkipAll(noPolicy, dependents...)
		return false
	case len(records) > 1:
		r.res.Fail(checkRecord,
			fmt.Sprintf("%s publishes %d records that begin with v=STSv1; with more than one, senders apply no policy (RFC 8461 §3.1)", probes.Bare(r.txtName), len(records)),
			"keep exactly one: "+r.txtRemedy(freshID(r.now())), evidence...)
		r.res.SkipAll(noPolicy, checkPolicy)
		r.res.SkipAll(noPolicy, dependents...)
		return false
	}
	rec, err := ParseRecord(records[0])
	if err != nil {
		r.res.Fail(checkRecord,
			fmt.Sprintf("the record at %s is not valid, so senders ignore it: %s", probes.Bare(r.txtName), err),
			"publish "+r.txtRemedy(freshID(r.now())), evidence...)
		r.res.SkipAll(noPolicy, checkPolicy)
		r.res.SkipAll(noPolicy, dependents...)
		return false
	}
	r.record = rec
	reason := fmt.Sprintf("%s publishes v=STSv1 with id=%s", probes.Bare(r.txtName), rec.ID)
	if len(rec.Duplicates) > 0 {
		reason += fmt.Sprintf(" (%s given more than once: senders use the first)", strings.Join(rec.Duplicates, ", "))
	}
	r.res.Pass(checkRecord, reason, evidence...)
	return true
}

// judgePolicy fetches and parses the policy and records mtasts.policy. It
// reports whether a valid policy was found; when not, the checks that need
// one are recorded too.
func (r *run) judgePolicy() bool {
	addrs, err := r.policyAddrs()
	if err != nil {
		r.res.UndecidedAll(err, checkPolicy)
		r.res.UndecidedAll(err, dependents...)
		return false
	}
	noPolicy := "no policy was fetched (mtasts.policy says why)"
	url := policyURL(r.policyHost, 443)
	if len(addrs) == 0 {
		r.res.Fail(checkPolicy,
			fmt.Sprintf("the policy host %s has no A or AAAA record, so senders cannot fetch %s", r.policyHost, url),
			fmt.Sprintf("publish A and/or AAAA records for %s, pointing to a web server that %s", r.policyHost, r.serveRemedy(r.starterPolicy())),
			r.hostEvidence()...)
		r.res.SkipAll(noPolicy, dependents...)
		return false
	}
	permitted, denied := r.permitted(addrs)
	if len(permitted) == 0 {
		r.res.SkipAll(fmt.Sprintf("the policy host %s was not contacted: %s", r.policyHost, denied), checkPolicy)
		r.res.SkipAll(noPolicy, dependents...)
		return false
	}
	f := fetchPolicy(r.ctx, r.env, r.policyHost, permitted, r.p.cfg.HTTPSPort, r.p.cfg.MaxBodyBytes, r.p.cfg.FetchTimeout)
	r.fetch = f
	r.measureCertificate(f)
	evidence := append(r.hostEvidence(), r.fetchEvidence(f)...)
	if f.Aborted {
		r.res.Undecided(checkPolicy, f.Err)
		r.res.UndecidedAll(f.Err, dependents...)
		return false
	}
	if problem, fix := r.fetchProblem(f); problem != "" {
		r.res.Fail(checkPolicy, problem, fix, evidence...)
		r.res.SkipAll(noPolicy, dependents...)
		return false
	}
	pol, err := ParsePolicy(f.Body)
	r.detailPolicy(f)
	if err != nil {
		if pe, ok := err.(*PolicyError); ok && pe.Line > 0 {
			evidence = append(evidence, fmt.Sprintf("line %d: %s", pe.Line, probes.Quote(policyLine(f.Body, pe.Line))))
		}
		r.res.Fail(checkPolicy,
			fmt.Sprintf("the policy at %s does not parse, so senders ignore it: %s", url, err),
			r.serveRemedy(r.starterPolicy())+"; then publish a new id: "+r.txtRemedy(freshID(r.now())),
			evidence...)
		r.res.SkipAll("the policy does not parse (mtasts.policy)", dependents...)
		return false
	}
	r.policy = pol
	evidence = append(evidence, policyEvidence(pol)...)
	reason := fmt.Sprintf("%s serves a valid policy: mode %s, max_age %d, %s", url, pol.Mode, pol.MaxAge, probes.Plural(len(pol.MX), "mx pattern", "mx patterns"))
	if len(pol.Duplicates) > 0 {
		reason += fmt.Sprintf(" (%s given more than once: senders use the first)", strings.Join(probes.Dedup(pol.Duplicates), ", "))
	}
	r.res.Pass(checkPolicy, reason, evidence...)
	r.res.Measure(metricPolicyInfo, 1, string(pol.Mode))
	r.res.Measure(metricMaxAge, float64(pol.MaxAge))
	return true
}

// permitted keeps the addresses the module's networks let the probe
// connect to, and says why the others were left out.
func (r *run) permitted(addrs []netip.Addr) ([]netip.Addr, string) {
	p, ok := r.env.Dialer.(interface{ Permit(netip.Addr) error })
	if !ok {
		return addrs, ""
	}
	var out []netip.Addr
	var why []string
	for _, ip := range addrs {
		if err := p.Permit(ip); err != nil {
			why = append(why, err.Error())
			continue
		}
		out = append(out, ip)
	}
	return out, probes.JoinPhrases(probes.Dedup(why))
}

// hostEvidence lists the policy host's addresses.
func (r *run) hostEvidence() []string {
	var lines []string
	for _, a := range []*dnsclient.Answer{r.hostA, r.hostAAAA} {
		if a == nil {
			continue
		}
		prev := dns.Fqdn(r.policyHost)
		for _, c := range a.CNAMEs {
			lines = append(lines, prev+" CNAME "+c)
			prev = c
		}
		limit := r.env.Limit().AddressesPerHost
		for _, ip := range a.FirstAddrs(limit) {
			lines = append(lines, fmt.Sprintf("%s %s %s", a.Owner(), dnsclient.TypeName(a.Type), ip))
		}
		if more := len(a.Records) - limit; more > 0 {
			lines = append(lines, fmt.Sprintf("%s: %d more %s records not shown", a.Owner(), more, dnsclient.TypeName(a.Type)))
		}
		if a.Empty() {
			what := "no " + dnsclient.TypeName(a.Type) + " record"
			if a.NXDomain() {
				what += " (NXDOMAIN)"
			}
			lines = append(lines, a.Owner()+" "+what)
		}
	}
	for _, err := range []error{r.hostAErr, r.hostAAAAErr} {
		if err != nil {
			lines = append(lines, err.Error())
		}
	}
	return probes.Dedup(lines)
}

// fetchEvidence says what the fetch saw.
func (r *run) fetchEvidence(f *fetched) []string {
	var lines []string
	if f.Addr.IsValid() {
		lines = append(lines, fmt.Sprintf("GET %s from %s in %s", f.URL, f.Addr, f.Duration.Round(time.Millisecond)))
	}
	if len(f.Chain) > 0 {
		leaf := f.Chain[0]
		lines = append(lines, fmt.Sprintf("certificate: %s, issued by %s, valid %s to %s",
			certNames(leaf.Subject.CommonName, leaf.DNSNames), leaf.Issuer.CommonName,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339)))
	}
	if f.Status != 0 {
		line := fmt.Sprintf("HTTP %d %s", f.Status, f.StatusText)
		if f.ContentType != "" {
			line += ", Content-Type: " + probes.Quote(f.ContentType)
		}
		if f.Location != "" {
			line += ", Location: " + probes.Quote(f.Location)
		}
		if f.Status == 200 {
			size := fmt.Sprintf("%d bytes", len(f.Body))
			if f.TooLarge {
				size = fmt.Sprintf("more than %d bytes", len(f.Body))
			}
			line += ", " + size
		}
		lines = append(lines, line)
	}
	if f.Err != nil {
		lines = append(lines, fmt.Sprintf("stopped at the %s stage: %s", f.Stage, probes.OneLine(f.Err.Error(), 300)))
	}
	return lines
}

// fetchProblem says why a completed (or failed) fetch gives senders no
// policy, and what to do; "" when the body is there to parse.
func (r *run) fetchProblem(f *fetched) (problem, fix string) {
	url := policyURL(r.policyHost, 443)
	serve := r.serveRemedy(r.starterPolicy())
	switch {
	case f.CertErr != nil:
		return fmt.Sprintf("the certificate of %s does not verify, so senders do not fetch the policy: %s", r.policyHost, probes.OneLine(f.CertErr.Error(), 300)),
			fmt.Sprintf("install a certificate for %s from a CA senders trust (a public CA such as Let's Encrypt) with its intermediates, and renew it before it expires", r.policyHost)
	case f.Err != nil && f.Stage == stageConnect:
		return fmt.Sprintf("senders cannot connect to %s: %s", r.policyHost, probes.OneLine(f.Err.Error(), 300)),
			fmt.Sprintf("make the web server of %s accept HTTPS on port 443 at every address it publishes", r.policyHost)
	case f.Err != nil:
		return fmt.Sprintf("fetching %s failed at the %s stage: %s", url, f.Stage, probes.OneLine(f.Err.Error(), 300)),
			"make sure the web server answers promptly: " + serve
	case f.Status >= 300 && f.Status < 400:
		where := "no Location"
		if f.Location != "" {
			where = probes.Quote(probes.Clip(f.Location, 200))
		}
		return fmt.Sprintf("%s redirects (%d) to %s; senders do not follow redirects (RFC 8461 §3.3)", url, f.Status, where),
			"serve the policy at that exact address instead of redirecting: " + serve
	case f.Status != 200:
		return fmt.Sprintf("%s answers %d %s instead of 200", url, f.Status, f.StatusText), serve
	}
	if p := contentTypeProblem(f.ContentType); p != "" {
		return fmt.Sprintf("%s is served with %s; senders want text/plain (RFC 8461 §3.3)", url, p), serve
	}
	if f.TooLarge {
		return fmt.Sprintf("the policy at %s is larger than %d bytes (max_body_bytes); senders stop reading at 64 KiB (RFC 8461 §3.3)", url, r.p.cfg.MaxBodyBytes), serve
	}
	return "", ""
}

// measureCertificate exports the policy host's certificate dates, verified
// or not: an expired certificate must still show when it expired.
func (r *run) measureCertificate(f *fetched) {
	if len(f.Chain) == 0 {
		return
	}
	earliest := f.Chain[0].NotAfter
	for _, c := range f.Chain[1:] {
		if c.NotAfter.Before(earliest) {
			earliest = c.NotAfter
		}
	}
	r.res.Measure(metricCertExpiry, float64(earliest.Unix()))
	r.res.Measure(metricCertNotBefore, float64(f.Chain[0].NotBefore.Unix()))
}

// detailPolicy adds the policy as served to the report.
func (r *run) detailPolicy(f *fetched) {
	const maxLines = 40
	lines := strings.Split(strings.TrimSuffix(string(f.Body), "\n"), "\n")
	out := make([]string, 0, min(len(lines), maxLines+1))
	for i, l := range lines {
		if i == maxLines {
			out = append(out, fmt.Sprintf("… and %d more lines", len(lines)-maxLines))
			break
		}
		out = append(out, printable(probes.Clip(strings.TrimSuffix(l, "\r"), 200)))
	}
	r.res.AddDetail("MTA-STS policy served at "+policyURL(r.policyHost, 443), out...)
}

// judgeMode records mtasts.mode.
func (r *run) judgeMode() {
	pol := r.policy
	switch pol.Mode {
	case ModeEnforce:
		r.res.Pass(checkMode, "mode enforce: senders deliver only over authenticated TLS to the MX hosts the policy lists")
		return
	case ModeTesting:
		r.res.Fail(checkMode, "mode testing: senders report TLS failures (TLS-RPT) but still deliver without authenticated TLS",
			r.enforceRemedy(), "mode: testing")
	default:
		r.res.Fail(checkMode, "mode none: the domain has withdrawn its MTA-STS policy",
			r.enforceRemedy(), "mode: none")
	}
}

// enforceRemedy is the policy switched to enforce, with a new id.
func (r *run) enforceRemedy() string {
	next := *r.policy
	next.Mode = ModeEnforce
	if len(next.MX) == 0 {
		next.MX = r.starterPolicy().MX
	}
	return fmt.Sprintf("once TLS-RPT reports show no failures, switch to enforce: serve %q, then publish a new id: %s", next.Text(), r.txtRemedy(freshID(r.now())))
}

// judgeMaxAge records mtasts.max_age.
func (r *run) judgeMaxAge() {
	least := int64(r.p.cfg.MinMaxAge / time.Second)
	age := r.policy.MaxAge
	line := fmt.Sprintf("max_age: %d", age)
	if age >= least {
		r.res.Pass(checkMaxAge, fmt.Sprintf("max_age %d (%s) is at least %d (%s)", age, humanSeconds(age), least, humanSeconds(least)), line)
		return
	}
	want := max(least, 604800)
	r.res.Fail(checkMaxAge,
		fmt.Sprintf("max_age %d (%s) is under %d (%s): senders forget the policy soon, leaving a window for a downgrade (RFC 8461 advises weeks)", age, humanSeconds(age), least, humanSeconds(least)),
		fmt.Sprintf("set \"max_age: %d\" (%s) in the policy, then publish a new id: %s", want, humanSeconds(want), r.txtRemedy(freshID(r.now()))),
		line)
}

// judgeIDChanged records mtasts.id_changed from the process-wide memory.
func (r *run) judgeIDChanged() {
	id := r.record.ID
	hash := r.policy.Hash()
	obs := r.p.memory.Observe(r.domain, id, hash, time.Duration(r.policy.MaxAge)*time.Second, r.now())
	evidence := fmt.Sprintf("id=%s, policy digest %x", id, hash[:8])
	switch {
	case obs.First:
		// Nothing to compare with is not a pass; nor is it "undecided",
		// which would make every first probe of a domain an error.
		r.res.Skip(checkIDChanged, fmt.Sprintf("first sight of %s's policy (id %s, policy digest %x) since the exporter started: remembered for the next probe, which compares it", r.domain, id, hash[:8]))
	case obs.PreviousID != "":
		r.res.Pass(checkIDChanged, fmt.Sprintf("the id changed from %s to %s since the last probe, so senders fetch the policy again", obs.PreviousID, id), evidence)
	case obs.Stale:
		r.res.Fail(checkIDChanged,
			fmt.Sprintf("the policy changed at %s while the id stayed %s: senders that fetched the old policy keep it until %s (its max_age)",
				stamp(obs.Since), id, stamp(obs.Until)),
			"publish a new id whenever the policy changes: "+r.txtRemedy(freshID(r.now())),
			evidence)
	default:
		r.res.Pass(checkIDChanged, fmt.Sprintf("the policy is unchanged under id %s since %s", id, stamp(obs.Since)), evidence)
	}
}

func (r *run) now() time.Time {
	if r.env.Now != nil {
		return r.env.Now()
	}
	return time.Now()
}
