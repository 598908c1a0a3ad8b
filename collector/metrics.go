package collector

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// The metrics every probe request answers with, whatever its probes.
var (
	ProbeSuccessSpec = &probes.MetricSpec{
		Name: "probe_success",
		Help: "Whether every enabled probe completed and every must check passed (1) or not (0).",
	}
	ProbeDurationSpec = &probes.MetricSpec{
		Name: "probe_duration_seconds",
		Help: "How long the probe request took, in seconds.",
	}
	ProbeRunDurationSpec = &probes.MetricSpec{
		Name:   "mail_probe_duration_seconds",
		Help:   "How long each probe took, in seconds.",
		Labels: []string{"probe"},
	}
	ProbeErrorSpec = &probes.MetricSpec{
		Name:   "mail_probe_error",
		Help:   "Whether the probe could not finish (1: a DNS timeout or SERVFAIL, a connection its deadline cut short, or one that failed while the exporter reaches no mail server's SMTP port), so some of its checks are undecided.",
		Labels: []string{"probe"},
	}
	CheckSuccessSpec = &probes.MetricSpec{
		Name:   "mail_check_success",
		Help:   "Whether a check passed (1) or failed (0); absent when the check does not apply or could not be decided.",
		Labels: []string{"check", "level"},
	}
	ScoreSpec = &probes.MetricSpec{
		Name: "mail_score",
		Help: "Weighted share of passing checks among those that apply, 0 to 100 (must 3, should 2, may 1).",
	}
	DNSQueriesSpec = &probes.MetricSpec{
		Name: "mail_dns_queries",
		Help: "How many DNS messages the probe request sent.",
	}
	ResultAgeSpec = &probes.MetricSpec{
		Name:   "mail_probe_result_age_seconds",
		Help:   "How old the probe's result is: 0 when it ran for this request, more when the module's min_interval served an earlier result again.",
		Labels: []string{"probe"},
	}
)

// FrameMetricSpecs are the metric families the collector itself emits.
var FrameMetricSpecs = []*probes.MetricSpec{
	ProbeSuccessSpec, ProbeDurationSpec, ProbeRunDurationSpec, ProbeErrorSpec,
	CheckSuccessSpec, ScoreSpec, DNSQueriesSpec, ResultAgeSpec,
}

// samples flattens a report into the samples of its metrics, in one
// slice of the size they need.
func (r *Report) samples() []probes.Measurement {
	n := r.frameCount()
	for _, p := range r.Probes {
		n += p.Result.MeasurementCount()
	}
	out := r.appendFrameSamples(make([]probes.Measurement, 0, n))
	for _, p := range r.Probes {
		out = p.Result.AppendMeasurements(out)
	}
	return out
}

// appendFrameSamples appends the samples every answer has, whatever the
// probes measured: the request's, and per probe its duration, age, error
// and checks.
func (r *Report) appendFrameSamples(out []probes.Measurement) []probes.Measurement {
	add := func(spec *probes.MetricSpec, v float64, labels ...string) {
		out = append(out, probes.Measurement{Spec: spec, Value: v, LabelValues: labels})
	}
	add(ProbeSuccessSpec, boolValue(r.Success()))
	add(ProbeDurationSpec, r.Duration.Seconds())
	if score, ok := r.Score(); ok {
		add(ScoreSpec, score)
	}
	add(DNSQueriesSpec, float64(r.DNS.Queries))
	for _, p := range r.Probes {
		add(ProbeRunDurationSpec, p.Duration.Seconds(), p.Name)
		add(ResultAgeSpec, p.Age.Seconds(), p.Name)
		add(ProbeErrorSpec, boolValue(p.Result.Failed()), p.Name)
		p.Result.EachCheck(func(c probes.Check) {
			switch c.Status {
			case probes.StatusPass:
				add(CheckSuccessSpec, 1, c.ID, string(c.Level))
			case probes.StatusFail:
				add(CheckSuccessSpec, 0, c.ID, string(c.Level))
			}
		})
	}
	return out
}

