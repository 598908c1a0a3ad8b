package smtp

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// chainDates returns the earliest notAfter and the latest notBefore of the
// chain.
func chainDates(chain []*x509.Certificate) (earliestNotAfter, latestNotBefore time.Time) {
	for i, c := range chain {
		if i == 0 || c.NotAfter.Before(earliestNotAfter) {
			earliestNotAfter = c.NotAfter
		}
		if i == 0 || c.NotBefore.After(latestNotBefore) {
			latestNotBefore = c.NotBefore
		}
	}
	return earliestNotAfter, latestNotBefore
}

// keyFacts names a public key's type and size: RSA modulus bits, the ECDSA
// curve's bits, 256 for Ed25519 (RFC 8032's 128-bit security level, sized
// as ECDSA P-256 for comparison).
func keyFacts(pub any) (keyType string, bits int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N == nil {
			return "rsa", 0
		}
		return "rsa", k.N.BitLen()
	case *ecdsa.PublicKey:
		if k.Curve == nil {
			return "ecdsa", 0
		}
		return "ecdsa", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "ed25519", 256
	}
	return "other", 0
}

// keyProblem says what is wrong with the key under the configured minimums,
// or "" when it is strong enough.
func keyProblem(pub any, cfg Config) string {
	kt, bits := keyFacts(pub)
	switch {
	case kt == "rsa" && bits < cfg.MinRSABits:
		return fmt.Sprintf("an RSA key of %d bits (under %d)", bits, cfg.MinRSABits)
	case kt == "ecdsa" && bits < cfg.MinECDSABits:
		return fmt.Sprintf("an ECDSA key of %d bits (under %d)", bits, cfg.MinECDSABits)
	case kt == "other":
		return fmt.Sprintf("a %T key, which is neither RSA, ECDSA nor Ed25519", pub)
	}
	return ""
}

// describeKey renders "RSA 2048 bits" for evidence.
func describeKey(pub any) string {
	kt, bits := keyFacts(pub)
	switch kt {
	case "ed25519":
		return "Ed25519"
	case "other":
		return fmt.Sprintf("%T", pub)
	}
	return fmt.Sprintf("%s %d bits", strings.ToUpper(kt), bits)
}

// certLine renders one certificate for evidence lines.
func certLine(c *x509.Certificate) string {
	return fmt.Sprintf("subject %q issuer %q notBefore %s notAfter %s",
		probes.Clip(c.Subject.CommonName, 100), probes.Clip(c.Issuer.CommonName, 100),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
}

// serialText renders a serial number as colon-less upper-case hex, as
// OpenSSL prints it, bounded (RFC 5280 §4.1.2.2 allows 20 octets).
func serialText(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	return probes.Clip(strings.ToUpper(c.SerialNumber.Text(16)), 64)
}

// dateProblems lists the certificates of the chain that are not valid at
// now.
func dateProblems(chain []*x509.Certificate, now time.Time) []string {
	var out []string
	for i, c := range chain {
		what := "certificate"
		if i == 0 {
			what = "server certificate"
		} else {
			what = fmt.Sprintf("chain certificate %d", i)
		}
		switch {
		case now.After(c.NotAfter):
			out = append(out, fmt.Sprintf("the %s %q expired on %s", what, probes.Clip(c.Subject.CommonName, 100), c.NotAfter.UTC().Format("2006-01-02 15:04 MST")))
		case now.Before(c.NotBefore):
			out = append(out, fmt.Sprintf("the %s %q is not valid before %s", what, probes.Clip(c.Subject.CommonName, 100), c.NotBefore.UTC().Format("2006-01-02 15:04 MST")))
		}
	}
	return out
}
