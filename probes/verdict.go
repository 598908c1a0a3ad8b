package probes

// Verdict gathers what one check found across several subjects (mail
// hosts, addresses, names, selectors, lists, SMTP sessions), so that the
// check is recorded once: failed when any subject is known to fail,
// undecided when none fails but some could not be looked at, and otherwise
// passed or skipped. The zero Verdict is empty and ready to use.
//
// The methods that record it differ on purpose; a probe picks one per
// check:
//
//   - Record (mx, spf, dmarc, dnsbl, mtasts) passes a check nothing failed,
//     whether or not a subject passed explicitly, and records an undecided
//     check with the first error alone as its reason, as Result.Undecided
//     does. RecordOrSkip (dkim, mx) is Record for a check that may find
//     nothing to judge: it skips it then.
//   - RecordAny (dkim) is for checks one passing subject satisfies: a
//     subject that passed outweighs the others that could not be looked
//     at.
//   - RecordObserved (smtp) passes a check only when a subject passed
//     (Verdict.Pass) and skips it otherwise; it keeps the evidence of an
//     undecided check; and, as the text it records comes from remote
//     servers, it escapes line breaks in every reason and remediation.
//
// A probe that words the whole failure itself sets FailReason, or replaces
// Fixes, before recording.
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
	// Passes counts the subjects that passed (RecordObserved and RecordAny
	// need one).
	Passes int
	// Skips says why subjects did not apply (the skip reason of
	// RecordObserved and RecordAny).
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

// Merge adds what another Verdict gathered (its evidence, problems, fixes,
// errors, passes and skips) after what v has, for subjects judged apart
// and recorded as one check. o's FailReason is not taken.
func (v *Verdict) Merge(o *Verdict) {
	v.Evidence = append(v.Evidence, o.Evidence...)
	v.Problems = append(v.Problems, o.Problems...)
	v.Fixes = append(v.Fixes, o.Fixes...)
	v.Errs = append(v.Errs, o.Errs...)
	v.Passes += o.Passes
	v.Skips = append(v.Skips, o.Skips...)
}

// Decided reports whether anything was found, good or bad: evidence, a
// subject that passed or a problem.
func (v *Verdict) Decided() bool { return len(v.Evidence) > 0 || len(v.Problems) > 0 || v.Passes > 0 }

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

// RecordOrSkip is Record for a check that may have had nothing to judge:
// when nothing was decided (Decided) and no lookup failed, the check is
// skipped with skipReason instead of passed.
func (v *Verdict) RecordOrSkip(res *Result, spec CheckSpec, passReason, skipReason string) {
	if !v.Decided() && len(v.Errs) == 0 {
		res.Skip(spec, skipReason)
		return
	}
	v.Record(res, spec, passReason)
}

// RecordAny adds the check to res, for checks one passing subject
// satisfies: failed when there are Problems, passed with passReason when a
// subject passed (Verdict.Pass; the errors about other subjects are still
// recorded against the probe), undecided when there are Errs, with the
// first error as its reason and no evidence, as Record has it, and
// otherwise skipped, with the deduped Skips as the reason ("not
// applicable" without any).
func (v *Verdict) RecordAny(res *Result, spec CheckSpec, passReason string) {
	switch {
	case len(v.Problems) > 0:
		v.recordFail(res, spec, noEscape)
	case v.Passes > 0:
		res.Pass(spec, passReason, v.Evidence...)
		for _, err := range v.Errs {
			res.Error(err)
		}
	case len(v.Errs) > 0:
		res.Undecided(spec, v.Errs[0])
		for _, err := range v.Errs[1:] {
			res.Error(err)
		}
	default:
		res.Skip(spec, v.skipReason(noEscape))
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
		res.Skip(spec, v.skipReason(EscapeLineBreaks))
	}
}

// skipReason is the deduped Skips, with line applied, or "not applicable".
func (v *Verdict) skipReason(line func(string) string) string {
	if len(v.Skips) == 0 {
		return "not applicable"
	}
	return line(JoinPhrases(Dedup(v.Skips)))
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
