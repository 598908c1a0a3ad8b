package tagvalue_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/probes/tagvalue"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		names    []string
		values   []string
		trailing bool
	}{
		// _dmarc.yahoo.com, as quoted in several DMARC test suites (e.g.
		// KDE messagelib's dmarc tests): a trailing ";".
		{"trailing semicolon", "v=DMARC1; p=reject; pct=100; rua=mailto:dmarc_y_rua@yahoo.com;",
			[]string{"v", "p", "pct", "rua"}, []string{"DMARC1", "reject", "100", "mailto:dmarc_y_rua@yahoo.com"}, true},
		// The same with whitespace after the last ";", which some
		// published records carry.
		{"whitespace after the trailing semicolon", "v=DMARC1; p=reject;  \t",
			[]string{"v", "p"}, []string{"DMARC1", "reject"}, true},
		// wikitide.com's DMARC record (WikiTideOrg/dns zones/wikitide.com):
		// no spaces at all.
		{"no spaces", "v=DMARC1;p=quarantine;pct=100;fo=1",
			[]string{"v", "p", "pct", "fo"}, []string{"DMARC1", "quarantine", "100", "1"}, false},
		{"whitespace around = and inside a value", " v = DKIM1 ;\tp= MIGf MA0G \t CSqG ",
			[]string{"v", "p"}, []string{"DKIM1", "MIGf MA0G \t CSqG"}, false},
		{"folding whitespace", "v=DKIM1;\r\n p=abc\r\n\tdef",
			[]string{"v", "p"}, []string{"DKIM1", "abc\r\n\tdef"}, false},
		{"empty values", "v=DKIM1; p=", []string{"v", "p"}, []string{"DKIM1", ""}, false},
		{"empty value before semicolon", "p= ;k=rsa", []string{"p", "k"}, []string{"", "rsa"}, false},
		{"underscore and digits in names", "a_1=x;B2=y", []string{"a_1", "B2"}, []string{"x", "y"}, false},
		{"tag names are case-sensitive", "p=none; P=reject", []string{"p", "P"}, []string{"none", "reject"}, false},
		{"value punctuation", "rua=mailto:a@b.test!10m,mailto:c@d.test", []string{"rua"},
			[]string{"mailto:a@b.test!10m,mailto:c@d.test"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tagvalue.Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if !slices.Equal(l.Names(), tc.names) {
				t.Errorf("names %q, want %q", l.Names(), tc.names)
			}
			var values []string
			for _, tag := range l.Tags {
				values = append(values, tag.Value)
				if !strings.HasPrefix(tc.in[tag.Pos:], tag.Name) {
					t.Errorf("tag %q: Pos %d points at %q", tag.Name, tag.Pos, tc.in[tag.Pos:])
				}
				if !strings.HasPrefix(tc.in[tag.ValuePos:], tag.Value) {
					t.Errorf("tag %q: ValuePos %d points at %q", tag.Name, tag.ValuePos, tc.in[tag.ValuePos:])
				}
			}
			if !slices.Equal(values, tc.values) {
				t.Errorf("values %q, want %q", values, tc.values)
			}
			if l.TrailingSemicolon != tc.trailing {
				t.Errorf("TrailingSemicolon = %v", l.TrailingSemicolon)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		pos  int
		want string
	}{
		{"", 0, "no tags"},
		{"   ", 3, "no tags"},
		{";", 0, "empty tag"},
		{"v=DKIM1;;p=abc", 8, "empty tag between two semicolons"},
		{"v=DKIM1; ; p=abc", 9, "empty tag"},
		{"v=DKIM1; p", 9, `tag "p" has no "="`},
		{"v=DKIM1; p; k=rsa", 9, `tag "p" has no "="`},
		{"1v=DKIM1", 0, "must start with a letter"},
		{"_v=DKIM1", 0, "must start with a letter"},
		{"v-x=1", 1, `"-" in tag name "v"`},
		{"v x=1", 2, `"x" in tag name "v"`},
		// RFC 6376 §3.2: duplicate tags invalidate the whole list.
		{"v=DMARC1; p=none; p=reject", 18, `tag "p" appears twice (first at byte 10)`},
		{"p=\x00", 2, "control character 0x00"},
		{"n=caf\xc3\xa9", 5, "non-ASCII byte 0xc3"},
		{"p=abc\rdef", 5, "carriage return"},
		{"p=abc\ndef", 5, "line feed"},
	} {
		_, err := tagvalue.Parse(tc.in)
		var se *tagvalue.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", tc.in, err)
			continue
		}
		if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.want) {
			t.Errorf("Parse(%q): %v; want position %d and %q", tc.in, err, tc.pos, tc.want)
		}
	}
}

