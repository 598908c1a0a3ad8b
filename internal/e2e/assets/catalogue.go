package assets

import (
	"sort"
	"strings"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/web"
)

// Metric is a metric family the shipped rules and dashboards may use.
type Metric struct {
	Name   string
	Labels []string
	// Probe is the probe that produces the family ("" for the collector's
	// frame metrics, the exporter's own metrics and Prometheus' series).
	Probe string
	// Pending is set for families of a probe that is not wired into the
	// collector yet: they are announced, not exported.
	Pending bool
}

// pendingProbe describes a probe that is being written while the rules
// and dashboards are: the metric names its author announced, and the check
// whose presence in collector.Catalogue() shows the probe has been wired
// in. From then on the catalogue is the only truth, so an alert or panel
// whose name drifted from the code fails the structural tests.
type pendingProbe struct {
	marker  string // a check id of the probe
	metrics map[string][]string
}

// pendingProbes is empty: smtp, mtasts and tlsrpt were listed here, with
// the names the issue announced, until each was wired in. Add a probe here
// while its alerts and panels are written ahead of it, for example:
//
//	"newprobe": {marker: "newprobe.some_check", metrics: map[string][]string{
//		"mail_newprobe_metric": {"label"},
//	}},
var pendingProbes = map[string]pendingProbe{}

// prometheusSeries are the series Prometheus itself writes for every
// target and alert.
var prometheusSeries = map[string][]string{
	"up":                                    nil,
	"scrape_duration_seconds":               nil,
	"scrape_samples_scraped":                nil,
	"scrape_samples_post_metric_relabeling": nil,
	"scrape_series_added":                   nil,
	"ALERTS":                                {"alertname", "alertstate"},
	"ALERTS_FOR_STATE":                      {"alertname"},
}

// Catalogue is every metric family the exporter documents, with the
// announced families of probes not wired in yet.
type Catalogue struct {
	Metrics map[string]Metric
	// Checks are the check ids the collector knows, with their levels.
	Checks map[string]string
	// Wired says, for each probe the catalogue knows of by its checks'
	// prefixes, that it runs; pending probes are absent until they land.
	Wired map[string]bool
}

// checkProbe maps a check id's prefix to the probe (module key) that
// records it.
var checkProbe = map[string]string{
	"mx": "mx", "ptr": "mx", "dnssec": "mx", "caa": "mx", "srv": "mx",
	"spf":  "spf",
	"dkim": "dkim", "dmarc": "dmarc",
	"dnsbl": "dnsbl", "dnswl": "dnsbl",
	"smtp": "smtp", "tls": "smtp", "dane": "smtp", "smtps": "smtp",
	"mtasts": "mtasts", "tlsrpt": "tlsrpt",
	"delivery": "delivery",
}

// ProbeOfCheck returns the probe that records a check, or "" for a check
// id whose prefix no known probe uses.
func ProbeOfCheck(id string) string {
	prefix, _, _ := strings.Cut(id, ".")
	return checkProbe[prefix]
}

// LoadCatalogue reads collector.Catalogue(), the exporter's own metrics
// (as the test that keeps docs/metrics.md true gathers them) and
// Prometheus' series.
func LoadCatalogue() (*Catalogue, error) {
	c := &Catalogue{Metrics: map[string]Metric{}, Checks: map[string]string{}, Wired: map[string]bool{}}
	checks, metrics := collector.Catalogue()
	for _, ch := range checks {
		c.Checks[ch.ID] = string(ch.Level)
		if p := ProbeOfCheck(ch.ID); p != "" {
			c.Wired[p] = true
		}
	}
	for _, m := range metrics {
		c.Metrics[m.Name] = Metric{Name: m.Name, Labels: m.Labels}
	}
	for name, labels := range prometheusSeries {
		c.Metrics[name] = Metric{Name: name, Labels: labels}
	}

	reg := prometheus.NewRegistry()
	// Vectors show once they have a child; the rejected counter has its
	// children already.
	web.NewSelfMetrics(reg).ProbesTotal.WithLabelValues(config.DefaultModuleName, "success")
	if _, err := collector.NewEngine("", log.NewNopLogger(), reg); err != nil {
		return nil, err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	for _, mf := range mfs {
		var labels []string
		if ms := mf.GetMetric(); len(ms) > 0 {
			for _, lp := range ms[0].GetLabel() {
				labels = append(labels, lp.GetName())
			}
		}
		c.Metrics[mf.GetName()] = Metric{Name: mf.GetName(), Labels: labels}
	}
	for name, labels := range collector.SparseSelfMetrics {
		c.Metrics[name] = Metric{Name: name, Labels: labels}
	}
	c.Metrics["deliverability_exporter_build_info"] = Metric{Name: "deliverability_exporter_build_info",
		Labels: []string{"version", "revision", "branch", "goversion", "goos", "goarch", "tags"}}

	for probe, p := range pendingProbes {
		if _, wired := c.Checks[p.marker]; wired {
			continue
		}
		for name, labels := range p.metrics {
			if _, ok := c.Metrics[name]; !ok {
				c.Metrics[name] = Metric{Name: name, Labels: labels, Probe: probe, Pending: true}
			}
		}
	}
	return c, nil
}

// PendingProbes lists the probes whose announced metrics stand in for the
// catalogue's, sorted.
func (c *Catalogue) PendingProbes() []string {
	seen := map[string]bool{}
	for _, m := range c.Metrics {
		if m.Pending {
			seen[m.Probe] = true
		}
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// TargetLabels are the labels Prometheus attaches to every series of a
// target of the README's scrape config.
var TargetLabels = []string{"job", "instance"}

// CheckSelector reports what is wrong with a selector: a metric the
// exporter does not document, or a label the metric does not have.
func (c *Catalogue) CheckSelector(s Selector) []string {
	m, ok := c.Metrics[s.Metric]
	if !ok {
		return []string{"metric " + s.Metric + " is not one the exporter documents"}
	}
	var problems []string
	for _, l := range s.Labels {
		if l == "__name__" || contains(TargetLabels, l) || contains(m.Labels, l) {
			continue
		}
		problems = append(problems, "metric "+s.Metric+" has no label "+l)
	}
	return problems
}

// PendingIn returns the probes not wired in yet whose metrics an
// expression uses.
func (c *Catalogue) PendingIn(expr string) ([]string, error) {
	sels, err := Selectors(expr)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range sels {
		if m, ok := c.Metrics[s.Metric]; ok && m.Pending && !seen[m.Probe] {
			seen[m.Probe] = true
			out = append(out, m.Probe)
		}
	}
	sort.Strings(out)
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
