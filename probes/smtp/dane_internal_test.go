package smtp

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

func TestMatchDANE(t *testing.T) {
	ca, err := testbed.NewCA("Unit Root")
	if err != nil {
		t.Fatal(err)
	}
	inter, err := ca.NewIntermediate("Unit Intermediate", testbed.CertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := inter.Issue(testbed.CertOptions{DNSNames: []string{"mx.unit.test"}})
	if err != nil {
		t.Fatal(err)
	}
	var chain []*x509.Certificate
	for _, der := range c.Certificate {
		x, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, x)
	}
	spki := func(x *x509.Certificate) string {
		sum := sha256.Sum256(x.RawSubjectPublicKeyInfo)
		return hex.EncodeToString(sum[:])
	}
	rec := func(u, s, m uint8, data string) *dns.TLSA {
		return &dns.TLSA{Usage: u, Selector: s, MatchingType: m, Certificate: data}
	}
	now := time.Now()
	for _, tc := range []struct {
		name  string
		rec   *dns.TLSA
		mx    string
		at    time.Time
		match bool
		why   string
	}{
		// Zone files and hand-built records may write hex in upper case;
		// the DNS wire format carries bytes, so only records built in
		// memory can differ in case.
		{"DANE-EE upper-case hex", rec(3, 1, 1, strings.ToUpper(spki(chain[0]))), "mx.unit.test", now, true, ""},
		{"DANE-EE ignores the name", rec(3, 1, 1, spki(chain[0])), "other.unit.test", now, true, ""},
		{"DANE-EE ignores the dates", rec(3, 1, 1, spki(chain[0])), "mx.unit.test", now.AddDate(2, 0, 0), true, ""},
		{"DANE-EE other key", rec(3, 1, 1, spki(chain[1])), "mx.unit.test", now, false, "does not match the server certificate"},
		{"DANE-TA intermediate", rec(2, 1, 1, strings.ToUpper(spki(chain[1]))), "mx.unit.test", now, true, ""},
		{"DANE-TA checks the name", rec(2, 1, 1, spki(chain[1])), "other.unit.test", now, false, "does not validate under it"},
		{"DANE-TA checks the dates", rec(2, 1, 1, spki(chain[1])), "mx.unit.test", now.AddDate(2, 0, 0), false, "does not validate under it"},
		{"DANE-TA leaf is no anchor", rec(2, 1, 1, spki(chain[0])), "mx.unit.test", now, false, "matches no certificate above"},
		{"DANE-TA root key not served", rec(2, 1, 0, hex.EncodeToString(ca.Cert.RawSubjectPublicKeyInfo)), "mx.unit.test", now, true, ""},
		{"DANE-TA root key, wrong name", rec(2, 1, 0, hex.EncodeToString(ca.Cert.RawSubjectPublicKeyInfo)), "other.unit.test", now, false, "does not validate"},
		{"DANE-TA root cert not served", rec(2, 0, 0, hex.EncodeToString(ca.Cert.Raw)), "mx.unit.test", now, true, ""},
		{"DANE-TA garbage full value", rec(2, 1, 0, "00ff"), "mx.unit.test", now, false, "matches no certificate above"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := matchDANE([]*dns.TLSA{tc.rec}, chain, tc.mx, tc.at)
			if (res.matched != nil) != tc.match {
				t.Fatalf("matched = %v, want %v (%q)", res.matched != nil, tc.match, res.why)
			}
			if tc.why != "" && !strings.Contains(strings.Join(res.why, "; "), tc.why) {
				t.Errorf("why %q, want %q", res.why, tc.why)
			}
		})
	}
	if res := matchDANE([]*dns.TLSA{rec(3, 1, 1, spki(chain[0]))}, nil, "mx.unit.test", now); res.matched != nil {
		t.Error("an empty chain matched")
	}
}

func TestUsableTLSA(t *testing.T) {
	ts := &mailhosts.TLSASet{Records: []*dns.TLSA{
		{Usage: 3, Selector: 1, MatchingType: 1, Certificate: "ab"},
		{Usage: 2, Selector: 0, MatchingType: 2, Certificate: "AB"},
		{Usage: 0, Selector: 1, MatchingType: 1, Certificate: "ab"},
		{Usage: 1, Selector: 1, MatchingType: 1, Certificate: "ab"},
		{Usage: 4, Selector: 1, MatchingType: 1, Certificate: "ab"},
		{Usage: 3, Selector: 2, MatchingType: 1, Certificate: "ab"},
		{Usage: 3, Selector: 1, MatchingType: 3, Certificate: "ab"},
		{Usage: 3, Selector: 1, MatchingType: 1, Certificate: "xyz"},
		{Usage: 3, Selector: 1, MatchingType: 1, Certificate: ""},
	}}
	use, unusable := usableTLSA(ts)
	if len(use) != 2 || len(unusable) != 7 {
		t.Fatalf("usable %d, unusable %d: %q", len(use), len(unusable), unusable)
	}
	for i, want := range []string{"PKIX usages", "PKIX usages", "unknown usage 4", "unknown selector 2", "unknown matching type 3", "not hexadecimal", "not hexadecimal"} {
		if !strings.Contains(unusable[i], want) {
			t.Errorf("unusable[%d] = %q, want %q", i, unusable[i], want)
		}
	}
}
