package mx

import (
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// verdict gathers what one check found across hosts, addresses or names, so
// the check is recorded once: failed when any subject is known to fail,
// undecided when none fails but some could not be looked at, passed
// otherwise.
type verdict struct {
	evidence []string
	problems []string // one phrase per failing subject
	fixes    []string // what to publish or change, per failing subject
	errs     []error  // lookups that got no answer
	// failReason replaces the joined problems as the reason, when set.
	failReason string
}

func (v *verdict) see(lines ...string) { v.evidence = append(v.evidence, lines...) }

func (v *verdict) fail(problem, fix string) {
	v.problems = append(v.problems, problem)
	if fix != "" {
		v.fixes = append(v.fixes, fix)
	}
}

func (v *verdict) unknown(err error) {
	if err != nil {
		v.errs = append(v.errs, err)
	}
}

// decided reports whether anything was found, good or bad.
func (v *verdict) decided() bool { return len(v.evidence) > 0 || len(v.problems) > 0 }

// record adds the check to res. An error next to a known failure does not
// make the check undecided (the failure stands), but it is still recorded
// against the probe, which could not look at everything.
func (v *verdict) record(res *probes.Result, spec probes.CheckSpec, passReason string) {
	switch {
	case len(v.problems) > 0:
		reason := v.failReason
		if reason == "" {
			reason = joinPhrases(v.problems)
		}
		res.Fail(spec, reason, joinPhrases(dedup(v.fixes)), v.evidence...)
		for _, err := range v.errs {
			res.Error(err)
		}
	case len(v.errs) > 0:
		res.Undecided(spec, v.errs[0])
		for _, err := range v.errs[1:] {
			res.Error(err)
		}
	default:
		res.Pass(spec, passReason, v.evidence...)
	}
}

// joinPhrases keeps a reason or remediation on one line of bounded length.
func joinPhrases(phrases []string) string {
	const max = 4
	if len(phrases) <= max {
		return strings.Join(phrases, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(phrases[:max], "; "), len(phrases)-max)
}

func dedup(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// zoneLine renders a record the way remediations quote it:
// "example.test. IN MX 10 mail.example.test.".
func zoneLine(owner, rrtype, data string) string {
	return fmt.Sprintf("%q", fqdn(owner)+" IN "+rrtype+" "+data)
}

// fqdn adds the trailing dot.
func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// bare removes the trailing dot, for labels and reasons.
func bare(name string) string { return strings.TrimSuffix(name, ".") }

// plural picks the word form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
