package spf

import (
	"strings"
	"testing"
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
	got := mergeRecords([]string{"v=spf1 mx ~all", "V=SPF1 mx include:_spf.google.com -all", "v=spf1 +all"})
	if got != "v=spf1 mx include:_spf.google.com -all" {
		t.Errorf("merged %q", got)
	}
	// +all is never proposed.
	if got := mergeRecords([]string{"v=spf1 a +all", "v=spf1 all"}); got != "v=spf1 a -all" {
		t.Errorf("merged %q", got)
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
