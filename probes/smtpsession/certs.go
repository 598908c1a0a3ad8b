package smtpsession

import (
	"crypto/x509"
	"errors"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// judgeChain verifies the served chain in three separate questions, so that
// each check and gauge has its own answer: does it chain to a trusted root
// (dates aside), does the leaf cover the MX host name, and would a sender
// that authenticates accept it now (all three, with the dates).
func judgeChain(info *TLSInfo, env *probes.Env, name string) {
	if len(info.Chain) == 0 {
		info.TrustErr = errors.New("the server sent no certificate")
		info.ValidErr = info.TrustErr
		return
	}
	now := env.Clock()
	leaf := info.Chain[0]
	inter := x509.NewCertPool()
	for _, c := range info.Chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{
		Roots:         env.RootCAs, // nil: the system roots
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	_, err := leaf.Verify(opts)
	if isDateError(err) {
		// Expiry is tls.cert_expiry's question: ask again at a time when
		// every served certificate was valid, if there was one.
		if at, ok := commonValidity(info.Chain); ok {
			opts.CurrentTime = at
			_, err = leaf.Verify(opts)
		}
	}
	info.Trusted, info.TrustErr = err == nil, err

	if name != "" {
		info.NameChecked = true
		info.NameErr = leaf.VerifyHostname(name)
		info.NameMatched = info.NameErr == nil
	}

	opts.CurrentTime, opts.DNSName = now, name
	_, info.ValidErr = leaf.Verify(opts)
	if info.ValidErr == nil && name == "" {
		info.ValidErr = errors.New("no host name to check the certificate against (IP target)")
	}
	info.Valid = info.ValidErr == nil
}

// isDateError reports an error about a certificate's validity period.
func isDateError(err error) bool {
	var inv x509.CertificateInvalidError
	return errors.As(err, &inv) && inv.Reason == x509.Expired
}

// commonValidity returns a time at which every certificate of the chain is
// in its validity period: the latest notBefore, if it is not past the
// earliest notAfter.
func commonValidity(chain []*x509.Certificate) (time.Time, bool) {
	from, until := chain[0].NotBefore, chain[0].NotAfter
	for _, c := range chain[1:] {
		if c.NotBefore.After(from) {
			from = c.NotBefore
		}
		if c.NotAfter.Before(until) {
			until = c.NotAfter
		}
	}
	return from, !from.After(until)
}
