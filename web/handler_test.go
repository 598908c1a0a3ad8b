package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

func worldConfig(t *testing.T, resolver string, extra string) *collector.Modules {
	t.Helper()
	cfg, err := parseModules([]byte("modules:\n" + testbed.ExampleModule("mail", resolver) + extra))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type probeResponse struct {
	code    int
	body    string
	metrics map[string]*dto.MetricFamily
}

func probe(t *testing.T, h http.Handler, query string, header http.Header) probeResponse {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/probe?"+query, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := probeResponse{code: rec.Code, body: rec.Body.String()}
	if rec.Code == http.StatusOK && !strings.Contains(query, "debug=true") {
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(strings.NewReader(res.body))
		if err != nil {
			t.Fatalf("exposition does not parse: %v\n%s", err, res.body)
		}
		res.metrics = mfs
	}
	return res
}

// value returns the sample of a family with the given labels; ok is false
// when there is none.
func (p probeResponse) value(name string, labels ...string) (float64, bool) {
	mf := p.metrics[name]
	if mf == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
next:
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

func (p probeResponse) mustValue(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := p.value(name, labels...)
	if !ok {
		t.Fatalf("no sample %s%v in:\n%s", name, labels, p.body)
	}
	return v
}

func newHandler(cfg *collector.Modules) (*ProbeHandler, *SelfMetrics) {
	m := NewSelfMetrics(prometheus.NewRegistry())
	return &ProbeHandler{Modules: func() *collector.Modules { return cfg }, Logger: log.NewNopLogger(), TimeoutOffset: 500 * time.Millisecond, Metrics: m}, m
}

func TestProbeHealthyDomain(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	h, self := newHandler(worldConfig(t, world.Addr, ""))
	res := probe(t, h, "module=mail&target=example.test", nil)
	if res.code != http.StatusOK {
		t.Fatalf("status %d: %s", res.code, res.body)
	}
	if v := res.mustValue(t, "probe_success"); v != 1 {
		t.Errorf("probe_success = %v\n%s", v, res.body)
	}
	if v := res.mustValue(t, "mail_probe_error", "probe", "mx"); v != 0 {
		t.Errorf("mail_probe_error = %v", v)
	}
	for _, check := range []string{"mx.present", "mx.resolves", "ptr.present", "ptr.fcrdns"} {
		if v := res.mustValue(t, "mail_check_success", "check", check, "level", "must"); v != 1 {
			t.Errorf("%s = %v", check, v)
		}
	}
	if _, ok := res.value("mail_check_success", "check", "mx.null"); ok {
		t.Error("mx.null does not apply to example.test but has a sample")
	}
	if v := res.mustValue(t, "mail_score"); v != 100 {
		t.Errorf("mail_score = %v", v)
	}
	if v := res.mustValue(t, "mail_mx_hosts"); v != 2 {
		t.Errorf("mail_mx_hosts = %v", v)
	}

	// Each distinct question went on the wire once, and the counter says
	// exactly how many went.
	if d := world.Duplicates(); len(d) > 0 {
		t.Errorf("questions asked more than once: %v", d)
	}
	sent := len(world.Queries())
	if v := res.mustValue(t, "mail_dns_queries"); int(v) != sent {
		t.Errorf("mail_dns_queries = %v, server saw %d", v, sent)
	}
	if got := testutil.ToFloat64(self.DNSQueries); int(got) != sent {
		t.Errorf("self-metric DNS queries = %v, want %d", got, sent)
	}
	if got := testutil.ToFloat64(self.ProbesTotal.WithLabelValues("mail", "success")); got != 1 {
		t.Errorf("probes_total{success} = %v", got)
	}
	if got := testutil.ToFloat64(self.ProbesInFlight); got != 0 {
		t.Errorf("probes in flight after the probe = %v", got)
	}
}

func TestProbeMetricsLint(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	cfg := worldConfig(t, world.Addr, "")
	m, _ := cfg.Module("mail")
	for _, target := range []string{"example.test", "broken.test", "nullmx.test"} {
		tgt, _ := probes.ParseTarget(target)
		report := m.Run(context.Background(), &probes.Request{Target: tgt}, collector.RunOptions{})
		reg, err := report.Registry()
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		problems, err := promlint.NewWithMetricFamilies(mustGather(t, reg)).Lint()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			if _, ok := lintExceptions[p.Metric]; ok && strings.Contains(p.Text, "bits") {
				continue
			}
			t.Errorf("%s: promlint: %s: %s", target, p.Metric, p.Text)
		}
	}
}

// lintExceptions are promlint findings the project accepts, with why.
var lintExceptions = map[string]string{
	// DESIGN.md fixes this name: key sizes are spoken of and compared in
	// bits (RFC 8301 "2048 bits"), and a dashboard multiplying bytes by 8
	// would only obscure the thresholds alerts use.
	"mail_dkim_key_bits": "key sizes are stated in bits everywhere",
}

func mustGather(t *testing.T, reg *prometheus.Registry) []*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func TestProbeBrokenDomainReport(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	h, _ := newHandler(worldConfig(t, world.Addr, ""))
	res := probe(t, h, "target=broken.test", nil) // module defaults to mail
	if res.code != http.StatusOK {
		t.Fatalf("status %d: %s", res.code, res.body)
	}
	if v := res.mustValue(t, "probe_success"); v != 0 {
		t.Error("probe_success = 1 for a domain failing must checks")
	}
	if v := res.mustValue(t, "mail_probe_error", "probe", "mx"); v != 0 {
		t.Error("failing checks reported as a probe error")
	}
	for _, check := range []string{"mx.hostname", "mx.resolves", "ptr.present", "ptr.fcrdns"} {
		if v := res.mustValue(t, "mail_check_success", "check", check); v != 0 {
			t.Errorf("%s = %v, want 0", check, v)
		}
	}
	if v := res.mustValue(t, "mail_score"); v <= 0 || v >= 100 {
		t.Errorf("mail_score = %v, want strictly between 0 and 100", v)
	}

	debug := probe(t, h, "target=broken.test&debug=true", nil)
	if debug.code != http.StatusOK {
		t.Fatalf("debug status %d", debug.code)
	}
	for _, want := range []string{
		"Mail deliverability report for broken.test",
		"FAIL: must checks failed",
		"FAIL   must    mx.hostname",
		"fix: ",
		"== Metrics that a scrape would have returned",
		"probe_success 0",
	} {
		if !strings.Contains(debug.body, want) {
			t.Errorf("debug output lacks %q:\n%s", want, debug.body)
		}
	}
	// Failures come before passes.
	if strings.Index(debug.body, "FAIL ") > strings.Index(debug.body, "PASS ") {
		t.Errorf("a pass is listed before the failures:\n%s", debug.body)
	}
}

func TestProbeServFailIsAnErrorNotAFailure(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	world.SetBehaviour("example.test", testbed.ServFail)
	h, _ := newHandler(worldConfig(t, world.Addr, ""))
	res := probe(t, h, "target=example.test", nil)
	if v := res.mustValue(t, "mail_probe_error", "probe", "mx"); v != 1 {
		t.Errorf("mail_probe_error = %v, want 1", v)
	}
	if v := res.mustValue(t, "probe_success"); v != 0 {
		t.Error("probe_success = 1 although the probe could not finish")
	}
	if _, ok := res.value("mail_check_success", "check", "mx.present"); ok {
		t.Error("mx.present has a sample although it could not be decided")
	}
}

func TestProbeSilentResolverEndsAtDeadline(t *testing.T) {
	silent := testbed.StartSilentResolver(t)
	h, _ := newHandler(worldConfig(t, silent.Addr, ""))
	done := make(chan probeResponse, 1)
	go func() {
		// Prometheus allows 1.5s; minus the 0.5s offset the probe has 1s.
		done <- probe(t, h, "target=example.test", http.Header{ScrapeTimeoutHeader: {"1.5"}})
	}()
	select {
	case res := <-done:
		if res.code != http.StatusOK {
			t.Fatalf("status %d", res.code)
		}
		if v := res.mustValue(t, "mail_probe_error", "probe", "mx"); v != 1 {
			t.Errorf("mail_probe_error = %v", v)
		}
		if v := res.mustValue(t, "probe_duration_seconds"); v > 5 {
			t.Errorf("probe took %vs, past the module timeout", v)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the probe did not end at its deadline")
	}
}

func TestProbeBadRequests(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	h, self := newHandler(worldConfig(t, world.Addr, ""))
	for _, tc := range []struct {
		query  string
		header http.Header
		reason string
		want   string
	}{
		{"target=", nil, RejectBadTarget, "empty"},
		{"", nil, RejectBadTarget, "empty"},
		{"target=" + url.QueryEscape("http://x"), nil, RejectBadTarget, "URLs"},
		{"target=" + strings.Repeat("a", 300) + ".test", nil, RejectBadTarget, "characters long"},
		{"target=a.test&target=b.test", nil, RejectBadTarget, "exactly one"},
		{"module=nope&target=example.test", nil, RejectUnknownModule, `unknown module "nope"`},
		{"target=example.test", http.Header{ScrapeTimeoutHeader: {"soon"}}, RejectBadTimeout, "positive number"},
		{"target=example.test", http.Header{ScrapeTimeoutHeader: {"-3"}}, RejectBadTimeout, "positive number"},
	} {
		before := testutil.ToFloat64(self.RequestsRejected.WithLabelValues(tc.reason))
		res := probe(t, h, tc.query, tc.header)
		if res.code != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", tc.query, res.code)
			continue
		}
		body := strings.TrimSpace(res.body)
		if !strings.Contains(body, tc.want) || strings.Contains(body, "\n") {
			t.Errorf("%q: body %q, want one line containing %q", tc.query, body, tc.want)
		}
		if got := testutil.ToFloat64(self.RequestsRejected.WithLabelValues(tc.reason)); got != before+1 {
			t.Errorf("%q: rejected{%s} went from %v to %v", tc.query, tc.reason, before, got)
		}
	}
	if n := len(world.Queries()); n != 0 {
		t.Errorf("rejected requests sent %d DNS queries", n)
	}
}

func TestProbeTimeout(t *testing.T) {
	for _, tc := range []struct {
		header string
		module time.Duration
		want   time.Duration
	}{
		{"", 30 * time.Second, 30 * time.Second},
		{"10", 30 * time.Second, 9500 * time.Millisecond},
		{"60", 30 * time.Second, 30 * time.Second},
		{"0.4", 30 * time.Second, 400 * time.Millisecond}, // the offset would leave nothing
		{"30.2", 30 * time.Second, 29700 * time.Millisecond},
	} {
		r := httptest.NewRequest(http.MethodGet, "/probe", nil)
		if tc.header != "" {
			r.Header.Set(ScrapeTimeoutHeader, tc.header)
		}
		got, err := probeTimeout(r, tc.module, 500*time.Millisecond)
		if err != nil || got != tc.want {
			t.Errorf("header %q, module %s: %s, %v; want %s", tc.header, tc.module, got, err, tc.want)
		}
	}
}

func TestReportRendersDetails(t *testing.T) {
	res := probes.NewResult("spf")
	res.AddDetail("SPF include tree (lookups):", "example.test  3", "  include:_spf.example.test  2")
	r := &collector.Report{Module: "mail", Probes: []collector.ProbeRun{{Name: "spf", Result: res}}}
	var b strings.Builder
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "  SPF include tree (lookups):\n    example.test  3\n      include:_spf.example.test  2\n") {
		t.Errorf("details not rendered with their indentation:\n%s", b.String())
	}
}

