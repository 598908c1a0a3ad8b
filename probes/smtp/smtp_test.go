package smtp_test

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
)

type probeCase struct {
	name string
	// ips are the addresses with servers (default: smtp.test's three).
	ips []string
	// behave changes the good server of an address (nil: keep it).
	behave func(t *testing.T, ip string, b *testbed.SMTPBehaviour)
	target string // default "smtp.test"
	cfg    func(c *smtp.Config)
	setup  func(t *testing.T, w *world)
	expect expect
}

// onIP applies change to one address's server only.
func onIP(ip string, change func(t *testing.T, b *testbed.SMTPBehaviour)) func(*testing.T, string, *testbed.SMTPBehaviour) {
	return func(t *testing.T, got string, b *testbed.SMTPBehaviour) {
		if got == ip {
			change(t, b)
		}
	}
}

// onAll applies change to every server.
func onAll(change func(t *testing.T, b *testbed.SMTPBehaviour)) func(*testing.T, string, *testbed.SMTPBehaviour) {
	return func(t *testing.T, _ string, b *testbed.SMTPBehaviour) { change(t, b) }
}

// daneSkipped: no TLSA in the zones, so dane.tlsa fails and the others skip.
var daneSkipped = []any{"dane.tlsa", fail, "dane.match", skip, "dane.rollover", skip, "smtps.implicit_tls", skip}

func ok(overrides ...any) map[string]probes.Status {
	return statuses(pass, append(append([]any(nil), daneSkipped...), overrides...)...)
}

