package smtpsession

import (
	"crypto/tls"
	"testing"
)

// TestCipherSuiteName: the kept names are crypto/tls's, for every suite it
// knows and for one it does not.
func TestCipherSuiteName(t *testing.T) {
	for _, c := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if got := CipherSuiteName(c.ID); got != tls.CipherSuiteName(c.ID) || got == "" {
			t.Errorf("%#04x: %q, want %q", c.ID, got, tls.CipherSuiteName(c.ID))
		}
	}
	if got := CipherSuiteName(0xfefe); got != "0xFEFE" {
		t.Errorf("unknown suite: %q", got)
	}
}
