package smtp_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// zones is the DNS of the test world. The records are written as operators
// publish them, with the addresses moved to loopback (Linux routes all of
// 127.0.0.0/8 to lo; ::1 is the only IPv6 loopback address) so the servers
// the probe connects to are the in-process ones.
//
//   - smtp.test: two MX hosts, mx1 on 127.0.0.2 and ::1, mx2 on 127.0.0.3.
//   - one.test: one MX host on 127.0.0.4.
//   - down.test: one MX host on 127.0.0.9, where nothing listens.
//   - four.test: four MX hosts on 127.0.0.2 to 127.0.0.5 (parallelism).
//   - nomx.test: no MX, an address (127.0.0.4): the implicit MX.
//   - spread.test: three MX hosts in three networks of the documentation
//     ranges (RFC 5737), which only a dialer that never dials reaches:
//     the servers of many domains, as seen from a blocked network.
//   - hosted-a.test, hosted-b.test: domains hosted on one.test's MX host,
//     as a platform hosts thousands.
//   - nullmx.test, noaddress.test, servfail.test: nothing to probe.
//   - elsewhere.test: a name that resolves, but not to the servers.
const zones = `
$ORIGIN smtp.test.
$TTL 3600
@      IN SOA  ns1 hostmaster 2026112101 7200 3600 1209600 3600
@      IN NS   ns1
ns1    IN A    127.0.0.53
@      IN MX   10 mx1
@      IN MX   20 mx2
mx1    IN A    127.0.0.2
mx1    IN AAAA ::1
mx2    IN A    127.0.0.3

$ORIGIN one.test.
@      IN MX   10 mx
mx     IN A    127.0.0.4

$ORIGIN down.test.
@      IN MX   10 mx
mx     IN A    127.0.0.9

$ORIGIN four.test.
@      IN MX   10 a
@      IN MX   10 b
@      IN MX   10 c
@      IN MX   10 d
a      IN A    127.0.0.2
b      IN A    127.0.0.3
c      IN A    127.0.0.4
d      IN A    127.0.0.5

$ORIGIN spread.test.
@      IN MX   10 a
@      IN MX   10 b
@      IN MX   10 c
a      IN A    192.0.2.25
b      IN A    198.51.100.25
c      IN A    203.0.113.25
$ORIGIN hosted-a.test.
@      IN MX   10 mx.one.test.

$ORIGIN hosted-b.test.
@      IN MX   10 mx.one.test.

$ORIGIN nullmx.test.
@      IN MX   0 .

$ORIGIN nomx.test.
@      IN A    127.0.0.4

$ORIGIN noaddress.test.
@      IN TXT  "v=spf1 -all"

$ORIGIN servfail.test.
@      IN MX   10 mx

$ORIGIN elsewhere.test.
mail   IN A    127.0.0.99
`

// The addresses of smtp.test's hosts.
const (
	mx1v4 = "127.0.0.2"
	mx1v6 = "::1"
	mx2v4 = "127.0.0.3"
)

var smtpTestIPs = []string{mx1v4, mx1v6, mx2v4}

// hostOf names the MX host of a smtp.test address.
func hostOf(ip string) string {
	switch ip {
	case mx1v4, mx1v6:
		return "mx1.smtp.test"
	case mx2v4:
		return "mx2.smtp.test"
	case "127.0.0.4":
		return "mx.one.test"
	}
	return "mx.test"
}

var (
	caOnce sync.Once
	ca     *testbed.CA
	caErr  error
	certMu sync.Mutex
	certs  = map[string]*tls.Certificate{}
)

// testCA is the CA of every test certificate.
func testCA(t testing.TB) *testbed.CA {
	t.Helper()
	caOnce.Do(func() { ca, caErr = testbed.NewCA("Test Root CA") })
	if caErr != nil {
		t.Fatal(caErr)
	}
	return ca
}

// goodCert returns a valid ECDSA certificate for host, minted once.
func goodCert(t testing.TB, host string) *tls.Certificate {
	t.Helper()
	certMu.Lock()
	defer certMu.Unlock()
	if c, ok := certs[host]; ok {
		return c
	}
	c, err := testCA(t).Issue(testbed.CertOptions{DNSNames: []string{host}})
	if err != nil {
		t.Fatal(err)
	}
	certs[host] = &c
	return &c
}

