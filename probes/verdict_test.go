package probes

import (
	"errors"
	"reflect"
	"testing"
)

var verdictSpec = CheckSpec{ID: "test.verdict", Level: LevelMust}

// recorded runs fill on a fresh Verdict, records it with Record or
// RecordObserved, and returns the check and the probe's errors.
func recorded(t *testing.T, observed bool, fill func(v *Verdict)) (Check, []string) {
	t.Helper()
	var v Verdict
	fill(&v)
	res := NewResult("test")
	if observed {
		v.RecordObserved(res, verdictSpec, "all good")
	} else {
		v.Record(res, verdictSpec, "all good")
	}
	c, ok := res.Check(verdictSpec.ID)
	if !ok {
		t.Fatal("no check recorded")
	}
	return c, res.Errors()
}

func TestVerdictFail(t *testing.T) {
	fill := func(v *Verdict) {
		v.See("seen")
		v.Fail("x is\nbroken", "fix x")
		v.Fail("y is broken", "fix x", "y evidence")
		v.Fail("z is broken", "")
		v.Unknown(errors.New("w timed out"))
	}
	for _, observed := range []bool{false, true} {
		c, errs := recorded(t, observed, fill)
		want := Check{ID: verdictSpec.ID, Level: LevelMust, Status: StatusFail,
			Reason: "x is\nbroken; y is broken; z is broken", Remediation: "fix x",
			Evidence: []string{"seen", "y evidence"}}
		if observed {
			want.Reason = `x is\nbroken; y is broken; z is broken`
		}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("observed=%v: %+v; want %+v", observed, c, want)
		}
		if !reflect.DeepEqual(errs, []string{"w timed out"}) {
			t.Errorf("observed=%v: errors %q", observed, errs)
		}
	}
	c, _ := recorded(t, false, func(v *Verdict) {
		fill(v)
		v.FailReason = "one reason"
	})
	if c.Reason != "one reason" {
		t.Errorf("FailReason: reason %q", c.Reason)
	}
}

func TestVerdictUndecided(t *testing.T) {
	fill := func(v *Verdict) {
		v.See("seen")
		v.Unknown(nil) // nothing
		v.Unknown(errors.New("first\r\nerror"))
		v.Unknown(errors.New("second"))
	}
	c, errs := recorded(t, false, fill)
	if c.Status != StatusError || c.Reason != "first\r\nerror" || c.Evidence != nil {
		t.Errorf("Record: %+v", c)
	}
	if !reflect.DeepEqual(errs, []string{"first\r\nerror", "second"}) {
		t.Errorf("Record: errors %q", errs)
	}
	c, errs = recorded(t, true, fill)
	if c.Status != StatusError || c.Reason != `first\r\nerror` || !reflect.DeepEqual(c.Evidence, []string{"seen"}) {
		t.Errorf("RecordObserved: %+v", c)
	}
	if !reflect.DeepEqual(errs, []string{"first\r\nerror", "second"}) {
		t.Errorf("RecordObserved: errors %q", errs)
	}
}

func TestVerdictPassAndSkip(t *testing.T) {
	// Record passes what nothing failed, even with nothing seen.
	c, _ := recorded(t, false, func(v *Verdict) {})
	if c.Status != StatusPass || c.Reason != "all good" {
		t.Errorf("Record, empty: %+v", c)
	}
	// RecordObserved passes only on a Pass ...
	c, _ = recorded(t, true, func(v *Verdict) {
		v.See("seen")
		v.Pass("passed")
	})
	if c.Status != StatusPass || !reflect.DeepEqual(c.Evidence, []string{"seen", "passed"}) {
		t.Errorf("RecordObserved, passed: %+v", c)
	}
	// ... and skips otherwise, with the deduped skip reasons.
	c, _ = recorded(t, true, func(v *Verdict) {
		v.See("seen")
		v.Skip("no TLS\n")
		v.Skip("no TLS\n")
		v.Skip("IP target")
	})
	if c.Status != StatusSkip || c.Reason != `no TLS\n; IP target` || c.Evidence != nil {
		t.Errorf("RecordObserved, skipped: %+v", c)
	}
	c, _ = recorded(t, true, func(v *Verdict) {})
	if c.Status != StatusSkip || c.Reason != "not applicable" {
		t.Errorf("RecordObserved, empty: %+v", c)
	}
}

func TestVerdictDecided(t *testing.T) {
	var v Verdict
	v.Unknown(errors.New("x"))
	v.Skip("y")
	if v.Decided() {
		t.Error("errors and skips decide nothing")
	}
	v.See("z")
	if !v.Decided() {
		t.Error("evidence decides")
	}
	v = Verdict{}
	v.Fail("p", "")
	if !v.Decided() {
		t.Error("a problem decides")
	}
}

func TestVerdictDecidedByAPass(t *testing.T) {
	var v Verdict
	v.Pass() // a subject that passed without evidence
	if !v.Decided() {
		t.Error("a pass decides")
	}
}

