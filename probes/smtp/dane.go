package smtp

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// TLSA certificate usages, selectors and matching types (RFC 6698 §2.1,
// names from RFC 7218).
const (
	usagePKIXTA = 0
	usagePKIXEE = 1
	usageDANETA = 2
	usageDANEEE = 3

	selectorCert = 0
	selectorSPKI = 1

	matchFull   = 0
	matchSHA256 = 1
	matchSHA512 = 2
)

// usable returns the records a DANE SMTP client uses: DANE-TA(2) and
// DANE-EE(3) with a known selector and matching type (RFC 7672 §3.1.3:
// PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP), and why the others are
// not.
func usableTLSA(t *mailhosts.TLSASet) (use []*dns.TLSA, unusable []string) {
	for _, r := range t.Records {
		if why := unusableWhy(r); why != "" {
			unusable = append(unusable, fmt.Sprintf("%s: %s", tlsaText(r), why))
			continue
		}
		use = append(use, r)
	}
	return use, unusable
}

func unusableWhy(r *dns.TLSA) string {
	switch {
	case r.Usage == usagePKIXTA || r.Usage == usagePKIXEE:
		return "PKIX usages are unusable for SMTP (RFC 7672 §3.1.3)"
	case r.Usage != usageDANETA && r.Usage != usageDANEEE:
		return fmt.Sprintf("unknown usage %d", r.Usage)
	case r.Selector != selectorCert && r.Selector != selectorSPKI:
		return fmt.Sprintf("unknown selector %d", r.Selector)
	case r.MatchingType > matchSHA512:
		return fmt.Sprintf("unknown matching type %d", r.MatchingType)
	}
	if _, err := hex.DecodeString(r.Certificate); err != nil || r.Certificate == "" {
		return "the association data is not hexadecimal"
	}
	return ""
}

// tlsaText renders a record's parameters and a short prefix of its data.
func tlsaText(r *dns.TLSA) string {
	return fmt.Sprintf("%d %d %d %s", r.Usage, r.Selector, r.MatchingType, probes.Clip(strings.ToLower(r.Certificate), 16))
}

// association computes the data a TLSA record with the selector and
// matching type would hold for cert.
func association(selector, matching uint8, cert *x509.Certificate) (string, error) {
	return dns.CertificateToDANE(selector, matching, cert)
}

// daneResult is how one served chain fares against a host's usable records.
type daneResult struct {
	matched *dns.TLSA // the record that authenticated the chain
	// why lists, per record, why it did not.
	why []string
}

// matchDANE checks a served chain against usable TLSA records (RFC 7672
// §3.1, RFC 7671 §5):
//   - DANE-EE(3) matches the leaf alone; names and dates are not checked
//     (RFC 7672 §3.1.1);
//   - DANE-TA(2) matches a certificate above the leaf, which then stands as
//     the trust anchor of a chain validation that checks names (the MX host
//     name, RFC 7672 §3.2.2) and dates (RFC 7671 §5.2.2). A TA given as a
//     full public key (2 1 0) or full certificate (2 0 0) need not be
//     served.
//
// Association data is compared case-insensitively: it is hex, and zone
// files write it in either case.
func matchDANE(records []*dns.TLSA, chain []*x509.Certificate, mx string, now time.Time) daneResult {
	var res daneResult
	if len(chain) == 0 {
		res.why = append(res.why, "the server sent no certificate")
		return res
	}
	for _, r := range records {
		var why string
		switch r.Usage {
		case usageDANEEE:
			why = matchEE(r, chain[0])
		case usageDANETA:
			why = matchTA(r, chain, mx, now)
		}
		if why == "" {
			res.matched = r
			return res
		}
		res.why = append(res.why, tlsaText(r)+": "+why)
	}
	return res
}

func matchEE(r *dns.TLSA, leaf *x509.Certificate) string {
	got, err := association(r.Selector, r.MatchingType, leaf)
	if err != nil {
		return err.Error()
	}
	if !strings.EqualFold(got, r.Certificate) {
		return fmt.Sprintf("does not match the server certificate (%s)", probes.Clip(got, 16))
	}
	return ""
}

func matchTA(r *dns.TLSA, chain []*x509.Certificate, mx string, now time.Time) string {
	for i := 1; i < len(chain); i++ {
		got, err := association(r.Selector, r.MatchingType, chain[i])
		if err != nil || !strings.EqualFold(got, r.Certificate) {
			continue
		}
		if err := verifyUnder(chain[i], chain[1:i], chain[0], mx, now); err != nil {
			return fmt.Sprintf("matches chain certificate %d (%q), but the chain does not validate under it: %v", i, probes.Clip(chain[i].Subject.CommonName, 80), err)
		}
		return ""
	}
	if r.MatchingType == matchFull {
		if why, ok := matchOutsideTA(r, chain, mx, now); ok {
			return why
		}
	}
	return "matches no certificate above the server certificate in the served chain"
}

// matchOutsideTA handles a trust anchor published in full but not served
// (RFC 7671 §5.2.2): 2 0 0 holds the certificate, 2 1 0 the public key that
// signed the top of the served chain. ok is false when the data names no
// anchor of this chain.
func matchOutsideTA(r *dns.TLSA, chain []*x509.Certificate, mx string, now time.Time) (why string, ok bool) {
	der, err := hex.DecodeString(r.Certificate)
	if err != nil {
		return "", false
	}
	top := chain[len(chain)-1]
	switch r.Selector {
	case selectorCert:
		ta, err := x509.ParseCertificate(der)
		if err != nil {
			return "", false
		}
		if err := top.CheckSignatureFrom(ta); err != nil && !top.Equal(ta) {
			return "", false
		}
		if err := verifyUnder(ta, chain[1:], chain[0], mx, now); err != nil {
			return fmt.Sprintf("names a trust anchor (%q), but the chain does not validate under it: %v", probes.Clip(ta.Subject.CommonName, 80), err), true
		}
		return "", true
	case selectorSPKI:
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return "", false
		}
		anchor := &x509.Certificate{PublicKey: pub}
		if err := anchor.CheckSignature(top.SignatureAlgorithm, top.RawTBSCertificate, top.Signature); err != nil {
			return "", false
		}
		// The key signed the top certificate; validate the rest under
		// that certificate, checking its own dates too.
		if len(chain) == 1 {
			if err := chain[0].VerifyHostname(mx); err != nil {
				return fmt.Sprintf("the trust anchor key signed the server certificate, but %v", err), true
			}
			if p := dateProblems(chain, now); len(p) > 0 {
				return "the trust anchor key signed the server certificate, but " + p[0], true
			}
			return "", true
		}
		if p := dateProblems(chain[len(chain)-1:], now); len(p) > 0 {
			return "the trust anchor key signed the top of the chain, but " + p[0], true
		}
		if err := verifyUnder(top, chain[1:len(chain)-1], chain[0], mx, now); err != nil {
			return fmt.Sprintf("the trust anchor key signed the top of the chain, but the chain does not validate: %v", err), true
		}
		return "", true
	}
	return "", false
}

// verifyUnder validates leaf with ta as the only root, the given
// intermediates, the MX host name and the time.
func verifyUnder(ta *x509.Certificate, intermediates []*x509.Certificate, leaf *x509.Certificate, mx string, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(ta)
	inter := x509.NewCertPool()
	for _, c := range intermediates {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		DNSName:       mx,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}
