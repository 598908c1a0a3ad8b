package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deliverability-exporter/deliverability_exporter/bench/benchkit"
	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/web"
)

// startInProcess runs the exporter's HTTP handlers in this process, as the
// command wires them (/probe, /sd, /metrics), for -cpuprofile: a profile
// of the exporter's work beside the world's. Its CPU and memory are then
// the whole process's, so the report's split is only the binary's.
func startInProcess(ctx context.Context, dir, config string) (*benchkit.Exporter, func(), error) {
	path := filepath.Join(dir, "exporter.yml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return nil, nil, err
	}
	registry := prometheus.NewRegistry()
	engine, err := collector.NewEngine(path, log.NewNopLogger(), registry)
	if err != nil {
		return nil, nil, err
	}
	probe := &web.ProbeHandler{Modules: engine.Current, Logger: log.NewNopLogger(), TimeoutOffset: 500 * time.Millisecond,
		Metrics: web.NewSelfMetrics(registry), MaxInFlight: 512}
	mux := http.NewServeMux()
	mux.Handle("/probe", probe)
	mux.Handle("/sd", &web.SDHandler{Modules: engine.Current})
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	if err := benchkit.WaitHTTP(ctx, base+"/sd"); err != nil {
		srv.Close()
		return nil, nil, err
	}
	return benchkit.InProcessExporter(base), func() { srv.Close() }, nil
}
