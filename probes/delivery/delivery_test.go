package delivery_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/receiver"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/delivery"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dmarc"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mx"
	"github.com/deliverability-exporter/deliverability_exporter/probes/spf"
)

// The tests import the spf, mx and dnsbl probes to lend them to the
// delivery probe the way the engine does (collector/registrations.go);
// the probe's own code imports none of them.

const testPassword = "s3cret-app-password"

// world is the round trip's cast on loopback: the domain's DNS, its
// submission relay (127.0.0.1, delivering from 127.0.0.25) and the
// exporter's receiver.
type world struct {
	t        testing.TB
	dns      *testbed.DNSServer
	ca       *testbed.CA
	relay    *testbed.Relay
	relayB   testbed.RelayBehaviour
	receiver *receiver.Receiver
	rcvAddr  string
	key2048  crypto.Signer
	pwFile   string
	// offset moves the clock of the probe and the receiver alike.
	offset atomic.Int64
}

func (w *world) now() time.Time { return time.Now().Add(time.Duration(w.offset.Load())) }

// rsaKey makes an RSA key (a fresh one each time: the test publishes it).
func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// dkimTXT renders a key record the way zone files carry a long one: split
// into character-strings of at most 255 bytes.
func dkimTXT(t testing.TB, owner string, pub crypto.PublicKey) string {
	t.Helper()
	var p, k string
	switch pk := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pk)
		if err != nil {
			t.Fatal(err)
		}
		p, k = base64.StdEncoding.EncodeToString(der), "rsa"
	case ed25519.PublicKey:
		p, k = base64.StdEncoding.EncodeToString(pk), "ed25519"
	}
	rec := "v=DKIM1; k=" + k + "; p=" + p
	var parts []string
	for len(rec) > 250 {
		parts = append(parts, `"`+rec[:250]+`"`)
		rec = rec[250:]
	}
	parts = append(parts, `"`+rec+`"`)
	return owner + " 300 IN TXT " + strings.Join(parts, " ")
}

const zone = `
$ORIGIN example.test.
@        300 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
@        300 IN NS  ns.example.test.
@        300 IN MX  10 mx.example.test.
@        300 IN TXT "v=spf1 ip4:127.0.0.25 ip4:192.0.2.0/24 -all"
_dmarc   300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.test"
smtp     300 IN A   127.0.0.1
relay    300 IN A   127.0.0.25
relay    300 IN TXT "v=spf1 a -all"
relay    300 IN A   192.0.2.25
other    300 IN A   127.0.0.26
listed   300 IN A   192.0.2.99
mx       300 IN A   127.0.0.1
`

const reverseZone = `
$ORIGIN 127.in-addr.arpa.
@          300 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
25.0.0     300 IN PTR relay.example.test.
26.0.0     300 IN PTR other.example.test.
`

const publicZones = `
$ORIGIN 2.0.192.in-addr.arpa.
@          300 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
25         300 IN PTR relay.example.test.
99         300 IN PTR listed.example.test.
77         300 IN PTR 192-0-2-77.dyn.isp.test.
`

const blocklistZone = `
$ORIGIN bl.test.
@              300 IN SOA ns.bl.test. hostmaster.bl.test. 1 3600 600 86400 300
99.2.0.192     300 IN A   127.0.0.2
99.2.0.192     300 IN TXT "listed for testing"
`

// dmarcRecord is the zone's _dmarc.example.test record.
const dmarcRecord = "v=DMARC1; p=reject; rua=mailto:dmarc@example.test"

