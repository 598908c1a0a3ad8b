package web

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// ScrapeTimeoutHeader is the header Prometheus sends with its scrape timeout.
const ScrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// ProbeWriteGrace is how long past a probe request's deadline its answer
// may take to be written to a slow client before the connection is cut.
const ProbeWriteGrace = 10 * time.Second

// SelfMetrics are the exporter's own metrics, served on /metrics.
type SelfMetrics struct {
	ProbesInFlight   prometheus.Gauge
	ProbesWaiting    prometheus.Gauge
	ProbesTotal      *prometheus.CounterVec
	RequestsRejected *prometheus.CounterVec
	DNSQueries       prometheus.Counter
	DNSCacheHits     prometheus.Counter
	DNSSharedHits    prometheus.Counter
	DNSCacheMisses   prometheus.Counter
}

// Rejection reasons (label values of the rejected counter).
const (
	RejectBadTarget     = "bad_target"
	RejectUnknownModule = "unknown_module"
	RejectBadTimeout    = "bad_timeout"
	RejectBadParameter  = "bad_parameter"
	RejectOverload      = "overload"
	RejectTargetDenied  = "target_not_allowed"
)

// NewSelfMetrics creates the exporter's own metrics and registers them.
func NewSelfMetrics(reg prometheus.Registerer) *SelfMetrics {
	m := &SelfMetrics{
		ProbesWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "deliverability_exporter_probe_requests_waiting",
			Help: "Probe requests waiting for a turn because their module's max_running_requests are running.",
		}),
		ProbesInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "deliverability_exporter_probes_in_flight",
			Help: "Probe requests being answered right now.",
		}),
		ProbesTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deliverability_exporter_probes_total",
			Help: "Probe requests answered, by module and outcome (success: probe_success was 1).",
		}, []string{"module", "outcome"}),
		RequestsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deliverability_exporter_probe_requests_rejected_total",
			Help: "Probe requests refused before probing, by reason.",
		}, []string{"reason"}),
		DNSQueries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "deliverability_exporter_dns_queries_total",
			Help: "DNS messages sent by probes.",
		}),
		DNSCacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "deliverability_exporter_dns_cache_hits_total",
			Help: "DNS questions answered from a probe request's cache.",
		}),
		DNSSharedHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "deliverability_exporter_dns_shared_cache_hits_total",
			Help: "DNS questions answered from the answers a module keeps across probe requests (dns_cache_max_ttl).",
		}),
		DNSCacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "deliverability_exporter_dns_cache_misses_total",
			Help: "DNS questions that had to be sent to a resolver.",
		}),
	}
	for _, reason := range []string{RejectBadTarget, RejectUnknownModule, RejectBadTimeout, RejectBadParameter, RejectOverload, RejectTargetDenied} {
		m.RequestsRejected.WithLabelValues(reason)
	}
	reg.MustRegister(m.ProbesInFlight, m.ProbesWaiting, m.ProbesTotal, m.RequestsRejected, m.DNSQueries, m.DNSCacheHits, m.DNSSharedHits, m.DNSCacheMisses)
	return m
}

// ProbeHandler serves /probe.
type ProbeHandler struct {
	// Modules returns the modules in force.
	Modules func() *collector.Modules
	Logger  log.Logger
	// TimeoutOffset is taken off the scrape timeout so the answer arrives
	// before Prometheus gives up.
	TimeoutOffset time.Duration
	Metrics       *SelfMetrics
	// History remembers recent reports for the web page (nil: none).
	History *History
	// MaxInFlight bounds the probe requests answered at once; beyond it a
	// request gets 503 at once instead of queueing (0: no bound).
	MaxInFlight int

	initOnce sync.Once
	slots    chan struct{}
}

