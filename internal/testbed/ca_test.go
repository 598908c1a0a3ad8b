package testbed

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

func TestCAIssues(t *testing.T) {
	ca, err := NewCA("Test Root")
	if err != nil {
		t.Fatal(err)
	}
	verify := func(leaf *x509.Certificate, name string, at time.Time) error {
		_, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, DNSName: name, CurrentTime: at})
		return err
	}

	good, err := ca.Issue(CertOptions{DNSNames: []string{"mx1.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(good.Leaf, "mx1.example.test", time.Now()); err != nil {
		t.Errorf("good certificate does not verify: %v", err)
	}
	if err := verify(good.Leaf, "mx2.example.test", time.Now()); err == nil {
		t.Error("certificate verified for a name it does not carry")
	}
	if _, err := good.Leaf.Verify(x509.VerifyOptions{DNSName: "mx1.example.test"}); err == nil {
		t.Error("test CA certificate verified against the system roots")
	}

	expired, err := ca.Issue(CertOptions{DNSNames: []string{"mx1.example.test"},
		NotBefore: time.Now().AddDate(0, -3, 0), NotAfter: time.Now().AddDate(0, 0, -1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(expired.Leaf, "mx1.example.test", time.Now()); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired certificate: err = %v", err)
	}

	self, err := ca.Issue(CertOptions{DNSNames: []string{"mx1.example.test"}, SelfSigned: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(self.Leaf, "mx1.example.test", time.Now()); err == nil {
		t.Error("self-signed certificate verified against the CA")
	}

	for kt, check := range map[KeyType]func(any) bool{
		RSA2048: func(k any) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 2048 },
		RSA1024: func(k any) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 1024 },
		Ed25519: func(k any) bool { _, ok := k.(ed25519.PublicKey); return ok },
		"":      func(k any) bool { _, ok := k.(*ecdsa.PublicKey); return ok },
	} {
		c, err := ca.Issue(CertOptions{DNSNames: []string{"k.example.test"}, Key: kt})
		if err != nil {
			t.Fatalf("%s: %v", kt, err)
		}
		if !check(c.Leaf.PublicKey) {
			t.Errorf("%q: wrong key %T", kt, c.Leaf.PublicKey)
		}
	}
	if !strings.Contains(string(ca.PEM), "BEGIN CERTIFICATE") {
		t.Error("CA PEM missing")
	}
}
