package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/internal/e2e/assets"
)

// probeBlocks are the module blocks the suite knows, in the order of the
// default module; each is enabled when the collector accepts its key.
var probeBlocks = []struct{ key, yaml string }{
	{"mx", "mx: {}"},
	{"spf", "spf: {}"},
	{"dkim", "dkim: {}"},
	{"dmarc", "dmarc: {}"},
	{"dnsbl", `dnsbl:
      lists:
        - zone: zen.bl.test
          name: Test ZEN
          kind: ip
          codes: {127.0.0.2: SBL, 127.0.0.4: XBL, 127.0.0.10: PBL, 127.0.0.11: PBL}
          severities: {127.0.0.10: warning, 127.0.0.11: warning}
          error_codes: {127.255.255.254: query via public/open resolver}
          daily_query_budget: 100000
        - zone: dbl.bl.test
          name: Test DBL
          kind: domain
          codes: {127.0.1.2: spam domain}
        - zone: dead.bl.test
          name: A list that lists everything
          kind: ip`},
	// The open-relay RCPT check: Postfix refuses relaying for the probe's
	// address (mynetworks is 192.0.2.1/32), so it passes and its reply
	// code shows on the domain dashboard.
	{"smtp", "smtp: {ehlo_name: probe.e2e.test, rcpt_checks: [open_relay]}"},
	{"mtasts", "mtasts: {}"},
	{"tlsrpt", "tlsrpt: {}"},
}

// ownWorld are the probes another test of the suite brings up a world of
// their own for (delivery: TestDelivery, with a relay and the receiver).
var ownWorld = map[string]bool{"delivery": true}

// wiredProbes returns the probe keys the collector accepts, and fails the
// test if the catalogue has checks of a probe the suite does not know:
// a new probe needs its part of the world here.
func wiredProbes(t *testing.T) map[string]bool {
	t.Helper()
	wired := map[string]bool{}
	for _, b := range probeBlocks {
		if _, err := config.Parse([]byte("modules:\n  m:\n    " + b.key + ": {}\n")); err == nil {
			wired[b.key] = true
		}
	}
	checks, _ := collector.Catalogue()
	for _, c := range checks {
		p := assets.ProbeOfCheck(c.ID)
		if ownWorld[p] {
			continue
		}
		if p == "" || !wired[p] {
			t.Errorf("the catalogue has check %s of a probe the end-to-end world does not configure; add it to probeBlocks and to the world", c.ID)
		}
	}
	return wired
}

// startExporter builds the exporter and runs it against the world's
// resolver with every wired probe.
func (w *world) startExporter(t *testing.T, resolver string, wired map[string]bool) string {
	t.Helper()
	dir := filepath.Join(w.dir, "exporter")
	bin := filepath.Join(dir, "deliverability_exporter")
	run(t, repoPath(), nil, "go", "build", "-o", bin, "./cmd/deliverability_exporter")
	return w.runExporter(t, "exporter", bin, hostExporter, resolver, wired, "", "")
}

// exporterConfig is the suite's exporter configuration: one module with
// every wired probe against the world's resolver; top goes before the
// modules, module into the module.
func (w *world) exporterConfig(resolver string, wired map[string]bool, top, module string) string {
	var cfg strings.Builder
	// Prometheus scrapes every 2 seconds here, so each MX host gets 30
	// conversations a minute: past the default politeness rates, which
	// have tests of their own.
	cfg.WriteString("smtp_politeness: {connections_per_minute_per_address: 0, connections_per_minute_per_network: 0}\n")
	cfg.WriteString(top)
	fmt.Fprintf(&cfg, `modules:
  mail:
    timeout: 20s
    resolvers: [%q]
    dns_query_timeout: 1s
    dns_attempts: 2
    ca_file: %s
    # The world's mail and policy hosts are on loopback, which the
    # probes never connect to unless the module opens it.
    allowed_networks: [127.0.0.0/8, "::1/128"]
`, resolver, w.caFile)
	cfg.WriteString(module)
	for _, b := range probeBlocks {
		if wired[b.key] {
			fmt.Fprintf(&cfg, "    %s\n", b.yaml)
		}
	}
	return cfg.String()
}

// runExporter runs the built exporter as name on host, with the suite's
// configuration (exporterConfig's top and module, and the files given
// beside it), and waits until it is healthy.
func (w *world) runExporter(t *testing.T, name, bin string, host int, resolver string, wired map[string]bool, top, module string, files ...[2]string) string {
	t.Helper()
	dir := filepath.Join(w.dir, name)
	cfg := w.exporterConfig(resolver, wired, top, module)
	cfgFile := filepath.Join(dir, "config.yml")
	writeFile(t, cfgFile, []byte(cfg), 0o644)
	for _, f := range files {
		writeFile(t, filepath.Join(dir, f[0]), []byte(f[1]), 0o644)
	}
	if _, err := config.Load(cfgFile); err != nil {
		t.Fatalf("the suite's exporter config does not load: %v\n%s", err, cfg)
	}

	addr := w.addr(host, 10075)
	exporter := startDaemon(t, dir, name, bin,
		"--config.file="+cfgFile, "--web.listen-address="+addr, "--log.level=debug")
	waitFor(t, 20*time.Second, name, func() error {
		return httpOK("http://" + addr + "/-/healthy")
	}, exporter)
	return addr
}

