package collector

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// DefaultRecentResults bounds the results kept for min_interval.
const DefaultRecentResults = 100000

// Modules is a configuration compiled to run.
type Modules struct {
	// Config is the configuration the modules were compiled from.
	Config *config.Config
	byName map[string]*Module
}

// Compile builds the runnable modules of cfg; what they keep across
// requests comes from kept (nil: nothing is shared with other compiles).
func Compile(cfg *config.Config, kept *probes.Kept) (*Modules, error) {
	if kept == nil {
		kept = probes.NewKept()
	}
	recent := sharedRecentResults(kept)
	ms := &Modules{Config: cfg, byName: map[string]*Module{}}
	for _, name := range cfg.ModuleNames() {
		mc, _ := cfg.Module(name)
		m, err := compileModule(name, mc, kept, recent)
		if err != nil {
			if mc.Line() == 0 { // the built-in default: no file to point into
				return nil, fmt.Errorf("module %q: %w", name, err)
			}
			return nil, fmt.Errorf("line %d: module %q: %w", mc.Line(), name, err)
		}
		ms.byName[name] = m
	}
	if err := ms.checkTargets(); err != nil {
		return nil, err
	}
	// The bounds on connections to each mail server are the process's,
	// whatever the modules: in force once the whole config compiled.
	smtpsession.SharedPoliteness(kept).Configure(cfg.SMTPPoliteness)
	dnsbl.SharedBudgets(kept).Retain(blocklistBudgets(cfg))
	return ms, nil
}

// checkTargets refuses a targets file with a line /probe would refuse at
// every scrape of it: a target outside its module's allowed_targets, or
// parameters (DKIM selectors) its module does not read or takes no more
// of. /sd would hand such a line to Prometheus, and the mistake would show
// only as a 400 for that target, every scrape.
func (ms *Modules) checkTargets() error {
	for _, t := range ms.Config.Targets {
		m, ok := ms.byName[t.Module]
		if !ok {
			return fmt.Errorf("targets_file %s: line %d: %s: no module %q in the config", ms.Config.TargetsFile, t.Line, t.Target, t.Module)
		}
		err := m.permitTarget(t.Target)
		if err == nil {
			_, err = m.probeParams(t.Params())
		}
		if err != nil {
			return fmt.Errorf("targets_file %s: line %d: %s: module %q: %w", ms.Config.TargetsFile, t.Line, t.Target, t.Module, err)
		}
	}
	return nil
}

// Module returns a module by name.
func (ms *Modules) Module(name string) (*Module, bool) {
	m, ok := ms.byName[name]
	return m, ok
}