func TestWebUI(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	cfg := worldConfig(t, world.Addr, "")
	h, _ := newHandler(cfg)
	h.History = NewHistory(2)
	ui := &WebUI{Modules: func() *collector.Modules { return cfg }, ConfigSource: func() string { return "test" }, History: h.History, Probe: h}
	get := func(handler http.HandlerFunc, path string) (int, string) {
		rec := httptest.NewRecorder()
		handler(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(ui.Landing, "/"); code != 200 || !strings.Contains(body, "No probe has run") {
		t.Errorf("empty landing page: %d\n%s", code, body)
	}
	// Three probes into a history of two: the oldest is forgotten.
	for _, target := range []string{"example.test", "nullmx.test", "broken.test"} {
		if res := probe(t, h, "target="+target, nil); res.code != 200 {
			t.Fatalf("%s: %d", target, res.code)
		}
	}
	recent := h.History.Recent()
	if len(recent) != 2 || recent[0].Report.Target.Name != "broken.test" || recent[1].ID != 2 {
		t.Fatalf("history: %d entries, newest %v", len(recent), recent[0].Report.Target)
	}
	code, body := get(ui.Landing, "/")
	if code != 200 || !strings.Contains(body, `<a href="report?id=3">`) || strings.Contains(body, `report?id=1"`) {
		t.Errorf("landing page recent probes:\n%s", body)
	}
	if code, body := get(ui.Report, "/report?id=3"); code != 200 || !strings.Contains(body, "broken.test") || !strings.Contains(body, `class="fix"`) {
		t.Errorf("stored report: %d", code)
	}
	if code, _ := get(ui.Report, "/report?id=1"); code != http.StatusNotFound {
		t.Errorf("forgotten report: %d", code)
	}
	if code, _ := get(ui.Report, "/report?id=x"); code != http.StatusBadRequest {
		t.Errorf("bad id: %d", code)
	}
	if code, _ := get(ui.Report, "/report"); code != http.StatusBadRequest {
		t.Errorf("no parameters: %d", code)
	}
	if code, body := get(ui.Report, "/report?target=http://x"); code != http.StatusBadRequest || !strings.Contains(body, "URLs") {
		t.Errorf("bad target through the form: %d %s", code, body)
	}
	code, body = get(ui.Report, "/report?target=example.test&module=mail")
	if code != 200 || !strings.Contains(body, "report 4") || !strings.Contains(body, "PASS: every must check passed") {
		t.Errorf("form probe: %d\n%s", code, body)
	}
	if code, _ := get(ui.Landing, "/elsewhere"); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
	// Remote text is escaped, never interpreted.
	res := probes.NewResult("x")
	res.Fail(probes.CheckSpec{ID: "x.y", Level: probes.LevelMust}, `<script>alert(1)</script>`, "")
	var page strings.Builder
	if err := WriteHTML(&page, (&collector.Report{Probes: []collector.ProbeRun{{Name: "x", Result: res}}}), 1, ""); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page.String(), "<script>alert") {
		t.Error("report HTML does not escape remote text")
	}
}

func TestOverloadAnswers503(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	world.SetBehaviour("slow.test", testbed.Drop)
	cfg := worldConfig(t, world.Addr, "")
	h, self := newHandler(cfg)
	h.MaxInFlight = 2

	// Two probes that hang until their deadline hold both slots.
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			probe(t, h, "target=slow.test", http.Header{ScrapeTimeoutHeader: {"2.5"}})
		}()
	}
	waitUntil(t, func() bool { return testutil.ToFloat64(self.ProbesInFlight) == 2 })

	res := probe(t, h, "target=example.test", nil)
	if res.code != http.StatusServiceUnavailable || !strings.Contains(res.body, "too many probes in flight") {
		t.Errorf("third probe: %d %q, want 503", res.code, res.body)
	}
	if got := testutil.ToFloat64(self.RequestsRejected.WithLabelValues(RejectOverload)); got != 1 {
		t.Errorf("rejected{overload} = %v", got)
	}
	wg.Wait()
	if res := probe(t, h, "target=example.test", nil); res.code != http.StatusOK {
		t.Errorf("after the slow probes ended: %d", res.code)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAllowedTargetsAndNetworks(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	cfg := mustParse(t, fmt.Sprintf("modules:\n  mail:\n    resolvers: [%q]\n    allowed_targets: '(.+\\.)?example\\.test(:(25|587))?|192\\.0\\.2\\.10'\n    denied_networks: [10.0.0.0/8, 192.0.2.7]\n    allowed_networks: [0.0.0.0/0, '::/0', 192.0.2.0/24]\n    mx: {}\n", world.Addr))
	h, self := newHandler(cfg)
	for _, target := range []string{"example.test", "mx1.example.test:25", "mx1.example.test:587", "192.0.2.10", "192.0.2.10:25"} {
		if res := probe(t, h, "target="+target, nil); res.code != http.StatusOK {
			t.Errorf("allowed target %s: %d %s", target, res.code, res.body)
		}
	}
	// The port of a host:port or IP:port target is part of what the
	// pattern matches: a port it does not name is refused.
	refused := []string{"broken.test", "example.test.evil.test", "192.0.2.11", "mx1.example.test:6379", "192.0.2.10:6379", "[2001:db8::10]:25"}
	for _, target := range refused {
		res := probe(t, h, "target="+target, nil)
		if res.code != http.StatusBadRequest || !strings.Contains(res.body, "allowed_targets") {
			t.Errorf("%s: %d %q, want 400", target, res.code, res.body)
		}
	}
	if got := testutil.ToFloat64(self.RequestsRejected.WithLabelValues(RejectTargetDenied)); got != float64(len(refused)) {
		t.Errorf("rejected{target_not_allowed} = %v, want %d", got, len(refused))
	}
	m, _ := cfg.Module("mail")
	d := m.Dialer()
	if err := d.Permit(netip.MustParseAddr("10.1.2.3")); err == nil {
		t.Error("denied network permitted")
	}
	if err := d.Permit(netip.MustParseAddr("192.0.2.7")); err == nil {
		t.Error("denied single address permitted")
	}
	if err := d.Permit(netip.MustParseAddr("192.0.2.8")); err != nil {
		t.Errorf("allowed address refused: %v", err)
	}
	// 0.0.0.0/0 opens no closed block: loopback and link-local stay shut.
	for _, closed := range []string{"127.0.0.1", "0.0.0.0", "::", "169.254.169.254", "172.16.0.1"} {
		if err := d.Permit(netip.MustParseAddr(closed)); err == nil {
			t.Errorf("%s permitted by allowed_networks 0.0.0.0/0, ::/0", closed)
		}
	}
	for _, bad := range []string{"allowed_targets: '(unclosed'", "denied_networks: [10.0.0.0/33]", "allowed_networks: [intranet]"} {
		if _, err := parseModules([]byte("modules:\n  mail:\n    " + bad + "\n    mx: {}\n")); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func mustParse(t *testing.T, yaml string) *collector.Modules {
	t.Helper()
	cfg, err := parseModules([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Answers outlive a request: a second probe of a domain within the TTLs
// asks the resolver only what has no TTL (a negative answer without an
// SOA), and the blocklists nothing. With dns_cache_max_ttl: 0s every probe
// but the blocklist probe (its own cache) asks its questions again.
func TestDNSAnswersAreSharedAcrossRequests(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	blocklistQueries := func(qs []testbed.Query) int {
		n := 0
		for _, q := range qs {
			if strings.HasSuffix(q.Name, ".bl.test.") {
				n++
			}
		}
		return n
	}
	twice := func(module string) (first, second []testbed.Query) {
		t.Helper()
		cfg, err := parseModules([]byte("modules:\n" + module))
		if err != nil {
			t.Fatal(err)
		}
		h, _ := newHandler(cfg)
		world.ResetQueries()
		if res := probe(t, h, "target=example.test", nil); res.code != 200 {
			t.Fatal(res.code)
		}
		first = world.Queries()
		world.ResetQueries()
		res := probe(t, h, "target=example.test", nil)
		if res.code != 200 {
			t.Fatal(res.code)
		}
		if v := res.mustValue(t, "probe_success"); v != 1 {
			t.Errorf("probe_success = %v on the second request", v)
		}
		return first, world.Queries()
	}

	first, second := twice(testbed.ExampleModule("mail", world.Addr))
	if blocklistQueries(first) == 0 {
		t.Fatal("the first probe asked no blocklist")
	}
	if n := blocklistQueries(second); n != 0 {
		t.Errorf("the second probe asked the blocklists %d questions, want 0 (cached)", n)
	}
	for _, q := range second {
		if q.Name != "test." {
			t.Errorf("the second probe asked %s %s again within its TTL", q.Name, dns.TypeToString[q.Type])
		}
	}

	module := strings.Replace(testbed.ExampleModule("mail", world.Addr), "    dns_attempts: 2\n", "    dns_attempts: 2\n    dns_cache_max_ttl: 0s\n", 1)
	if !strings.Contains(module, "dns_cache_max_ttl: 0s") {
		t.Fatal("the example module has no dns_attempts line to put the option after")
	}
	first, second = twice(module)
	if n := blocklistQueries(second); n != 0 {
		t.Errorf("without the DNS cache the second probe asked the blocklists %d questions, want 0 (their own cache)", n)
	}
	if got, want := len(second), len(first)-blocklistQueries(first); got != want {
		t.Errorf("without the DNS cache the second probe asked %d questions, want %d (all but the blocklists')", got, want)
	}
}

func TestProbeParametersAreValidatedByTheirProbe(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	h, _ := newHandler(worldConfig(t, world.Addr, ""))
	res := probe(t, h, "target=example.test&dkim_selector="+url.QueryEscape("bad selector"), nil)
	if res.code != http.StatusBadRequest || !strings.Contains(res.body, "bad selector") {
		t.Errorf("bad dkim_selector: %d %q", res.code, res.body)
	}
	res = probe(t, h, "target=broken.test&dkim_selector=google", nil)
	if res.code != http.StatusOK {
		t.Fatalf("good dkim_selector: %d %s", res.code, res.body)
	}
	// broken.test has no key at the selector the request names, so
	// dkim.present fails although another selector has a key.
	if v := res.mustValue(t, "mail_check_success", "check", "dkim.present"); v != 0 {
		t.Errorf("dkim.present = %v with a named selector missing", v)
	}
}

// Issue 17 finding 5: a parameter no probe reads is refused with a 400
// that names it, so it can neither slip past validation nor change the
// min_interval key.
func TestUnknownProbeParametersAreRefused(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	h, self := newHandler(worldConfig(t, world.Addr, "  mxonly:\n    resolvers: [\""+world.Addr+"\"]\n    mx: {}\n"))
	for query, want := range map[string]string{
		"target=example.test&x=1":                            `unknown query parameter "x": the probes of module "mail" read dkim_selector, and every probe request may give module, target, debug, outbound_ip`,
		"target=example.test&b=1&a=2":                        `unknown query parameter "a", "b"`,
		"target=example.test&Target=x":                       `unknown query parameter "Target"`,
		"module=mxonly&target=example.test&dkim_selector=s1": `unknown query parameter "dkim_selector": the probes of module "mxonly" read no parameters of their own`,
		"target=example.test&id=3":                           `unknown query parameter "id"`,
	} {
		res := probe(t, h, query, nil)
		if res.code != http.StatusBadRequest || !strings.Contains(res.body, want) {
			t.Errorf("%s: %d %q, want 400 with %q", query, res.code, res.body, want)
		}
	}
	if got := testutil.ToFloat64(self.RequestsRejected.WithLabelValues(RejectBadParameter)); got != 5 {
		t.Errorf("rejected{bad_parameter} = %v, want 5", got)
	}
	for _, query := range []string{"target=example.test&outbound_ip=192.0.2.1&dkim_selector=s1&debug=true", "module=mxonly&target=example.test&outbound_ip=192.0.2.1"} {
		if res := probe(t, h, query, nil); res.code != http.StatusOK {
			t.Errorf("%s: %d %s", query, res.code, res.body)
		}
	}
}

func TestMinIntervalServesTheLastResult(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	// Without the DNS cache, so that a run of the mx probe shows in the
	// server's questions.
	cfg := mustParse(t, "modules:\n"+strings.Replace(testbed.ExampleModule("mail", world.Addr),
		"    dns_attempts: 2\n", "    dns_attempts: 2\n    dns_cache_max_ttl: 0s\n    min_interval: {mx: 1h}\n", 1))
	h, _ := newHandler(cfg)

	mxQueries := func() int {
		n := 0
		for _, q := range world.Queries() {
			if q.Type == dns.TypePTR {
				n++ // only the mx probe asks PTR questions
			}
		}
		return n
	}
	first := probe(t, h, "target=example.test", nil)
	if v := first.mustValue(t, "mail_probe_result_age_seconds", "probe", "mx"); v != 0 {
		t.Errorf("fresh result age = %v", v)
	}
	ptrs := mxQueries()
	if ptrs == 0 {
		t.Fatal("the mx probe asked no PTR")
	}
	second := probe(t, h, "target=example.test", nil)
	if mxQueries() != ptrs {
		t.Error("the mx probe ran again within its min_interval")
	}
	if v := second.mustValue(t, "mail_probe_result_age_seconds", "probe", "mx"); v <= 0 {
		t.Errorf("served result age = %v, want > 0", v)
	}
	if v := second.mustValue(t, "mail_check_success", "check", "ptr.fcrdns"); v != 1 {
		t.Errorf("the served result lost its checks: ptr.fcrdns = %v", v)
	}
	if v := second.mustValue(t, "mail_probe_result_age_seconds", "probe", "dkim"); v != 0 {
		t.Errorf("a probe without min_interval was served again: age %v", v)
	}
	// Another target is another result.
	probe(t, h, "target=broken.test", nil)
	if mxQueries() == ptrs {
		t.Error("another target was served the first target's result")
	}
	ptrs = mxQueries()
	// A parameter the mx probe does not read is not part of its key: the
	// result is served again with another dkim_selector, and an unknown
	// parameter is refused before it could make the request look new.
	if res := probe(t, h, "target=example.test&dkim_selector=other", nil); mxQueries() != ptrs || res.mustValue(t, "mail_probe_result_age_seconds", "probe", "mx") <= 0 {
		t.Error("another dkim_selector made the mx probe run again within its min_interval")
	}
	if res := probe(t, h, "target=example.test&x=1", nil); res.code != http.StatusBadRequest || mxQueries() != ptrs {
		t.Errorf("an unknown parameter: %d, and the mx probe ran again: %v", res.code, mxQueries() != ptrs)
	}
	debug := probe(t, h, "target=example.test&debug=true", nil)
	if !strings.Contains(debug.body, "served again under the module's min_interval") {
		t.Errorf("the report does not say the result is an earlier one:\n%s", debug.body)
	}

	// A result of a probe that could not finish is not kept.
	world.SetBehaviour("nomx.test", testbed.ServFail)
	probe(t, h, "target=nomx.test", nil)
	world.SetBehaviour("nomx.test", testbed.Normal)
	again := probe(t, h, "target=nomx.test", nil)
	if v := again.mustValue(t, "mail_probe_error", "probe", "mx"); v != 0 {
		t.Error("an erroring result was served again")
	}

	for _, bad := range []string{"min_interval: {nope: 5m}", "min_interval: {mx: -5m}", "min_interval: {mx: 48h}"} {
		if _, err := parseModules([]byte("modules:\n  mail:\n    " + bad + "\n    mx: {}\n")); err == nil || !strings.Contains(err.Error(), "min_interval") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
