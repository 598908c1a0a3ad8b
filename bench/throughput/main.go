// Command throughput measures probe requests per second on this machine,
// on loopback only, against the bench world's DNS with no added latency:
//
//	go run ./bench/throughput
//
// Variants (each for -duration, -concurrency requests at once):
//
//   - in-process: collector.Module.Run of the DNS-only module (every probe
//     but smtp and mtasts) in parallel, over -domains synthetic domains
//     shaped like bench.test (2 MX hosts, IPv4 and IPv6, 3 DKIM selectors,
//     6 blocklists), with dns_cache_max_ttl 0s so every question goes to
//     the DNS server, which shares the process.
//   - binary, DNS-only: the exporter binary answering /probe for the same
//     module and domains, with the default dns_cache_max_ttl (answers kept
//     across requests within their TTL, as when Prometheus scrapes the
//     same domains again and again) and with 0s (every question asked);
//     this process holds the DNS server and the load.
//   - binary, with SMTP: the full mail module against bench.test with its
//     STARTTLS servers and MTA-STS policy host on 127.0.0.11, 127.0.0.12,
//     ::1 and 127.0.0.80 (blocklists are then asked about names only:
//     loopback addresses are skipped), without and with
//     min_interval {smtp: 5m, mtasts: 5m, dnsbl: 5m}.
//
// CPU time per probe comes from /proc/PID/stat (user + system) of the
// exporter and of this process (DNS server, SMTP servers, load).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/bench/benchkit"
	"github.com/deliverability-exporter/deliverability_exporter/bench/benchworld"
	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// waitMax bounds the wait for a quiet machine.
var waitMax *time.Duration

func main() {
	duration := flag.Duration("duration", 15*time.Second, "length of each variant")
	concurrency := flag.Int("concurrency", 32, "probe requests in flight")
	domains := flag.Int("domains", 1000, "synthetic DNS-only domains")
	exporter := flag.String("exporter", "", "exporter binary (built from ./cmd/deliverability_exporter when empty)")
	only := flag.String("only", "", "run only variants whose name contains this")
	waitLoad := flag.Float64("wait-load", 0, "first wait (at most -wait-max) for the 1-minute load average to fall below this; 0: do not wait")
	waitMax = flag.Duration("wait-max", 10*time.Minute, "the longest wait for -wait-load")
	check := flag.Bool("check", false, "exit 1 when the binary's DNS-only rate is below 500 probes/s")
	flag.Parse()
	ok, err := run(*duration, *concurrency, *domains, *exporter, *only, *waitLoad)
	if err != nil {
		fmt.Fprintln(os.Stderr, "throughput:", err)
		os.Exit(2)
	}
	if *check && !ok {
		os.Exit(1)
	}
}

type row struct {
	name      string
	probes    int
	elapsed   time.Duration
	lat       benchkit.Durations
	cpuExp    time.Duration // exporter (or this process, in-process)
	cpuHere   time.Duration // this process (binary variants)
	queries   int64
	failures  int
	firstErr  string
	extraNote string
}

func (r row) rate() float64 { return float64(r.probes) / r.elapsed.Seconds() }