func TestProbe(t *testing.T) {
	for _, tc := range []probeCase{
		{
			name: "healthy servers",
			expect: expect{
				checks: ok(),
				reasons: map[string]string{
					"smtp.reachable": "3 addresses greeted with 220",
					"dane.tlsa":      "_25._tcp.mx1.smtp.test publishes no TLSA records",
				},
				remediations: map[string]string{"dane.tlsa": `"_25._tcp.mx1.smtp.test. IN TLSA 3 1 1 `},
				evidence: map[string]string{
					"smtp.banner":        "mx1.smtp.test [::1]:",
					"smtp.helo":          "EHLO reply name mx2.smtp.test resolves to 127.0.0.3",
					"smtp.starttls":      "STARTTLS, TLS 1.3, TLS_AES_128_GCM_SHA256",
					"tls.cert_trusted":   `subject "mx1.smtp.test" issuer "Test Root CA"`,
					"tls.key_strength":   "ECDSA 256 bits",
					"smtp.postmaster":    "RCPT TO:<postmaster@smtp.test> 250 2.1.5 Ok",
					"smtp.no_open_relay": "RCPT TO:<postmaster@iana.org> 554 5.7.1",
				},
				metrics: []metric{
					m("mail_smtp_up", 1, "mx1.smtp.test", "127.0.0.2"),
					m("mail_smtp_up", 1, "mx1.smtp.test", "::1"),
					m("mail_smtp_up", 1, "mx2.smtp.test", "127.0.0.3"),
					m("mail_smtp_starttls", 1, "mx2.smtp.test", "127.0.0.3"),
					m("mail_tls_handshake_success", 1, "mx1.smtp.test", "::1"),
					m("probe_tls_version_info", 1, "mx1.smtp.test", "127.0.0.2", "TLS 1.3"),
					m("mail_tls_cipher_info", 1, "mx1.smtp.test", "127.0.0.2", "TLS_AES_128_GCM_SHA256"),
					m("mail_tls_cert_trusted", 1, "mx1.smtp.test", "127.0.0.2"),
					m("mail_tls_cert_name_match", 1, "mx2.smtp.test", "127.0.0.3"),
					m("mail_tls_key_bits", 256, "mx1.smtp.test", "127.0.0.2", "ecdsa"),
					m("mail_smtp_rcpt_code", 250, "mx1.smtp.test", "127.0.0.2", "postmaster"),
					m("mail_smtp_rcpt_code", 250, "mx2.smtp.test", "127.0.0.3", "abuse"),
					m("mail_smtp_rcpt_code", 554, "mx1.smtp.test", "::1", "open_relay"),
					m("probe_ssl_earliest_cert_expiry", anyValue, "mx1.smtp.test", "127.0.0.2"),
					m("mail_tls_cert_not_before_timestamp_seconds", anyValue, "mx1.smtp.test", "127.0.0.2"),
				},
				absent: []metric{m("mail_dane_tlsa_match", 0, "mx1.smtp.test", "127.0.0.2")},
			},
		},
		{
			name: "greeting without a host name, and with a name that is not the server's",
			behave: func(t *testing.T, ip string, b *testbed.SMTPBehaviour) {
				b.Greeting = map[string]string{mx1v4: "220 ESMTP Postfix", mx1v6: "220 mail.elsewhere.test ESMTP"}[ip]
			},
			expect: expect{
				checks: ok("smtp.banner", fail),
				reasons: map[string]string{
					"smtp.banner": `mx1.smtp.test 127.0.0.2:`,
				},
				evidence: map[string]string{
					"smtp.banner": "greeting name mail.elsewhere.test has no AAAA record",
				},
				remediations: map[string]string{"smtp.banner": "smtpd_banner = $myhostname ESMTP"},
			},
		},
		{
			name:   "greeting with an address literal",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) { b.Greeting = "220 [127.0.0.3] ESMTP" }),
			expect: expect{
				checks:       ok("smtp.banner", fail),
				reasons:      map[string]string{"smtp.banner": `gives an address literal "[127.0.0.3]"`},
				remediations: map[string]string{"smtp.banner": `publish "mx2.smtp.test. IN A 127.0.0.3"`},
			},
		},
		{
			name:   "EHLO name that resolves elsewhere",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) { b.EHLOName = "mail.elsewhere.test" }),
			expect: expect{
				checks:       ok("smtp.helo", fail),
				reasons:      map[string]string{"smtp.helo": "EHLO reply name mail.elsewhere.test resolves to 127.0.0.99, not 127.0.0.3"},
				remediations: map[string]string{"smtp.helo": `publish "mail.elsewhere.test. IN A 127.0.0.3"`},
			},
		},
		{
			name:   "EHLO name that does not exist",
			behave: onAll(func(t *testing.T, b *testbed.SMTPBehaviour) { b.EHLOName = "localhost.localdomain" }),
			expect: expect{
				checks:  ok("smtp.helo", fail),
				reasons: map[string]string{"smtp.helo": "EHLO reply name localhost.localdomain does not exist"},
			},
		},
		{
			name: "EHLO refused, HELO accepted",
			behave: onAll(func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.RefuseEHLO = true
			}),
			// HELO shows no extensions: no STARTTLS, so nothing of TLS.
			expect: expect{
				checks: statuses(skip, "smtp.reachable", pass, "smtp.banner", pass, "smtp.helo", pass,
					"smtp.starttls", fail, "smtp.no_plain_auth", pass, "smtp.no_auth_port25", pass,
					"smtp.postmaster", pass, "smtp.abuse", pass, "smtp.no_open_relay", pass, "dane.tlsa", fail),
				reasons: map[string]string{"smtp.starttls": "does not offer STARTTLS"},
				metrics: []metric{m("mail_smtp_starttls", 0, "mx1.smtp.test", "127.0.0.2"), m("mail_tls_handshake_success", 0, "mx1.smtp.test", "127.0.0.2")},
			},
		},
		{
			name:   "EHLO and HELO refused",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) { b.RefuseEHLO, b.RefuseHELO = true, true }),
			expect: expect{
				checks: ok("smtp.helo", fail),
				reasons: map[string]string{
					"smtp.helo": `refused EHLO and HELO probe.exporter.test: "502 5.5.2 Error: command not recognized"`,
				},
				remediations: map[string]string{"smtp.helo": "set the module's smtp ehlo_name"},
				absent:       []metric{m("mail_smtp_starttls", 0, "mx2.smtp.test", "127.0.0.3")},
			},
		},
		{
			name:   "no STARTTLS",
			behave: onIP(mx1v4, func(t *testing.T, b *testbed.SMTPBehaviour) { b.Certificate = nil }),
			expect: expect{
				checks:       ok("smtp.starttls", fail),
				reasons:      map[string]string{"smtp.starttls": "mx1.smtp.test 127.0.0.2:"},
				remediations: map[string]string{"smtp.starttls": "smtpd_tls_security_level = may"},
				metrics: []metric{
					m("mail_smtp_starttls", 0, "mx1.smtp.test", "127.0.0.2"),
					m("mail_tls_handshake_success", 0, "mx1.smtp.test", "127.0.0.2"),
					m("mail_smtp_rcpt_code", 250, "mx1.smtp.test", "127.0.0.2", "postmaster"),
				},
				absent: []metric{m("probe_tls_version_info", 0, "mx1.smtp.test", "127.0.0.2", "TLS 1.3")},
			},
		},
		{
			name: "STARTTLS refused",
			behave: onAll(func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.STARTTLSReply = "454 4.7.0 TLS not available due to local problem"
			}),
			expect: expect{
				checks: statuses(pass, "smtp.starttls", fail, "tls.version", skip, "tls.cert_trusted", skip, "tls.cert_name", skip,
					"tls.cert_expiry", skip, "tls.key_strength", skip, "smtp.no_auth_port25", skip,
					"dane.tlsa", fail, "dane.match", skip, "dane.rollover", skip, "smtps.implicit_tls", skip),
				reasons: map[string]string{"smtp.starttls": `refused STARTTLS: "454 4.7.0 TLS not available due to local problem"`},
			},
		},
		{
			name:   "garbage instead of a ServerHello",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) { b.Hostile = testbed.GarbageTLS }),
			expect: expect{
				checks:  ok("smtp.starttls", fail, "smtp.postmaster", pass, "smtp.abuse", pass, "smtp.no_open_relay", pass),
				reasons: map[string]string{"smtp.starttls": "the TLS handshake with mx2.smtp.test 127.0.0.3:"},
				metrics: []metric{m("mail_tls_handshake_success", 0, "mx2.smtp.test", "127.0.0.3")},
				absent:  []metric{m("mail_smtp_rcpt_code", 0, "mx2.smtp.test", "127.0.0.3", "postmaster")},
			},
		},
		{
			name: "TLS 1.0 only",
			behave: onIP(mx1v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}
			}),
			expect: expect{
				checks:       ok("tls.version", fail),
				reasons:      map[string]string{"tls.version": "mx1.smtp.test 127.0.0.2:"},
				remediations: map[string]string{"tls.version": "smtpd_tls_protocols = >=TLSv1.2"},
				evidence:     map[string]string{"tls.version": "TLS 1.0, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
				metrics: []metric{
					m("probe_tls_version_info", 1, "mx1.smtp.test", "127.0.0.2", "TLS 1.0"),
					m("probe_tls_version_info", 1, "mx1.smtp.test", "::1", "TLS 1.3"),
				},
			},
		},
		{
			name: "RSA key exchange only, which Go leaves out by default",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"mx2.smtp.test"}, Key: testbed.RSA2048})
				b.TLSConfig = &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}
			}),
			expect: expect{
				checks:   ok(),
				evidence: map[string]string{"tls.version": "TLS 1.2, TLS_RSA_WITH_AES_128_GCM_SHA256 (an insecure cipher suite)"},
				metrics: []metric{
					m("mail_tls_cipher_info", 1, "mx2.smtp.test", "127.0.0.3", "TLS_RSA_WITH_AES_128_GCM_SHA256"),
					m("mail_tls_key_bits", 2048, "mx2.smtp.test", "127.0.0.3", "rsa"),
				},
			},
		},
		{
			name: "3DES only, which Go leaves out by default",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"mx2.smtp.test"}, Key: testbed.RSA2048})
				b.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10, CipherSuites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}}
			}),
			expect: expect{
				checks:  ok("tls.version", fail),
				metrics: []metric{m("mail_tls_cipher_info", 1, "mx2.smtp.test", "127.0.0.3", "TLS_RSA_WITH_3DES_EDE_CBC_SHA")},
			},
		},
		{
			name: "TLS 1.1 with RC4, still spoken by Go when asked",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"mx2.smtp.test"}, Key: testbed.RSA2048})
				b.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA}}
			}),
			expect: expect{
				checks:   ok("tls.version", fail),
				evidence: map[string]string{"tls.version": "TLS 1.1, TLS_ECDHE_RSA_WITH_RC4_128_SHA (an insecure cipher suite)"},
				metrics:  []metric{m("probe_tls_version_info", 1, "mx2.smtp.test", "127.0.0.3", "TLS 1.1")},
			},
		},
		{
			name: "expired certificate",
			behave: onIP(mx1v6, func(t *testing.T, b *testbed.SMTPBehaviour) {
				// The test CA was made an hour ago: a certificate it signed
				// cannot have expired earlier.
				b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"mx1.smtp.test"},
					NotBefore: time.Now().Add(-30 * time.Minute), NotAfter: time.Now().Add(-time.Minute)})
			}),
			// The chain is trusted, dates aside, and its dates are exported.
			expect: expect{
				checks:       ok("tls.cert_expiry", fail),
				reasons:      map[string]string{"tls.cert_expiry": `on mx1.smtp.test [::1]:`},
				remediations: map[string]string{"tls.cert_expiry": "renew the certificate"},
				evidence:     map[string]string{"tls.cert_expiry": `[0] subject "mx1.smtp.test"`},
				metrics: []metric{
					m("probe_ssl_earliest_cert_expiry", anyValue, "mx1.smtp.test", "::1"),
					m("mail_tls_cert_not_before_timestamp_seconds", anyValue, "mx1.smtp.test", "::1"),
					m("mail_tls_cert_trusted", 1, "mx1.smtp.test", "::1"),
				},
			},
		},
		{
			name: "certificate not yet valid",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"mx2.smtp.test"},
					NotBefore: time.Now().AddDate(0, 0, 2)})
			}),
			expect: expect{
				checks:  ok("tls.cert_expiry", fail),
				reasons: map[string]string{"tls.cert_expiry": `the server certificate "mx2.smtp.test" is not valid before`},
			},
		},
		{
			name: "self-signed certificate",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"mx2.smtp.test"}, SelfSigned: true})
			}),
			expect: expect{
				checks:       ok("tls.cert_trusted", fail),
				reasons:      map[string]string{"tls.cert_trusted": "the chain of mx2.smtp.test 127.0.0.3:"},
				remediations: map[string]string{"tls.cert_trusted": "fullchain.pem"},
				evidence:     map[string]string{"tls.cert_trusted": `[0] subject "mx2.smtp.test" issuer "mx2.smtp.test"`},
				metrics: []metric{
					m("mail_tls_cert_trusted", 0, "mx2.smtp.test", "127.0.0.3"),
					m("mail_tls_cert_name_match", 1, "mx2.smtp.test", "127.0.0.3"),
					m("probe_ssl_earliest_cert_expiry", anyValue, "mx2.smtp.test", "127.0.0.3"),
				},
			},
		},
		{
			name: "certificate for another name",
			behave: onIP(mx1v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"www.smtp.test", "smtp.test"}})
			}),
			expect: expect{
				checks:       ok("tls.cert_name", fail),
				reasons:      map[string]string{"tls.cert_name": `covers "www.smtp.test", "smtp.test", not mx1.smtp.test`},
				remediations: map[string]string{"tls.cert_name": "subjectAltName lists mx1.smtp.test"},
				metrics: []metric{
					m("mail_tls_cert_name_match", 0, "mx1.smtp.test", "127.0.0.2"),
					m("mail_tls_cert_trusted", 1, "mx1.smtp.test", "127.0.0.2"),
					m("mail_tls_cert_info", 1, "mx1.smtp.test", "127.0.0.2", "www.smtp.test", "Test Root CA", anySerial),
				},
			},
		},
		{
			name: "1024-bit RSA key",
			behave: onIP(mx1v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"mx1.smtp.test"}, Key: testbed.RSA1024})
			}),
			expect: expect{
				checks:       ok("tls.key_strength", fail),
				reasons:      map[string]string{"tls.key_strength": "serves an RSA key of 1024 bits (under 2048)"},
				remediations: map[string]string{"tls.key_strength": "RSA of 2048 bits or more"},
				metrics:      []metric{m("mail_tls_key_bits", 1024, "mx1.smtp.test", "127.0.0.2", "rsa")},
			},
		},
		{
			name: "ECDSA P-384 and Ed25519 keys",
			behave: func(t *testing.T, ip string, b *testbed.SMTPBehaviour) {
				switch ip {
				case mx1v4:
					b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"mx1.smtp.test"}, Key: testbed.ECDSAP384})
				case mx2v4:
					b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"mx2.smtp.test"}, Key: testbed.Ed25519})
				}
			},
			expect: expect{
				checks:   ok(),
				evidence: map[string]string{"tls.key_strength": "127.0.0.3:"},
				metrics: []metric{
					m("mail_tls_key_bits", 384, "mx1.smtp.test", "127.0.0.2", "ecdsa"),
					m("mail_tls_key_bits", 256, "mx2.smtp.test", "127.0.0.3", "ed25519"),
				},
			},
		},
		{
			name:   "a stricter key size from the module",
			cfg:    func(c *smtp.Config) { c.MinECDSABits = 384 },
			expect: expect{checks: ok("tls.key_strength", fail), reasons: map[string]string{"tls.key_strength": "an ECDSA key of 256 bits (under 384)"}},
		},
		{
			name: "chain through an intermediate CA",
			behave: onAll(func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Certificate = mint(t, intermediate(t), testbed.CertOptions{DNSNames: []string{b.Hostname}})
			}),
			expect: expect{
				checks:   ok(),
				evidence: map[string]string{"tls.cert_trusted": "(chain of 2 verifies)"},
				metrics:  []metric{m("mail_tls_cert_info", 1, "mx1.smtp.test", "127.0.0.2", "mx1.smtp.test", "Test Intermediate CA", anySerial)},
			},
		},
		{
			name: "leaf without its intermediate",
			behave: onIP(mx1v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				c := mint(t, intermediate(t), testbed.CertOptions{DNSNames: []string{"mx1.smtp.test"}})
				c.Certificate = c.Certificate[:1]
				b.Certificate = c
			}),
			expect: expect{
				checks:  ok("tls.cert_trusted", fail),
				reasons: map[string]string{"tls.cert_trusted": "unknown authority"},
			},
		},
		{
			name: "expired intermediate",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				old, err := testCA(t).NewIntermediate("Old Intermediate CA", testbed.CertOptions{
					NotBefore: time.Now().Add(-50 * time.Minute), NotAfter: time.Now().Add(-time.Minute)})
				if err != nil {
					t.Fatal(err)
				}
				b.Certificate = mint(t, old, testbed.CertOptions{DNSNames: []string{"mx2.smtp.test"},
					NotBefore: time.Now().Add(-40 * time.Minute)})
			}),
			expect: expect{
				checks:  ok("tls.cert_expiry", fail),
				reasons: map[string]string{"tls.cert_expiry": `the chain certificate 1 "Old Intermediate CA" expired on`},
			},
		},
		{
			name: "AUTH before STARTTLS",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.AuthBeforeTLS, b.AuthAfterTLS = true, true
			}),
			expect: expect{
				checks: ok("smtp.no_plain_auth", fail, "smtp.no_auth_port25", fail),
				reasons: map[string]string{
					"smtp.no_plain_auth":  "mx2.smtp.test 127.0.0.3:",
					"smtp.no_auth_port25": "offers AUTH PLAIN LOGIN on the relay port",
				},
				remediations: map[string]string{"smtp.no_plain_auth": "smtpd_tls_auth_only = yes"},
			},
		},
		{
			name:   "AUTH after STARTTLS only",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) { b.AuthAfterTLS = true }),
			expect: expect{
				checks:  ok("smtp.no_auth_port25", fail),
				reasons: map[string]string{"smtp.no_auth_port25": "offers AUTH PLAIN LOGIN after STARTTLS on the relay port"},
			},
		},
		{
			name: "old-style AUTH= advertisement",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Extensions = []string{"PIPELINING", "AUTH=LOGIN PLAIN"}
			}),
			expect: expect{
				checks:  ok("smtp.no_plain_auth", fail, "smtp.no_auth_port25", fail),
				reasons: map[string]string{"smtp.no_plain_auth": "offers AUTH LOGIN PLAIN before STARTTLS"},
			},
		},
		{
			name: "postmaster refused, abuse greylisted, open relay",
			behave: onIP(mx1v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Recipients = map[string]string{
					"abuse@smtp.test": "450 4.2.0 <abuse@smtp.test>: Recipient address rejected: Greylisted",
					relay:             "250 2.1.5 Ok",
				}
			}),
			expect: expect{
				checks: ok("smtp.postmaster", fail, "smtp.abuse", undecided, "smtp.no_open_relay", fail),
				reasons: map[string]string{
					"smtp.postmaster":    `refuses RCPT TO:<postmaster@smtp.test>: "550 5.1.1`,
					"smtp.abuse":         "deferred RCPT TO:<abuse@smtp.test> with 450 4.2.0",
					"smtp.no_open_relay": "accepts mail for <postmaster@iana.org> from an unauthenticated client: an open relay",
				},
				remediations: map[string]string{
					"smtp.postmaster":    "RFC 5321 §4.5.1",
					"smtp.no_open_relay": "reject_unauth_destination",
				},
				metrics: []metric{
					m("mail_smtp_rcpt_code", 550, "mx1.smtp.test", "127.0.0.2", "postmaster"),
					m("mail_smtp_rcpt_code", 450, "mx1.smtp.test", "127.0.0.2", "abuse"),
					m("mail_smtp_rcpt_code", 250, "mx1.smtp.test", "127.0.0.2", "open_relay"),
				},
				errors: "greylisting",
			},
		},
		{
			name: "relaying deferred, as Postfix's default defer_unauth_destination does",
			behave: onAll(func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Recipients[relay] = "454 4.7.1 <" + relay + ">: Relay access denied"
			}),
			expect: expect{checks: ok(), metrics: []metric{m("mail_smtp_rcpt_code", 454, "mx2.smtp.test", "127.0.0.3", "open_relay")}},
		},
		{
			name:   "null sender refused",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) { b.MailReply = "553 5.7.1 <>: Sender address rejected" }),
			expect: expect{
				checks:       ok("smtp.postmaster", fail, "smtp.abuse", fail),
				reasons:      map[string]string{"smtp.postmaster": "refuses MAIL FROM:<>"},
				remediations: map[string]string{"smtp.abuse": "RFC 5321 §4.5.5"},
				absent:       []metric{m("mail_smtp_rcpt_code", 0, "mx2.smtp.test", "127.0.0.3", "open_relay")},
			},
		},
		{
			name: "RCPT checks off",
			cfg:  func(c *smtp.Config) { c.Session.RcptChecks = nil },
			setup: func(t *testing.T, w *world) {
				t.Cleanup(func() {
					for ip, s := range w.servers {
						for _, c := range s.Commands() {
							if v := strings.ToUpper(firstWord(c)); v == "MAIL" || v == "RCPT" || v == "RSET" {
								t.Errorf("%s received %q with rcpt_checks off", ip, c)
							}
						}
					}
				})
			},
			expect: expect{
				checks:  ok("smtp.postmaster", skip, "smtp.abuse", skip, "smtp.no_open_relay", skip),
				reasons: map[string]string{"smtp.abuse": "not enabled: add abuse to the module's smtp rcpt_checks"},
				absent:  []metric{m("mail_smtp_rcpt_code", 0, "mx1.smtp.test", "127.0.0.2", "postmaster")},
			},
		},
		{
			name: "relay test address in the probed domain",
			cfg:  func(c *smtp.Config) { c.Session.RelayTestRecipient = "someone@sub.smtp.test" },
			expect: expect{
				checks:  ok("smtp.no_open_relay", skip),
				reasons: map[string]string{"smtp.no_open_relay": "is in smtp.test itself"},
			},
		},
		{
			name: "554 greeting",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Greeting = "554 5.3.2 mx2.smtp.test no SMTP service here"
			}),
			expect: expect{
				checks:       ok("smtp.reachable", fail),
				reasons:      map[string]string{"smtp.reachable": `greets with "554 5.3.2 mx2.smtp.test no SMTP service here" instead of 220`},
				remediations: map[string]string{"smtp.reachable": "a 554 greeting refuses all mail"},
				metrics:      []metric{m("mail_smtp_up", 0, "mx2.smtp.test", "127.0.0.3")},
				absent:       []metric{m("mail_smtp_starttls", 0, "mx2.smtp.test", "127.0.0.3")},
			},
		},
		{
			name: "multi-line greeting",
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Greeting = "220-mx2.smtp.test ESMTP\n220-Unsolicited bulk mail prohibited\n220 Have a nice day"
			}),
			expect: expect{
				checks:   ok(),
				evidence: map[string]string{"smtp.reachable": "220 mx2.smtp.test ESMTP (+2 lines)"},
			},
		},
		{
			name: "one address refuses connections",
			ips:  []string{mx1v4, mx1v6},
			expect: expect{
				checks:       ok("smtp.reachable", fail),
				reasons:      map[string]string{"smtp.reachable": "mx2.smtp.test 127.0.0.3:"},
				remediations: map[string]string{"smtp.reachable": "no firewall drops port"},
				evidence:     map[string]string{"smtp.reachable": "connect: "},
				metrics:      []metric{m("mail_smtp_up", 0, "mx2.smtp.test", "127.0.0.3"), m("mail_smtp_up", 1, "mx1.smtp.test", "::1")},
			},
		},
		{
			name: "the module's networks exclude an address",
			setup: func(t *testing.T, w *world) {
				w.env.Dialer = probetest.LoopbackDialer(netip.MustParsePrefix("127.0.0.3/32"))
			},
			expect: expect{checks: ok(), absent: []metric{m("mail_smtp_up", 0, "mx2.smtp.test", "127.0.0.3")}},
		},
		{
			name: "the module's networks exclude every address",
			setup: func(t *testing.T, w *world) {
				w.env.Dialer = &probes.AddressDialer{Allowed: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
			},
			expect: expect{checks: statuses(skip, "dane.tlsa", fail), reasons: map[string]string{"smtp.reachable": "closed unless the module's allowed_networks names it"}},
		},
		{
			name:   "host target",
			target: "mx1.smtp.test:PORT",
			expect: expect{
				// No mail domain: postmaster is the bare <Postmaster>
				// (RFC 5321 §4.1.1.3); abuse@ cannot be asked.
				checks:   ok("smtp.abuse", skip),
				reasons:  map[string]string{"smtp.abuse": "abuse@ needs the mail domain"},
				evidence: map[string]string{"smtp.postmaster": "RCPT TO:<Postmaster> 250"},
				metrics:  []metric{m("mail_smtp_up", 1, "mx1.smtp.test", "::1")},
				absent:   []metric{m("mail_smtp_up", 0, "mx2.smtp.test", "127.0.0.3")},
			},
		},
		{
			name:   "host target whose addresses cannot be resolved",
			target: "mx1.smtp.test:PORT",
			setup:  func(t *testing.T, w *world) { w.dns.SetBehaviour("mx1.smtp.test", testbed.ServFail) },
			expect: expect{checks: statuses(undecided), errors: "addresses of mx1.smtp.test: dns"},
		},
		{
			name:   "host target that does not exist",
			target: "ghost.smtp.test:PORT",
			expect: expect{checks: statuses(skip), reasons: map[string]string{"smtp.reachable": "no mail host has an address"}},
		},
		{
			name:   "IP target",
			target: "127.0.0.3:PORT",
			expect: expect{
				checks: ok("tls.cert_name", skip, "smtp.abuse", skip, "dane.tlsa", skip),
				reasons: map[string]string{
					"tls.cert_name": "the target is an IP address",
					"dane.tlsa":     "the target is an IP address",
				},
				metrics: []metric{m("mail_smtp_up", 1, "", "127.0.0.3"), m("mail_tls_cert_trusted", 1, "", "127.0.0.3")},
				absent:  []metric{m("mail_tls_cert_name_match", 0, "", "127.0.0.3")},
			},
		},
		{
			name:   "null MX",
			target: "nullmx.test",
			expect: expect{checks: statuses(skip), reasons: map[string]string{"smtp.reachable": "receives no mail (null MX, RFC 7505)"}},
		},
		{
			// RFC 5321 §5.1: senders deliver to the domain's own address,
			// so its server is probed as an MX host is, by its name.
			name:   "no MX: the implicit MX is probed",
			target: "nomx.test",
			ips:    []string{"127.0.0.4"},
			behave: onAll(func(t *testing.T, b *testbed.SMTPBehaviour) {
				*b = good(t, "nomx.test")
				b.Recipients["postmaster@nomx.test"] = "250 2.1.5 Ok"
				b.Recipients["abuse@nomx.test"] = "250 2.1.5 Ok"
			}),
			expect: expect{
				checks: ok(),
				reasons: map[string]string{
					"smtp.reachable": "1 address greeted with 220",
					"dane.tlsa":      "_25._tcp.nomx.test publishes no TLSA records",
				},
				metrics: []metric{m("mail_smtp_up", 1, "nomx.test", "127.0.0.4"), m("mail_tls_cert_name_match", 1, "nomx.test", "127.0.0.4")},
				note:    "nomx.test publishes no MX records, so senders deliver to its own address records (the implicit MX of RFC 5321 §5.1): nomx.test (implicit MX) is checked as its mail host",
			},
		},
		{
			name:   "no MX and no address",
			target: "noaddress.test",
			expect: expect{checks: statuses(skip), reasons: map[string]string{"smtp.starttls": "publishes no MX records and has no addresses of its own (no implicit MX, RFC 5321 §5.1)"}},
		},
		{
			name:   "domain that does not exist",
			target: "absent.test",
			expect: expect{checks: statuses(skip), reasons: map[string]string{"dane.tlsa": "does not exist (NXDOMAIN)"}},
		},
		{
			name:   "SERVFAIL on the MX",
			target: "servfail.test",
			setup:  func(t *testing.T, w *world) { w.dns.SetBehaviour("servfail.test", testbed.ServFail) },
			expect: expect{checks: statuses(undecided), errors: "MX of servfail.test: dns MX servfail.test: SERVFAIL"},
		},
		{
			name:  "SERVFAIL on one host's addresses",
			setup: func(t *testing.T, w *world) { w.dns.SetBehaviour("mx2.smtp.test", testbed.ServFail) },
			// mx2 was not probed: nothing can pass for all servers.
			expect: expect{
				checks: statuses(undecided, daneSkipped...),
				errors: "addresses of mx2.smtp.test (not probed)",
				absent: []metric{m("mail_smtp_up", 0, "mx2.smtp.test", "127.0.0.3")},
			},
		},
		{
			name:  "SERVFAIL on the greeting name",
			setup: func(t *testing.T, w *world) { w.dns.SetBehaviour("mail.elsewhere.test", testbed.ServFail) },
			behave: onIP(mx2v4, func(t *testing.T, b *testbed.SMTPBehaviour) {
				b.Greeting = "220 mail.elsewhere.test ESMTP"
			}),
			expect: expect{checks: ok("smtp.banner", undecided), errors: "A of mail.elsewhere.test: dns A mail.elsewhere.test: SERVFAIL"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ips := tc.ips
			if ips == nil {
				ips = smtpTestIPs
			}
			w := newWorld(t, ips, func(ip string) testbed.SMTPBehaviour {
				b := good(t, hostOf(ip))
				if tc.behave != nil {
					tc.behave(t, ip, &b)
				}
				return b
			})
			cfg := w.cfg()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			if tc.setup != nil {
				tc.setup(t, w)
			}
			target := tc.target
			if target == "" {
				target = "smtp.test"
			}
			target = strings.ReplaceAll(target, "PORT", fmt.Sprint(w.port))
			res := w.run(target, cfg, 20*time.Second)
			tc.expect.assert(t, res)
		})
	}
}

