// Package collector is the exporter's engine: it compiles a configuration
// into runnable modules (their DNS clients, running slots, probes and the
// facts the probes supply one another), runs a probe request against a
// target, and turns the report into metrics (one registry per request). It
// owns reload and what outlives a configuration. It never speaks DNS or
// SMTP itself, and serves no HTTP: the probes do the former, package web
// the latter.
package collector
