package web

import (
	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// parseModules parses a configuration and compiles it to run, as the
// exporter does at start.
func parseModules(data []byte) (*collector.Modules, error) {
	return parseModulesKept(data, nil)
}

// parseModulesKept is parseModules sharing what outlives a configuration
// with earlier compiles (a reload).
func parseModulesKept(data []byte, kept *probes.Kept) (*collector.Modules, error) {
	cfg, err := config.Parse(data)
	if err != nil {
		return nil, err
	}
	return collector.Compile(cfg, kept)
}
