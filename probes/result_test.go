package probes

import (
	"errors"
	"reflect"
	"testing"
)

func TestSkipAllAndUndecidedAll(t *testing.T) {
	a := CheckSpec{ID: "t.a", Level: LevelMust}
	b := CheckSpec{ID: "t.b", Level: LevelShould}
	c := CheckSpec{ID: "t.c", Level: LevelMay}
	res := NewResult("t")
	res.SkipAll("the target is an IP address", a, b)
	res.UndecidedAll(errors.New("MX lookup timed out"), c)
	want := []Check{
		{ID: "t.a", Level: LevelMust, Status: StatusSkip, Reason: "the target is an IP address"},
		{ID: "t.b", Level: LevelShould, Status: StatusSkip, Reason: "the target is an IP address"},
		{ID: "t.c", Level: LevelMay, Status: StatusError, Reason: "MX lookup timed out"},
	}
	if got := res.Checks(); !reflect.DeepEqual(got, want) {
		t.Errorf("checks %+v; want %+v", got, want)
	}
	// The shared error is recorded once against the probe.
	res.UndecidedAll(errors.New("MX lookup timed out"), a, b)
	if got := res.Errors(); !reflect.DeepEqual(got, []string{"MX lookup timed out"}) {
		t.Errorf("errors %q", got)
	}
	if got, _ := res.Check("t.a"); got.Status != StatusError {
		t.Errorf("undecided after a skip: %+v; want the worse outcome kept", got)
	}
}