func TestVerdictRecordOrSkip(t *testing.T) {
	record := func(fill func(v *Verdict)) (Check, []string) {
		var v Verdict
		fill(&v)
		res := NewResult("test")
		v.RecordOrSkip(res, verdictSpec, "all good", "nothing to judge")
		c, _ := res.Check(verdictSpec.ID)
		return c, res.Errors()
	}
	// Nothing seen: skipped, where Record would pass.
	if c, _ := record(func(v *Verdict) { v.Skip("ignored") }); c.Status != StatusSkip || c.Reason != "nothing to judge" {
		t.Errorf("empty: %+v", c)
	}
	// A pass without evidence passes, with no evidence.
	if c, _ := record(func(v *Verdict) { v.Pass() }); c.Status != StatusPass || c.Reason != "all good" || c.Evidence != nil {
		t.Errorf("passed: %+v", c)
	}
	// An error alone is not "nothing to judge": the check is undecided.
	c, errs := record(func(v *Verdict) { v.Unknown(errors.New("timed out")) })
	if c.Status != StatusError || c.Reason != "timed out" || !reflect.DeepEqual(errs, []string{"timed out"}) {
		t.Errorf("undecided: %+v, errors %q", c, errs)
	}
	// Otherwise it is Record: a failure wins.
	c, _ = record(func(v *Verdict) {
		v.Pass("good")
		v.Fail("bad", "fix it", "bad evidence")
	})
	want := Check{ID: verdictSpec.ID, Level: LevelMust, Status: StatusFail, Reason: "bad", Remediation: "fix it",
		Evidence: []string{"good", "bad evidence"}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("failed: %+v; want %+v", c, want)
	}
}

func TestVerdictRecordAny(t *testing.T) {
	record := func(fill func(v *Verdict)) (Check, []string) {
		var v Verdict
		fill(&v)
		res := NewResult("test")
		v.RecordAny(res, verdictSpec, "one is enough")
		c, _ := res.Check(verdictSpec.ID)
		return c, res.Errors()
	}
	// One subject passed: the others' errors do not hold the pass back,
	// but they are recorded against the probe.
	c, errs := record(func(v *Verdict) {
		v.Unknown(errors.New("a timed out"), "a: no answer")
		v.Pass("b: found")
		v.Unknown(errors.New("c timed out"))
	})
	want := Check{ID: verdictSpec.ID, Level: LevelMust, Status: StatusPass, Reason: "one is enough",
		Evidence: []string{"a: no answer", "b: found"}}
	if !reflect.DeepEqual(c, want) || !reflect.DeepEqual(errs, []string{"a timed out", "c timed out"}) {
		t.Errorf("passed: %+v, errors %q; want %+v", c, errs, want)
	}
	// A failure wins over a pass, and the errors are recorded.
	c, errs = record(func(v *Verdict) {
		v.Pass("b: found")
		v.Fail("d is missing", "publish d", "d: nothing")
		v.Unknown(errors.New("c timed out"))
	})
	if c.Status != StatusFail || c.Reason != "d is missing" || c.Remediation != "publish d" ||
		!reflect.DeepEqual(c.Evidence, []string{"b: found", "d: nothing"}) || !reflect.DeepEqual(errs, []string{"c timed out"}) {
		t.Errorf("failed: %+v, errors %q", c, errs)
	}
	// Without a pass, errors leave it undecided on the first, without
	// evidence, as Record does.
	c, errs = record(func(v *Verdict) {
		v.See("seen")
		v.Unknown(errors.New("first"))
		v.Unknown(errors.New("second"))
	})
	if c.Status != StatusError || c.Reason != "first" || c.Evidence != nil || !reflect.DeepEqual(errs, []string{"first", "second"}) {
		t.Errorf("undecided: %+v, errors %q", c, errs)
	}
	// Nothing at all: skipped with the deduped reasons, kept as they are.
	c, _ = record(func(v *Verdict) {
		v.See("seen")
		v.Skip("a\nb")
		v.Skip("a\nb")
	})
	if c.Status != StatusSkip || c.Reason != "a\nb" {
		t.Errorf("skipped: %+v", c)
	}
	if c, _ = record(func(v *Verdict) {}); c.Status != StatusSkip || c.Reason != "not applicable" {
		t.Errorf("empty: %+v", c)
	}
}

func TestVerdictMerge(t *testing.T) {
	var a, b Verdict
	a.See("a seen")
	a.Fail("a bad", "fix a")
	b.See("b seen")
	b.Fail("b bad", "fix b", "b evidence")
	b.Pass("b passed")
	b.Unknown(errors.New("b err"))
	b.Skip("b skip")
	b.FailReason = "not taken"
	a.Merge(&b)
	want := Verdict{
		Evidence: []string{"a seen", "b seen", "b evidence", "b passed"},
		Problems: []string{"a bad", "b bad"},
		Fixes:    []string{"fix a", "fix b"},
		Errs:     []error{errors.New("b err")},
		Passes:   1,
		Skips:    []string{"b skip"},
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("merged %+v; want %+v", a, want)
	}
}
