package smtp_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
)

// The TLSA data below is computed in the test, independently of the
// probe's own hashing (miekg/dns CertificateToDANE), from the certificates
// the servers serve: RFC 6698 §2.1.2-2.1.3, selector 0 is the whole DER
// certificate, selector 1 its SubjectPublicKeyInfo; matching type 0 is the
// data itself, 1 its SHA-256, 2 its SHA-512.
func tlsaData(c *x509.Certificate, selector, matching int) string {
	data := c.Raw
	if selector == 1 {
		data = c.RawSubjectPublicKeyInfo
	}
	switch matching {
	case 1:
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:])
	case 2:
		sum := sha512.Sum512(data)
		return hex.EncodeToString(sum[:])
	}
	return hex.EncodeToString(data)
}

func leafOf(t *testing.T, c *tls.Certificate) *x509.Certificate {
	t.Helper()
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// tlsa renders a record at _25._tcp of the host.
func tlsa(host string, usage, selector, matching int, data string) string {
	return "_25._tcp." + host + ". 3600 IN TLSA " + itoa(usage) + " " + itoa(selector) + " " + itoa(matching) + " " + data
}

func itoa(i int) string { return string(rune('0' + i)) }

type daneCase struct {
	name string
	// certs chooses each host's certificate (nil: the good one).
	cert func(t *testing.T, host string) *tls.Certificate
	// records returns the TLSA records to publish, given the hosts' certificates.
	records  func(certs map[string]*x509.Certificate) []string
	unsigned bool
	// secure are apexes whose answers carry the AD bit besides those of
	// the world (none when unsigned).
	secure []string
	behave func(b *testbed.SMTPBehaviour)
	expect expect
}

func TestDANE(t *testing.T) {
	fromIntermediate := func(t *testing.T, host string) *tls.Certificate {
		return mint(t, intermediate(t), testbed.CertOptions{DNSNames: []string{host}})
	}
	for _, tc := range []daneCase{
		{
			name: "matching 3 1 1 and a 2 1 1 for the issuing CA",
			records: func(c map[string]*x509.Certificate) []string {
				return []string{
					tlsa("mx1.smtp.test", 3, 1, 1, tlsaData(c["mx1.smtp.test"], 1, 1)),
					tlsa("mx1.smtp.test", 2, 1, 1, tlsaData(testCA(t).Cert, 1, 1)),
					tlsa("mx2.smtp.test", 3, 1, 1, tlsaData(c["mx2.smtp.test"], 1, 1)),
					tlsa("mx2.smtp.test", 3, 1, 1, strings.Repeat("ab", 32)), // the next key
				}
			},
			expect: expect{
				checks:   ok("dane.tlsa", pass, "dane.match", pass, "dane.rollover", pass),
				evidence: map[string]string{"dane.match": "mx1.smtp.test [::1]:", "dane.tlsa": "_25._tcp.mx2.smtp.test. TLSA 3 1 1 abab"},
				metrics: []metric{
					m("mail_dane_tlsa_match", 1, "mx1.smtp.test", "127.0.0.2"),
					m("mail_dane_tlsa_match", 1, "mx1.smtp.test", "::1"),
					m("mail_dane_tlsa_match", 1, "mx2.smtp.test", "127.0.0.3"),
					m("mail_dane_tlsa_records", 2, "mx1.smtp.test"),
				},
			},
		},
		{
			name: "3 1 1 that does not match, alone",
			records: func(c map[string]*x509.Certificate) []string {
				return []string{
					tlsa("mx1.smtp.test", 3, 1, 1, tlsaData(c["mx1.smtp.test"], 1, 1)),
					tlsa("mx2.smtp.test", 3, 1, 1, tlsaData(c["mx1.smtp.test"], 1, 1)), // mx1's key
				}
			},
			expect: expect{
				checks: ok("dane.tlsa", pass, "dane.match", fail, "dane.rollover", fail),
				reasons: map[string]string{
					"dane.match":    "the chain of mx2.smtp.test 127.0.0.3:",
					"dane.rollover": "_25._tcp.mx1.smtp.test publishes a single usable TLSA record",
				},
				remediations: map[string]string{"dane.rollover": "RFC 7671 §8.1"},
				metrics: []metric{
					m("mail_dane_tlsa_match", 0, "mx2.smtp.test", "127.0.0.3"),
					m("mail_dane_tlsa_match", 1, "mx1.smtp.test", "127.0.0.2"),
				},
			},
		},
		{
			name:     "TLSA without DNSSEC validation is ignored",
			unsigned: true,
			records: func(c map[string]*x509.Certificate) []string {
				return []string{tlsa("mx1.smtp.test", 3, 1, 1, tlsaData(c["mx1.smtp.test"], 1, 1))}
			},
			expect: expect{
				checks: ok("dane.tlsa", fail, "dane.match", skip, "dane.rollover", skip),
				reasons: map[string]string{
					"dane.tlsa":  "the TLSA records of _25._tcp.mx1.smtp.test are not DNSSEC-validated (no AD bit from 127.0.0.1:",
					"dane.match": "not DNSSEC-validated, so they are ignored",
				},
				absent: []metric{m("mail_dane_tlsa_match", 0, "mx1.smtp.test", "127.0.0.2")},
			},
		},
		{
			name: "2 1 1 for the issuing intermediate, served in the chain",
			cert: fromIntermediate,
			records: func(c map[string]*x509.Certificate) []string {
				return []string{
					tlsa("mx1.smtp.test", 2, 1, 1, tlsaData(intermediate(t).Cert, 1, 1)),
					tlsa("mx2.smtp.test", 2, 0, 2, tlsaData(intermediate(t).Cert, 0, 2)),
				}
			},
			expect: expect{
				checks:   ok("dane.tlsa", pass, "dane.match", pass, "dane.rollover", fail),
				evidence: map[string]string{"dane.match": "the chain matches TLSA 2 0 2"},
			},
		},
		{
			name: "2 1 0 and 2 0 0 for a root that is not served",
			cert: fromIntermediate,
			records: func(c map[string]*x509.Certificate) []string {
				return []string{
					tlsa("mx1.smtp.test", 2, 1, 0, tlsaData(testCA(t).Cert, 1, 0)),
					tlsa("mx2.smtp.test", 2, 0, 0, tlsaData(testCA(t).Cert, 0, 0)),
				}
			},
			expect: expect{checks: ok("dane.tlsa", pass, "dane.match", pass, "dane.rollover", fail)},
		},
		{
			name: "2 1 1 for a root that is not served",
			cert: fromIntermediate,
			records: func(c map[string]*x509.Certificate) []string {
				return []string{tlsa("mx1.smtp.test", 2, 1, 1, tlsaData(testCA(t).Cert, 1, 1))}
			},
			expect: expect{
				checks:  ok("dane.tlsa", fail, "dane.match", fail, "dane.rollover", fail),
				reasons: map[string]string{"dane.match": "matches no certificate above the server certificate in the served chain"},
			},
		},
		{
			name: "full-value and SHA-512 DANE-EE records",
			records: func(c map[string]*x509.Certificate) []string {
				return []string{
					tlsa("mx1.smtp.test", 3, 0, 0, tlsaData(c["mx1.smtp.test"], 0, 0)),
					tlsa("mx1.smtp.test", 3, 1, 0, tlsaData(c["mx1.smtp.test"], 1, 0)),
					tlsa("mx2.smtp.test", 3, 0, 1, tlsaData(c["mx2.smtp.test"], 0, 1)),
					tlsa("mx2.smtp.test", 3, 1, 2, tlsaData(c["mx2.smtp.test"], 1, 2)),
				}
			},
			expect: expect{checks: ok("dane.tlsa", pass, "dane.match", pass, "dane.rollover", pass)},
		},
		{
			name: "only PKIX usages, and unknown parameters",
			records: func(c map[string]*x509.Certificate) []string {
				return []string{
					tlsa("mx1.smtp.test", 1, 1, 1, tlsaData(c["mx1.smtp.test"], 1, 1)),
					tlsa("mx1.smtp.test", 0, 1, 1, tlsaData(testCA(t).Cert, 1, 1)),
					tlsa("mx2.smtp.test", 3, 1, 3, tlsaData(c["mx2.smtp.test"], 1, 1)),
				}
			},
			expect: expect{
				checks:       ok("dane.tlsa", pass, "dane.match", fail, "dane.rollover", skip),
				reasons:      map[string]string{"dane.match": "none of the 2 TLSA records of _25._tcp.mx1.smtp.test is usable for SMTP"},
				remediations: map[string]string{"dane.match": `"_25._tcp.mx1.smtp.test. IN TLSA 3 1 1 `},
				evidence: map[string]string{
					"dane.match": "1 1 1 ",
				},
			},
		},
		{
			name: "DANE-EE ignores names and dates, DANE-TA checks them",
			cert: func(t *testing.T, host string) *tls.Certificate {
				if host == "mx1.smtp.test" {
					return mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"other.smtp.test"},
						NotBefore: time.Now().Add(-30 * time.Minute), NotAfter: time.Now().Add(-time.Minute)})
				}
				return mint(t, intermediate(t), testbed.CertOptions{DNSNames: []string{"other.smtp.test"}})
			},
			records: func(c map[string]*x509.Certificate) []string {
				return []string{
					tlsa("mx1.smtp.test", 3, 1, 1, tlsaData(c["mx1.smtp.test"], 1, 1)),
					tlsa("mx2.smtp.test", 2, 1, 1, tlsaData(intermediate(t).Cert, 1, 1)),
				}
			},
			expect: expect{
				checks:  ok("tls.cert_name", fail, "tls.cert_expiry", fail, "dane.tlsa", pass, "dane.match", fail, "dane.rollover", fail),
				reasons: map[string]string{"dane.match": "chain of mx2.smtp.test 127.0.0.3:"},
				metrics: []metric{
					m("mail_dane_tlsa_match", 1, "mx1.smtp.test", "127.0.0.2"),
					m("mail_dane_tlsa_match", 0, "mx2.smtp.test", "127.0.0.3"),
				},
			},
		},
		{
			// The TLSA records validate but the hosts' A/AAAA records do
			// not: senders never look the records up (RFC 7672 §2.2.2).
			name:     "validated TLSA records, insecure address records",
			unsigned: true,
			secure:   []string{"_tcp.mx1.smtp.test", "_tcp.mx2.smtp.test"},
			records: func(c map[string]*x509.Certificate) []string {
				return []string{
					tlsa("mx1.smtp.test", 3, 1, 1, tlsaData(c["mx1.smtp.test"], 1, 1)),
					tlsa("mx2.smtp.test", 3, 1, 1, tlsaData(c["mx2.smtp.test"], 1, 1)),
				}
			},
			expect: expect{
				checks:       ok("dane.tlsa", fail, "dane.match", skip, "dane.rollover", skip),
				reasons:      map[string]string{"dane.tlsa": "the address records of mx1.smtp.test are not DNSSEC-validated"},
				remediations: map[string]string{"dane.tlsa": "sign the zone that holds the A/AAAA records of mx1.smtp.test"},
				evidence:     map[string]string{"dane.tlsa": "_25._tcp.mx1.smtp.test. TLSA 3 1 1 "},
			},
		},
		{
			name:   "TLSA published but no STARTTLS",
			behave: func(b *testbed.SMTPBehaviour) { b.Certificate = nil },
			records: func(c map[string]*x509.Certificate) []string {
				return []string{tlsa("mx1.smtp.test", 3, 1, 1, tlsaData(c["mx1.smtp.test"], 1, 1))}
			},
			expect: expect{
				checks: statuses(skip, "smtp.reachable", pass, "smtp.banner", pass, "smtp.helo", pass, "smtp.starttls", fail,
					"smtp.no_plain_auth", pass, "smtp.no_auth_port25", pass, "smtp.postmaster", pass, "smtp.abuse", pass, "smtp.no_open_relay", pass,
					"dane.tlsa", fail, "dane.match", fail, "dane.rollover", fail),
				reasons: map[string]string{"dane.match": "publishes TLSA but does not offer STARTTLS: DANE senders will not deliver"},
				// Never a TLSA record to publish for a host that offers no
				// STARTTLS: DANE senders would defer all its mail.
				remediations: map[string]string{
					"dane.tlsa": "make every address of mx2.smtp.test offer STARTTLS with a certificate first (mx2.smtp.test 127.0.0.3:",
				},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			served := map[string]*x509.Certificate{}
			tlsCerts := map[string]*tls.Certificate{}
			for _, host := range []string{"mx1.smtp.test", "mx2.smtp.test"} {
				c := goodCert(t, host)
				if tc.cert != nil {
					c = tc.cert(t, host)
				}
				tlsCerts[host], served[host] = c, leafOf(t, c)
			}
			start := newWorld
			if tc.unsigned {
				start = newUnsignedWorld
			}
			w := start(t, smtpTestIPs, func(ip string) testbed.SMTPBehaviour {
				b := good(t, hostOf(ip))
				b.Certificate = tlsCerts[hostOf(ip)]
				if tc.behave != nil {
					tc.behave(&b)
				}
				return b
			})
			if tc.secure != nil {
				w.dns.SetSecure(tc.secure...)
			}
			w.addTLSA(tc.records(served)...)
			res := w.run("smtp.test", w.cfg(), 20*time.Second)
			tc.expect.assert(t, res)
		})
	}
}