// acquire takes a slot for a probe request; false means the exporter is
// at its bound.
func (h *ProbeHandler) acquire() bool {
	h.initOnce.Do(func() {
		if h.MaxInFlight > 0 {
			h.slots = make(chan struct{}, h.MaxInFlight)
		}
	})
	if h.slots == nil {
		return true
	}
	select {
	case h.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (h *ProbeHandler) release() {
	if h.slots != nil {
		<-h.slots
	}
}

// expositionBuffers hold answers while they are written: a fleet's
// exporter writes hundreds a second, some 20 KB each.
var expositionBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP implements http.Handler: /probe?module=M&target=T[&debug=true].
func (h *ProbeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	debug := r.URL.Query().Get("debug") == "true"
	report, logs, ok := h.run(w, r, debug)
	if !ok {
		return
	}
	h.History.Add(report, logs)
	if !debug {
		// Written by hand, as the registry would have: see
		// collector.Report.WriteExposition.
		buf := expositionBuffers.Get().(*bytes.Buffer)
		buf.Reset()
		defer expositionBuffers.Put(buf)
		if err := report.WriteExposition(buf); err != nil {
			level.Error(h.Logger).Log("msg", "Report has samples that cannot be exported", "target", report.Target.String(), "err", err)
		}
		w.Header().Set("Content-Type", collector.ExpositionContentType)
		_, _ = w.Write(buf.Bytes())
		return
	}
	var buf bytes.Buffer
	if err := WriteDebug(&buf, report, logs); err != nil {
		http.Error(w, "rendering the report: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// run validates a probe request and runs it. A bad request is answered
// (400) here and ok is false. With keepLogs the probe's log lines are
// collected and returned.
func (h *ProbeHandler) run(w http.ResponseWriter, r *http.Request, keepLogs bool) (report *collector.Report, logs string, ok bool) {
	params := r.URL.Query()
	moduleName := params.Get("module")
	if moduleName == "" {
		moduleName = config.DefaultModuleName
	}
	cfg := h.Modules()
	module, found := cfg.Module(moduleName)
	if !found {
		h.reject(w, RejectUnknownModule, fmt.Sprintf("unknown module %q; this exporter has: %s", moduleName, strings.Join(cfg.Names(), ", ")))
		return nil, "", false
	}
	if len(params["target"]) > 1 {
		h.reject(w, RejectBadTarget, "give exactly one target parameter")
		return nil, "", false
	}
	target, err := probes.ParseTarget(params.Get("target"))
	if err != nil {
		h.reject(w, RejectBadTarget, err.Error())
		return nil, "", false
	}
	if err := module.PermitTarget(target); err != nil {
		h.reject(w, RejectTargetDenied, err.Error())
		return nil, "", false
	}
	for _, k := range collector.FrameParams {
		if k != "outbound_ip" { // the module reads it (NewRequest)
			delete(params, k)
		}
	}
	if r.URL.Path == "/report" {
		delete(params, "id") // /report?id=&target=T: an empty id runs the probe
	}
	req, err := module.NewRequest(target, params)
	if err != nil {
		h.reject(w, RejectBadParameter, err.Error())
		return nil, "", false
	}
	timeout, err := probeTimeout(r, module.Timeout(), h.TimeoutOffset)
	if err != nil {
		h.reject(w, RejectBadTimeout, err.Error())
		return nil, "", false
	}
	if !h.acquire() {
		if h.Metrics != nil {
			h.Metrics.RequestsRejected.WithLabelValues(RejectOverload).Inc()
		}
		level.Warn(h.Logger).Log("msg", "Probe request refused: too many in flight", "max_in_flight", h.MaxInFlight, "target", target.String())
		http.Error(w, fmt.Sprintf("too many probes in flight (the bound is %d); retry later or raise --probe.max-in-flight", h.MaxInFlight), http.StatusServiceUnavailable)
		return nil, "", false
	}
	defer h.release()
	// The server's write timeout is for pages; the answer to a probe may
	// be written until a while after the probe's own deadline, whatever
	// the module's timeout (a recorder in tests cannot take a deadline).
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(timeout + ProbeWriteGrace))
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()

	buf := &logBuffer{}
	logger := log.With(h.Logger, "module", moduleName, "target", target.String())
	probeLogger := logger
	if keepLogs {
		probeLogger = teeLogger{buf, logger}
	}
	if h.Metrics != nil {
		h.Metrics.ProbesInFlight.Inc()
		defer h.Metrics.ProbesInFlight.Dec()
	}
	opts := collector.RunOptions{Logger: probeLogger}
	if h.Metrics != nil {
		opts.OnWait = func(delta int) { h.Metrics.ProbesWaiting.Add(float64(delta)) }
	}
	report = module.Run(ctx, req, opts)
	h.account(moduleName, report)
	level.Debug(logger).Log("msg", "Probe done", "success", report.Success(), "duration_seconds", report.Duration.Seconds())
	return report, module.Redact(buf.String()), true
}

func (h *ProbeHandler) reject(w http.ResponseWriter, reason, msg string) {
	if h.Metrics != nil {
		h.Metrics.RequestsRejected.WithLabelValues(reason).Inc()
	}
	level.Debug(h.Logger).Log("msg", "Probe request rejected", "reason", reason, "err", msg)
	http.Error(w, msg, http.StatusBadRequest)
}

func (h *ProbeHandler) account(module string, r *collector.Report) {
	if h.Metrics == nil {
		return
	}
	outcome := "failure"
	if r.Success() {
		outcome = "success"
	}
	h.Metrics.ProbesTotal.WithLabelValues(module, outcome).Inc()
	h.Metrics.DNSQueries.Add(float64(r.DNS.Queries))
	h.Metrics.DNSCacheHits.Add(float64(r.DNS.CacheHits))
	h.Metrics.DNSSharedHits.Add(float64(r.DNS.SharedHits))
	h.Metrics.DNSCacheMisses.Add(float64(r.DNS.CacheMisses))
}

// probeTimeout is the scrape timeout minus the offset, capped by the module
// timeout; without the header it is the module timeout.
func probeTimeout(r *http.Request, moduleTimeout, offset time.Duration) (time.Duration, error) {
	v := r.Header.Get(ScrapeTimeoutHeader)
	if v == "" {
		return moduleTimeout, nil
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || secs <= 0 {
		return 0, fmt.Errorf("header %s: %q is not a positive number of seconds", ScrapeTimeoutHeader, v)
	}
	if secs > 24*3600 {
		return moduleTimeout, nil // and no overflow converting it
	}
	scrape := time.Duration(secs * float64(time.Second))
	if scrape-offset > 0 {
		// When the offset would leave nothing, use the whole scrape
		// timeout rather than refusing to probe.
		scrape -= offset
	}
	return min(scrape, moduleTimeout), nil
}

// logBuffer collects a probe's log lines for debug output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Log(keyvals ...any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return log.NewLogfmtLogger(&b.buf).Log(keyvals...)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// teeLogger writes to both loggers.
type teeLogger struct{ a, b log.Logger }

func (t teeLogger) Log(keyvals ...any) error {
	_ = t.a.Log(keyvals...)
	return t.b.Log(keyvals...)
}
