package mx

import (
	"fmt"
	"strings"
)

// zoneLine renders a record the way remediations quote it:
// "example.test. IN MX 10 mail.example.test.".
func zoneLine(owner, rrtype, data string) string {
	return fmt.Sprintf("%q", fqdn(owner)+" IN "+rrtype+" "+data)
}

// fqdn adds the trailing dot.
func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// bare removes the trailing dot, for labels and reasons.
func bare(name string) string { return strings.TrimSuffix(name, ".") }