func TestTLSALookupFails(t *testing.T) {
	w := newWorld(t, smtpTestIPs, func(ip string) testbed.SMTPBehaviour { return good(t, hostOf(ip)) })
	w.dns.SetBehaviour("_25._tcp.mx2.smtp.test", testbed.ServFail)
	w.addTLSA(tlsa("mx1.smtp.test", 3, 1, 1, tlsaData(leafOf(t, goodCert(t, "mx1.smtp.test")), 1, 1)))
	res := w.run("smtp.test", w.cfg(), 20*time.Second)
	expect{
		checks: ok("dane.tlsa", undecided, "dane.match", undecided, "dane.rollover", fail),
		errors: "TLSA of mx2.smtp.test: dns TLSA _25._tcp.mx2.smtp.test: SERVFAIL",
	}.assert(t, res)
	if v, ok := findMeasurement(res, "mail_dane_tlsa_match", "mx1.smtp.test", "127.0.0.2"); !ok || v != 1 {
		t.Errorf("mx1 still matches its TLSA: %v %v", v, ok)
	}
}

var _ = smtp.Name

// A bogus TLSA answer is not "no TLSA": DANE senders defer the mail (RFC
// 7672 §2.1.1), so dane.tlsa and dane.match fail, and the records, taken
// with checking disabled, are shown but never matched.
func TestBogusTLSA(t *testing.T) {
	w := newWorld(t, smtpTestIPs, func(ip string) testbed.SMTPBehaviour { return good(t, hostOf(ip)) })
	w.addTLSA(tlsa("mx1.smtp.test", 3, 1, 1, tlsaData(leafOf(t, goodCert(t, "mx1.smtp.test")), 1, 1)))
	w.dns.SetBogus("_25._tcp.mx1.smtp.test", dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeSignatureExpired, ExtraText: "signature expired"})
	res := w.run("smtp.test", w.cfg(), 20*time.Second)
	expect{
		checks: ok("dane.tlsa", fail, "dane.match", fail, "dane.rollover", skip),
		reasons: map[string]string{
			"dane.tlsa":  "the TLSA answer for _25._tcp.mx1.smtp.test is DNSSEC-bogus (resolver 127.0.0.1:",
			"dane.match": "DANE senders defer all mail to mx1.smtp.test (RFC 7672 §2.1.1)",
		},
		remediations: map[string]string{"dane.match": "repair the DNSSEC of the zone of _25._tcp.mx1.smtp.test"},
		evidence: map[string]string{
			"dane.match": "_25._tcp.mx1.smtp.test. TLSA 3 1 1 ",
			"dane.tlsa":  "TLSA _25._tcp.mx1.smtp.test: SERVFAIL from 127.0.0.1:",
		},
		absent: []metric{
			m("mail_dane_tlsa_match", 0, "mx1.smtp.test", "127.0.0.2"),
			m("mail_dane_tlsa_records", 0, "mx1.smtp.test"),
		},
	}.assert(t, res)
	c, _ := res.Check("dane.match")
	if !strings.Contains(strings.Join(c.Evidence, "\n"), "(DNSSEC-bogus: unvalidated, asked with checking disabled)") {
		t.Errorf("dane.match evidence does not mark the records unvalidated: %q", c.Evidence)
	}
}

