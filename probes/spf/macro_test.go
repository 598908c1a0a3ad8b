package spf

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// TestMacroExamples expands the examples of RFC 7208 §7.4: sender
// strong-bad@email.example.com, <domain> email.example.com, client
// 192.0.2.3 or 2001:db8::cb01.
func TestMacroExamples(t *testing.T) {
	v4 := &checker{ip: netip.MustParseAddr("192.0.2.3"), sender: "strong-bad@email.example.com", local: "strong-bad", senderDomain: "email.example.com", ptrDone: true}
	v6 := &checker{ip: netip.MustParseAddr("2001:db8::cb01"), family: 1, sender: "strong-bad@email.example.com", local: "strong-bad", senderDomain: "email.example.com", ptrDone: true}
	for _, tc := range []struct {
		c          *checker
		macro, out string
	}{
		{v4, "%{s}", "strong-bad@email.example.com"},
		{v4, "%{o}", "email.example.com"},
		{v4, "%{d}", "email.example.com"},
		{v4, "%{d4}", "email.example.com"},
		{v4, "%{d3}", "email.example.com"},
		{v4, "%{d2}", "example.com"},
		{v4, "%{d1}", "com"},
		{v4, "%{dr}", "com.example.email"},
		{v4, "%{d2r}", "example.email"},
		{v4, "%{l}", "strong-bad"},
		{v4, "%{l-}", "strong.bad"},
		{v4, "%{lr}", "strong-bad"},
		{v4, "%{lr-}", "bad.strong"},
		{v4, "%{l1r-}", "strong"},
		{v4, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{v4, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{v4, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{v4, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{v4, "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{v6, "%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"},
		// §7.3: upper case URL-escapes; %% %_ %- are a percent, a space
		// and an escaped space; %{p} with no validated name is "unknown".
		{v4, "%{S}", "strong-bad%40email.example.com"},
		{v4, "%%%_%-", "% %20"},
		{v4, "%{p}.example.com", "unknown.example.com"},
		{v4, "%{d999}", "email.example.com"},
	} {
		m, err := parseMacroString(tc.macro, domainLetters)
		if err != nil {
			t.Errorf("%s: %v", tc.macro, err)
			continue
		}
		got, ok := m.expand(checkerVals{c: tc.c, domain: "email.example.com"})
		if !ok || got != tc.out {
			t.Errorf("%s = %q (%v), want %q", tc.macro, got, ok, tc.out)
		}
	}
}

func TestUpperCaseMacroEscapes(t *testing.T) {
	// RFC 7208 §7.3 and the suite's upper-macro scenario: every octet
	// outside the unreserved set is escaped.
	c := &checker{sender: "~jack&jill=up-a_b3.c@e8.example.com", local: "~jack&jill=up-a_b3.c"}
	m, _ := parseMacroString("%{L}", anyLetters)
	if got, _ := m.expand(checkerVals{c: c}); got != "~jack%26jill%3Dup-a_b3.c" {
		t.Errorf("%%{L} = %q", got)
	}
}

func TestAuditMacroValues(t *testing.T) {
	// Without a client or a sender only %{d} and %{o} are known.
	a := &audit{identity: "example.com"}
	for macro, want := range map[string]string{
		"%{d}._spf.%{o}": "sub.example.com._spf.example.com",
		"%{i}.x.example": "",
		"%{l}.x.example": "",
		"%{h}.x.example": "",
		"%{p}.x.example": "",
	} {
		m, err := parseMacroString(macro, domainLetters)
		if err != nil {
			t.Fatal(err)
		}
		vals := &auditVals{a: a, domain: "sub.example.com"}
		got, ok := m.expand(vals)
		if ok != (want != "") || got != want {
			t.Errorf("%s = %q, %v; want %q", macro, got, ok, want)
		}
		if !ok && !strings.Contains(vals.missingWhat(), macro[:4]) {
			t.Errorf("%s: missing %q does not name the macro", macro, vals.missingWhat())
		}
	}
}

func TestTargetName(t *testing.T) {
	long := strings.Repeat("abcdefghi.", 30) + "example.com" // 311 characters
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Example.COM.", "example.com", true},
		{"mail.example...com", "", false},
		{"museum", "", false},
		{"", "", false},
		{strings.Repeat("a", 64) + ".example.com", "", false},
		{strings.Repeat("a", 63) + ".example.com", strings.Repeat("a", 63) + ".example.com", true},
		// §7.3: labels come off the left until at most 253 characters remain.
		{long, long[60:], true},
		{strings.Repeat("a", 300), "", false},
	} {
		got, ok := targetName(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("targetName(%.40q…) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok && len(got) > 253 {
			t.Errorf("targetName(%.40q…) is %d characters long", tc.in, len(got))
		}
	}
}

func TestPresentationRoundTrip(t *testing.T) {
	for raw, want := range map[string]string{
		"mail.example.com":                       "mail.example.com.",
		"macro%percent  space%20url.example.com": `macro%percent\ \ space%20url.example.com.`,
		"a\"b;c(d)e@f\\g'h.example":              `a\"b\;c\(d\)e\@f\\g\'h.example.`,
		"\x00\xff.example":                       `\000\255.example.`,
		"foo:bar/baz.example.com":                "foo:bar/baz.example.com.",
	} {
		got := presentation(raw)
		if got != want {
			t.Errorf("presentation(%q) = %q, want %q", raw, got, want)
		}
		if back := rawName(got); back != lowerASCII(raw) {
			t.Errorf("rawName(%q) = %q, want %q", got, back, raw)
		}
	}
}

func TestTXTStringsAreUnescaped(t *testing.T) {
	// miekg/dns keeps TXT strings escaped; the record must be the octets
	// published, so a non-ASCII octet is a syntax error (RFC 7208 §3.1)
	// rather than four harmless characters.
	for escaped, want := range map[string]string{
		`v=spf1 a:\239\187\191x.example -all`: "v=spf1 a:\xef\xbb\xbfx.example -all",
		`say \"hi\" \\ there`:                 `say "hi" \ there`,
		`trailing \`:                          `trailing \`,
		`\999 stays`:                          `999 stays`,
	} {
		if got := unescape(escaped); got != want {
			t.Errorf("unescape(%q) = %q, want %q", escaped, got, want)
		}
	}
}

func TestSplitSender(t *testing.T) {
	for _, tc := range []struct{ sender, helo, full, local, domain string }{
		{"foo@example.com", "mail.example.net", "foo@example.com", "foo", "example.com"},
		{"@example.com", "mail.example.net", "postmaster@example.com", "postmaster", "example.com"},
		{"", "mail.example.net", "postmaster@mail.example.net", "postmaster", "mail.example.net"},
		{"a@b@example.com", "h", "a@b@example.com", "a@b", "example.com"},
	} {
		full, local, domain := splitSender(tc.sender, tc.helo)
		if full != tc.full || local != tc.local || domain != tc.domain {
			t.Errorf("splitSender(%q, %q) = %q %q %q", tc.sender, tc.helo, full, local, domain)
		}
	}
}

func TestInvalidTargetIsNotAsked(t *testing.T) {
	// A name no question can be composed from behaves as NXDOMAIN without
	// reaching the resolver.
	r := &countingResolver{}
	ans, err := lookup(context.Background(), r, "mail.example...com", 1)
	if err != nil || !ans.NXDomain() || r.n != 0 {
		t.Errorf("lookup of an empty label: %v, %v, %d questions", ans, err, r.n)
	}
}
