package probes

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestFactsRefuseWhatAProbeDidNotDeclare(t *testing.T) {
	f := NewFacts(map[string]Provider{
		"greeting": func(context.Context, *Request, *Env, string) (any, error) { return "hello", nil },
	})
	env := &Env{Facts: f.For("mx", []string{"mailhosts"})}
	if _, err := env.Facts.Do(context.Background(), "mailhosts", "k", func() (any, error) { return 1, nil }); err != nil {
		t.Errorf("a declared fact was refused: %v", err)
	}
	_, err := env.Facts.Provide(context.Background(), &Request{}, env, "greeting", "")
	if err == nil || !strings.Contains(err.Error(), `the mx probe reads the fact "greeting" without declaring it`) {
		t.Errorf("an undeclared fact: err = %v", err)
	}
	all := &Env{Facts: f}
	if v, err := all.Facts.Provide(context.Background(), &Request{}, all, "greeting", ""); err != nil || v != "hello" {
		t.Errorf("the request-wide view: %v, %v", v, err)
	}
	if _, err := all.Facts.Provide(context.Background(), &Request{}, all, "absent", ""); !errors.Is(err, ErrNotProvided) {
		t.Errorf("a fact no probe supplies: err = %v, want ErrNotProvided", err)
	}
}

// A panic while gathering a shared fact is the error of every probe that
// reads it, not a crash.
func TestFactsTurnPanicsIntoErrors(t *testing.T) {
	f := NewFacts(map[string]Provider{
		"broken": func(context.Context, *Request, *Env, string) (any, error) { panic("provider bug") },
	})
	env := &Env{Facts: f}
	_, err := env.Facts.Provide(context.Background(), &Request{}, env, "broken", "")
	if err == nil || !strings.Contains(err.Error(), "broken failed internally: panic: provider bug") {
		t.Errorf("provider panic: err = %v", err)
	}
	_, err = env.Facts.Do(context.Background(), "mailhosts", "k", func() (any, error) { panic("memo bug") })
	if err == nil || !strings.Contains(err.Error(), "mailhosts failed internally: panic: memo bug") {
		t.Errorf("memo panic: err = %v", err)
	}
}

func TestKeep(t *testing.T) {
	k := NewKept()
	made := 0
	mk := func() *int { made++; v := made; return &v }
	a := Keep(k, "x", nil, mk)
	if b := Keep(k, "x", nil, mk); a != b || made != 1 {
		t.Errorf("a kept value was made again")
	}
	if c := Keep(k, "x", func(v *int) bool { return *v == 2 }, mk); *c != 2 || made != 2 {
		t.Errorf("a value that no longer fits was kept")
	}
	if v, ok := Lookup[*int](k, "x"); !ok || *v != 2 {
		t.Errorf("Lookup = %v, %v", v, ok)
	}
	if Keep[*int](nil, "x", nil, mk) == nil || made != 3 {
		t.Errorf("a nil Kept must make a new value each time")
	}
}