// anySerial matches any serial in mail_tls_cert_info (it is random).
const anySerial = "*"

var (
	interOnce sync.Once
	inter     *testbed.CA
)

// intermediate is a CA below the test root.
func intermediate(t testing.TB) *testbed.CA {
	t.Helper()
	interOnce.Do(func() {
		var err error
		inter, err = testCA(t).NewIntermediate("Test Intermediate CA", testbed.CertOptions{})
		if err != nil {
			t.Fatal(err)
		}
	})
	if inter == nil {
		t.Fatal("no intermediate CA")
	}
	return inter
}

func TestNeverDATA(t *testing.T) {
	// Every conversation of every kind, on one server that records what it
	// hears: the commands are EHLO, STARTTLS, EHLO, MAIL, RCPT, RSET, QUIT,
	// in that order, and nothing else.
	w := newWorld(t, []string{"127.0.0.4"}, func(ip string) testbed.SMTPBehaviour { return good(t, "mx.one.test") })
	res := w.run("one.test", w.cfg(), 10*time.Second)
	if c, _ := res.Check("smtp.postmaster"); c.Status != pass {
		t.Fatalf("smtp.postmaster = %s (%s)", c.Status, c.Reason)
	}
	var verbs []string
	for _, c := range w.servers["127.0.0.4"].Commands() {
		verbs = append(verbs, strings.ToUpper(firstWord(c)))
	}
	want := []string{"EHLO", "STARTTLS", "EHLO", "MAIL", "RCPT", "RCPT", "RCPT", "RSET", "QUIT"}
	if !slices.Equal(verbs, want) {
		t.Errorf("commands %q, want %q", verbs, want)
	}
}

