package testbed

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

func TestCAIntermediatesAndOptions(t *testing.T) {
	root, err := NewCA("Options Root")
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.NewIntermediate("Options Intermediate", CertOptions{Key: RSA2048})
	if err != nil {
		t.Fatal(err)
	}
	if len(inter.Chain) != 1 || inter.Pool != root.Pool || string(inter.PEM) != string(root.PEM) {
		t.Errorf("intermediate: chain %d, pool and PEM of the root: %v %v", len(inter.Chain), inter.Pool == root.Pool, string(inter.PEM) == string(root.PEM))
	}
	leaf, err := inter.Issue(CertOptions{DNSNames: []string{"mx.example.test"}, CommonName: "Mail Server"})
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.Certificate) != 2 || leaf.Leaf.Subject.CommonName != "Mail Server" || leaf.Leaf.Issuer.CommonName != "Options Intermediate" {
		t.Fatalf("leaf: %d certificates, subject %q, issuer %q", len(leaf.Certificate), leaf.Leaf.Subject.CommonName, leaf.Leaf.Issuer.CommonName)
	}
	mid, err := x509.ParseCertificate(leaf.Certificate[1])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(mid)
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: root.Pool, Intermediates: pool, DNSName: "mx.example.test"}); err != nil {
		t.Errorf("chain does not verify: %v", err)
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: root.Pool, DNSName: "mx.example.test"}); err == nil {
		t.Error("leaf verified without its intermediate")
	}

	// A self-signed certificate carries no chain.
	self, err := inter.Issue(CertOptions{DNSNames: []string{"mx.example.test"}, SelfSigned: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(self.Certificate) != 1 {
		t.Errorf("self-signed certificate with %d certificates", len(self.Certificate))
	}

	// An expired intermediate, a not-yet-valid leaf.
	old, err := root.NewIntermediate("Old", CertOptions{NotBefore: time.Now().Add(-50 * time.Minute), NotAfter: time.Now().Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if !old.Cert.NotAfter.Before(time.Now()) {
		t.Error("intermediate not expired")
	}
	future, err := root.Issue(CertOptions{DNSNames: []string{"mx.example.test"}, NotBefore: time.Now().Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := future.Leaf.Verify(x509.VerifyOptions{Roots: root.Pool, DNSName: "mx.example.test"}); err == nil || !strings.Contains(err.Error(), "not yet valid") && !strings.Contains(err.Error(), "before") {
		t.Errorf("not-yet-valid certificate: %v", err)
	}

	for kt, bits := range map[KeyType]int{ECDSAP384: 384, ECDSAP224: 224} {
		c, err := root.Issue(CertOptions{DNSNames: []string{"k.example.test"}, Key: kt})
		if err != nil {
			t.Fatalf("%s: %v", kt, err)
		}
		k, ok := c.Leaf.PublicKey.(*ecdsa.PublicKey)
		if !ok || k.Curve.Params().BitSize != bits {
			t.Errorf("%s: key %T", kt, c.Leaf.PublicKey)
		}
	}
}

// TestCAReissuesWithTheSameKey: a certificate minted with PrivateKey keeps
// the key (and so its SubjectPublicKeyInfo, what DANE-EE 3 1 1 pins) while
// its dates change.
func TestCAReissuesWithTheSameKey(t *testing.T) {
	ca, err := NewCAValidFrom("Reissue Root", time.Now().AddDate(-2, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	first, err := ca.Issue(CertOptions{DNSNames: []string{"mx.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ca.Issue(CertOptions{DNSNames: []string{"mx.example.test"}, PrivateKey: first.PrivateKey.(crypto.Signer),
		NotBefore: time.Now().AddDate(0, -4, 0), NotAfter: time.Now().AddDate(0, 0, -2)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Leaf.RawSubjectPublicKeyInfo, expired.Leaf.RawSubjectPublicKeyInfo) {
		t.Error("the reissued certificate has another key")
	}
	if !expired.Leaf.NotAfter.Before(time.Now()) {
		t.Errorf("not expired: %v", expired.Leaf.NotAfter)
	}
	if _, err := expired.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, DNSName: "mx.example.test"}); err == nil {
		t.Error("an expired certificate verified")
	}
	// The root predates the expired certificate: at a time within the
	// certificate's dates the chain verifies, as it does under a real root.
	during := expired.Leaf.NotBefore.Add(time.Hour)
	if _, err := expired.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, DNSName: "mx.example.test", CurrentTime: during}); err != nil {
		t.Errorf("within its dates: %v", err)
	}
}
