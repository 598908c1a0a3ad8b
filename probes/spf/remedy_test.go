package spf

import (
	"context"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

func TestNearMiss(t *testing.T) {
	for s, want := range map[string]string{
		"v=spf10":                     `"v=spf1" must be followed by a space`,
		"v=spf1mx -all":               `"v=spf1" must be followed by a space`,
		" v=spf1 -all":                "with nothing before it",
		`"v=spf1 -all"`:               "with nothing before it",
		"v=spf2.0/pra ip4:192.0.2.1":  "Sender ID",
		"spf1 -all":                   `it must start with "v=spf1 "`,
		"google-site-verification=ab": "",
		"MS=ms12345":                  "",
	} {
		if got := nearMiss(s); !strings.Contains(got, want) || (want == "") != (got == "") {
			t.Errorf("nearMiss(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestMergeRecords(t *testing.T) {
	for _, tc := range []struct {
		records []string
		want    string
	}{
		// The most lenient all of the records: one ended in ~all.
		{[]string{"v=spf1 mx ~all", "V=SPF1 mx include:_spf.google.com -all", "v=spf1 +all"}, "v=spf1 mx include:_spf.google.com ~all"},
		// +all and ?all are never proposed.
		{[]string{"v=spf1 a +all", "v=spf1 all"}, "v=spf1 a ~all"},
		{[]string{"v=spf1 a ?all", "v=spf1 mx"}, "v=spf1 a mx ~all"},
		{[]string{"v=spf1 mx -all", "v=spf1 a -all"}, "v=spf1 mx a -all"},
		// A redirect becomes the include it amounts to (an all beside it
		// would disable it); one exp= only (RFC 7208 §6).
		{[]string{"v=spf1 redirect=_spf.a.example", "v=spf1 include:b.example -all exp=e1.example", "v=spf1 ip4:192.0.2.1 -all exp=e2.example"},
			"v=spf1 include:_spf.a.example include:b.example ip4:192.0.2.1 ~all exp=e1.example"},
		// The same term twice, qualified or not, once.
		{[]string{"v=spf1 +include:x.example -all", "v=spf1 include:X.example -all"}, "v=spf1 +include:x.example -all"},
	} {
		got := mergeRecords(tc.records)
		if got != tc.want {
			t.Errorf("mergeRecords(%q) = %q, want %q", tc.records, got, tc.want)
		}
		rec, err := Parse(got)
		if err != nil || len(rec.Errors) > 0 || rec.Redirect != nil {
			t.Errorf("the merged record %q does not stand alone: %v %v", got, err, rec.Errors)
		}
	}
}

func TestWithAll(t *testing.T) {
	for _, tc := range []struct{ record, q, want string }{
		{"v=spf1 mx ?all", "-", "v=spf1 mx -all"},
		{"v=spf1 mx", "~", "v=spf1 mx ~all"},
		{"v=spf1 +ALL", "-", "v=spf1 -all"},
		{"v=spf1 a exp=why.example.com redirect=x.example.com", "-", "v=spf1 a -all exp=why.example.com"},
	} {
		rec, _ := Parse(tc.record)
		if got := withAll(rec, tc.q); got != tc.want {
			t.Errorf("withAll(%q, %q) = %q, want %q", tc.record, tc.q, got, tc.want)
		}
	}
}

func TestTXTLineSplitsLongRecords(t *testing.T) {
	// RFC 7208 §3.3: a character-string holds at most 255 octets.
	record := "v=spf1" + strings.Repeat(" ip4:192.0.2.0/24", 20) + " -all"
	line := txtLine("example.com", record)
	if !strings.HasPrefix(line, `"example.com. IN TXT \"v=spf1 ip4:`) || strings.Count(line, `\" \"`) != 1 {
		t.Fatalf("txtLine = %s", line)
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, `"example.com. IN TXT \"`), `\""`), `\" \"`)
	for _, part := range parts {
		if len(part) > 255 {
			t.Errorf("a string of %d octets", len(part))
		}
	}
	if joined := strings.Join(parts, ""); joined != record {
		t.Errorf("the strings join to %q, want %q", joined, record)
	}
}

// "Remove the terms that match nothing" never names a term whose name has
// records: a name void for one family only is told to get the other
// family's records, or replaced by the addresses it has.
func TestVoidFixNeverRemovesNamesWithRecords(t *testing.T) {
	srv := testbed.StartDNS(t, world+`
mixedvoid.test. TXT "v=spf1 a:gone.mixedvoid.test a:v4.mixedvoid.test a:v6.mixedvoid.test a:v4.mixedvoid.test/24 -all"
v4.mixedvoid.test. A 192.0.2.44
v6.mixedvoid.test. AAAA 2001:db8::44
`)
	r := newResolver(t, srv.Addr)
	for _, domain := range []string{"void.test", "voidv6.test", "mixedvoid.test"} {
		set, err := fetchRecord(context.Background(), r, domain)
		if err != nil || len(set.records) != 1 {
			t.Fatalf("%s: %v %v", domain, set, err)
		}
		rec, _ := Parse(set.records[0])
		a := runAudit(context.Background(), r, domain, rec)
		fix := voidFix(a.voidHits, famBoth)
		remove := ""
		if strings.HasPrefix(fix, "remove or repair") {
			remove, _, _ = strings.Cut(fix, "; for the terms whose names lack")
		}
		for _, f := range a.voidHits {
			if f.hasRecords && strings.Contains(remove, f.term+" in ") {
				t.Errorf("%s: the fix removes %s, whose name has records: %s", domain, f.term, fix)
			}
		}
		if domain == "mixedvoid.test" {
			for _, want := range []string{
				"remove or repair the terms that match nothing (their lookups find no records): a:gone.mixedvoid.test in mixedvoid.test (NXDOMAIN)",
				"a:v4.mixedvoid.test in mixedvoid.test: publish AAAA records for v4.mixedvoid.test, or replace the term with ip4:192.0.2.44 (the addresses it matches today)",
				"a:v6.mixedvoid.test in mixedvoid.test: publish A records for v6.mixedvoid.test, or replace the term with ip6:2001:db8::44",
				// A term with a prefix length is not replaced by the bare
				// address, which would authorise less.
				"a:v4.mixedvoid.test/24 in mixedvoid.test: publish AAAA records for v4.mixedvoid.test",
			} {
				if !strings.Contains(fix, want) {
					t.Errorf("the fix does not say %q:\n%s", want, fix)
				}
			}
			if strings.Contains(fix, "a:v4.mixedvoid.test/24 in mixedvoid.test: publish AAAA records for v4.mixedvoid.test, or replace") {
				t.Errorf("a /24 term replaced by one address: %s", fix)
			}
		}
	}
}