// setDMARC replaces the TXT records of _dmarc.example.test.
func (w *world) setDMARC(t testing.TB, records ...string) {
	t.Helper()
	w.dns.Remove("_dmarc.example.test.", dns.TypeTXT)
	for _, r := range records {
		if err := w.dns.Add(fmt.Sprintf("_dmarc.example.test. 300 IN TXT %q", r)); err != nil {
			t.Fatal(err)
		}
	}
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t}
	w.dns = testbed.StartDNS(t, zone, reverseZone, publicZones, blocklistZone)
	w.key2048 = rsaKey(t, 2048)
	if err := w.dns.Add(dkimTXT(t, "sel._domainkey.example.test.", w.key2048.Public())); err != nil {
		t.Fatal(err)
	}
	ca, err := testbed.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	w.ca = ca
	rcvCert, err := ca.Issue(testbed.CertOptions{DNSNames: []string{"mx.receiver.test"}})
	if err != nil {
		t.Fatal(err)
	}
	w.receiver = receiver.New(receiver.Config{
		Hostname: "mx.receiver.test",
		Now:      w.now,
		// The benchmark relays more than the default 30 sessions a minute.
		SessionsPerMinute: 1 << 20,
		TLS:               &tls.Config{Certificates: []tls.Certificate{rcvCert}, MinVersion: tls.VersionTLS12},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.rcvAddr = ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- w.receiver.Serve(ln) }()
	t.Cleanup(func() {
		w.receiver.Close()
		if err := <-served; err != nil {
			t.Errorf("receiver: %v", err)
		}
	})
	relayCert, err := ca.Issue(testbed.CertOptions{DNSNames: []string{"smtp.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	w.relayB = testbed.RelayBehaviour{
		Hostname:    "relay.example.test",
		Certificate: &relayCert,
		Users:       map[string]string{"probe@example.test": testPassword},
		DKIMKey:     w.key2048, DKIMDomain: "example.test", DKIMSelector: "sel",
		NextHop:   w.rcvAddr,
		LocalAddr: "127.0.0.25",
	}
	w.relay = testbed.StartRelay(t, "127.0.0.1:0", w.relayB)
	w.pwFile = filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(w.pwFile, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) config() delivery.Config {
	c := delivery.DefaultConfig()
	c.Submission = fmt.Sprintf("smtp.example.test:%d", w.relay.Port())
	c.Username = "probe@example.test"
	c.PasswordFile = w.pwFile
	c.To = "probe@receiver.test"
	c.ScrapeWait = 5 * time.Second
	c.MaxWait = 30 * time.Second
	if err := c.Validate(); err != nil {
		w.t.Fatal(err)
	}
	return c
}

// lent is what the engine lends the probe, with one test blocklist
// (bl.test, served by the world's DNS) instead of the public ones.
func lent() delivery.Lent {
	lists := dnsbl.Config{Lists: []dnsbl.List{{Zone: "bl.test", Kind: dnsbl.KindIP, Codes: map[string]string{"127.0.0.2": "listed"}}}, MaxConcurrency: 16}
	return delivery.Lent{
		CheckHost: func(ctx context.Context, r *dnsclient.Resolver, ip netip.Addr, domain, sender, helo string) (string, error) {
			res, err := spf.CheckHost(ctx, r, ip, domain, sender, helo)
			return string(res), err
		},
		DMARC: func(ctx context.Context, r *dnsclient.Resolver, domain string) (*delivery.DMARCPolicy, error) {
			a, err := dmarc.Applying(ctx, r, domain)
			var unusable *dmarc.RecordError
			switch {
			case errors.As(err, &unusable):
				return &delivery.DMARCPolicy{Unusable: unusable.Reason}, nil
			case err != nil || a == nil:
				return nil, err
			}
			return &delivery.DMARCPolicy{Owner: "_dmarc." + a.Domain, Policy: a.Policy,
				StrictDKIM: a.Record.ADKIM == "s", StrictSPF: a.Record.ASPF == "s"}, nil
		},
		Reverse: delivery.LentProbe{
			Build:  func(probes.Setup) probes.Probe { return mx.New(mx.DefaultConfig()) },
			Checks: []string{"ptr.present", "ptr.fcrdns"},
		},
		Blocklists: delivery.LentProbe{
			Build:  func(probes.Setup) probes.Probe { return dnsbl.New(lists, nil) },
			Checks: []string{"dnsbl.ip"},
		},
	}
}

// probe builds the probe with its own Kept (so its own round trips) and
// the world's receiver.
func (w *world) probe(cfg delivery.Config, minInterval time.Duration) *delivery.Probe {
	return w.probeWith(cfg, minInterval, w.receiver)
}

func (w *world) probeWith(cfg delivery.Config, minInterval time.Duration, mb probes.Mailbox) *delivery.Probe {
	kept := probes.NewKept()
	probes.SetMailbox(kept, mb)
	return delivery.New(cfg, lent(), probes.Setup{Module: "delivery", MinInterval: minInterval, Kept: kept})
}

func (w *world) env() *probes.Env {
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{w.dns.Addr}, Timeout: time.Second, Attempts: 2})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(client.Close)
	return &probes.Env{
		DNS: client.NewResolver(),
		// The world is on loopback, closed unless named (as a lab module's
		// allowed_networks names it).
		Dialer:  &probes.AddressDialer{Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		RootCAs: w.ca.Pool,
		Now:     w.now,
		Logger:  log.NewNopLogger(),
		Facts:   probes.NewFacts(nil),
	}
}

func (w *world) run(p *delivery.Probe, env *probes.Env) *probes.Result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	target, err := probes.ParseTarget("example.test")
	if err != nil {
		w.t.Fatal(err)
	}
	res := p.Run(ctx, &probes.Request{Target: target}, env)
	probetest.CheckInvariants(w.t, res, p, delivery.CheckIDs())
	return res
}

// want expects every check to pass except the overrides; the outbound
// address is loopback, which no blocklist holds, so outbound_not_listed
// is skipped unless overridden, and so is delivery.inbox, without IMAP
// mailboxes.
func want(overrides ...any) map[string]probes.Status {
	base := []any{"delivery.outbound_not_listed", probes.StatusSkip, "delivery.inbox", probes.StatusSkip}
	return probetest.Statuses(delivery.CheckIDs(), probes.StatusPass, append(base, overrides...)...)
}

func TestRoundTrip(t *testing.T) {
	w := newWorld(t)
	key1024 := rsaKey(t, 1024)
	if err := w.dns.Add(dkimTXT(t, "weak._domainkey.example.test.", key1024.Public())); err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.dns.Add(dkimTXT(t, "ed._domainkey.example.test.", edKey.Public())); err != nil {
		t.Fatal(err)
	}
	otherKey := rsaKey(t, 2048)
	if err := w.dns.Add(dkimTXT(t, "sel._domainkey.provider.test.", otherKey.Public())); err != nil {
		t.Fatal(err)
	}
	if err := w.dns.Add(dkimTXT(t, "sel._domainkey.mail.example.test.", w.key2048.Public())); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		relay func(*testbed.RelayBehaviour)
		cfg   func(*delivery.Config)
		// dmarc, when set, replaces the TXT records of _dmarc.example.test
		// for the case.
		dmarc    []string
		statuses map[string]probes.Status
		reasons  map[string]string
		fixes    map[string]string
	}{
		{name: "healthy", statuses: want(),
			reasons: map[string]string{
				"delivery.accepted": "over TLS 1.3 with AUTH PLAIN: 250",
				"delivery.dkim":     "the signature of example.test (selector sel) verifies and is aligned with From: example.test",
				"delivery.dmarc":    "DMARC passes: SPF passes for example.test, aligned",
				"delivery.spf":      "SPF of example.test authorises 127.0.0.25",
			}},
		{name: "ed25519 key", relay: func(b *testbed.RelayBehaviour) { b.DKIMKey, b.DKIMSelector = edKey, "ed" }, statuses: want()},
		{name: "AUTH LOGIN over implicit TLS", relay: func(b *testbed.RelayBehaviour) { b.ImplicitTLS = true },
			cfg: func(c *delivery.Config) { c.TLS = delivery.TLSImplicit }, statuses: want(),
			reasons: map[string]string{"delivery.accepted": "with AUTH PLAIN"}},
		{name: "AUTH LOGIN", relay: func(b *testbed.RelayBehaviour) { b.LoginOnly = true }, statuses: want(),
			reasons: map[string]string{"delivery.accepted": "with AUTH LOGIN"}},
		{name: "signing off", relay: func(b *testbed.RelayBehaviour) { b.DKIMKey = nil },
			statuses: want("delivery.dkim", probes.StatusFail, "delivery.dkim_key_strength", probes.StatusSkip),
			reasons:  map[string]string{"delivery.dkim": "the message carries no DKIM signature"}},
		{name: "key not in DNS", relay: func(b *testbed.RelayBehaviour) { b.DKIMSelector = "missing" },
			statuses: want("delivery.dkim", probes.StatusFail, "delivery.dkim_key_strength", probes.StatusSkip),
			fixes:    map[string]string{"delivery.dkim": "publish the relay's public key at missing._domainkey.example.test"}},
		{name: "weak key", relay: func(b *testbed.RelayBehaviour) { b.DKIMKey, b.DKIMSelector = key1024, "weak" },
			statuses: want("delivery.dkim_key_strength", probes.StatusFail),
			reasons:  map[string]string{"delivery.dkim_key_strength": "weak._domainkey.example.test (1024 bits)"}},
		{name: "relay address not in SPF", relay: func(b *testbed.RelayBehaviour) { b.LocalAddr = "127.0.0.26" },
			statuses: want("delivery.spf", probes.StatusFail),
			reasons:  map[string]string{"delivery.spf": "SPF of example.test gives fail for 127.0.0.26"},
			fixes:    map[string]string{"delivery.spf": "add ip4:127.0.0.26"}},
		{name: "not aligned and not in SPF",
			relay: func(b *testbed.RelayBehaviour) {
				b.LocalAddr, b.DKIMKey, b.DKIMDomain = "127.0.0.26", otherKey, "provider.test"
			},
			statuses: want("delivery.spf", probes.StatusFail, "delivery.dkim", probes.StatusFail, "delivery.dmarc", probes.StatusFail),
			reasons: map[string]string{
				"delivery.dkim":  "signatures verify, but none is by a domain aligned with From: example.test",
				"delivery.dmarc": "DMARC fail (policy reject applies)",
			}},
		{name: "no reverse DNS", relay: func(b *testbed.RelayBehaviour) { b.LocalAddr = "127.0.0.27" },
			// 127.0.0.27 is in no SPF record and has no PTR; DKIM keeps DMARC passing.
			statuses: want("delivery.spf", probes.StatusFail, "delivery.outbound_fcrdns", probes.StatusFail)},
		{name: "private Received header", relay: func(b *testbed.RelayBehaviour) {
			b.Received = "from laptop (unknown [192.168.1.20]) by relay.example.test with ESMTPSA id 4F1; Wed, 2 Dec 2026 10:00:00 +0000"
		},
			statuses: want("delivery.no_private_received", probes.StatusFail),
			reasons:  map[string]string{"delivery.no_private_received": "(192.168.1.20)"}},
		{name: "delivery without TLS", relay: func(b *testbed.RelayBehaviour) { b.PlainText = true },
			statuses: want("delivery.tls", probes.StatusFail),
			reasons:  map[string]string{"delivery.tls": "the relay delivered the message in plain text"}},
		{name: "wrong password", cfg: func(c *delivery.Config) {
			pw := filepath.Join(t.TempDir(), "wrong")
			if err := os.WriteFile(pw, []byte("not-it"), 0o600); err != nil {
				t.Fatal(err)
			}
			c.PasswordFile = pw
		},
			statuses: probetest.Statuses(delivery.CheckIDs(), probes.StatusSkip, "delivery.accepted", probes.StatusFail),
			reasons:  map[string]string{"delivery.accepted": "the message was not accepted (at auth)"},
			fixes:    map[string]string{"delivery.accepted": "check username and the password in password_file"}},
		{name: "signed by a subdomain, relaxed DKIM alignment",
			relay:    func(b *testbed.RelayBehaviour) { b.DKIMDomain = "mail.example.test" },
			statuses: want(),
			reasons:  map[string]string{"delivery.dkim": "the signature of mail.example.test (selector sel) verifies and is aligned with From: example.test"}},
		{name: "signed by a subdomain, strict DKIM alignment",
			relay:    func(b *testbed.RelayBehaviour) { b.DKIMDomain = "mail.example.test" },
			dmarc:    []string{"v=DMARC1; p=reject; adkim=s"},
			statuses: want("delivery.dkim", probes.StatusFail),
			reasons: map[string]string{
				"delivery.dkim":  "signatures verify, but none is by a domain aligned with From: example.test",
				"delivery.dmarc": "DMARC passes: SPF passes for example.test, aligned",
			}},
		// Tag values are case-insensitive (RFC 7489 §6.4): receivers apply
		// this record.
		{name: "DMARC record with an upper-case policy",
			dmarc:    []string{"v=DMARC1; p=Reject; rua=mailto:dmarc@example.test"},
			statuses: want()},
		{name: "two DMARC records",
			dmarc:    []string{"v=DMARC1; p=none", "v=DMARC1; p=reject"},
			statuses: want("delivery.dmarc", probes.StatusFail),
			reasons:  map[string]string{"delivery.dmarc": "receivers apply no DMARC to the message: _dmarc.example.test has 2 DMARC records"},
			fixes:    map[string]string{"delivery.dmarc": "dmarc.syntax"}},
		{name: "relay refuses the recipient", relay: func(b *testbed.RelayBehaviour) { b.RefuseRcpt = true },
			statuses: probetest.Statuses(delivery.CheckIDs(), probes.StatusSkip, "delivery.accepted", probes.StatusFail),
			reasons:  map[string]string{"delivery.accepted": "answered RCPT with 550"},
			// from is not configured: the fix names the sender the probe used.
			fixes: map[string]string{"delivery.accepted": "to send as deliverability-probe@example.test to the probe address"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := w.relayB
			if tc.relay != nil {
				tc.relay(&b)
			}
			relay := testbed.StartRelay(t, "127.0.0.1:0", b)
			cfg := w.config()
			cfg.Submission = fmt.Sprintf("smtp.example.test:%d", relay.Port())
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			if tc.dmarc != nil {
				w.setDMARC(t, tc.dmarc...)
				defer w.setDMARC(t, dmarcRecord)
			}
			res := w.run(w.probe(cfg, time.Hour), w.env())
			probetest.AssertChecks(t, res, tc.statuses, tc.reasons, tc.fixes, nil)
			if errs := relay.DeliveryErrors(); len(errs) > 0 {
				t.Errorf("the relay could not deliver: %v", errs)
			}
			for _, c := range res.Checks() {
				for _, s := range append([]string{c.Reason, c.Remediation}, c.Evidence...) {
					if strings.Contains(s, testPassword) || strings.Contains(s, base64.StdEncoding.EncodeToString([]byte("\x00probe@example.test\x00"+testPassword))) {
						t.Errorf("%s shows the password: %s", c.ID, s)
					}
				}
			}
			for _, d := range res.Details() {
				for _, l := range d.Lines {
					if strings.Contains(l, testPassword) {
						t.Errorf("the report shows the password: %s", l)
					}
				}
			}
		})
	}
}