// frameCount is how many samples appendFrameSamples appends.
func (r *Report) frameCount() int {
	n := 3
	if _, ok := r.Score(); ok {
		n++
	}
	for _, p := range r.Probes {
		n += 3
		p.Result.EachCheck(func(c probes.Check) {
			if c.Status == probes.StatusPass || c.Status == probes.StatusFail {
				n++
			}
		})
	}
	return n
}

// limitSeries keeps the answer within maxSeries samples: the frame's
// first (bounded by the probes and their declared checks), then each
// probe's measurements in report order while there is room. A probe whose
// measurements were cut reports an error saying so (mail_probe_error 1):
// its checks stand, its series are incomplete.
func (r *Report) limitSeries(maxSeries int) {
	if maxSeries <= 0 {
		return
	}
	room := maxSeries - r.frameCount()
	for i, p := range r.Probes {
		n := p.Result.MeasurementCount()
		if n <= room {
			room -= n
			continue
		}
		keep := max(room, 0)
		room = 0
		r.Probes[i].Result = p.Result.CutMeasurements(keep, fmt.Errorf(
			"%s probe: %d of its %d series were not exported: the answer reached the module's limits.series (%d)",
			p.Name, n-keep, n, maxSeries))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Registry returns a fresh registry holding the report's metrics. A sample
// whose name and labels repeat an earlier one is dropped (and reported in
// the returned error) rather than failing the whole scrape.
func (r *Report) Registry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	c, err := newReportCollector(r.samples())
	reg.MustRegister(c)
	return reg, err
}

type reportCollector struct {
	descs   map[*probes.MetricSpec]*prometheus.Desc
	samples []probes.Measurement
}

func newReportCollector(samples []probes.Measurement) (*reportCollector, error) {
	c := &reportCollector{descs: map[*probes.MetricSpec]*prometheus.Desc{}}
	byName := map[string]*probes.MetricSpec{}
	seen := map[string]bool{}
	var dropped []string
	for _, s := range samples {
		if other, ok := byName[s.Spec.Name]; ok && other != s.Spec {
			dropped = append(dropped, s.Spec.Name+" (declared twice)")
			continue
		}
		byName[s.Spec.Name] = s.Spec
		key := s.Spec.Name + "\xff" + strings.Join(s.LabelValues, "\xff")
		if seen[key] {
			dropped = append(dropped, fmt.Sprintf("%s%v", s.Spec.Name, s.LabelValues))
			continue
		}
		seen[key] = true
		if _, ok := c.descs[s.Spec]; !ok {
			c.descs[s.Spec] = prometheus.NewDesc(s.Spec.Name, s.Spec.Help, s.Spec.Labels, nil)
		}
		c.samples = append(c.samples, s)
	}
	if len(dropped) > 0 {
		sort.Strings(dropped)
		return c, fmt.Errorf("duplicate samples dropped: %s", strings.Join(dropped, ", "))
	}
	return c, nil
}

// Describe implements prometheus.Collector.
func (c *reportCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *reportCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.samples {
		m, err := prometheus.NewConstMetric(c.descs[s.Spec], prometheus.GaugeValue, s.Value, s.LabelValues...)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.descs[s.Spec], err)
			continue
		}
		ch <- m
	}
}

// politenessCollector exports what the process-wide bounds on SMTP
// connections per server did (smtp_politeness).
type politenessCollector struct{ p *smtpsession.Politeness }

var (
	politenessStartedDesc = prometheus.NewDesc("deliverability_exporter_smtp_connections_total",
		"SMTP connections the politeness bounds (smtp_politeness) let start.", nil, nil)
	politenessOpenDesc = prometheus.NewDesc("deliverability_exporter_smtp_connections_open",
		"SMTP connections open now.", nil, nil)
	politenessWaitingDesc = prometheus.NewDesc("deliverability_exporter_smtp_connections_waiting",
		"SMTP connections waiting for their turn under the politeness bounds now.", nil, nil)
	politenessWaitsDesc = prometheus.NewDesc("deliverability_exporter_smtp_connection_waits_total",
		"SMTP connections that waited for a politeness bound, by the bound (concurrency, address_rate, network_rate).", []string{"limit"}, nil)
	politenessNotStartedDesc = prometheus.NewDesc("deliverability_exporter_smtp_connections_not_started_total",
		"SMTP connections a politeness bound kept from starting before the probe's deadline (their checks are undecided), by the bound.", []string{"limit"}, nil)
	politenessWaitSecondsDesc = prometheus.NewDesc("deliverability_exporter_smtp_connection_wait_seconds_total",
		"Time SMTP connections that started spent waiting for the politeness bounds.", nil, nil)
)

