package mtasts_test

import (
	"context"
	"crypto/tls"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
)

var (
	caOnce sync.Once
	ca     *testbed.CA
	caErr  error
)

// testCA is the CA of every test certificate; only the tests' Env trusts it.
func testCA(t testing.TB) *testbed.CA {
	t.Helper()
	caOnce.Do(func() { ca, caErr = testbed.NewCA("MTA-STS Test Root CA") })
	if caErr != nil {
		t.Fatal(caErr)
	}
	return ca
}

// mint issues a certificate for one test.
func mint(t testing.TB, opts testbed.CertOptions) *tls.Certificate {
	t.Helper()
	c, err := testCA(t).Issue(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// certFor is a valid certificate for the names.
func certFor(t testing.TB, names ...string) *tls.Certificate {
	return mint(t, testbed.CertOptions{DNSNames: names})
}

// world is one test's DNS server and HTTPS server (every policy host on
// 127.0.0.1, told apart by SNI).
type world struct {
	t     testing.TB
	dns   *testbed.DNSServer
	https *testbed.HTTPSServer
}

func newWorld(t testing.TB, zones ...string) *world {
	t.Helper()
	return &world{t: t, dns: testbed.StartDNS(t, zones...), https: testbed.StartHTTPS(t, "127.0.0.1:0")}
}

// site serves a policy host.
func (w *world) site(host string, site testbed.HTTPSSite) {
	if site.Certificate == nil {
		site.Certificate = certFor(w.t, host)
	}
	w.https.SetSite(host, site)
}

// policy serves body as the domain's policy with a valid certificate.
func (w *world) policy(domain, body string) {
	w.site("mta-sts."+domain, testbed.HTTPSSite{Body: body})
}

// env is a fresh request environment (resolver cache, memo).
func (w *world) env() *probes.Env {
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

// cfg is the default configuration pointed at the world's HTTPS port.
func (w *world) cfg() mtasts.Config {
	c := mtasts.DefaultConfig()
	c.HTTPSPort = w.https.Port()
	return c
}

// run probes target.
// run probes target; with smtpCfg the request has the SMTP conversations
// a module's smtp block supplies.
func (w *world) run(target string, cfg mtasts.Config, smtpCfg *smtp.Config, mem *mtasts.Memory) *probes.Result {
	w.t.Helper()
	return runIn(w.t, withSMTP(w.env(), smtpCfg), target, mtasts.New(cfg, mem), 30*time.Second)
}

// withSMTP gives env the conversations of the smtp block cfg (nil: none).
func withSMTP(env *probes.Env, cfg *smtp.Config) *probes.Env {
	if cfg != nil {
		env.Facts = probes.NewFacts(smtp.Registration.Provides(cfg, probes.Setup{}))
	}
	return env
}

func runIn(t testing.TB, env *probes.Env, target string, p *mtasts.Probe, timeout time.Duration) *probes.Result {
	t.Helper()
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := p.Run(ctx, &probes.Request{Target: tgt}, env)
	if res == nil {
		t.Fatal("Run returned nil")
	}
	checkInvariants(t, res)
	return res
}

// The statuses, short for the tables.
const (
	pass      = probes.StatusPass
	fail      = probes.StatusFail
	skip      = probes.StatusSkip
	undecided = probes.StatusError
)

var checkIDs = []string{
	"mtasts.record", "mtasts.policy", "mtasts.mx_match", "mtasts.mode", "mtasts.max_age", "mtasts.id_changed",
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
	absent       []string // metric families that must not be recorded
	errors       string   // substring of a probe error; "" means none
}

func (e expect) assert(t testing.TB, res *probes.Result) {
	t.Helper()
	probetest.AssertChecks(t, res, e.checks, e.reasons, e.remediations, e.evidence)
	var absent []metric
	for _, name := range e.absent {
		absent = append(absent, m(name, 0)) // no labels: no sample of the name
	}
	probetest.AssertMetrics(t, res, e.metrics, absent)
	probetest.AssertErrors(t, res, e.errors)
}

// The shared assertions (internal/probetest), bound to this probe.

type metric = probetest.Metric

var (
	m               = probetest.M
	findMeasurement = probetest.FindMeasurement
)

// statuses expects every check to have status def except those overridden.
func statuses(def probes.Status, overrides ...any) map[string]probes.Status {
	return probetest.Statuses(checkIDs, def, overrides...)
}

func checkInvariants(t testing.TB, res *probes.Result) {
	t.Helper()
	probetest.CheckInvariants(t, res, mtasts.New(mtasts.DefaultConfig(), nil), checkIDs)
}