func TestRoundTripMetrics(t *testing.T) {
	w := newWorld(t)
	p := w.probe(w.config(), time.Hour)
	res := w.run(p, w.env())
	probetest.AssertMetrics(t, res, []probetest.Metric{
		probetest.M("mail_delivery_in_flight", 0),
		probetest.M("mail_delivery_auth_result", 1, "builtin", "spf", "pass"),
		probetest.M("mail_delivery_auth_result", 1, "builtin", "spf_helo", "pass"),
		probetest.M("mail_delivery_auth_result", 1, "builtin", "dkim", "pass"),
		probetest.M("mail_delivery_auth_result", 1, "builtin", "dmarc", "pass"),
		probetest.M("mail_delivery_outbound_info", 1, "builtin", "127.0.0.25", "relay.example.test", "relay.example.test"),
	}, nil)
	took, ok := probetest.FindMeasurement(res, "mail_delivery_duration_seconds", "builtin")
	if !ok || took < 0 {
		t.Errorf("mail_delivery_duration_seconds = %v, %v; want a sample >= 0", took, ok)
	}
	target, _ := probes.ParseTarget("example.test")
	if got := p.ObservedOutboundIPs(target); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("127.0.0.25")}) {
		t.Errorf("observed outbound IPs %v, want the relay's 127.0.0.25", got)
	}
	other, _ := probes.ParseTarget("other.test")
	if got := p.ObservedOutboundIPs(other); len(got) != 0 {
		t.Errorf("observed outbound IPs of a target never probed: %v", got)
	}
}

