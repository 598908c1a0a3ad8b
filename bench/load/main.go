// Command load drives the exporter binary with many concurrent /probe
// requests against the in-process test world, on loopback only, and reports
// errors, latency percentiles and the exporter's memory. It exits 1 when a
// request fails other than with the intended 503 of the in-flight bound.
//
//	go build -o /tmp/dex ./cmd/deliverability_exporter
//	go run ./bench/load -exporter /tmp/dex -requests 1000 -concurrency 1000
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/bench/benchkit"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

func main() {
	exporter := flag.String("exporter", "", "the exporter binary to run (required)")
	requests := flag.Int("requests", 1000, "probe requests to send")
	concurrency := flag.Int("concurrency", 1000, "requests in flight at once")
	maxInFlight := flag.Int("max-in-flight", 512, "the exporter's --probe.max-in-flight")
	dnsDelay := flag.Duration("dns-delay", 0, "delay of every DNS answer (simulated round trip)")
	limit := flag.Duration("time-limit", 2*time.Minute, "give up after this long")
	flag.Parse()
	if *exporter == "" {
		fmt.Fprintln(os.Stderr, "load: -exporter is required")
		os.Exit(2)
	}
	if err := run(*exporter, *requests, *concurrency, *maxInFlight, *dnsDelay, *limit); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(exporter string, requests, concurrency, maxInFlight int, dnsDelay, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()

	world, err := testbed.NewDNSServer(testbed.ExampleZones)
	if err != nil {
		return err
	}
	defer world.Close()
	testbed.MarkExampleSecure(world)
	world.SetDelay(dnsDelay)

	dir, err := os.MkdirTemp("", "load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	config := fmt.Sprintf("modules:\n  mail:\n    timeout: 30s\n    resolvers: [%q]\n    allowed_networks: [127.0.0.0/8, \"::1/128\"]\n    mx: {}\n", world.Addr)
	e, err := benchkit.StartExporter(ctx, exporter, dir, config, nil, "--probe.max-in-flight="+strconv.Itoa(maxInFlight))
	if err != nil {
		return err
	}
	defer e.Stop()
	statStart, _ := benchkit.Stat(e.Pid())

	targets := []string{"example.test", "broken.test", "nullmx.test", "nomx.test", "v6only.test"}
	client := benchkit.NewClient(concurrency)
	load := &benchkit.Load{
		Client: client,
		URL: func(i int) string {
			return fmt.Sprintf("%s/probe?module=mail&target=%s", e.Base, targets[i%len(targets)])
		},
		Header: http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"30"}},
		Check: func(body []byte) string {
			if !strings.Contains(string(body), "probe_success") {
				return "200 without probe_success"
			}
			return ""
		},
	}
	out := load.Run(ctx, requests, concurrency)
	statEnd, _ := benchkit.Stat(e.Pid())
	// Idle keep-alive connections each hold a server goroutine; close them
	// so the count shows whether probes left any behind.
	client.CloseIdleConnections()
	time.Sleep(500 * time.Millisecond)
	goroutines := "?"
	if v, err := e.Metric("go_goroutines"); err == nil {
		goroutines = fmt.Sprint(v)
	}

	errs := out.Errors
	for code, n := range out.Codes {
		if code != http.StatusOK && code != http.StatusServiceUnavailable {
			errs = append(errs, fmt.Sprintf("status %d (%d times)", code, n))
		}
	}
	lat := out.Latencies
	fmt.Printf("requests %d, concurrency %d, exporter --probe.max-in-flight=%d, DNS delay %s\n", requests, concurrency, maxInFlight, dnsDelay)
	fmt.Printf("elapsed %s, %.0f answered probes/s\n", out.Elapsed.Round(time.Millisecond), float64(out.Codes[200])/out.Elapsed.Seconds())
	fmt.Printf("status: 200 x %d, 503 x %d (the in-flight bound), other errors %d\n", out.Codes[200], out.Codes[503], len(errs))
	if len(lat) > 0 {
		fmt.Printf("latency of 200s: p50 %s, p90 %s, p99 %s, max %s\n",
			benchkit.Ms(lat.Pct(50)), benchkit.Ms(lat.Pct(90)), benchkit.Ms(lat.Pct(99)), benchkit.Ms(lat.Pct(100)))
	}
	fmt.Printf("exporter RSS: %s at start, %s after, peak %s; goroutines after: %s\n",
		benchkit.MiB(statStart.RSS), benchkit.MiB(statEnd.RSS), benchkit.MiB(statEnd.HWM), goroutines)
	if len(errs) > 0 {
		return fmt.Errorf("%d requests failed, first: %s", len(errs), errs[0])
	}
	if out.Requests < requests {
		return fmt.Errorf("only %d of the %d requests were answered within -time-limit %s", out.Requests, requests, limit)
	}
	if out.Codes[200] == 0 {
		return fmt.Errorf("no request succeeded")
	}
	return nil
}
