package spf

import (
	"fmt"
	"strings"
	"testing"
)

// describeRecord renders what the parser understood, for the tables.
func describeRecord(r *Record) string {
	var parts []string
	for _, t := range r.Terms {
		s := t.Qualifier.String() + string(t.Mechanism)
		if t.Domain != nil {
			s += ":" + t.Domain.Text
		}
		switch t.Mechanism {
		case MechIP4, MechIP6:
			s += ":" + t.Network.String()
		case MechA, MechMX:
			if t.Prefix4 != 32 || t.Prefix6 != 128 {
				s += fmt.Sprintf("/%d//%d", t.Prefix4, t.Prefix6)
			}
		}
		parts = append(parts, s)
	}
	if r.Redirect != nil {
		parts = append(parts, "redirect="+r.Redirect.Value.Text)
	}
	if r.Exp != nil {
		parts = append(parts, "exp="+r.Exp.Value.Text)
	}
	for _, m := range r.Unknown {
		parts = append(parts, "?"+m.Name+"="+m.Value.Text)
	}
	return strings.Join(parts, " ")
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		record string
		want   string
	}{
		{"v=spf1", ""},
		{"V=SPF1 -ALL", "-all"},
		{"v=spf1   mx    -all   ", "+mx -all"},
		{"v=spf1 a mx ptr ~all", "+a +mx +ptr ~all"},
		{"v=spf1 a:mail.example.com/24 mx//64 a/24//48 ?all", "+a:mail.example.com/24//128 +mx/32//64 +a/24//48 ?all"},
		{"v=spf1 ip4:192.0.2.0/24 ip4:192.0.2.1 ip6:2001:db8::/32 ip6:::ffff:1.2.3.4 -all",
			"+ip4:192.0.2.0/24 +ip4:192.0.2.1/32 +ip6:2001:db8::/32 +ip6:::ffff:1.2.3.4/128 -all"},
		{"v=spf1 include:_spf.google.com ~include:x.example.com -all", "+include:_spf.google.com ~include:x.example.com -all"},
		{"v=spf1 exists:%{i}._spf.mta.salesforce.com -all", "+exists:%{i}._spf.mta.salesforce.com -all"},
		{"v=spf1 redirect=_spf.example.com", "redirect=_spf.example.com"},
		{"v=spf1 -all exp=explain._spf.%{d}", "-all exp=explain._spf.%{d}"},
		{"v=spf1 -all moo.cow-far_out=man:dog/cat", "-all ?moo.cow-far_out=man:dog/cat"},
		{"v=spf1 a:foo:bar/baz.example.com", "+a:foo:bar/baz.example.com"},
		{"v=spf1 a:%{H}.bar", "+a:%{H}.bar"},
		{"v=spf1 exists:%{l2r+-}.user.%{d2}", "+exists:%{l2r+-}.user.%{d2}"},
		{"v=spf1 a:macro%%percent%_%_space%-url-space.example.com", "+a:macro%%percent%_%_space%-url-space.example.com"},
		{"v=spf1 a:foo.example.xn--zckzah a:x.example.com.", "+a:foo.example.xn--zckzah +a:x.example.com."},
		{"v=spf1 ip4:1.1.1.1/0 ip6:::/0", "+ip4:1.1.1.1/0 +ip6:::/0"},
		{"v=spf1 unknown=%{c}%{r}%{t}", "?unknown=%{c}%{r}%{t}"},
	} {
		rec, err := Parse(tc.record)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.record, err)
			continue
		}
		if got := describeRecord(rec); got != tc.want {
			t.Errorf("Parse(%q) = %q, want %q", tc.record, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		record string
		term   string
		pos    int // 1-based character of the term
		msg    string
	}{
		{"v=spf10", "v=spf10", 1, `starts with "v=spf1"`},
		{" v=spf1 -all", "", 1, `starts with "v=spf1"`},
		{"v=spf1 -all.", "-all.", 8, `unknown mechanism "all."`},
		{"v=spf1 -all:foo", "-all:foo", 8, "all takes no argument"},
		{"v=spf1 ip4:1.2.3.4 -all moo", "moo", 25, `unknown mechanism "moo"`},
		{"v=spf1 a:foo-bar -all", "a:foo-bar", 8, "must end in a dot and a top-level label"},
		{"v=spf1 a:111.222.33.44", "a:111.222.33.44", 8, `ends in "44", which is not a top-level label`},
		{"v=spf1 a:museum.", "a:museum.", 8, "is not a domain name"},
		{"v=spf1 a:example.-com", "a:example.-com", 8, "not a top-level label"},
		{"v=spf1 a:", "a:", 8, "needs a domain after the colon"},
		{"v=spf1 a/33", "a/33", 8, "IPv4 prefix length 33 is more than 32"},
		{"v=spf1 mx//129", "mx//129", 8, "IPv6 prefix length 129 is more than 128"},
		{"v=spf1 a/24/64", "a/24/64", 8, "invalid prefix length"},
		{"v=spf1 ip4:1.2.3.4/032", "ip4:1.2.3.4/032", 8, `"032" is not a number`},
		{"v=spf1 ip4:1.2.3", "ip4:1.2.3", 8, `"1.2.3" is not an IPv4 address`},
		{"v=spf1 ip4:1.2.3.4:8080", "ip4:1.2.3.4:8080", 8, "not an IPv4 address"},
		{"v=spf1 ip4:1.2.3.4//32", "ip4:1.2.3.4//32", 8, "prefix length"},
		{"v=spf1 ip4:2001:db8::1", "ip4:2001:db8::1", 8, "use ip6:"},
		{"v=spf1 ip6:192.0.2.1", "ip6:192.0.2.1", 8, "use ip4:"},
		{"v=spf1 ip6::CAFE::BABE", "ip6::CAFE::BABE", 8, "not an IPv6 address"},
		{"v=spf1 ip4", "ip4", 8, "needs an address"},
		{"v=spf1 include", "include", 8, "include needs a domain"},
		{"v=spf1 include:ip5.example.com/24", "include:ip5.example.com/24", 8, "include takes no prefix length"},
		{"v=spf1 exists:mail.example.com/24", "exists:mail.example.com/24", 8, "exists takes no prefix length"},
		{"v=spf1 ptr/0", "ptr/0", 8, "ptr takes no prefix length"},
		{"v=spf1 redirect:x.example.com", "redirect:x.example.com", 8, `unknown mechanism "redirect"`},
		{"v=spf1 1up=foo", "1up=foo", 8, "neither a mechanism nor a modifier"},
		{"v=spf1 =all", "=all", 8, "neither a mechanism nor a modifier"},
		{"v=spf1 moo.cow/far_out=man:dog/cat", "moo.cow/far_out=man:dog/cat", 8, "neither a mechanism nor a modifier"},
		{"v=spf1 redirect=", "redirect=", 8, "empty domain"},
		{"v=spf1 exp=-all", "exp=-all", 8, "is not a domain name"},
		{"v=spf1 redirect=a.example.com redirect=b.example.com", "redirect=b.example.com", 31, "redirect= appears twice"},
		{"v=spf1 -all foo=%abc", "foo=%abc", 13, `"%a" is not a macro`},
		{"v=spf1 exists:foo%.sbl.example.com", "exists:foo%.sbl.example.com", 8, `"%." is not a macro`},
		{"v=spf1 exists:foo%", "exists:foo%", 8, "lone %"},
		{"v=spf1 exists:%{ir.sbl.example.com", "exists:%{ir.sbl.example.com", 8, "is not closed"},
		{"v=spf1 a:%{a}.example.com", "a:%{a}.example.com", 8, `"a" is not a macro letter`},
		{"v=spf1 -all exp=%{r}.example.com", "exp=%{r}.example.com", 13, "allowed only in explanation text"},
		{"v=spf1 exists:%{d0}.example.com", "exists:%{d0}.example.com", 8, "must not be 0"},
		{"v=spf1 exists:%{dx}.example.com", "exists:%{dx}.example.com", 8, `"x" is not a delimiter`},
		{"v=spf1 a:ctrl.example.com\rptr -all", "a:ctrl.example.com\rptr", 8, `'\r' is not allowed`},
		{"v=spf1 a:\xef\xbb\xbfgarbage.example.net -all", "a:\xef\xbb\xbfgarbage.example.net", 8, "is not allowed"},
		{"v=spf1 \x80a:example.net -all", "\x80a:example.net", 8, "is not allowed"},
		{"v=spf1 a:foo.example.com\x00", "a:foo.example.com\x00", 8, "is not allowed"},
		{"v=spf1 + -all", "+", 8, "a qualifier without a mechanism"},
	} {
		rec, err := Parse(tc.record)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error", tc.record, describeRecord(rec))
			continue
		}
		se, ok := err.(*SyntaxError)
		if !ok {
			t.Errorf("Parse(%q) error %T, want *SyntaxError", tc.record, err)
			continue
		}
		if tc.term != "" && se.Term != tc.term || se.Pos+1 != tc.pos || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("Parse(%q) = term %q at %d: %s; want term %q at %d containing %q", tc.record, se.Term, se.Pos+1, se.Msg, tc.term, tc.pos, tc.msg)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("at character %d", tc.pos)) {
			t.Errorf("Parse(%q) error %q does not name the position", tc.record, err)
		}
	}
}

