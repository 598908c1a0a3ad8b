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