// Names returns the module names in sorted order.
func (ms *Modules) Names() []string {
	names := make([]string, 0, len(ms.byName))
	for n := range ms.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// closeReplaced releases the DNS clients of ms that next does not use
// (idle sockets closed; requests still running on them finish).
func (ms *Modules) closeReplaced(next *Modules) {
	for name, m := range ms.byName {
		if n, ok := next.byName[name]; ok && n.dns == m.dns {
			continue
		}
		m.dns.Close()
	}
}

// Engine holds the configuration in force, compiled, and what outlives it:
// the process-wide memories probes keep across requests and reloads (the
// blocklist answers, the MTA-STS policies, the SMTP conversations and the
// results served again under min_interval), and each module's DNS client
// and running slots while their settings stay the same. A reload that
// fails keeps the old configuration and says why, in the log and in the
// reload metrics.
type Engine struct {
	path   string
	logger log.Logger
	kept   *probes.Kept

	current atomic.Pointer[Modules]
	reload  sync.Mutex // one reload at a time

	lastSuccessful prometheus.Gauge
	lastSuccessTS  prometheus.Gauge
}

// NewEngine loads the config from path (the built-in default when path is
// empty) and registers the reload and cache metrics on reg (nil: none). An
// error here means the exporter cannot start.
func NewEngine(path string, logger log.Logger, reg prometheus.Registerer, opts ...EngineOption) (*Engine, error) {
	e := &Engine{
		path:   path,
		logger: logger,
		kept:   probes.NewKept(),
		lastSuccessful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "deliverability_exporter_config_last_reload_successful",
			Help: "Whether the last configuration load succeeded (1) or not (0).",
		}),
		lastSuccessTS: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "deliverability_exporter_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully, as a Unix timestamp.",
		}),
	}
	if reg != nil {
		reg.MustRegister(e.lastSuccessful, e.lastSuccessTS)
		cache := dnsbl.SharedCache(e.kept)
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "deliverability_exporter_dnsbl_cache_hits_total",
				Help: "Blocklist questions answered from the process-wide cache.",
			}, func() float64 { hits, _ := cache.Stats(); return float64(hits) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "deliverability_exporter_dnsbl_cache_misses_total",
				Help: "Blocklist questions the process-wide cache had to ask.",
			}, func() float64 { _, misses := cache.Stats(); return float64(misses) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "deliverability_exporter_dnsbl_cache_entries",
				Help: "Blocklist answers held in the process-wide cache.",
			}, func() float64 { return float64(cache.Len()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "deliverability_exporter_dnsbl_cache_bytes",
				Help: "Memory the blocklist answers held in the process-wide cache take, as its bound counts them.",
			}, func() float64 { return float64(cache.Bytes()) }),
			&dnsCacheCollector{engine: e},
			&egressCollector{engine: e, egress: smtpsession.SharedEgress(e.kept)},
		)
		sessions := smtpsession.SharedMemory(e.kept)
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "deliverability_exporter_smtp_conversations_held_total",
				Help: "SMTP conversations held for modules with an smtp min_interval, whose outcome all targets on the same server share.",
			}, func() float64 { _, held := sessions.Stats(); return float64(held) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "deliverability_exporter_smtp_conversations_reused_total",
				Help: "SMTP conversations served from the process-wide memory (or joined while held) instead of connecting.",
			}, func() float64 { served, _ := sessions.Stats(); return float64(served) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "deliverability_exporter_smtp_conversations_kept",
				Help: "SMTP conversations kept in the process-wide memory.",
			}, func() float64 { return float64(sessions.Len()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "deliverability_exporter_smtp_conversations_bytes",
				Help: "Memory the SMTP conversations kept in the process-wide memory take, as its bound counts them.",
			}, func() float64 { return float64(sessions.Bytes()) }),
		)
		reg.MustRegister(politenessCollector{smtpsession.SharedPoliteness(e.kept)})
		reg.MustRegister(dnsblBudgetCollector{dnsbl.SharedBudgets(e.kept)})
		recent := sharedRecentResults(e.kept)
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "deliverability_exporter_min_interval_results",
				Help: "Probe results kept to be served again under min_interval.",
			}, func() float64 { return float64(recent.Len()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "deliverability_exporter_min_interval_results_bytes",
				Help: "Memory the probe results kept for min_interval take, as their bound counts it.",
			}, func() float64 { return float64(recent.Bytes()) }),
		)
	}
	for _, o := range opts {
		o(e)
	}
	if err := e.Reload(); err != nil {
		return nil, err
	}
	return e, nil
}

// dnsCacheCollector exports what each module's DNS client keeps across
// requests, read at scrape time from the modules in force.
type dnsCacheCollector struct {
	engine *Engine
}

var (
	dnsCacheBytesDesc = prometheus.NewDesc("deliverability_exporter_dns_cache_bytes",
		"Memory the DNS answers kept across the module's probe requests take: their wire form, names and bookkeeping.",
		[]string{"module"}, nil)
	dnsCacheMaxBytesDesc = prometheus.NewDesc("deliverability_exporter_dns_cache_max_bytes",
		"The bound on deliverability_exporter_dns_cache_bytes (the module's dns_cache_max_bytes; 0 when it keeps no answers).",
		[]string{"module"}, nil)
	dnsCacheEntriesDesc = prometheus.NewDesc("deliverability_exporter_dns_cache_entries",
		"DNS answers kept across the module's probe requests.",
		[]string{"module"}, nil)
)

// Describe implements prometheus.Collector.
func (c *dnsCacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dnsCacheBytesDesc
	ch <- dnsCacheMaxBytesDesc
	ch <- dnsCacheEntriesDesc
}

// Collect implements prometheus.Collector.
func (c *dnsCacheCollector) Collect(ch chan<- prometheus.Metric) {
	ms := c.engine.Current()
	if ms == nil {
		return
	}
	for _, name := range ms.Names() {
		m, _ := ms.Module(name)
		st := m.DNSCacheStats()
		ch <- prometheus.MustNewConstMetric(dnsCacheBytesDesc, prometheus.GaugeValue, float64(st.Bytes), name)
		ch <- prometheus.MustNewConstMetric(dnsCacheMaxBytesDesc, prometheus.GaugeValue, float64(st.MaxBytes), name)
		ch <- prometheus.MustNewConstMetric(dnsCacheEntriesDesc, prometheus.GaugeValue, float64(st.Entries), name)
	}
}

