package dmarc

import (
	"fmt"
	"strings"
)

// zoneTXT renders a TXT record the way remediations quote it, split into
// character-strings of at most 255 bytes as a zone file needs them
// (RFC 1035 §3.3.14): "_dmarc.example.test. IN TXT \"v=DMARC1; p=none\"".
func zoneTXT(owner, text string) string {
	var parts []string
	for len(text) > 255 {
		parts = append(parts, `"`+text[:255]+`"`)
		text = text[255:]
	}
	parts = append(parts, `"`+text+`"`)
	if !strings.HasSuffix(owner, ".") {
		owner += "."
	}
	return fmt.Sprintf("%q", owner+" IN TXT "+strings.Join(parts, " "))
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