// A host whose address answers are bogus cannot be found by a validating
// sender at all: its DANE checks do not apply (dnssec.not_bogus, in the mx
// probe, reports it), but the conversation still runs on the addresses
// taken with checking disabled.
func TestBogusAddressesSkipDANE(t *testing.T) {
	w := newWorld(t, smtpTestIPs, func(ip string) testbed.SMTPBehaviour { return good(t, hostOf(ip)) })
	w.addTLSA(tlsa("mx1.smtp.test", 3, 1, 1, tlsaData(leafOf(t, goodCert(t, "mx1.smtp.test")), 1, 1)))
	w.dns.SetBogus("mx1.smtp.test", dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeDNSBogus})
	res := w.run("smtp.test", w.cfg(), 20*time.Second)
	expect{
		checks: ok(),
		reasons: map[string]string{
			"smtp.reachable": "3 addresses greeted with 220",
			"dane.match":     "the address records of mx1.smtp.test are DNSSEC-bogus: senders that validate cannot reach it",
		},
		absent: []metric{m("mail_dane_tlsa_match", 0, "mx1.smtp.test", "127.0.0.2")},
	}.assert(t, res)
}

// The DANE-EE records a fix proposes cover every key the host's addresses
// serve: a record for the first address's key alone would make DANE
// senders refuse the others. A host whose one address offers no STARTTLS
// gets no record to publish at all.
func TestTLSAFixIsSafe(t *testing.T) {
	other := mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"mx1.smtp.test"}})
	w := newWorld(t, smtpTestIPs, func(ip string) testbed.SMTPBehaviour {
		b := good(t, hostOf(ip))
		if ip == mx1v6 {
			b.Certificate = other
		}
		if ip == mx2v4 {
			b.Certificate = nil
		}
		return b
	})
	res := w.run("smtp.test", w.cfg(), 20*time.Second)
	c, _ := res.Check("dane.tlsa")
	first := tlsaData(leafOf(t, goodCert(t, "mx1.smtp.test")), 1, 1)
	second := tlsaData(leafOf(t, other), 1, 1)
	for _, want := range []string{
		`"_25._tcp.mx1.smtp.test. IN TLSA 3 1 1 ` + first + `" and "_25._tcp.mx1.smtp.test. IN TLSA 3 1 1 ` + second + `"`,
		"make every address of mx2.smtp.test offer STARTTLS with a certificate first",
	} {
		if !strings.Contains(c.Remediation, want) {
			t.Errorf("dane.tlsa remediation does not say %q:\n%s", want, c.Remediation)
		}
	}
	if strings.Contains(c.Remediation, "_25._tcp.mx2.smtp.test. IN TLSA") {
		t.Errorf("a TLSA record proposed for a host without STARTTLS: %s", c.Remediation)
	}
}