// TestPacing: a run sends at most once per min_interval and otherwise
// answers with the latest round trip and its age; a message that does not
// arrive within max_wait becomes the latest round trip, failed, once.
func TestPacing(t *testing.T) {
	w := newWorld(t)
	b := w.relayB
	b.Hold = true
	relay := testbed.StartRelay(t, "127.0.0.1:0", b)
	cfg := w.config()
	cfg.Submission = fmt.Sprintf("smtp.example.test:%d", relay.Port())
	cfg.ScrapeWait = 0
	cfg.MaxWait = 10 * time.Minute
	p := w.probe(cfg, 5*time.Minute)
	env := w.env()

	// The first run sends; nothing has completed yet.
	res := w.run(p, env)
	probetest.AssertChecks(t, res, probetest.Statuses(delivery.CheckIDs(), probes.StatusSkip), map[string]string{
		"delivery.arrived": "no round trip has completed yet: the first message was sent at",
	}, nil, nil)
	probetest.AssertMetrics(t, res, []probetest.Metric{probetest.M("mail_delivery_in_flight", 1)}, nil)
	sent, _ := probetest.FindMeasurement(res, "mail_delivery_last_sent_timestamp_seconds")

	// A minute later it is still in flight, and nothing new is sent.
	w.offset.Add(int64(time.Minute))
	res = w.run(p, env)
	probetest.AssertMetrics(t, res, []probetest.Metric{
		probetest.M("mail_delivery_in_flight", 1),
		probetest.M("mail_delivery_last_sent_timestamp_seconds", sent),
	}, nil)

	// Past max_wait the message is lost: one failed round trip, and a
	// new message goes out (min_interval has passed too), which the relay
	// delivers once the test opens its gate.
	gate := make(chan struct{})
	gated := w.relayB
	gated.Gate = gate
	relay.SetBehaviour(gated)
	w.offset.Add(int64(10 * time.Minute))
	res = w.run(p, env)
	probetest.AssertChecks(t, res, probetest.Statuses(delivery.CheckIDs(), probes.StatusSkip,
		"delivery.accepted", probes.StatusPass, "delivery.arrived", probes.StatusFail),
		map[string]string{"delivery.arrived": "did not arrive at the built-in receiver within max_wait (10m0s)"},
		map[string]string{"delivery.arrived": "look for Message-ID <"}, nil)
	if res.Age() <= 0 {
		t.Errorf("the lost round trip's age is %s, want > 0", res.Age())
	}
	probetest.AssertMetrics(t, res, []probetest.Metric{probetest.M("mail_delivery_in_flight", 1)}, nil)

	// The next run, within min_interval, sends nothing but judges the
	// message once it has arrived.
	close(gate)
	deadline := time.Now().Add(10 * time.Second)
	for w.receiver.Counts()[receiver.Accepted] == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sent, _ = probetest.FindMeasurement(res, "mail_delivery_last_sent_timestamp_seconds")
	w.offset.Add(int64(time.Minute))
	res = w.run(p, env)
	probetest.AssertChecks(t, res, want(), nil, nil, nil)
	probetest.AssertMetrics(t, res, []probetest.Metric{
		probetest.M("mail_delivery_in_flight", 0),
		probetest.M("mail_delivery_last_sent_timestamp_seconds", sent),
	}, nil)

	// The scrape an interval after that message went out, a little early
	// as scrapes come, sends the next: a job scraped every min_interval
	// sends at every scrape, not every other one.
	w.offset.Add(int64(4*time.Minute - 100*time.Millisecond))
	res = w.run(p, env)
	next, _ := probetest.FindMeasurement(res, "mail_delivery_last_sent_timestamp_seconds")
	if next <= sent {
		t.Errorf("the scrape an interval after the last message (100 ms early) sent nothing: last sent %v, before %v", next, sent)
	}
}