func (c politenessCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{politenessStartedDesc, politenessOpenDesc, politenessWaitingDesc, politenessWaitsDesc, politenessNotStartedDesc, politenessWaitSecondsDesc} {
		ch <- d
	}
}

func (c politenessCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Stats()
	ch <- prometheus.MustNewConstMetric(politenessStartedDesc, prometheus.CounterValue, float64(st.Started.Load()))
	ch <- prometheus.MustNewConstMetric(politenessOpenDesc, prometheus.GaugeValue, float64(st.Open.Load()))
	ch <- prometheus.MustNewConstMetric(politenessWaitingDesc, prometheus.GaugeValue, float64(st.Waiting.Load()))
	for i, limit := range smtpsession.Limits {
		ch <- prometheus.MustNewConstMetric(politenessWaitsDesc, prometheus.CounterValue, float64(st.Waits[i].Load()), limit)
		ch <- prometheus.MustNewConstMetric(politenessNotStartedDesc, prometheus.CounterValue, float64(st.NotStarted[i].Load()), limit)
	}
	ch <- prometheus.MustNewConstMetric(politenessWaitSecondsDesc, prometheus.CounterValue, time.Duration(st.WaitNanos.Load()).Seconds())
}

// dnsblBudgetCollector exports what the process asked each blocklist, what
// the process-wide cache answered for free, and the lists' daily budgets.
type dnsblBudgetCollector struct{ b *dnsbl.Budgets }

var (
	dnsblQueriesDesc = prometheus.NewDesc("deliverability_exporter_dnsbl_queries_total",
		"Queries sent to the blocklist (each counts against its daily_query_budget).", []string{"zone"}, nil)
	dnsblListHitsDesc = prometheus.NewDesc("deliverability_exporter_dnsbl_list_cache_hits_total",
		"Questions about the blocklist answered from the process-wide cache, or by joining a query in flight: free.", []string{"zone"}, nil)
	dnsblOverBudgetDesc = prometheus.NewDesc("deliverability_exporter_dnsbl_queries_over_budget_total",
		"Questions not asked because the blocklist's daily_query_budget was spent (their checks are undecided).", []string{"zone"}, nil)
	dnsblLast24hDesc = prometheus.NewDesc("deliverability_exporter_dnsbl_queries_last_24h",
		"Queries sent to the blocklist in the last 24 hours, by the hour: what its daily_query_budget is held to.", []string{"zone"}, nil)
	dnsblBudgetDesc = prometheus.NewDesc("deliverability_exporter_dnsbl_query_budget",
		"The blocklist's daily_query_budget (lists that have one).", []string{"zone"}, nil)
)

func (c dnsblBudgetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dnsblQueriesDesc, dnsblListHitsDesc, dnsblOverBudgetDesc, dnsblLast24hDesc, dnsblBudgetDesc} {
		ch <- d
	}
}

func (c dnsblBudgetCollector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c.b.Figures(time.Now()) {
		ch <- prometheus.MustNewConstMetric(dnsblQueriesDesc, prometheus.CounterValue, float64(f.Queries), f.Zone)
		ch <- prometheus.MustNewConstMetric(dnsblListHitsDesc, prometheus.CounterValue, float64(f.CacheHits), f.Zone)
		ch <- prometheus.MustNewConstMetric(dnsblOverBudgetDesc, prometheus.CounterValue, float64(f.OverBudget), f.Zone)
		ch <- prometheus.MustNewConstMetric(dnsblLast24hDesc, prometheus.GaugeValue, float64(f.Last24h), f.Zone)
		if f.Budget > 0 {
			ch <- prometheus.MustNewConstMetric(dnsblBudgetDesc, prometheus.GaugeValue, float64(f.Budget), f.Zone)
		}
	}
}