// mint issues a certificate with the options, for one test.
func mint(t testing.TB, issuer *testbed.CA, opts testbed.CertOptions) *tls.Certificate {
	t.Helper()
	c, err := issuer.Issue(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// relay is the foreign address of the open-relay check in the tests.
const relay = smtp.DefaultRelayTestRecipient

// good is a well-run server of the host: greets and answers EHLO with its
// name, STARTTLS with a valid certificate, no AUTH on port 25, accepts
// postmaster@ and abuse@ and refuses to relay.
func good(t testing.TB, host string) testbed.SMTPBehaviour {
	domain := host[strings.IndexByte(host, '.')+1:]
	return testbed.SMTPBehaviour{
		Hostname:    host,
		Certificate: goodCert(t, host),
		Recipients: map[string]string{
			"postmaster@" + domain: "250 2.1.5 Ok",
			"abuse@" + domain:      "250 2.1.5 Ok",
			"postmaster":           "250 2.1.5 Ok",
			relay:                  "554 5.7.1 <" + relay + ">: Relay access denied",
		},
	}
}

// world is one test's DNS server and SMTP servers.
type world struct {
	t       testing.TB
	dns     *testbed.DNSServer
	servers map[string]*testbed.SMTPServer
	port    int
	env     *probes.Env
}

// newWorld starts the DNS and one SMTP server per address, all on one
// port, each with the behaviour of behave(ip). The servers' logs are
// checked for DATA when the test ends.
func newWorld(t testing.TB, ips []string, behave func(ip string) testbed.SMTPBehaviour) *world {
	t.Helper()
	w := newUnsignedWorld(t, ips, behave)
	w.dns.SetSecure("smtp.test", "one.test", "four.test")
	return w
}

// newUnsignedWorld is newWorld with no zone validated (no AD bit).
func newUnsignedWorld(t testing.TB, ips []string, behave func(ip string) testbed.SMTPBehaviour) *world {
	t.Helper()
	w := &world{t: t, dns: testbed.StartDNS(t, zones), servers: map[string]*testbed.SMTPServer{}}
	if len(ips) > 0 {
		for i, s := range testbed.StartSMTPGroup(t, ips, behave) {
			w.servers[ips[i]] = s
			w.port = s.Port()
		}
	}
	t.Cleanup(func() {
		for ip, s := range w.servers {
			for _, c := range s.Commands() {
				if strings.EqualFold(firstWord(c), "DATA") {
					t.Errorf("%s received DATA: %q", ip, s.Commands())
				}
			}
		}
	})
	w.env = w.newEnv()
	return w
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

// newEnv is a fresh request environment (resolver cache, memo).
func (w *world) newEnv() *probes.Env {
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{w.dns.Addr}, Timeout: time.Second, Attempts: 2})
	if err != nil {
		w.t.Fatal(err)
	}
	return &probes.Env{
		DNS:     client.NewResolver(),
		Dialer:  probetest.LoopbackDialer(),
		RootCAs: testCA(w.t).Pool,
		Now:     time.Now,
		Logger:  log.NewNopLogger(),
		Facts:   probes.NewFacts(nil),
	}
}

// cfg is the default configuration pointed at the world's port, with every
// RCPT check on.
func (w *world) cfg() smtp.Config {
	c := smtp.DefaultConfig()
	c.Session.Port = w.port
	c.Session.EHLOName = "probe.exporter.test"
	c.Session.RcptChecks = []string{smtp.RcptPostmaster, smtp.RcptAbuse, smtp.RcptOpenRelay}
	return c
}

// run probes target with cfg in the world's environment.
func (w *world) run(target string, cfg smtp.Config, timeout time.Duration) *probes.Result {
	w.t.Helper()
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := smtp.New(cfg).Run(ctx, &probes.Request{Target: tgt}, withSessions(w.env, cfg))
	if res == nil {
		w.t.Fatal("Run returned nil")
	}
	checkInvariants(w.t, res)
	return res
}

// addTLSA publishes records (zone-file lines).
func (w *world) addTLSA(records ...string) {
	w.t.Helper()
	if err := w.dns.Add(records...); err != nil {
		w.t.Fatal(err)
	}
}

// The statuses, short for the tables.
const (
	pass      = probes.StatusPass
	fail      = probes.StatusFail
	skip      = probes.StatusSkip
	undecided = probes.StatusError
)

var checkIDs = []string{
	"smtp.reachable", "smtp.banner", "smtp.helo", "smtp.starttls",
	"tls.version", "tls.cert_trusted", "tls.cert_name", "tls.cert_expiry", "tls.key_strength",
	"smtp.no_plain_auth", "smtp.no_auth_port25", "smtp.postmaster", "smtp.abuse", "smtp.no_open_relay",
	"dane.tlsa", "dane.match", "dane.rollover", "smtps.implicit_tls",
}

// expect is what a case wants of a result.
type expect struct {
	checks map[string]probes.Status
	// reasons, remediations and evidence hold substrings expected in the
	// check's text (evidence: in any line).
	reasons      map[string]string
	remediations map[string]string
	evidence     map[string]string
	metrics      []metric
	absent       []metric // samples that must not be recorded (value ignored)
	errors       string   // substring of a probe error; "" means none
	note         string   // substring of a report note, when set
}

type metric struct {
	name   string
	labels []string
	value  float64
}

func m(name string, value float64, labels ...string) metric {
	return metric{name: name, labels: labels, value: value}
}

// anyValue marks a metric whose value is not compared.
const anyValue = -12345

func (e expect) assert(t *testing.T, res *probes.Result) {
	t.Helper()
	probetest.AssertChecks(t, res, e.checks, e.reasons, e.remediations, e.evidence)
	for _, w := range e.metrics {
		got, ok := findMeasurement(res, w.name, w.labels...)
		if !ok {
			t.Errorf("%s%q not recorded; have %v", w.name, w.labels, describe(res))
			continue
		}
		if w.value != anyValue && got != w.value {
			t.Errorf("%s%q = %v, want %v", w.name, w.labels, got, w.value)
		}
	}
	for _, a := range e.absent {
		if _, ok := findMeasurement(res, a.name, a.labels...); ok {
			t.Errorf("%s%q recorded, want it absent", a.name, a.labels)
		}
	}
	probetest.AssertErrors(t, res, e.errors)
	if e.note != "" && !slices.ContainsFunc(res.Notes(), func(n string) bool { return strings.Contains(n, e.note) }) {
		t.Errorf("no note says %q: %q", e.note, res.Notes())
	}
}

// findMeasurement returns the value of the sample with the name and labels.
func findMeasurement(res *probes.Result, name string, labels ...string) (float64, bool) {
	for _, s := range res.Measurements() {
		if s.Name() == name && slices.EqualFunc(s.LabelValues, labels, func(got, want string) bool { return want == "*" || got == want }) {
			return s.Value, true
		}
	}
	return 0, false
}

func describe(res *probes.Result) []string {
	var out []string
	for _, s := range res.Measurements() {
		out = append(out, fmt.Sprintf("%s{%s}=%v", s.Name(), strings.Join(s.LabelValues, ","), s.Value))
	}
	return out
}

// statuses expects every check to have status def except those overridden
// ("smtp.banner", fail, ...).
func statuses(def probes.Status, overrides ...any) map[string]probes.Status {
	return probetest.Statuses(checkIDs, def, overrides...)
}

func checkInvariants(t testing.TB, res *probes.Result) {
	t.Helper()
	probetest.CheckInvariants(t, res, smtp.New(smtp.DefaultConfig()), checkIDs)
}

// withSessions is env with the SMTP conversations of cfg as the module's
// smtp block supplies them (what was gathered already stays shared).
func withSessions(env *probes.Env, cfg smtp.Config) *probes.Env {
	e := *env
	e.Facts = env.Facts.WithProviders(smtp.Registration.Provides(&cfg, probes.Setup{}))
	return &e
}

// sessionsFor returns the conversations of cfg in env's request.
func sessionsFor(ctx context.Context, req *probes.Request, env *probes.Env, cfg smtp.Config) ([]*smtp.Session, error) {
	return smtpsession.Sessions(ctx, req, withSessions(env, cfg))
}
