package smtp

import (
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// verdict gathers what one check found across addresses and hosts, so the
// check is recorded once: failed when any subject is known to fail,
// undecided when none fails but some could not be looked at, passed when
// something passed, skipped when nothing applied.
type verdict struct {
	evidence []string
	problems []string // one phrase per failing subject
	fixes    []string // what to change, per failing subject
	errs     []error  // what could not be decided
	passes   int
	skips    []string // why subjects did not apply
}

func (v *verdict) see(lines ...string) { v.evidence = append(v.evidence, lines...) }

func (v *verdict) pass(lines ...string) {
	v.passes++
	v.see(lines...)
}

func (v *verdict) fail(problem, fix string, lines ...string) {
	v.problems = append(v.problems, problem)
	if fix != "" {
		v.fixes = append(v.fixes, fix)
	}
	v.see(lines...)
}

func (v *verdict) unknown(err error, lines ...string) {
	if err != nil {
		v.errs = append(v.errs, err)
	}
	v.see(lines...)
}

func (v *verdict) skip(reason string) { v.skips = append(v.skips, reason) }

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
		res.Add(probes.Check{ID: spec.ID, Level: spec.Level, Status: probes.StatusError,
			Reason: oneLine(v.errs[0].Error()), Evidence: v.evidence})
		for _, err := range v.errs {
			res.Error(err)
		}
	case v.passes > 0:
		res.Pass(spec, passReason, v.evidence...)
	default:
		reason := "not applicable"
		if len(v.skips) > 0 {
			reason = joinPhrases(dedup(v.skips))
		}
		res.Skip(spec, reason)
	}
}

// joinPhrases keeps a reason or remediation on one line of bounded length.
func joinPhrases(phrases []string) string {
	const max = 4
	if len(phrases) <= max {
		return oneLine(strings.Join(phrases, "; "))
	}
	return oneLine(fmt.Sprintf("%s; and %d more", strings.Join(phrases[:max], "; "), len(phrases)-max))
}

// oneLine keeps remote text from breaking a reason across lines.
func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
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

// plural picks the word form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