func TestParseReportsEveryError(t *testing.T) {
	rec, err := Parse("v=spf1 a:foo:8080 ip4:1.2.3 mx -all bogus")
	if err == nil {
		t.Fatal("no error")
	}
	var terms []string
	for _, e := range rec.Errors {
		terms = append(terms, e.Term)
	}
	if got := strings.Join(terms, " "); got != "a:foo:8080 ip4:1.2.3 bogus" {
		t.Errorf("errors for %q, want the three bad terms", got)
	}
	if got := describeRecord(rec); got != "+mx -all" {
		t.Errorf("the terms that parse: %q", got)
	}
	// A record of garbage keeps a bounded number of errors.
	rec, _ = Parse("v=spf1" + strings.Repeat(" x", 5000))
	if len(rec.Errors) != maxErrors {
		t.Errorf("%d errors kept, want %d", len(rec.Errors), maxErrors)
	}
}

func TestIsSPF(t *testing.T) {
	for s, want := range map[string]bool{
		"v=spf1":            true,
		"v=spf1 -all":       true,
		"V=SpF1 ~all":       true,
		"v=spf10":           false,
		"v=spf1mx":          false,
		" v=spf1 -all":      false,
		"v=spf2.0/pra -all": false,
		"spf1 -all":         false,
		"":                  false,
	} {
		if got := IsSPF(s); got != want {
			t.Errorf("IsSPF(%q) = %v", s, got)
		}
	}
}

func TestQueriesDNS(t *testing.T) {
	var got []string
	for _, m := range []Mechanism{MechAll, MechInclude, MechA, MechMX, MechPTR, MechIP4, MechIP6, MechExists} {
		if m.QueriesDNS() {
			got = append(got, string(m))
		}
	}
	// RFC 7208 §4.6.4 lists include, a, mx, ptr, exists (and the redirect
	// modifier).
	if strings.Join(got, " ") != "include a mx ptr exists" {
		t.Errorf("DNS-querying mechanisms: %q", got)
	}
}
