package probes

// Verdict gathers what one check found across several subjects (mail
// hosts, addresses, names, SMTP sessions), so that the check is recorded
// once: failed when any subject is known to fail, undecided when none fails
// but some could not be looked at, and otherwise passed or skipped. The zero
// Verdict is empty and ready to use.
//
// Two methods record it, and they differ on purpose; a probe picks one per
// check:
//
//   - Record (mx, spf) passes a check nothing failed, whether or not a
//     subject passed explicitly, and records an undecided check with the
//     first error alone as its reason, as Result.Undecided does.
//   - RecordObserved (smtp) passes a check only when a subject passed
//     (Verdict.Pass) and skips it otherwise; it keeps the evidence of an
//     undecided check; and, as the text it records comes from remote
//     servers, it escapes line breaks in every reason and remediation.
type Verdict struct {
	// Evidence lists what was seen, for every outcome but a skip.
	Evidence []string
	// Problems holds one phrase per failing subject; joined, they are the
	// reason of a failure.
	Problems []string
	// Fixes holds what to publish or change, per failing subject; deduped
	// and joined, they are the remediation of a failure.
	Fixes []string
	// Errs are the lookups or conversations that got no answer.
	Errs []error
	// Passes counts the subjects that passed (RecordObserved needs one).
	Passes int
	// Skips says why subjects did not apply (RecordObserved's skip reason).
	Skips []string
	// FailReason, when set, is the reason of a failure instead of the
	// joined Problems.
	FailReason string
}

// See adds evidence lines.
func (v *Verdict) See(lines ...string) { v.Evidence = append(v.Evidence, lines...) }

// Pass counts a subject that passed, with its evidence.
func (v *Verdict) Pass(lines ...string) {
	v.Passes++
	v.See(lines...)
}

// Fail adds a failing subject: a phrase for the reason, what to do about it
// ("" when the phrase says it all) and its evidence.
func (v *Verdict) Fail(problem, fix string, lines ...string) {
	v.Problems = append(v.Problems, problem)
	if fix != "" {
		v.Fixes = append(v.Fixes, fix)
	}
	v.See(lines...)
}

// Unknown adds a subject that could not be decided, with its evidence; a nil
// err adds only the evidence.
func (v *Verdict) Unknown(err error, lines ...string) {
	if err != nil {
		v.Errs = append(v.Errs, err)
	}
	v.See(lines...)
}

// Skip adds a subject the check does not apply to, and why.
func (v *Verdict) Skip(reason string) { v.Skips = append(v.Skips, reason) }

// Decided reports whether anything was found, good or bad: evidence or a
// problem.
func (v *Verdict) Decided() bool { return len(v.Evidence) > 0 || len(v.Problems) > 0 }

// Record adds the check to res: failed when there are Problems, undecided
// when there are Errs, passed with passReason otherwise. An error next to a
// known failure does not make the check undecided (the failure stands), but
// it is still recorded against the probe, which could not look at
// everything. An undecided check has the first error as its reason and no
// evidence.
func (v *Verdict) Record(res *Result, spec CheckSpec, passReason string) {
	switch {
	case len(v.Problems) > 0:
		v.recordFail(res, spec, noEscape)
	case len(v.Errs) > 0:
		res.Undecided(spec, v.Errs[0])
		for _, err := range v.Errs[1:] {
			res.Error(err)
		}
	default:
		res.Pass(spec, passReason, v.Evidence...)
	}
}

// RecordObserved adds the check to res, for checks on what remote servers
// said: failed when there are Problems, undecided when there are Errs,
// passed with passReason when a subject passed, and skipped otherwise, with
// the deduped Skips as the reason ("not applicable" without any). Unlike
// Record, an undecided check keeps the evidence, and line breaks in the
// reasons and the remediation are escaped (EscapeLineBreaks). As with
// Record, errors next to a failure are recorded against the probe.
func (v *Verdict) RecordObserved(res *Result, spec CheckSpec, passReason string) {
	switch {
	case len(v.Problems) > 0:
		v.recordFail(res, spec, EscapeLineBreaks)
	case len(v.Errs) > 0:
		res.Add(Check{ID: spec.ID, Level: spec.Level, Status: StatusError,
			Reason: EscapeLineBreaks(v.Errs[0].Error()), Evidence: v.Evidence})
		for _, err := range v.Errs {
			res.Error(err)
		}
	case v.Passes > 0:
		res.Pass(spec, passReason, v.Evidence...)
	default:
		reason := "not applicable"
		if len(v.Skips) > 0 {
			reason = EscapeLineBreaks(JoinPhrases(Dedup(v.Skips)))
		}
		res.Skip(spec, reason)
	}
}

// recordFail records the failure both Record and RecordObserved make of
// Problems, with line applied to the reason and the remediation.
func (v *Verdict) recordFail(res *Result, spec CheckSpec, line func(string) string) {
	reason := v.FailReason
	if reason == "" {
		reason = JoinPhrases(v.Problems)
	}
	res.Fail(spec, line(reason), line(JoinPhrases(Dedup(v.Fixes))), v.Evidence...)
	for _, err := range v.Errs {
		res.Error(err)
	}
}

func noEscape(s string) string { return s }