func TestAccessors(t *testing.T) {
	l, err := tagvalue.Parse("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
	if err != nil {
		t.Fatal(err)
	}
	if !l.Has("k") || l.Has("h") || l.Value("k") != "ed25519" || l.Value("h") != "" {
		t.Errorf("accessors wrong on %v", l)
	}
	if got := l.String(); got != "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" {
		t.Errorf("String() = %q", got)
	}
}

func TestSplitList(t *testing.T) {
	if got := tagvalue.SplitList(" sha1 : sha256 ", ':'); !slices.Equal(got, []string{"sha1", "sha256"}) {
		t.Errorf("SplitList = %q", got)
	}
	if got := tagvalue.SplitList("y::s", ':'); !slices.Equal(got, []string{"y", "", "s"}) {
		t.Errorf("SplitList keeps empty elements: %q", got)
	}
	if got := tagvalue.SplitList("  ", ':'); got != nil {
		t.Errorf("SplitList of blank = %q", got)
	}
	if got := tagvalue.StripWSP("MIGf MA0G\r\n\tCSq"); got != "MIGfMA0GCSq" {
		t.Errorf("StripWSP = %q", got)
	}
}

// FuzzParse checks that the parser never panics and that what it accepts
// is consistent: positions point at the names and values, no name repeats,
// and the canonical rendering parses back to the same tags.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR",
		"v=DMARC1; p=reject; pct=100; rua=mailto:dmarc_y_rua@yahoo.com;",
		"v=DMARC1;p=none;sp=none;fo=1;rua=mailto:dmarc.notification@intel.com",
		"v=STSv1; id=20160831085700Z;",
		"v=TLSRPTv1; rua=mailto:tlsrpt@example.test",
		"v=DKIM1;;p=ABC;",
		"a=1;\r\n b=2",
		"p=none; p=reject",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := tagvalue.Parse(s)
		if err != nil {
			var se *tagvalue.SyntaxError
			if !errors.As(err, &se) || se.Pos < 0 || se.Pos > len(s) {
				t.Fatalf("Parse(%q): error %v has no position within the input", s, err)
			}
			return
		}
		if len(l.Tags) == 0 {
			t.Fatalf("Parse(%q) accepted a list without tags", s)
		}
		seen := map[string]bool{}
		for _, tag := range l.Tags {
			if seen[tag.Name] {
				t.Fatalf("Parse(%q) accepted duplicate tag %q", s, tag.Name)
			}
			seen[tag.Name] = true
			if !strings.HasPrefix(s[tag.Pos:], tag.Name) || !strings.HasPrefix(s[tag.ValuePos:], tag.Value) {
				t.Fatalf("Parse(%q): positions of %q are off", s, tag.Name)
			}
			if strings.ContainsAny(tag.Value, ";") || tag.Value != tagvalue.TrimWSP(tag.Value) {
				t.Fatalf("Parse(%q): value %q has a semicolon or outer whitespace", s, tag.Value)
			}
		}
		again, err := tagvalue.Parse(l.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", l.String(), s, err)
		}
		if !slices.Equal(again.Names(), l.Names()) {
			t.Fatalf("canonical form %q of %q parses to other tags", l.String(), s)
		}
		for i := range again.Tags {
			if again.Tags[i].Value != l.Tags[i].Value {
				t.Fatalf("canonical form %q of %q changed the value of %q", l.String(), s, l.Tags[i].Name)
			}
		}
	})
}