// TestReceiverOff: without the built-in receiver the probe cannot tell.
func TestReceiverOff(t *testing.T) {
	w := newWorld(t)
	p := delivery.New(w.config(), lent(), probes.Setup{Module: "m", Kept: probes.NewKept()})
	res := w.run(p, w.env())
	probetest.AssertErrors(t, res, "the built-in receiver is off")
}

// TestFromOutsideTarget: the probe sends only as the domain it checks.
func TestFromOutsideTarget(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.From = "someone@elsewhere.test"
	res := w.run(w.probe(cfg, time.Hour), w.env())
	probetest.AssertErrors(t, res, "is not in the target domain example.test")
}

// publicMailbox is the receiver as seen behind a public address: what
// arrives from the loopback relay is judged as if it had come from remote,
// so the reverse DNS and blocklist checks meet the addresses a real relay
// has (loopback is on no list and is skipped).
type publicMailbox struct {
	probes.Mailbox
	remote netip.Addr
}

func (m publicMailbox) Arrived(token string) (*probes.ReceivedMessage, bool) {
	msg, ok := m.Mailbox.Arrived(token)
	if !ok {
		return nil, false
	}
	c := *msg
	c.Remote = netip.AddrPortFrom(m.remote, msg.Remote.Port())
	return &c, true
}

