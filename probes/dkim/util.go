package dkim

import (
	"fmt"
	"strings"
)

// zoneTXT renders a TXT record the way remediations quote it, split into
// character-strings of at most 255 bytes as a zone file needs them
// (RFC 1035 §3.3.14; verifiers join them, RFC 6376 §3.6.2.2):
// "sel._domainkey.example.test. IN TXT \"v=DKIM1; k=rsa; p=...\"".
func zoneTXT(owner, text string) string {
	var parts []string
	for len(text) > 255 {
		parts = append(parts, `"`+text[:255]+`"`)
		text = text[255:]
	}
	parts = append(parts, `"`+text+`"`)
	return fmt.Sprintf("%q", fqdn(owner)+" IN TXT "+strings.Join(parts, " "))
}

func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

func bare(name string) string { return strings.TrimSuffix(name, ".") }
