package probes

import (
	"fmt"
	"strings"
)

// The DNS-name helpers remediations and evidence lines share: names are
// written fully qualified in zone lines and without the trailing dot in
// reasons.

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
		parts = append(parts, `"`+text[:255]+`"`)
		text = text[255:]
	}
	parts = append(parts, `"`+text+`"`)
	return ZoneLine(owner, "TXT", strings.Join(parts, " "))
}
