package probes

import (
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// The DNS helpers remediations and evidence lines share: names are written
// fully qualified in zone lines and without the trailing dot in reasons.

// FQDN adds the trailing dot a zone file line needs, when name lacks it.
func FQDN(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// Bare removes the trailing dot, for labels and reasons.
func Bare(name string) string { return strings.TrimSuffix(name, ".") }

// ZoneLine renders a record the way remediations quote it, owner fully
// qualified and the whole line quoted:
// "example.test. IN MX 10 mail.example.test.". data is written as given.
func ZoneLine(owner, rrtype, data string) string {
	return fmt.Sprintf("%q", FQDN(owner)+" IN "+rrtype+" "+data)
}

// ZoneTXT renders a TXT record the way remediations quote it, its text
// split into character-strings of at most 255 bytes as a zone file needs
// them (RFC 1035 §3.3.14; DKIM verifiers join them, RFC 6376 §3.6.2.2):
// "_dmarc.example.test. IN TXT \"v=DMARC1; p=none\"".
func ZoneTXT(owner, text string) string {
	var parts []string
	for len(text) > 255 {
		parts = append(parts, TXTString(text[:255]))
		text = text[255:]
	}
	parts = append(parts, TXTString(text))
	return ZoneLine(owner, "TXT", strings.Join(parts, " "))
}

// TXTString renders one character-string of a TXT record as a zone file
// reads it (RFC 1035 §5.1): quoted, with a quote or backslash inside it
// escaped as \X and a byte outside printable ASCII as \DDD. A record
// rebuilt from published text (a DKIM or DMARC tag value may hold a quote)
// then publishes exactly that text.
func TXTString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TXTEvidence renders a TXT answer for name as evidence lines: the CNAME
// chain from name, then each TXT record at the owner, quoted, or that there
// is none (and whether the name does not exist). max bounds the TXT lines,
// the rest counted in one line; 0 shows them all.
func TXTEvidence(name string, ans *dnsclient.Answer, max int) []string {
	var lines []string
	prev := name
	for _, c := range ans.CNAMEs {
		lines = append(lines, prev+" CNAME "+c)
		prev = c
	}
	txt := ans.TXT()
	for i, t := range txt {
		if i == max && max > 0 {
			lines = append(lines, fmt.Sprintf("… and %d more TXT records", len(txt)-max))
			break
		}
		lines = append(lines, ans.Owner()+" TXT "+Quote(t))
	}
	switch {
	case len(txt) > 0:
	case ans.NXDomain():
		lines = append(lines, ans.Owner()+" no TXT record (NXDOMAIN)")
	default:
		lines = append(lines, ans.Owner()+" no TXT record")
	}
	return lines
}