func run(duration time.Duration, concurrency, domains int, exporter, only string, waitLoad float64) (bool, error) {
	var loadNote string
	if waitLoad > 0 {
		loadNote = benchkit.WaitQuiet(waitLoad, *waitMax)
	}
	ctx := context.Background()
	dir, exporter, cleanup, err := benchkit.Workdir("throughput", exporter)
	if err != nil {
		return false, err
	}
	defer cleanup()

	w, err := benchworld.Start(benchworld.Options{Shape: benchworld.Loopback, Synthetic: domains})
	if err != nil {
		return false, err
	}
	defer w.Close()
	// The server logs every question; forget them as the runs go.
	defer w.ForgetQueriesEvery(time.Second)()
	want := func(name string) bool { return only == "" || strings.Contains(name, only) }

	var rows []row
	binaryRate := -1.0

	noCache := "    dns_cache_max_ttl: 0s\n"
	if name := "in-process, DNS-only, every question asked (dns_cache_max_ttl 0s)"; want(name) {
		r, err := inProcess(ctx, w, duration, concurrency, name)
		if err != nil {
			return false, err
		}
		rows = append(rows, r)
	}
	dnsOnly := benchworld.Unbounded + "modules:\n" + w.Module("dnsonly", benchworld.ModuleOptions{Probes: benchworld.DNSOnlyProbes}) +
		w.Module("dnsonly_nocache", benchworld.ModuleOptions{Probes: benchworld.DNSOnlyProbes, Extra: noCache})
	full := benchworld.Unbounded + "modules:\n" + w.Module("mail", benchworld.ModuleOptions{}) +
		w.Module("mail_min_interval", benchworld.ModuleOptions{Extra: "    min_interval: {smtp: 5m, mtasts: 5m, dnsbl: 5m}\n"})
	if name := "binary, DNS-only, answers kept within their TTL (the default, dns_cache_max_ttl 5m)"; want(name) {
		r, err := binary(ctx, exporter, dir, dnsOnly, "dnsonly", w.Synthetic, duration, concurrency, name, nil)
		if err != nil {
			return false, err
		}
		binaryRate = r.rate()
		rows = append(rows, r)
	}
	if name := "binary, DNS-only, every question asked (dns_cache_max_ttl 0s)"; want(name) {
		r, err := binary(ctx, exporter, dir, dnsOnly, "dnsonly_nocache", w.Synthetic, duration, concurrency, name, nil)
		if err != nil {
			return false, err
		}
		rows = append(rows, r)
	}
	if name := "binary, full module with SMTP and MTA-STS"; want(name) {
		before := w.SMTPConnections()
		r, err := binary(ctx, exporter, dir, full, "mail", []string{benchworld.Domain}, duration, concurrency, name, nil)
		if err != nil {
			return false, err
		}
		r.extraNote = fmt.Sprintf("%.1f SMTP connections per probe", float64(w.SMTPConnections()-before)/float64(max(r.probes, 1)))
		rows = append(rows, r)
	}
	if name := "binary, full module, min_interval 5m for smtp, mtasts, dnsbl"; want(name) {
		before := w.SMTPConnections()
		r, err := binary(ctx, exporter, dir, full, "mail_min_interval", []string{benchworld.Domain}, duration, concurrency, name, nil)
		if err != nil {
			return false, err
		}
		r.extraNote = fmt.Sprintf("%d SMTP connections in all", w.SMTPConnections()-before)
		rows = append(rows, r)
	}

	fmt.Printf("## Throughput\n\n")
	fmt.Printf("Measured %s", benchkit.Machine())
	if loadNote != "" {
		fmt.Printf("; %s", loadNote)
	}
	fmt.Printf(".\n`go run ./bench/throughput` (-duration %s, -concurrency %d, -domains %d). No added DNS latency; the DNS server (and the SMTP and HTTPS servers) run in the measuring process and share the 2 cores with the exporter.\n\n", duration, concurrency, domains)
	var trows [][]string
	for _, r := range rows {
		cpu := fmt.Sprintf("%.2f ms", float64(r.cpuExp)/float64(time.Millisecond)/float64(max(r.probes, 1)))
		here := "—"
		if r.cpuHere > 0 {
			here = fmt.Sprintf("%.2f ms", float64(r.cpuHere)/float64(time.Millisecond)/float64(max(r.probes, 1)))
		}
		q := fmt.Sprintf("%.1f", float64(r.queries)/float64(max(r.probes, 1)))
		note := r.extraNote
		if r.failures > 0 {
			note = strings.TrimPrefix(note+fmt.Sprintf("; %d failed (first: %s)", r.failures, clip(r.firstErr, 120)), "; ")
		}
		trows = append(trows, []string{r.name, fmt.Sprintf("**%.0f**", r.rate()), fmt.Sprint(r.probes),
			benchkit.Ms(r.lat.Pct(50)), benchkit.Ms(r.lat.Pct(99)), cpu, here, q, note})
	}
	fmt.Println(benchkit.Table([]string{"variant", "probes/s", "probes", "p50", "p99", "CPU/probe (exporter)", "CPU/probe (DNS/SMTP servers, load)", "DNS queries/probe", "note"}, trows))
	return binaryRate < 0 || binaryRate >= 500, nil
}

