// Command memory measures the exporter binary's memory and goroutines with
// 1,000 probe requests in flight while every DNS answer takes 200 ms, and
// whether they grow over 10,000 probes, on loopback only:
//
//	go run ./bench/memory
//
// The exporter runs the DNS-only module (every probe but smtp and mtasts)
// against 1,000 synthetic domains shaped like bench.test (2 MX hosts with
// IPv4 and IPv6, 3 DKIM selectors, 6 blocklists), each request for another
// domain. First -in-flight requests go out at once and RSS, goroutines and
// probes in flight are sampled while they run; then -total probes go out
// in batches of -in-flight, with RSS, the Go heap and goroutines sampled
// after each batch (idle HTTP connections closed first, so their server
// goroutines do not count).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/bench/benchkit"
	"github.com/deliverability-exporter/deliverability_exporter/bench/benchworld"
)

// waitMax bounds the wait for a quiet machine.
var waitMax *time.Duration

func main() {
	inFlight := flag.Int("in-flight", 1000, "probe requests at once")
	total := flag.Int("total", 10000, "probes in the growth run")
	delay := flag.Duration("dns-delay", 200*time.Millisecond, "delay of every DNS answer")
	dnsInFlight := flag.Int("dns-max-in-flight", 0, "the module's dns_max_in_flight (0: the default, 256)")
	exporter := flag.String("exporter", "", "exporter binary (built from ./cmd/deliverability_exporter when empty)")
	limit := flag.Duration("time-limit", 15*time.Minute, "give up after this long")
	waitLoad := flag.Float64("wait-load", 0, "first wait (at most -wait-max) for the 1-minute load average to fall below this; 0: do not wait")
	waitMax = flag.Duration("wait-max", 10*time.Minute, "the longest wait for -wait-load")
	dnsCache := flag.String("dns-cache-max-ttl", "0s", "the module's dns_cache_max_ttl (0s: every probe waits for every answer, the most memory in flight)")
	env := flag.String("exporter-env", "", "environment variables for the exporter, space-separated (GOMEMLIMIT=100MiB)")
	check := flag.Bool("check", false, "exit 1 when the peak RSS is 150 MiB or more, or the heap or goroutines grew over the batches")
	flag.Parse()
	ok, err := run(*inFlight, *total, *delay, *dnsInFlight, *dnsCache, *exporter, strings.Fields(*env), *limit, *waitLoad)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memory:", err)
		os.Exit(2)
	}
	if *check && !ok {
		os.Exit(1)
	}
}

type sample struct {
	at         time.Duration
	rss        int64
	heap       float64
	stack      float64
	goroutines float64
	inFlight   float64
}

func take(e *benchkit.Exporter, start time.Time) sample {
	s := sample{at: time.Since(start)}
	if st, err := benchkit.Stat(e.Pid()); err == nil {
		s.rss = st.RSS
	}
	s.heap, _ = e.Metric("go_memstats_heap_inuse_bytes")
	s.stack, _ = e.Metric("go_memstats_stack_inuse_bytes")
	s.goroutines, _ = e.Metric("go_goroutines")
	s.inFlight, _ = e.Metric("deliverability_exporter_probes_in_flight")
	return s
}

