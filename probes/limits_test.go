package probes

import "testing"

func TestLimitedUndecidesPassesOnly(t *testing.T) {
	pass := CheckSpec{ID: "a.pass", Level: LevelMust}
	fail := CheckSpec{ID: "a.fail", Level: LevelMust}
	skip := CheckSpec{ID: "a.skip", Level: LevelMust}
	other := CheckSpec{ID: "a.other", Level: LevelMust}
	res := NewResult("a")
	res.Pass(pass, "all 16 looked at pass", "evidence")
	res.Fail(fail, "one fails", "fix it")
	res.Skip(skip, "does not apply")
	res.Pass(other, "not about the hosts")

	res.Limited(nil, pass, fail, skip)
	if c, _ := res.Check(pass.ID); c.Status != StatusPass || res.Failed() {
		t.Fatalf("a nil error changed %s to %s or recorded an error", pass.ID, c.Status)
	}

	err := &LimitError{Key: "limits.mx_hosts", Max: 16, What: "example.test publishes 20 MX hosts; only the 16 most preferred were looked at"}
	res.Limited(err, pass, fail, skip)
	want := "example.test publishes 20 MX hosts; only the 16 most preferred were looked at (the module's limits.mx_hosts is 16)"
	for id, status := range map[string]Status{pass.ID: StatusError, fail.ID: StatusFail, skip.ID: StatusSkip, other.ID: StatusPass} {
		c, _ := res.Check(id)
		if c.Status != status {
			t.Errorf("%s = %s, want %s", id, c.Status, status)
		}
	}
	if c, _ := res.Check(pass.ID); c.Reason != want || len(c.Evidence) != 1 {
		t.Errorf("undecided check: reason %q, evidence %v; want the limit and the evidence kept", c.Reason, c.Evidence)
	}
	if errs := res.Errors(); len(errs) != 1 || errs[0] != want {
		t.Errorf("probe errors %q, want the limit once", errs)
	}
}

func TestLimitedSkipOnlyRecordsNothing(t *testing.T) {
	skip := CheckSpec{ID: "a.skip", Level: LevelMust}
	res := NewResult("a")
	res.Skip(skip, "does not apply")
	res.Limited(&LimitError{Key: "limits.ptr_questions", Max: 1, What: "x"}, skip)
	if res.Failed() {
		t.Error("a limit that changed no decided check was recorded against the probe")
	}
}
