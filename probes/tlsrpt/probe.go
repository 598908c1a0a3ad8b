// Package tlsrpt is the probe that looks at a mail domain's SMTP TLS
// Reporting record (RFC 8460): one TXT record at _smtp._tls.<domain> that
// begins with v=TLSRPTv1 and names, in rua=, where sending MTAs send their
// daily reports of TLS failures (MTA-STS and DANE problems show up there
// first). The record is read as reporters read it: records that do not
// begin with v=TLSRPTv1 are discarded, more than one leaves the domain
// without reports, and the rua= URIs must be mailto: or https: destinations
// a reporter can use.
//
// The lookup goes out beside the MX discovery all probes share, so the
// probe costs one round.
package tlsrpt

import (
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// Name is the probe's name (the probe label of its metrics).
const Name = "tlsrpt"

// maxTXTLines bounds the TXT records quoted as evidence: a name with
// hundreds of them must not flood the report.
const maxTXTLines = 10

// Probe checks the TLS-RPT record of a mail domain. It is safe for
// concurrent use.
type Probe struct {
	cfg Config
}

var (
	_ probes.Probe     = (*Probe)(nil)
	_ probes.Describer = (*Probe)(nil)
)

// New makes a probe.
func New(cfg Config) *Probe { return &Probe{cfg: cfg} }

// Registration declares the probe to the engine.
var Registration = probes.Register(Name, []string{mailhosts.FactName}, DefaultConfig,
	func(c Config, _ probes.Setup) *Probe { return New(c) })

// Name returns "tlsrpt".
func (p *Probe) Name() string { return Name }

// Run checks the target's TLS-RPT record. It returns when the check is
// done or ctx ends, whichever is first, with what it found.
func (p *Probe) Run(ctx context.Context, req *probes.Request, env *probes.Env) *probes.Result {
	res := probes.NewResult(Name)
	if why := req.Target.NotADomain("TLS-RPT records"); why != "" {
		res.Skip(checkPresent, why)
		return res
	}
	domain := req.Target.Name
	name := dns.Fqdn("_smtp._tls." + domain)
	var txt *dnsclient.Answer
	var txtErr error
	var tasks flight.Tasks
	tasks.Go(func() { txt, txtErr = env.DNS.Lookup(ctx, name, dns.TypeTXT) })
	set, setErr := mailhosts.Discover(ctx, req, env)
	tasks.Wait()

	if setErr == nil {
		switch {
		case set.MX != nil && set.MX.NXDomain():
			res.Skip(checkPresent, domain+" does not exist (NXDOMAIN)")
			return res
		case set.NullMX && len(set.Hosts) == 0:
			res.Skip(checkPresent, domain+" receives no mail (null MX, RFC 7505): no sender has TLS failures to report")
			return res
		}
	}
	// The MX question failing does not stop the check: the record is
	// judged on its own, and the mx probe reports the failure.
	if txtErr != nil {
		res.Undecided(checkPresent, fmt.Errorf("TLS-RPT record of %s: %w", domain, txtErr))
		return res
	}
	judge(res, domain, name, txt)
	return res
}

// judge records tlsrpt.present and the destinations.
func judge(res *probes.Result, domain, name string, txt *dnsclient.Answer) {
	var records, misfits []string
	for _, t := range txt.TXT() {
		switch {
		case IsRecord(t):
			records = append(records, t)
		case LooksLikeRecord(t):
			misfits = append(misfits, t)
		}
	}
	evidence := probes.TXTEvidence(name, txt, maxTXTLines)
	owner := strings.TrimSuffix(name, ".")
	starter := probes.ZoneLine(name, "TXT", fmt.Sprintf("%q", "v=TLSRPTv1; rua=mailto:tls-reports@"+domain))
	measure := func(mailto, https int) {
		res.Measure(metricDestinations, float64(mailto), SchemeMailto)
		res.Measure(metricDestinations, float64(https), SchemeHTTPS)
	}
	switch {
	case len(records) == 0:
		reason := owner + " publishes no TLS-RPT record: sending MTAs do not report the TLS failures they meet"
		if len(misfits) > 0 {
			reason += fmt.Sprintf("; reporters discard %s because it does not begin with exactly \"v=TLSRPTv1\"", probes.Quote(misfits[0]))
		}
		res.Fail(checkPresent, reason,
			"publish "+starter+" (and read the reports: they show MTA-STS and STARTTLS failures before mail is lost)", evidence...)
		measure(0, 0)
		return
	case len(records) > 1:
		res.Fail(checkPresent,
			fmt.Sprintf("%s publishes %d records that begin with v=TLSRPTv1; with more than one, reporters send no reports (RFC 8460 §3)", owner, len(records)),
			"replace them with one record that keeps their destinations: "+probes.ZoneLine(name, "TXT", fmt.Sprintf("%q", merged(records, domain))), evidence...)
		measure(0, 0)
		return
	}
	rec, err := Parse(records[0])
	if err != nil {
		res.Fail(checkPresent,
			fmt.Sprintf("the record at %s is not valid, so reporters send no reports: %s", owner, err),
			"publish "+starter, evidence...)
		measure(0, 0)
		return
	}
	valid := rec.ValidRUA()
	counts := map[string]int{}
	var good, bad []string
	for _, u := range valid {
		counts[u.Scheme]++
		good = append(good, u.Raw)
	}
	for _, u := range rec.RUA {
		if !u.Valid() {
			bad = append(bad, fmt.Sprintf("%s: %s", probes.Quote(u.Raw), u.Problem))
		}
	}
	measure(counts[SchemeMailto], counts[SchemeHTTPS])
	if len(bad) > 0 {
		reason := fmt.Sprintf("rua= of %s lists %s that reporters cannot use: %s", owner,
			probes.Plural(len(bad), "destination", "destinations"), strings.Join(bad, "; "))
		if len(valid) == 0 {
			reason += "; no report reaches anyone"
		}
		res.Fail(checkPresent, reason, "publish "+probes.ZoneLine(name, "TXT", fmt.Sprintf("%q", fixed(rec, domain))), evidence...)
		return
	}
	reason := fmt.Sprintf("%s publishes v=TLSRPTv1 with %s: %s", owner,
		probes.Plural(len(valid), "report destination", "report destinations"), probes.JoinNames(good))
	if len(rec.Duplicates) > 0 {
		reason += fmt.Sprintf(" (%s given more than once: reporters use the first)", strings.Join(rec.Duplicates, ", "))
	}
	res.Pass(checkPresent, reason, evidence...)
}

// merged is one record with the usable destinations of every record, in
// the order published (each once), or a destination at the domain when
// none has one: merging must not drop where the domain's reports go
// today.
func merged(records []string, domain string) string {
	all := &Record{}
	seen := map[string]bool{}
	for _, txt := range records {
		rec, err := Parse(txt)
		if err != nil {
			continue
		}
		for _, u := range rec.ValidRUA() {
			if !seen[u.Raw] {
				seen[u.Raw] = true
				all.RUA = append(all.RUA, u)
			}
		}
	}
	return fixed(all, domain)
}

// fixed is the record with the unusable destinations left out, or a
// destination at the domain when none is left.
func fixed(rec *Record, domain string) string {
	var uris []string
	for _, u := range rec.ValidRUA() {
		uris = append(uris, u.Raw)
	}
	if len(uris) == 0 {
		uris = []string{"mailto:tls-reports@" + domain}
	}
	return "v=TLSRPTv1; rua=" + strings.Join(uris, ",")
}