// TestProviderServersNameThemselves: the MX hosts of a domain hosted on a
// provider (Microsoft 365's greet and answer EHLO with internal names
// such as BN8NAM12FT045.mail.protection.outlook.com, Google's as
// mx.google.com) name themselves as the provider chooses: smtp.banner
// and smtp.helo leave them out (and do not resolve their names) for the
// hosted domain, which cannot change them, and judge the same servers for
// the domain that runs them.
func TestProviderServersNameThemselves(t *testing.T) {
	const internal = "bn8nam12ft045.one.test" // does not resolve
	w := newWorld(t, []string{"127.0.0.4"}, func(ip string) testbed.SMTPBehaviour {
		b := good(t, "mx.one.test")
		b.Greeting = "220 BN8NAM12FT045.one.test Microsoft ESMTP MAIL Service ready"
		b.EHLOName = "BN8NAM12FT045.one.test"
		return b
	})
	cfg := w.cfg()
	cfg.Session.RcptChecks = nil

	res := w.run("hosted-a.test", cfg, 10*time.Second)
	probetest.AssertChecks(t, res,
		statuses(pass, append(append([]any(nil), daneSkipped...), "smtp.banner", skip, "smtp.helo", skip,
			"smtp.postmaster", skip, "smtp.abuse", skip, "smtp.no_open_relay", skip)...),
		map[string]string{
			"smtp.banner": "the mail servers belong to one.test: the names they give for themselves are theirs to choose, not something hosted-a.test can change",
			"smtp.helo":   "the mail servers belong to one.test",
		}, nil, nil)
	for _, q := range w.dns.Queries() {
		if strings.HasPrefix(q.Name, internal) {
			t.Errorf("the provider's server name was looked up: %+v", q)
		}
	}

	w.env = w.newEnv()
	res = w.run("one.test", cfg, 10*time.Second)
	probetest.AssertChecks(t, res, map[string]probes.Status{"smtp.banner": fail, "smtp.helo": fail},
		map[string]string{"smtp.helo": "EHLO reply name " + internal + " does not exist"}, nil, nil)
}
