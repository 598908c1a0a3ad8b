package mtasts_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
)

// Real policies:
//   - gmailPolicy is gmail.com's, as KumoMTA's documentation quotes it
//     (kumomta/kumomta, docs/reference/kumo/make_egress_path/
//     enable_mta_sts.md, "at the time of writing").
//   - outlookPolicy is outlook.com's in testing mode, as a 2019 article
//     on MTA-STS quoted the output of
//     curl https://mta-sts.outlook.com/.well-known/mta-sts.txt.
//   - rfcPolicy is RFC 8461 §3.2's example, with the CRLF line ends the
//     RFC describes.
const (
	gmailPolicy   = "version: STSv1\nmode: enforce\nmx: gmail-smtp-in.l.google.com\nmx: *.gmail-smtp-in.l.google.com\nmax_age: 86400\n"
	outlookPolicy = "version: STSv1\nmode: testing\nmx: *.olc.protection.outlook.com\nmax_age: 604800\n"
	rfcPolicy     = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"
)

func TestParsePolicy(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		mode       mtasts.Mode
		maxAge     int64
		mx         []string
		endings    string
		extensions []mtasts.Field
		duplicates []string
		err        string
		errLine    int
	}{
		{name: "gmail.com", body: gmailPolicy, mode: mtasts.ModeEnforce, maxAge: 86400,
			mx: []string{"gmail-smtp-in.l.google.com", "*.gmail-smtp-in.l.google.com"}, endings: "LF"},
		{name: "outlook.com", body: outlookPolicy, mode: mtasts.ModeTesting, maxAge: 604800,
			mx: []string{"*.olc.protection.outlook.com"}, endings: "LF"},
		{name: "RFC 8461 example with CRLF", body: rfcPolicy, mode: mtasts.ModeEnforce, maxAge: 604800,
			mx: []string{"mail.example.com", "*.example.net", "backupmx.example.com"}, endings: "CRLF"},
		{name: "mixed line ends, no final one", body: "version: STSv1\r\nmode: testing\nmx: mx.example.com\r\nmax_age: 0",
			mode: mtasts.ModeTesting, maxAge: 0, mx: []string{"mx.example.com"}, endings: "mixed"},
		{name: "one line", body: "version: STSv1", err: "no mode field"},
		{name: "fields in any order, spaces and tabs around values", body: "max_age:\t31557600  \nmx:  MX.Example.COM\nmode: enforce\nversion: STSv1\n",
			mode: mtasts.ModeEnforce, maxAge: 31557600, mx: []string{"MX.Example.COM"}, endings: "LF"},
		{name: "mode none needs no mx", body: "version: STSv1\nmode: none\nmax_age: 86400\n", mode: mtasts.ModeNone, maxAge: 86400, endings: "LF"},
		{name: "extensions are kept and ignored", body: "version: STSv1\nmode: none\nmax_age: 1\nx-note: kept for ops; a=b, ünïcode\nMode: extension\n",
			mode: mtasts.ModeNone, maxAge: 1, endings: "LF",
			extensions: []mtasts.Field{{Name: "x-note", Value: "kept for ops; a=b, ünïcode"}, {Name: "Mode", Value: "extension"}}},
		{name: "repeated fields: the first counts", body: "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmx: b.example\nmax_age: 5\nmax_age: 6\n",
			mode: mtasts.ModeTesting, maxAge: 5, mx: []string{"a.example", "b.example"}, endings: "LF", duplicates: []string{"mode", "max_age"}},

		{name: "empty", body: "", err: "the policy is empty"},
		{name: "only a line end", body: "\n", err: "the line is empty", errLine: 1},
		{name: "byte order mark", body: "\ufeff" + gmailPolicy, err: "byte order mark", errLine: 1},
		{name: "empty line inside", body: "version: STSv1\n\nmode: enforce\nmx: a.example\nmax_age: 1\n", err: "the line is empty", errLine: 2},
		{name: "two line ends at the end", body: gmailPolicy + "\n", err: "the line is empty", errLine: 6},
		{name: "CRLF blank line at the end", body: rfcPolicy + "\r\n", err: "the line is empty", errLine: 7},
		{name: "leading whitespace", body: " version: STSv1\n", err: "starts with whitespace", errLine: 1},
		{name: "space before the colon", body: "version : STSv1\n", err: `whitespace between "version" and ":"`, errLine: 1},
		{name: "no colon", body: "version STSv1\n", err: `"version" is not followed by ":"`, errLine: 1},
		{name: "no colon at all", body: "version\n", err: `"version" has no ":"`, errLine: 1},
		{name: "equals instead of colon", body: "version=STSv1\n", err: `"=" in the field name`, errLine: 1},
		{name: "wrong version", body: "version: STSv2\nmode: enforce\n", err: `version "STSv2" is not STSv1`, errLine: 1},
		{name: "wrong case mode", body: "version: STSv1\nmode: Enforce\n", err: "modes are written in lower case", errLine: 2},
		{name: "unknown mode", body: "version: STSv1\nmode: strict\n", err: `mode "strict" is not enforce, testing or none`, errLine: 2},
		{name: "max_age out of range", body: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", err: "max_age 31557601 is more than 31557600 seconds", errLine: 4},
		{name: "max_age with 11 digits", body: "version: STSv1\nmode: none\nmax_age: 00000000001\n", err: "has 11 digits", errLine: 3},
		{name: "negative max_age", body: "version: STSv1\nmode: none\nmax_age: -1\n", err: `max_age "-1" is not a number of seconds`, errLine: 3},
		{name: "max_age in days", body: "version: STSv1\nmode: none\nmax_age: 7d\n", err: `max_age "7d" is not a number`, errLine: 3},
		{name: "empty mx", body: "version: STSv1\nmode: enforce\nmx:\n", err: "mx: the value is empty", errLine: 3},
		{name: "mx with a trailing dot", body: "version: STSv1\nmode: enforce\nmx: mx.example.com.\n", err: "without the final dot", errLine: 3},
		{name: "mx with a wildcard in the middle", body: "version: STSv1\nmode: enforce\nmx: mx.*.example.com\n", err: `"*" may only stand as the whole leftmost label`, errLine: 3},
		{name: "mx wildcard without a dot", body: "version: STSv1\nmode: enforce\nmx: *example.com\n", err: `"*" in label`, errLine: 3},
		{name: "mx with a U-label", body: "version: STSv1\nmode: enforce\nmx: mx.bücher.example\n", err: "A-label", errLine: 3},
		{name: "mx with an underscore", body: "version: STSv1\nmode: enforce\nmx: mx_1.example.com\n", err: `"_" in label "mx_1"`, errLine: 3},
		{name: "mx with two patterns on one line", body: "version: STSv1\nmode: enforce\nmx: a.example, b.example\n", err: `"," in label`, errLine: 3},
		{name: "a tab inside a value", body: "version: STSv1\nmode: none\nmax_age: 1\nnote: a\tb\n", err: "a tab inside the value", errLine: 4},
		{name: "a bare CR", body: "version: STSv1\rmode: none\n", err: "a carriage return in the value", errLine: 1},
		{name: "a NUL byte", body: "version: STSv1\nmode: none\x00\n", err: "the control character 0x00", errLine: 2},
		{name: "invalid UTF-8", body: "version: STSv1\nnote: \xff\n", err: "not valid UTF-8", errLine: 2},
		{name: "missing max_age", body: "version: STSv1\nmode: enforce\nmx: a.example\n", err: "no max_age field"},
		{name: "missing version", body: "mode: enforce\nmx: a.example\nmax_age: 1\n", err: "no version field"},
		{name: "wrong case field name", body: "Version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n", err: `no version field (RFC 8461 §3.2); "Version" is another field`},
		{name: "enforce without mx", body: "version: STSv1\nmode: enforce\nmax_age: 1\n", err: "no mx field; mode enforce needs at least one"},
		{name: "an HTML page", body: "<!DOCTYPE html>\n<html>", err: `the line starts with "<"`, errLine: 1},
		{name: "field name too long", body: strings.Repeat("a", 33) + ": x\n", err: "is 33 characters long", errLine: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := mtasts.ParsePolicy([]byte(tc.body))
			if tc.err != "" {
				perr, ok := err.(*mtasts.PolicyError)
				if !ok || !strings.Contains(err.Error(), tc.err) || perr.Line != tc.errLine {
					t.Fatalf("error %v, want one containing %q on line %d", err, tc.err, tc.errLine)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var mx []string
			for _, pat := range p.MX {
				mx = append(mx, pat.Text)
			}
			if p.Version != "STSv1" || p.Mode != tc.mode || p.MaxAge != tc.maxAge || !slices.Equal(mx, tc.mx) ||
				p.LineEndings != tc.endings || !slices.Equal(p.Extensions, tc.extensions) || !slices.Equal(p.Duplicates, tc.duplicates) {
				t.Errorf("parsed %+v", p)
			}
		})
	}
}

func TestPatternMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		host    string
		want    bool
	}{
		{"mail.example.com", "mail.example.com", true},
		{"mail.example.com", "MAIL.Example.Com.", true},
		{"mail.example.com", "mail2.example.com", false},
		{"mail.example.com", "example.com", false},
		{"MX.Example.COM", "mx.example.com", true},
		// RFC 8461 §4.1: the wildcard covers exactly one leftmost label.
		{"*.example.com", "mx.example.com", true},
		{"*.example.com", "MX.EXAMPLE.COM.", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "a.b.example.com", false},
		{"*.example.com", "mx.example.com.evil.test", false},
		{"*.example.com", "mxexample.com", false},
		{"*.example.com", ".example.com", false},
		{"*.gmail-smtp-in.l.google.com", "alt1.gmail-smtp-in.l.google.com", true},
		{"*.gmail-smtp-in.l.google.com", "gmail-smtp-in.l.google.com", false},
		{"*.olc.protection.outlook.com", "outlook-com.olc.protection.outlook.com", true},
	} {
		p, err := mtasts.ParsePattern(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := p.Matches(tc.host); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.host, got, tc.want)
		}
	}
}

