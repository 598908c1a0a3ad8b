package probes

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

func TestFQDNAndBare(t *testing.T) {
	for _, tc := range []struct{ in, fqdn, bare string }{
		{"example.test", "example.test.", "example.test"},
		{"example.test.", "example.test.", "example.test"},
		{"", ".", ""},
		{".", ".", ""},
	} {
		if got := FQDN(tc.in); got != tc.fqdn {
			t.Errorf("FQDN(%q) = %q; want %q", tc.in, got, tc.fqdn)
		}
		if got := Bare(tc.in); got != tc.bare {
			t.Errorf("Bare(%q) = %q; want %q", tc.in, got, tc.bare)
		}
	}
}

func TestZoneLine(t *testing.T) {
	if got, want := ZoneLine("example.test", "MX", "10 mail.example.test."), `"example.test. IN MX 10 mail.example.test."`; got != want {
		t.Errorf("ZoneLine = %s; want %s", got, want)
	}
	if got, want := ZoneLine("_mta-sts.example.test.", "TXT", `"v=STSv1; id=1"`), `"_mta-sts.example.test. IN TXT \"v=STSv1; id=1\""`; got != want {
		t.Errorf("ZoneLine = %s; want %s", got, want)
	}
}

// TestZoneTXT: a long text is split into character-strings of at most 255
// bytes, and the line, unquoted, is a TXT record a zone file parser reads
// back to the same text.
func TestZoneTXT(t *testing.T) {
	if got, want := ZoneTXT("_dmarc.example.test", "v=DMARC1; p=none"), `"_dmarc.example.test. IN TXT \"v=DMARC1; p=none\""`; got != want {
		t.Errorf("ZoneTXT = %s; want %s", got, want)
	}
	text := "v=DKIM1; k=rsa; p=" + strings.Repeat("A", 600)
	quoted := ZoneTXT("sel._domainkey.example.test.", text)
	line, err := strconv.Unquote(quoted)
	if err != nil {
		t.Fatalf("%s is not quoted: %v", quoted, err)
	}
	rr, err := dns.NewRR(line)
	if err != nil {
		t.Fatalf("%s does not parse: %v", line, err)
	}
	txt, ok := rr.(*dns.TXT)
	if !ok || rr.Header().Name != "sel._domainkey.example.test." {
		t.Fatalf("parsed %v", rr)
	}
	if len(txt.Txt) != 3 || strings.Join(txt.Txt, "") != text {
		t.Errorf("parts %d, joined equal %v; want 3 parts of the text", len(txt.Txt), strings.Join(txt.Txt, "") == text)
	}
	for _, part := range txt.Txt {
		if len(part) > 255 {
			t.Errorf("a character-string of %d bytes", len(part))
		}
	}
}

// TestZoneTXTEscapes: a quote, a backslash or a byte outside printable
// ASCII in the text (a DKIM or DMARC tag value read off a published record
// may hold one) is escaped, so the line publishes exactly the text, and
// the 255-byte cut counts the text's bytes, not the escapes'.
func TestZoneTXTEscapes(t *testing.T) {
	for _, text := range []string{
		`v=DKIM1; n="a note"; p=AAAA`,
		`v=spf1 exists:%{l}\x.example.test -all`,
		"v=DMARC1; p=none; x=\x01\xff",
		strings.Repeat(`"`, 300) + `\` + strings.Repeat("x", 254),
	} {
		quoted := ZoneTXT("n.example.test", text)
		line, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("%s is not quoted: %v", quoted, err)
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("%s does not parse: %v", line, err)
		}
		txt, ok := rr.(*dns.TXT)
		if !ok {
			t.Fatalf("parsed %v", rr)
		}
		ans := &dnsclient.Answer{Records: []dns.RR{txt}}
		if got := ans.TXT(); len(got) != 1 || got[0] != text {
			t.Errorf("%s publishes %q, want %q", line, got, text)
		}
		if want := (len(text) + 254) / 255; len(txt.Txt) != want {
			t.Errorf("%q: %d character-strings, want %d", text, len(txt.Txt), want)
		}
	}
}

func TestTXTEvidence(t *testing.T) {
	txt := func(owner string, texts ...string) []dns.RR {
		var rrs []dns.RR
		for _, s := range texts {
			rrs = append(rrs, &dns.TXT{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{s}})
		}
		return rrs
	}
	for _, tc := range []struct {
		name string
		ans  *dnsclient.Answer
		max  int
		want []string
	}{
		{"records", &dnsclient.Answer{Name: "_dmarc.example.test.", Records: txt("_dmarc.example.test.", "v=DMARC1; p=none")}, 0,
			[]string{`_dmarc.example.test. TXT "v=DMARC1; p=none"`}},
		{"alias", &dnsclient.Answer{Name: "_dmarc.example.test.", CNAMEs: []string{"a.test.", "b.test."}, Records: txt("b.test.", "x")}, 0,
			[]string{"_dmarc.example.test. CNAME a.test.", "a.test. CNAME b.test.", `b.test. TXT "x"`}},
		{"nodata", &dnsclient.Answer{Name: "_mta-sts.example.test."}, 10,
			[]string{"_mta-sts.example.test. no TXT record"}},
		{"nxdomain", &dnsclient.Answer{Name: "_mta-sts.example.test.", Rcode: dns.RcodeNameError}, 10,
			[]string{"_mta-sts.example.test. no TXT record (NXDOMAIN)"}},
		{"bounded", &dnsclient.Answer{Name: "n.test.", Records: txt("n.test.", "a", "b", "c")}, 2,
			[]string{`n.test. TXT "a"`, `n.test. TXT "b"`, "… and 1 more TXT records"}},
		{"at the bound", &dnsclient.Answer{Name: "n.test.", Records: txt("n.test.", "a", "b")}, 2,
			[]string{`n.test. TXT "a"`, `n.test. TXT "b"`}},
	} {
		if got := TXTEvidence(tc.ans.Name, tc.ans, tc.max); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q; want %q", tc.name, got, tc.want)
		}
	}
}
