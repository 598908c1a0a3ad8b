package mtasts

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// starterMaxAge is the max_age of the policies remediations propose: one
// week, as in RFC 8461 §3.2's example, and above the default min_max_age.
const starterMaxAge = 604800

// freshID makes a policy id from the time: 14 digits, within RFC 8461
// §3.1's 1 to 32 letters and digits, and growing with every change.
func freshID(now time.Time) string { return now.UTC().Format("20060102150405") }

// txtRemedy quotes the _mta-sts record to publish with id.
func (r *run) txtRemedy(id string) string {
	return probes.ZoneLine("_mta-sts."+r.domain, "TXT", fmt.Sprintf("%q", "v=STSv1; id="+id))
}

// starterPolicy is a testing-mode policy listing the domain's real MX
// hosts: what a domain starting with MTA-STS publishes, to learn from
// TLS-RPT reports before it enforces.
func (r *run) starterPolicy() *Policy {
	p := &Policy{Version: "STSv1", Mode: ModeTesting, MaxAge: starterMaxAge}
	if r.setErr == nil && r.set != nil {
		for _, h := range r.set.Hosts {
			if pat, err := ParsePattern(h.Name); err == nil && !h.IPLiteral {
				p.MX = append(p.MX, pat)
			}
		}
	}
	if len(p.MX) == 0 {
		// Without MX hosts to list, senders deliver to the domain itself.
		if pat, err := ParsePattern(r.domain); err == nil {
			p.MX = append(p.MX, pat)
		}
	}
	return p
}

// serveRemedy says how the policy host must serve pol.
func (r *run) serveRemedy(pol *Policy) string {
	return fmt.Sprintf("serves %s with status 200, Content-Type text/plain, no redirect, over HTTPS with a certificate for %s from a public CA, this policy: %q",
		policyURL(r.policyHost, 443), r.policyHost, pol.Text())
}

// starterRemedy is everything a domain without MTA-STS publishes: the
// record and the policy.
func (r *run) starterRemedy() string {
	return fmt.Sprintf("publish %s and make sure %s %s", r.txtRemedy(freshID(r.now())), r.policyHost, r.serveRemedy(r.starterPolicy()))
}

// policyEvidence renders a parsed policy, bounded.
func policyEvidence(p *Policy) []string {
	const maxMX = 20
	lines := []string{
		fmt.Sprintf("version: %s, mode: %s, max_age: %d, %s line ends", p.Version, p.Mode, p.MaxAge, p.LineEndings),
	}
	for i, pat := range p.MX {
		if i == maxMX {
			lines = append(lines, fmt.Sprintf("… and %d more mx: lines", len(p.MX)-maxMX))
			break
		}
		lines = append(lines, "mx: "+pat.Text)
	}
	for _, f := range p.Extensions {
		lines = append(lines, fmt.Sprintf("%s: %s (not a field of RFC 8461; senders ignore it)", printable(probes.Clip(f.Name, 40)), printable(probes.Clip(f.Value, 100))))
		if len(lines) > maxMX+10 {
			break
		}
	}
	return lines
}

// policyLine returns line n (1-based) of a policy body, without its end.
func policyLine(body []byte, n int) string {
	rest := string(body)
	for i := 1; ; i++ {
		line, after, found := strings.Cut(rest, "\n")
		if i == n {
			return probes.Clip(strings.TrimSuffix(line, "\r"), 200)
		}
		if !found {
			return ""
		}
		rest = after
	}
}

// printable keeps a line for the report as it is when it holds only
// printable characters, and quotes it otherwise.
func printable(s string) string {
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return probes.Quote(s)
		}
	}
	return s
}

// humanSeconds renders a max_age for people: "86400 s" is "1 day".
func humanSeconds(s int64) string {
	switch {
	case s >= 86400 && s%86400 == 0:
		return probes.Plural(int(s/86400), "day", "days")
	case s >= 3600 && s%3600 == 0:
		return probes.Plural(int(s/3600), "hour", "hours")
	}
	return probes.Plural(int(s), "second", "seconds")
}

// stamp renders a time for a reason line.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