func TestOutboundAddress(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		ip       string
		statuses map[string]probes.Status
		reasons  map[string]string
	}{
		{ip: "192.0.2.25", statuses: want("delivery.outbound_not_listed", probes.StatusPass),
			reasons: map[string]string{"delivery.outbound_fcrdns": "relay.example.test"}},
		{ip: "192.0.2.99", statuses: want("delivery.outbound_not_listed", probes.StatusFail),
			reasons: map[string]string{"delivery.outbound_not_listed": "192.0.2.99, the address the relay delivered from"}},
		{ip: "192.0.2.77", statuses: want("delivery.outbound_not_listed", probes.StatusPass, "delivery.outbound_fcrdns", probes.StatusFail),
			reasons: map[string]string{"delivery.outbound_fcrdns": "192.0.2.77"}},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			mb := publicMailbox{Mailbox: w.receiver, remote: netip.MustParseAddr(tc.ip)}
			res := w.run(w.probeWith(w.config(), time.Hour, mb), w.env())
			probetest.AssertChecks(t, res, tc.statuses, tc.reasons, nil, nil)
		})
	}
}

// BenchmarkRoundTrip is one round trip on loopback with everything in
// process: submission with STARTTLS and AUTH PLAIN, the test relay's DKIM
// signing (RSA 2048) and delivery over STARTTLS, the receiver, and the
// verdict (SPF, DKIM, DMARC, reverse DNS, the test blocklist). cpu-ms/op is
// the process's user+system CPU per round trip, relay included.
func BenchmarkRoundTrip(b *testing.B) {
	w := newWorld(b)
	cfg := w.config()
	mb := publicMailbox{Mailbox: w.receiver, remote: netip.MustParseAddr("192.0.2.25")}
	env := w.env()
	target, _ := probes.ParseTarget("example.test")
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := w.probeWith(cfg, time.Hour, mb)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res := p.Run(ctx, &probes.Request{Target: target}, env)
		cancel()
		if c, _ := res.Check("delivery.dkim"); c.Status != probes.StatusPass {
			b.Fatalf("round trip %d: delivery.dkim %s: %s", i, c.Status, c.Reason)
		}
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) / time.Duration(b.N)
	b.ReportMetric(float64(cpu.Microseconds())/1000, "cpu-ms/op")
}
