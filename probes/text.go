package probes

import (
	"fmt"
	"strings"
)

// The text helpers probes use to build reasons, remediations and evidence
// lines. Reasons and remediations are one line each (the report and the
// metrics' consumers show them so), so everything here keeps text on one
// line and bounded.

// JoinPhrases joins the phrases of a reason or remediation with "; ",
// keeping the first four and counting the rest ("a; b; c; d; and 2
// more"). It neither drops duplicates (see Dedup) nor touches line breaks
// inside the phrases (see OneLine and EscapeLineBreaks).
func JoinPhrases(phrases []string) string {
	const max = 4
	if len(phrases) <= max {
		return strings.Join(phrases, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(phrases[:max], "; "), len(phrases)-max)
}

// Dedup returns the strings of list without repeats, in the order of their
// first appearance. It returns nil for a list without strings.
func Dedup(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// OneLine makes published or remote text safe to quote in a one-line
// reason: every run of white space (line breaks and tabs included) becomes
// one space, space at either end is dropped, and the result is cut by Clip
// after max bytes.
func OneLine(s string, max int) string {
	return Clip(strings.Join(strings.Fields(s), " "), max)
}

// EscapeLineBreaks writes every CR and LF in s as the two characters \r
// and \n, so that text a remote server sent cannot break a reason across
// lines while still showing where its line breaks were. Other characters,
// other control characters included, are kept.
func EscapeLineBreaks(s string) string {
	return lineBreaks.Replace(s)
}

var lineBreaks = strings.NewReplacer("\r", `\r`, "\n", `\n`)

// Clip cuts s after n bytes and marks the cut with "…"; s is returned as is
// when it is no longer. The cut may fall inside a UTF-8 sequence, so
// callers quote what they clip or clip text known to be ASCII.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// DescribeByte names a byte for a parser's error message: "a space", "a
// tab", "a carriage return", "a line feed", "the control character 0x00",
// "the non-ASCII byte 0xc3", or the character quoted ("\"=\"").
func DescribeByte(c byte) string {
	switch {
	case c == ' ':
		return "a space"
	case c == '\t':
		return "a tab"
	case c == '\r':
		return "a carriage return"
	case c == '\n':
		return "a line feed"
	case c >= 0x80:
		return fmt.Sprintf("the non-ASCII byte 0x%02x", c)
	case c < 0x20 || c == 0x7f:
		return fmt.Sprintf("the control character 0x%02x", c)
	}
	return fmt.Sprintf("%q", string(c))
}

// Plural counts n of something for a reason: "1 address", "2 addresses".
func Plural(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, PluralForm(n, one, many))
}

// PluralForm picks the form of a word that agrees with n subjects, without
// the count: PluralForm(2, "has", "have") is "have".
func PluralForm(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
