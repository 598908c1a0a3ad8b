package collector

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// Store holds the config in force and reloads it. A reload that fails keeps
// the old config and says why, in the log and in the reload metrics.
type Store struct {
	path      string
	logger    log.Logger
	resources *Resources

	current atomic.Pointer[Config]
	reload  sync.Mutex // one reload at a time

	lastSuccessful prometheus.Gauge
	lastSuccessTS  prometheus.Gauge
}

// NewStore loads the config from path (the built-in default when path is
// empty) and registers the reload metrics. An error here means the exporter
// cannot start.
func NewStore(path string, logger log.Logger, reg prometheus.Registerer) (*Store, error) {
	s := &Store{
		path:      path,
		logger:    logger,
		resources: NewResources(),
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
		reg.MustRegister(s.lastSuccessful, s.lastSuccessTS)
		cache := s.resources.DNSBLCache
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
		)
	}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Current returns the config in force.
func (s *Store) Current() *Config { return s.current.Load() }

// Path is the config file, or "" for the built-in default.
func (s *Store) Path() string { return s.path }

// Source names where the config comes from, for people.
func (s *Store) Source() string {
	if s.path == "" {
		return "built-in default (config.example.yml)"
	}
	return s.path
}

// Reload reads the config again. On failure the config in force stays.
func (s *Store) Reload() error {
	s.reload.Lock()
	defer s.reload.Unlock()
	var (
		cfg *Config
		err error
	)
	if s.path == "" {
		cfg, err = ParseConfigWith(DefaultConfigYAML, s.resources)
		if err != nil {
			err = fmt.Errorf("built-in default config: %w", err)
		}
	} else {
		cfg, err = LoadConfigWith(s.path, s.resources)
	}
	if err != nil {
		s.lastSuccessful.Set(0)
		if s.current.Load() != nil {
			level.Error(s.logger).Log("msg", "Config reload failed; keeping the config in force", "err", err)
		}
		return err
	}
	if old := s.current.Swap(cfg); old != nil {
		old.Close()
	}
	s.lastSuccessful.Set(1)
	s.lastSuccessTS.Set(float64(time.Now().UnixNano()) / 1e9)
	source := s.path
	if source == "" {
		source = "built-in default"
	}
	level.Info(s.logger).Log("msg", "Loaded config", "file", source, "modules", fmt.Sprint(cfg.ModuleNames()))
	return nil
}