// egressCollector exports what the exporter knows of its way out to the
// SMTP port, per module with an smtp probe (its egress_check, or the
// conversations of the whole process), read at scrape time.
type egressCollector struct {
	engine *Engine
	egress *smtpsession.Egress
}

const egressUpHelp = "Whether the exporter can reach the SMTP port of mail servers (1) or not (0: its network blocks it, so failed connections are undecided, not the servers' failures), by the module's smtp egress_check or, without one, the connections of the last 10 minutes; absent while there is too little evidence."

var egressUpDesc = prometheus.NewDesc("deliverability_exporter_smtp_egress_up", egressUpHelp, []string{"module"}, nil)

// SparseSelfMetrics are the families of /metrics that have no sample until
// there is something to say, with their labels: the catalogues (the
// documentation's, the alert rules') add them to what a fresh registry
// gathers.
var SparseSelfMetrics = map[string][]string{
	"deliverability_exporter_smtp_egress_up": {"module"},
}

// Describe implements prometheus.Collector.
func (c *egressCollector) Describe(ch chan<- *prometheus.Desc) { ch <- egressUpDesc }

// Collect implements prometheus.Collector.
func (c *egressCollector) Collect(ch chan<- prometheus.Metric) {
	ms := c.engine.Current()
	if ms == nil {
		return
	}
	now := time.Now()
	for _, name := range ms.Names() {
		m, _ := ms.Module(name)
		block := m.Config.SMTP
		if block == nil {
			continue
		}
		state, _ := c.egress.Status(now, block.Session.EgressCheck.Targets(block.Session.Port))
		switch state {
		case smtpsession.EgressUp:
			ch <- prometheus.MustNewConstMetric(egressUpDesc, prometheus.GaugeValue, 1, name)
		case smtpsession.EgressDown:
			ch <- prometheus.MustNewConstMetric(egressUpDesc, prometheus.GaugeValue, 0, name)
		}
	}
}

// Current returns the modules in force.
func (e *Engine) Current() *Modules { return e.current.Load() }

// Source names where the config comes from, for people.
func (e *Engine) Source() string {
	if e.path == "" {
		return "built-in default (config.example.yml)"
	}
	return e.path
}

// Reload reads the config again. On failure the config in force stays.
func (e *Engine) Reload() error {
	e.reload.Lock()
	defer e.reload.Unlock()
	var (
		cfg *config.Config
		err error
	)
	if e.path == "" {
		cfg, err = config.Default()
		if err != nil {
			err = fmt.Errorf("built-in default config: %w", err)
		}
	} else {
		cfg, err = config.Load(e.path)
	}
	var ms *Modules
	if err == nil {
		ms, err = Compile(cfg, e.kept)
	}
	if err != nil {
		e.lastSuccessful.Set(0)
		if e.current.Load() != nil {
			level.Error(e.logger).Log("msg", "Config reload failed; keeping the config in force", "err", err)
		}
		return err
	}
	if old := e.current.Swap(ms); old != nil {
		old.closeReplaced(ms)
	}
	e.lastSuccessful.Set(1)
	e.lastSuccessTS.Set(float64(time.Now().UnixNano()) / 1e9)
	source := e.path
	if source == "" {
		source = "built-in default"
	}
	level.Info(e.logger).Log("msg", "Loaded config", "file", source, "modules", fmt.Sprint(ms.Names()))
	return nil
}

// blocklistBudgets are the blocklist zones of cfg's modules with their
// daily_query_budget (0: none); of two modules asking one zone, the smaller
// positive budget.
func blocklistBudgets(cfg *config.Config) map[string]int {
	out := map[string]int{}
	for _, m := range cfg.Modules {
		if m == nil || m.DNSBL == nil {
			continue
		}
		for _, l := range m.DNSBL.Lists {
			old, seen := out[l.Zone]
			switch {
			case !seen, old == 0, l.DailyQueryBudget > 0 && l.DailyQueryBudget < old:
				out[l.Zone] = l.DailyQueryBudget
			}
		}
	}
	return out
}