func TestPolicyHashIgnoresForm(t *testing.T) {
	parse := func(body string) [32]byte {
		t.Helper()
		p, err := mtasts.ParsePolicy([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return p.Hash()
	}
	base := parse(gmailPolicy)
	same := []string{
		strings.ReplaceAll(gmailPolicy, "\n", "\r\n"),
		"max_age: 86400\nmx: *.gmail-smtp-in.l.google.com\nmx: GMAIL-SMTP-IN.L.GOOGLE.COM\nmode: enforce\nversion: STSv1",
		gmailPolicy + "mx: gmail-smtp-in.l.google.com\n",
	}
	for _, body := range same {
		if parse(body) != base {
			t.Errorf("%q hashes differently from gmail.com's policy", body)
		}
	}
	different := []string{
		strings.Replace(gmailPolicy, "enforce", "testing", 1),
		strings.Replace(gmailPolicy, "86400", "86401", 1),
		strings.Replace(gmailPolicy, "mx: *.gmail", "mx: *.googlemail", 1),
		gmailPolicy + "x-extra: 1\n",
	}
	for _, body := range different {
		if parse(body) == base {
			t.Errorf("%q hashes like gmail.com's policy", body)
		}
	}
}

func TestPolicyText(t *testing.T) {
	p, err := mtasts.ParsePolicy([]byte(gmailPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if p.Text() != gmailPolicy {
		t.Errorf("Text() = %q, want %q", p.Text(), gmailPolicy)
	}
}