// e2eTargets is the targets file the suite gives Prometheus, in the format
// of examples/targets.json, with the per-target parameters the example's
// relabeling turns into dkim_selector= and outbound_ip=.
func e2eTargets() []map[string]any {
	return []map[string]any{
		{"targets": []string{goodDomain}, "labels": map[string]string{"__dkim_selector": goodSelector, "__outbound_ip": goodOutbound}},
		{"targets": []string{brokenDomain, bogusDomain, downDomain, invalidTarget}},
		{"targets": []string{listedDomain}, "labels": map[string]string{"__outbound_ip": listedIP}},
	}
}

var scrapedTargets = []string{goodDomain, brokenDomain, listedDomain, bogusDomain, downDomain, invalidTarget}

// prometheusConfig is examples/prometheus.yml with the exporter's address
// and, so the suite finishes in seconds, short intervals. Every change is
// a replacement that must happen exactly as often as written, so the file
// Prometheus runs is the example in everything else (the targets file and
// the rule file keep their relative paths: they are laid out beside it).
func prometheusConfig(t *testing.T, exporterAddr string) string {
	t.Helper()
	data, err := os.ReadFile(repoPath("examples", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data)
	for _, r := range []struct {
		old, new string
		n        int
	}{
		{"deliverability-exporter:10075", exporterAddr, 3}, // a comment, the relabeling, the exporter job
		{"  scrape_interval: 1m\n", "  scrape_interval: 2s\n", 1},
		{"  evaluation_interval: 1m\n", "  evaluation_interval: 1s\n", 1},
		{"    scrape_interval: 5m ", "    scrape_interval: 2s ", 1},
		{"    scrape_timeout: 60s ", "    scrape_timeout: 2s  ", 1},
	} {
		if got := strings.Count(cfg, r.old); got != r.n {
			t.Fatalf("examples/prometheus.yml has %q %d times, the suite expects %d: adjust prometheusConfig", r.old, got, r.n)
		}
		cfg = strings.ReplaceAll(cfg, r.old, r.new)
	}
	return cfg
}

// startPrometheus runs Debian's prometheus binary (not its service) on the
// example configuration, with the alert rules, in a temporary directory.
func (w *world) startPrometheus(t *testing.T, exporterAddr string) *promClient {
	t.Helper()
	dir := filepath.Join(w.dir, "prometheus")
	etc := filepath.Join(dir, "etc")
	cfgFile := filepath.Join(etc, "prometheus.yml")
	writeFile(t, cfgFile, []byte(prometheusConfig(t, exporterAddr)), 0o644)
	targets, err := json.MarshalIndent(e2eTargets(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(etc, "targets.json"), targets, 0o644)
	rules, err := assets.RuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rules {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "alerts", filepath.Base(f)), data, 0o644)
	}
	run(t, dir, nil, "promtool", "check", "config", cfgFile)

	addr := w.addr(hostProm, 9090)
	prom := startDaemon(t, dir, "prometheus", "prometheus",
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	waitFor(t, 30*time.Second, "Prometheus", func() error {
		return httpOK("http://" + addr + "/-/ready")
	}, prom)
	return &promClient{base: "http://" + addr, daemon: prom}
}

func httpOK(u string) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return nil
}

// promClient asks Prometheus' HTTP API.
type promClient struct {
	base   string
	daemon *daemon
}

// sample is one series of an instant query's result.
type sample struct {
	Labels map[string]string
	Value  float64
}

func (s sample) String() string {
	var ls []string
	for k, v := range s.Labels {
		ls = append(ls, k+"="+strconv.Quote(v))
	}
	sort.Strings(ls)
	return fmt.Sprintf("{%s} %g", strings.Join(ls, ", "), s.Value)
}

func (p *promClient) get(path string, params url.Values, out any) error {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(p.base + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%s: %s: %v", path, resp.Status, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s %s: %s", path, params.Encode(), env.Error)
	}
	return json.Unmarshal(env.Data, out)
}

// query runs an instant query now.
func (p *promClient) query(expr string) ([]sample, error) {
	var data struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return nil, err
	}
	var out []sample
	for _, raw := range data.Result {
		var r struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if data.ResultType != "vector" {
			return nil, fmt.Errorf("%s: result type %s", expr, data.ResultType)
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value %v", expr, r.Value[1])
		}
		out = append(out, sample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// mustQuery runs an instant query and fails the test on an error.
func (p *promClient) mustQuery(t *testing.T, expr string) []sample {
	t.Helper()
	s, err := p.query(expr)
	if err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	return s
}

// waitForScrapes waits until every target has been scraped a few times,
// so rates have two samples and the rules have been evaluated on data.
func (p *promClient) waitForScrapes(t *testing.T, deps ...*daemon) {
	t.Helper()
	waitFor(t, 90*time.Second, "three scrapes of every target", func() error {
		got, err := p.query(`count_over_time(up[2m])`)
		if err != nil {
			return err
		}
		counts := map[string]float64{}
		for _, s := range got {
			counts[s.Labels["job"]+"/"+s.Labels["instance"]] = s.Value
		}
		for _, tgt := range scrapedTargets {
			if counts["mail/"+tgt] < 3 {
				return fmt.Errorf("%s scraped %v times: %v", tgt, counts["mail/"+tgt], got)
			}
		}
		for k, v := range counts {
			if strings.HasPrefix(k, "deliverability_exporter/") && v >= 3 {
				return nil
			}
		}
		return fmt.Errorf("the exporter's own metrics not scraped three times: %v", got)
	}, append(deps, p.daemon)...)
}
