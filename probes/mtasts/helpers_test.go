package mtasts_test

import (
	"context"
	"crypto/tls"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

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
		Dialer:  &probes.AddressDialer{},
		RootCAs: testCA(w.t).Pool,
		Now:     time.Now,
		Logger:  log.NewNopLogger(),
		Shared:  probes.NewMemo(),
	}
}

// cfg is the default configuration pointed at the world's HTTPS port.
func (w *world) cfg() mtasts.Config {
	c := mtasts.DefaultConfig()
	c.HTTPSPort = w.https.Port()
	return c
}

// run probes target.
func (w *world) run(target string, cfg mtasts.Config, smtpCfg *smtp.Config, mem *mtasts.Memory) *probes.Result {
	w.t.Helper()
	return runIn(w.t, w.env(), target, mtasts.New(cfg, smtpCfg, mem), 30*time.Second)
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

// statuses expects every check to have status def except those overridden.
func statuses(def probes.Status, overrides ...any) map[string]probes.Status {
	out := map[string]probes.Status{}
	for _, id := range checkIDs {
		out[id] = def
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		id := overrides[i].(string)
		if !slices.Contains(checkIDs, id) {
			panic("unknown check " + id)
		}
		out[id] = overrides[i+1].(probes.Status)
	}
	return out
}

// checkInvariants holds for every run: each check recorded once with its
// declared level, one-line reasons, a remediation for every failure, errors
// for every undecided check, only declared metrics, each sample once.
func checkInvariants(t testing.TB, res *probes.Result) {
	t.Helper()
	p := mtasts.New(mtasts.DefaultConfig(), nil, nil)
	levels := map[string]probes.Level{}
	for _, spec := range p.CheckSpecs() {
		levels[spec.ID] = spec.Level
	}
	checks := res.Checks()
	if len(checks) != len(checkIDs) {
		t.Errorf("%d checks recorded, want %d", len(checks), len(checkIDs))
	}
	for _, c := range checks {
		if want, ok := levels[c.ID]; !ok || c.Level != want {
			t.Errorf("%s: level %q, declared %q (declared: %v)", c.ID, c.Level, want, ok)
		}
		if c.Reason == "" || strings.ContainsAny(c.Reason, "\r\n") {
			t.Errorf("%s: reason %q is not one line", c.ID, c.Reason)
		}
		if strings.ContainsAny(c.Remediation, "\r\n") {
			t.Errorf("%s: remediation %q is not one line", c.ID, c.Remediation)
		}
		if c.Status == probes.StatusFail && c.Remediation == "" {
			t.Errorf("%s failed without a remediation: %s", c.ID, c.Reason)
		}
		if c.Status == probes.StatusError && len(res.Errors()) == 0 {
			t.Errorf("%s is undecided but the probe recorded no error", c.ID)
		}
		for _, e := range c.Evidence {
			if strings.ContainsAny(e, "\r\n") {
				t.Errorf("%s: evidence %q is not one line", c.ID, e)
			}
		}
	}
	declared := map[string]int{}
	for _, spec := range p.MetricSpecs() {
		declared[spec.Name] = len(spec.Labels)
	}
	seen := map[string]bool{}
	for _, s := range res.Measurements() {
		n, ok := declared[s.Name()]
		if !ok || n != len(s.LabelValues) {
			t.Errorf("measurement %s%q is not declared with %d labels", s.Name(), s.LabelValues, len(s.LabelValues))
		}
		key := s.Name() + "\x00" + strings.Join(s.LabelValues, "\x00")
		if seen[key] {
			t.Errorf("measurement %s%q recorded twice", s.Name(), s.LabelValues)
		}
		seen[key] = true
	}
	for _, e := range res.Errors() {
		if strings.Contains(e, "internal:") {
			t.Errorf("probe error: %s", e)
		}
	}
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

type metric struct {
	name   string
	labels []string
	value  float64
}

func m(name string, value float64, labels ...string) metric {
	return metric{name: name, labels: labels, value: value}
}

func findMeasurement(res *probes.Result, name string, labels ...string) (float64, bool) {
	for _, s := range res.Measurements() {
		if s.Name() == name && slices.Equal(s.LabelValues, labels) {
			return s.Value, true
		}
	}
	return 0, false
}

func (e expect) assert(t testing.TB, res *probes.Result) {
	t.Helper()
	for id, want := range e.checks {
		c, ok := res.Check(id)
		if !ok {
			t.Errorf("%s not recorded", id)
			continue
		}
		if c.Status != want {
			t.Errorf("%s = %s (%s), want %s", id, c.Status, c.Reason, want)
		}
	}
	for id, want := range e.reasons {
		if c, _ := res.Check(id); !strings.Contains(c.Reason, want) {
			t.Errorf("%s reason %q, want it to contain %q", id, c.Reason, want)
		}
	}
	for id, want := range e.remediations {
		if c, _ := res.Check(id); !strings.Contains(c.Remediation, want) {
			t.Errorf("%s remediation %q, want it to contain %q", id, c.Remediation, want)
		}
	}
	for id, want := range e.evidence {
		c, _ := res.Check(id)
		if !slices.ContainsFunc(c.Evidence, func(line string) bool { return strings.Contains(line, want) }) {
			t.Errorf("%s evidence %q, want a line containing %q", id, c.Evidence, want)
		}
	}
	for _, w := range e.metrics {
		got, ok := findMeasurement(res, w.name, w.labels...)
		if !ok {
			t.Errorf("%s%q not recorded; have %v", w.name, w.labels, res.Measurements())
			continue
		}
		if got != w.value {
			t.Errorf("%s%q = %v, want %v", w.name, w.labels, got, w.value)
		}
	}
	for _, name := range e.absent {
		for _, s := range res.Measurements() {
			if s.Name() == name {
				t.Errorf("%s%q recorded, want none", name, s.LabelValues)
			}
		}
	}
	errs := res.Errors()
	if e.errors == "" {
		if len(errs) > 0 {
			t.Errorf("probe errors %q, want none", errs)
		}
	} else if !slices.ContainsFunc(errs, func(s string) bool { return strings.Contains(s, e.errors) }) {
		t.Errorf("probe errors %q, want one containing %q", errs, e.errors)
	}
}
