package spf

import (
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// verdict gathers what one check found across names or addresses, so the
// check is recorded once: failed when any subject is known to fail,
// undecided when none fails but some could not be looked at, passed
// otherwise.
type verdict struct {
	evidence []string
	problems []string // one phrase per failing subject
	fixes    []string // what to publish or change
	errs     []error  // lookups that got no answer
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

// record adds the check to res. An error next to a known failure does not
// make the check undecided (the failure stands), but it is still recorded
// against the probe, which could not look at everything.
func (v *verdict) record(res *probes.Result, spec probes.CheckSpec, passReason string) {
	switch {
	case len(v.problems) > 0:
		res.Fail(spec, joinPhrases(v.problems), joinPhrases(dedup(v.fixes)), v.evidence...)
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

// oneLine makes text from a record safe for a one-line reason.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
