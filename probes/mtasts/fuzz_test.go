package mtasts_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
)

// FuzzParseRecord: any TXT record parses or fails without a panic, a
// one-line error for a failure; what parses begins with v=STSv1 and has an
// id of 1 to 32 letters and digits.
func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"v=STSv1; id=20190429T010101;",
		"v=STSv1; id=20210803T010101",
		"v=STSv1;id=1",
		"v=STSv1 ;\tid=abc ; ",
		"v=STSv1; 1ext=a:b/c; x-y.z_w=!~; id=7",
		"v=STSv1; id=first; id=second",
		"v=STSv1; id=2024-01-01",
		"v=STSv1; ; id=1",
		"v=STSv1; id=1 ",
		"V=STSv1; id=1",
		"v=STSv1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		rec, err := mtasts.ParseRecord(txt)
		if err != nil {
			if rec != nil {
				t.Fatalf("a record and an error for %q", txt)
			}
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error %q for %q is not one line", msg, txt)
			}
			return
		}
		if !strings.HasPrefix(txt, "v=STSv1") || !mtasts.IsRecord(txt) {
			t.Fatalf("%q parsed without starting with v=STSv1", txt)
		}
		if len(rec.ID) < 1 || len(rec.ID) > 32 {
			t.Fatalf("id %q of %q", rec.ID, txt)
		}
		for _, c := range []byte(rec.ID) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				t.Fatalf("id %q of %q", rec.ID, txt)
			}
		}
		for _, e := range rec.Extensions {
			if e.Name == "" || e.Value == "" || strings.ContainsAny(e.Name+e.Value, "=; \t") {
				t.Fatalf("extension %+v of %q", e, txt)
			}
		}
	})
}

// FuzzParsePolicy: any body parses or fails without a panic; a failure is
// one line; what parses has a known mode, a max_age within the RFC's
// range, patterns unless the mode is none, and survives rendering and
// parsing again with the same meaning.
func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{
		gmailPolicy, outlookPolicy, rfcPolicy,
		"version: STSv1\r\nmode: testing\nmx: mx.example.com\r\nmax_age: 0",
		"version: STSv1\nmode: none\nmax_age: 1\nx-note: kept; a=b, ünïcode\nMode: extension\n",
		"version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmx: b.example\nmax_age: 5\nmax_age: 6\n",
		"\ufeffversion: STSv1\n",
		"version: STSv1\n\nmode: enforce\n",
		"version: STSv1\nmode: enforce\nmx: *.example.com\nmx: mx.*.example.com\nmax_age: 31557601\n",
		"<!DOCTYPE html>\n<html>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := mtasts.ParsePolicy(body)
		if err != nil {
			if p != nil {
				t.Fatalf("a policy and an error for %q", body)
			}
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\r\n") || !utf8.ValidString(msg) && utf8.Valid(body) {
				t.Fatalf("error %q for %q", msg, body)
			}
			return
		}
		switch p.Mode {
		case mtasts.ModeEnforce, mtasts.ModeTesting:
			if len(p.MX) == 0 {
				t.Fatalf("mode %s without mx in %q", p.Mode, body)
			}
		case mtasts.ModeNone:
		default:
			t.Fatalf("mode %q from %q", p.Mode, body)
		}
		if p.Version != "STSv1" || p.MaxAge < 0 || p.MaxAge > mtasts.MaxMaxAge {
			t.Fatalf("parsed %+v from %q", p, body)
		}
		again, err := mtasts.ParsePolicy([]byte(p.Text()))
		if err != nil {
			t.Fatalf("the rendering of %q does not parse: %v\n%s", body, err, p.Text())
		}
		if len(p.Extensions) == 0 && again.Hash() != p.Hash() {
			t.Fatalf("the rendering of %q means something else:\n%s", body, p.Text())
		}
		for _, pat := range p.MX {
			if !pat.Wildcard && !pat.Matches(pat.Domain) {
				t.Fatalf("pattern %q does not match its own name", pat.Text)
			}
			if pat.Wildcard && (pat.Matches(pat.Domain) || !pat.Matches("mx."+pat.Domain) || pat.Matches("a.b."+pat.Domain)) {
				t.Fatalf("wildcard %q matches the wrong depth", pat.Text)
			}
		}
	})
}
