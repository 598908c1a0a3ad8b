package probes

import (
	"slices"
	"strings"
	"testing"
)

func TestJoinPhrases(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b", "a", "c"}, "a; b; a; c"},
		{[]string{"a", "b", "c", "d", "e", "f"}, "a; b; c; d; and 2 more"},
		{[]string{"a\nb"}, "a\nb"}, // line breaks are the caller's business
	} {
		if got := JoinPhrases(tc.in); got != tc.want {
			t.Errorf("JoinPhrases(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestDedup(t *testing.T) {
	if got := Dedup([]string{"b", "a", "b", "", "a", ""}); !slices.Equal(got, []string{"b", "a", ""}) {
		t.Errorf("Dedup = %q", got)
	}
	if got := Dedup(nil); got != nil {
		t.Errorf("Dedup(nil) = %q; want nil", got)
	}
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"  a\r\n\tb   c ", 64, "a b c"},
		{"abcdef", 3, "abc…"},
		{"abc", 3, "abc"},
		{strings.Repeat("x ", 40), 64, strings.Repeat("x ", 32) + "…"},
	} {
		if got := OneLine(tc.in, tc.max); got != tc.want {
			t.Errorf("OneLine(%q, %d) = %q; want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestEscapeLineBreaks(t *testing.T) {
	if got, want := EscapeLineBreaks("250-a\r\n250 b\n\t\x00"), `250-a\r\n250 b\n`+"\t\x00"; got != want {
		t.Errorf("EscapeLineBreaks = %q; want %q", got, want)
	}
}

func TestClipAndPlural(t *testing.T) {
	if got := Clip("abcdef", 4); got != "abcd…" {
		t.Errorf("Clip = %q", got)
	}
	if got := Clip("abcd", 4); got != "abcd" {
		t.Errorf("Clip = %q", got)
	}
	if got := Plural(1, "address", "addresses"); got != "1 address" {
		t.Errorf("Plural(1) = %q", got)
	}
	if got := Plural(0, "address", "addresses"); got != "0 addresses" {
		t.Errorf("Plural(0) = %q", got)
	}
	if got := PluralForm(1, "has", "have") + " " + PluralForm(2, "has", "have"); got != "has have" {
		t.Errorf("PluralForm(1), PluralForm(2) = %q", got)
	}
}

func TestDescribeByte(t *testing.T) {
	for c, want := range map[byte]string{
		' ': "a space", '\t': "a tab", '\r': "a carriage return", '\n': "a line feed",
		0: "the control character 0x00", 0x7f: "the control character 0x7f",
		0xc3: "the non-ASCII byte 0xc3", '=': `"="`,
	} {
		if got := DescribeByte(c); got != want {
			t.Errorf("DescribeByte(%#x) = %q; want %q", c, got, want)
		}
	}
}
