package testbed

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"sync/atomic"
	"time"
)

// KeyType selects the key of a minted certificate.
type KeyType string

// Key types the CA can mint.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	RSA2048   KeyType = "rsa-2048"
	RSA1024   KeyType = "rsa-1024" // weak on purpose, for tls.key_strength
	Ed25519   KeyType = "ed25519"
	ECDSAP384 KeyType = "ecdsa-p384"
	// ECDSAP224 is weak on purpose, for key-strength unit tests only: Go's
	// TLS stack cannot sign a handshake with a P-224 key, so no test server
	// can serve such a certificate.
	ECDSAP224 KeyType = "ecdsa-p224"
)

// CA is a test certificate authority. Its certificate is in Pool and nowhere
// else, so what it issues is trusted only by code handed that pool.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Pool holds the trust anchor: the CA itself, or for an intermediate
	// the root it descends from.
	Pool *x509.CertPool
	// PEM is the trust anchor's certificate, for a ca_file.
	PEM []byte
	// Chain is, for an intermediate CA, its own certificate and those of
	// the intermediates above it (DER, nearest first, the root excluded):
	// what a server sends after its leaf. Empty for a root.
	Chain [][]byte
}

var serial atomic.Int64

func nextSerial() *big.Int { return big.NewInt(time.Now().UnixNano() + serial.Add(1)) }

// NewCA makes a root CA valid from an hour ago for ten years.
func NewCA(commonName string) (*CA, error) {
	return NewCAValidFrom(commonName, time.Now().Add(-time.Hour))
}

// NewCAValidFrom makes a root CA valid from notBefore for ten years, for
// worlds whose certificates were issued (and have expired) before the test
// started: a real root is older than anything it signed.
func NewCAValidFrom(commonName string, notBefore time.Time) (*CA, error) {
	key, err := newKey(ECDSAP256)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"deliverability_exporter tests"}},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{
		Cert: cert,
		Key:  key,
		Pool: pool,
		PEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// CertOptions describes a certificate to mint. Zero values mean: ECDSA P-256,
// valid from an hour ago for 90 days.
type CertOptions struct {
	// CommonName is the subject CN; empty means the first DNS name.
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	NotBefore  time.Time
	NotAfter   time.Time
	Key        KeyType
	// PrivateKey, when set, is the certificate's key instead of a new one
	// of type Key: a renewal (or a missed renewal) that keeps the key, as
	// DANE-EE "3 1 1" records pinning the key expect.
	PrivateKey crypto.Signer
	// SelfSigned signs the certificate with its own key instead of the CA's.
	SelfSigned bool
}

// Issue mints a server certificate. The returned tls.Certificate carries the
// leaf (and, when the CA signed it, nothing else: the CA is the root).
func (ca *CA) Issue(opts CertOptions) (tls.Certificate, error) {
	key := opts.PrivateKey
	if key == nil {
		var err error
		if key, err = newKey(opts.Key); err != nil {
			return tls.Certificate{}, err
		}
	}
	notBefore, notAfter := opts.NotBefore, opts.NotAfter
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = notBefore.AddDate(0, 0, 90)
	}
	cn := "test"
	if len(opts.DNSNames) > 0 {
		cn = opts.DNSNames[0]
	}
	if opts.CommonName != "" {
		cn = opts.CommonName
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		DNSNames:     opts.DNSNames,
		IPAddresses:  opts.IPs,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if _, isRSA := key.(*rsa.PrivateKey); isRSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	parent, signer := ca.Cert, ca.Key
	if opts.SelfSigned {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	chain := [][]byte{der}
	if !opts.SelfSigned {
		chain = append(chain, ca.Chain...)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// NewIntermediate makes a CA signed by ca. Certificates it issues carry it
// in their chain, and verify against ca's Pool. opts sets the key and the
// validity (zero: from an hour ago for five years); its names are ignored.
func (ca *CA) NewIntermediate(commonName string, opts CertOptions) (*CA, error) {
	key, err := newKey(opts.Key)
	if err != nil {
		return nil, err
	}
	notBefore, notAfter := opts.NotBefore, opts.NotAfter
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = notBefore.AddDate(5, 0, 0)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"deliverability_exporter tests"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("create intermediate certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{
		Cert:  cert,
		Key:   key,
		Pool:  ca.Pool,
		PEM:   ca.PEM,
		Chain: append([][]byte{der}, ca.Chain...),
	}, nil
}

func newKey(t KeyType) (crypto.Signer, error) {
	switch t {
	case "", ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA1024:
		return rsa.GenerateKey(rand.Reader, 1024)
	case Ed25519:
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ECDSAP224:
		return ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	}
	return nil, fmt.Errorf("unknown key type %q", t)
}