func run(inFlight, total int, delay time.Duration, dnsInFlight int, dnsCache, exporter string, env []string, limit time.Duration, waitLoad float64) (bool, error) {
	var loadNote string
	if waitLoad > 0 {
		loadNote = benchkit.WaitQuiet(waitLoad, *waitMax)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	dir, exporter, cleanup, err := benchkit.Workdir("memory", exporter)
	if err != nil {
		return false, err
	}
	defer cleanup()
	w, err := benchworld.Start(benchworld.Options{Shape: benchworld.Loopback, Synthetic: inFlight, NoServers: true})
	if err != nil {
		return false, err
	}
	defer w.Close()
	defer w.ForgetQueriesEvery(time.Second)()
	w.DNS.SetDelay(delay)

	config := "modules:\n" + w.Module("dnsonly", benchworld.ModuleOptions{Probes: benchworld.DNSOnlyProbes, Timeout: "120s", DNSMaxInFlight: dnsInFlight,
		Extra: "    dns_cache_max_ttl: " + dnsCache + "\n"})
	e, err := benchkit.StartExporter(ctx, exporter, dir, config, env, "--probe.max-in-flight=0")
	if err != nil {
		return false, err
	}
	defer e.Stop()
	start := time.Now()
	idle := take(e, start)

	client := benchkit.NewClient(inFlight)
	load := &benchkit.Load{
		Client: client,
		URL: func(i int) string {
			return e.Base + "/probe?module=dnsonly&target=" + w.Synthetic[i%len(w.Synthetic)]
		},
		Check: benchkit.ProbeSuccess,
	}
	load.Header = map[string][]string{"X-Prometheus-Scrape-Timeout-Seconds": {"120"}}

	// Phase 1: inFlight requests at once, sampled while they run.
	var samples []sample
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(250 * time.Millisecond):
				s := take(e, start)
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			}
		}
	}()
	first := load.Run(ctx, inFlight, inFlight)
	close(done)
	client.CloseIdleConnections()
	time.Sleep(time.Second)
	after := take(e, start)
	st, _ := benchkit.Stat(e.Pid())
	var peak sample
	for _, s := range samples {
		if s.inFlight > peak.inFlight || s.inFlight == peak.inFlight && s.rss > peak.rss {
			peak = s
		}
	}
	var peakGoroutines float64
	for _, s := range samples {
		peakGoroutines = max(peakGoroutines, s.goroutines)
	}
	if len(first.Errors) > 0 {
		return false, fmt.Errorf("%d of %d first requests failed, first: %s", len(first.Errors), first.Requests, first.Errors[0])
	}

	// Phase 2: total probes in batches of inFlight.
	var batches []sample
	var lat benchkit.Durations
	failed := 0
	for done := 0; done < total && ctx.Err() == nil; done += inFlight {
		out := load.Run(ctx, inFlight, inFlight)
		failed += len(out.Errors)
		lat = append(lat, out.Latencies...)
		client.CloseIdleConnections()
		time.Sleep(500 * time.Millisecond)
		batches = append(batches, take(e, start))
	}
	if ctx.Err() != nil {
		return false, fmt.Errorf("time limit reached after %d batches", len(batches))
	}

	fmt.Printf("## Memory\n\n")
	fmt.Printf("Measured %s", benchkit.Machine())
	if loadNote != "" {
		fmt.Printf("; %s", loadNote)
	}
	dmif := "256 (default)"
	if dnsInFlight > 0 {
		dmif = fmt.Sprint(dnsInFlight)
	}
	envNote := ""
	if len(env) > 0 {
		envNote = ", exporter environment " + strings.Join(env, " ")
	}
	fmt.Printf(".\n`go run ./bench/memory` (-in-flight %d, -total %d, -dns-delay %s, dns_max_in_flight %s, dns_cache_max_ttl %s%s). The exporter binary, DNS-only module, %d synthetic domains, %s per DNS answer.\n\n", inFlight, total, delay, dmif, dnsCache, envNote, inFlight, delay)
	rows := [][]string{
		{"idle, after start", benchkit.MiB(idle.rss), benchkit.MetricMiB(idle.heap), benchkit.MetricMiB(idle.stack), fmt.Sprint(idle.goroutines), "0"},
		{fmt.Sprintf("%d requests at once: sample with the most in flight (at %s)", inFlight, peak.at.Round(time.Millisecond)), benchkit.MiB(peak.rss), benchkit.MetricMiB(peak.heap), benchkit.MetricMiB(peak.stack), fmt.Sprint(peak.goroutines), fmt.Sprint(peak.inFlight)},
		{"peak during that run (VmHWM; most goroutines sampled)", benchkit.MiB(st.HWM), "", "", fmt.Sprint(peakGoroutines), ""},
		{"after they finished", benchkit.MiB(after.rss), benchkit.MetricMiB(after.heap), benchkit.MetricMiB(after.stack), fmt.Sprint(after.goroutines), fmt.Sprint(after.inFlight)},
	}
	fmt.Println(benchkit.Table([]string{"", "RSS", "Go heap in use", "goroutine stacks", "goroutines", "probes in flight"}, rows))
	fmt.Printf("The first %d: %s; latency %s.\n\n", inFlight, first.Summary(), first.Latencies.Summary())
	var brows [][]string
	for i, b := range batches {
		brows = append(brows, []string{fmt.Sprint((i + 1) * inFlight), benchkit.MiB(b.rss), benchkit.MetricMiB(b.heap), fmt.Sprint(b.goroutines)})
	}
	fmt.Printf("Growth over %d more probes (%d at once), after each batch:\n\n", total, inFlight)
	fmt.Println(benchkit.Table([]string{"probes", "RSS", "Go heap in use", "goroutines"}, brows))
	fmt.Printf("Latency over those probes: %s; %d failed.\n\n", lat.Summary(), failed)
	final, _ := benchkit.Stat(e.Pid())
	fmt.Printf("Peak RSS over the whole run (VmHWM): %s.\n\n", benchkit.MiB(final.HWM))

	ok := final.HWM < 150<<20 && failed == 0
	if len(batches) >= 2 {
		firstB, lastB := batches[0], batches[len(batches)-1]
		// Flat: the heap within 20% (plus 4 MiB of noise) and the
		// goroutines back to where they were.
		if lastB.heap > firstB.heap*1.2+4<<20 || lastB.goroutines > firstB.goroutines+5 {
			ok = false
		}
	}
	return ok, nil
}