// inProcess runs collector.Module.Run in parallel over the synthetic
// domains.
func inProcess(ctx context.Context, w *benchworld.World, duration time.Duration, concurrency int, name string) (row, error) {
	m, err := benchkit.ParseModule(w.Module("dnsonly", benchworld.ModuleOptions{Probes: benchworld.DNSOnlyProbes, Extra: "    dns_cache_max_ttl: 0s\n"}), "dnsonly")
	if err != nil {
		return row{}, err
	}
	var targets []probes.Target
	for _, d := range w.Synthetic {
		t, err := probes.ParseTarget(d)
		if err != nil {
			return row{}, err
		}
		targets = append(targets, t)
	}
	// One pass first: the blocklist cache holds the lists' answers from
	// then on, as in a running exporter.
	for _, t := range targets {
		if rep := m.Run(ctx, &probes.Request{Target: t}, collector.RunOptions{}); !rep.Success() {
			return row{}, fmt.Errorf("%s: %v", t, benchkit.Problems(rep))
		}
	}
	var (
		next    atomic.Int64
		mu      sync.Mutex
		lat     benchkit.Durations
		queries int64
		fails   int
		wg      sync.WaitGroup
	)
	deadline := time.Now().Add(duration)
	cpu0 := benchkit.SelfCPU()
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				t := targets[int(next.Add(1))%len(targets)]
				t0 := time.Now()
				rep := m.Run(ctx, &probes.Request{Target: t}, collector.RunOptions{})
				took := time.Since(t0)
				mu.Lock()
				lat = append(lat, took)
				queries += rep.DNS.Queries
				if !rep.Success() {
					fails++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	return row{name: name, probes: len(lat), elapsed: elapsed, lat: lat, cpuExp: benchkit.SelfCPU() - cpu0, queries: queries, failures: fails,
		extraNote: "CPU: the whole process (probes and DNS server)"}, nil
}

// binary runs the exporter with config and drives /probe?module=module
// over targets.
func binary(ctx context.Context, exporter, dir, config, module string, targets []string, duration time.Duration, concurrency int, name string, _ http.Header) (row, error) {
	e, err := benchkit.StartExporter(ctx, exporter, dir, config, nil, "--probe.max-in-flight=0")
	if err != nil {
		return row{}, err
	}
	defer e.Stop()
	client := benchkit.NewClient(concurrency)
	load := &benchkit.Load{
		Client: client,
		URL: func(i int) string {
			return e.Base + "/probe?module=" + module + "&target=" + targets[i%len(targets)]
		},
		Check: benchkit.ProbeSuccess,
	}
	// Warm-up: one pass over the targets (blocklist cache, connections).
	warm := load.Run(ctx, len(targets), concurrency)
	if len(warm.Errors) > 0 {
		return row{}, fmt.Errorf("%s warm-up: %d errors, first: %s", name, len(warm.Errors), warm.Errors[0])
	}
	q0, _ := e.Metric("deliverability_exporter_dns_queries_total")
	s0, err := benchkit.Stat(e.Pid())
	if err != nil {
		return row{}, err
	}
	here0 := benchkit.SelfCPU()
	runCtx, cancel := context.WithTimeout(ctx, duration)
	out := load.Run(runCtx, 1<<30, concurrency)
	cancel()
	s1, err := benchkit.Stat(e.Pid())
	if err != nil {
		return row{}, err
	}
	here1 := benchkit.SelfCPU()
	q1, _ := e.Metric("deliverability_exporter_dns_queries_total")
	client.CloseIdleConnections()
	return row{name: name, probes: len(out.Latencies), elapsed: out.Elapsed, lat: out.Latencies,
		cpuExp: s1.CPU - s0.CPU, cpuHere: here1 - here0, queries: int64(q1 - q0), failures: len(out.Errors), firstErr: first(out.Errors)}, nil
}

func first(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return errs[0]
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
