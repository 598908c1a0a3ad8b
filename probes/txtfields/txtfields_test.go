package txtfields_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/txtfields"
)

// fields reads every field after the version "v=X" with a scanner set up
// by tweak, and returns them or the error as "pos: message".
func fields(txt string, tweak func(*txtfields.Scanner)) ([]txtfields.Field, string) {
	sc := txtfields.Scanner{Text: txt, Pos: len("v=X"), TrailingSpace: "trailing"}
	if tweak != nil {
		tweak(&sc)
	}
	var out []txtfields.Field
	for {
		more, err := sc.Next()
		if err == nil && !more {
			return out, ""
		}
		var f txtfields.Field
		if err == nil {
			f, err = sc.Field()
		}
		if err != nil {
			var e *txtfields.Error
			if !errors.As(err, &e) {
				return nil, "not an *Error: " + err.Error()
			}
			return nil, fmt.Sprintf("%d: %s", e.Pos, e.Msg)
		}
		out = append(out, f)
	}
}

func TestFields(t *testing.T) {
	for _, tc := range []struct {
		txt  string
		want []txtfields.Field
	}{
		{"v=X", nil},
		{"v=X;", nil},
		{"v=X ;\tid=1 ; ", []txtfields.Field{{"id", "1"}}},
		{"v=X;9a.b-c_d=x!:/<>;id=ab", []txtfields.Field{{"9a.b-c_d", "x!:/<>"}, {"id", "ab"}}},
		{"v=X; a=1; a=2", []txtfields.Field{{"a", "1"}, {"a", "2"}}}, // duplicates are the caller's to judge
	} {
		got, err := fields(tc.txt, nil)
		if err != "" || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %v, %q; want %v", tc.txt, got, err, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		txt, want string
	}{
		{"v=X; id=1 ", "9: trailing"},
		{"v=X id=1", "4: \"i\" after \"v=X \"; fields are separated by \";\""},
		{"v=X;; id=1", "4: empty field between two \";\""},
		{"v=X; -a=1", "5: \"-\" where a field name should start (a letter or digit)"},
		{"v=X; " + strings.Repeat("n", 33) + "=1", "5: field name \"" + strings.Repeat("n", 33) + "\" is 33 characters long; names have at most 32"},
		{"v=X; a =1", "6: whitespace after the field name \"a\"; write a=value without spaces"},
		{"v=X; a", "6: field \"a\" has no \"=\""},
		{"v=X; a\n=1", "6: a line feed in the field name \"a\""},
		{"v=X; a= 1", "7: whitespace after \"a=\"; write a=value without spaces"},
		{"v=X; a=", "7: field \"a\" has an empty value"},
		{"v=X; a=;", "7: field \"a\" has an empty value"},
		{"v=X; a==1", "7: \"=\" in the value of \"a\""},
		{"v=X; a=1=2", "8: \"=\" in the value of \"a\""},
		{"v=X; a=\x80", "7: the non-ASCII byte 0x80 in the value of \"a\""},
	} {
		if _, got := fields(tc.txt, nil); got != tc.want {
			t.Errorf("%q: %q; want %q", tc.txt, got, tc.want)
		}
	}
}

// TestWording: the fields that keep one record's wording of an error
// apart from the other's.
func TestWording(t *testing.T) {
	byCode := func(c byte) string {
		if c == '\n' {
			return "the control character 0x0a"
		}
		return probes.DescribeByte(c)
	}
	tlsrpt := func(sc *txtfields.Scanner) {
		sc.DescribeByte, sc.EmptyBeforeBadByte = byCode, true
	}
	for _, tc := range []struct {
		txt, want string
	}{
		{"v=X; a\n=1", "6: the control character 0x0a in the field name \"a\""},
		{"v=X; a==1", "7: field \"a\" has an empty value"},
		{"v=X; a=1=2", "8: \"=\" in the value of \"a\""},
	} {
		if _, got := fields(tc.txt, tlsrpt); got != tc.want {
			t.Errorf("%q: %q; want %q", tc.txt, got, tc.want)
		}
	}
}

func TestHasVersion(t *testing.T) {
	for txt, want := range map[string]bool{
		"v=STSv1": true, "v=STSv1;": true, "v=STSv1; id=1": true, "v=STSv1 ;id=1": true, "v=STSv1\tid=1": true,
		"v=STSv10; id=1": false, "V=STSv1; id=1": false, "v=stsv1; id=1": false, " v=STSv1": false, "": false,
	} {
		if got := txtfields.HasVersion(txt, "v=STSv1"); got != want {
			t.Errorf("HasVersion(%q) = %v; want %v", txt, got, want)
		}
	}
}
