// Command load drives the exporter binary with many concurrent /probe
// requests against the in-process test world, on loopback only, and reports
// errors, latency percentiles and the exporter's memory. It exits 1 when a
// request fails other than with the intended 503 of the in-flight bound.
//
//	go build -o /tmp/dex ./cmd/deliverability_exporter
//	go run ./bench/load -exporter /tmp/dex -requests 1000 -concurrency 1000
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

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
	config := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf("modules:\n  mail:\n    timeout: 30s\n    resolvers: [%q]\n    allowed_networks: [127.0.0.0/8, \"::1/128\"]\n    mx: {}\n", world.Addr)), 0o644); err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(exporter, "--config.file="+config, "--web.listen-address="+addr,
		"--probe.max-in-flight="+strconv.Itoa(maxInFlight), "--log.level=warn")
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	if err := waitHealthy(ctx, base); err != nil {
		return err
	}
	rssStart := rss(cmd.Process.Pid, "VmRSS")

	targets := []string{"example.test", "broken.test", "nullmx.test", "nomx.test", "v6only.test"}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: 0}}
	type result struct {
		code    int
		latency time.Duration
		err     error
	}
	results := make([]result, requests)
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < requests; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			url := fmt.Sprintf("%s/probe?module=mail&target=%s", base, targets[i%len(targets)])
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "30")
			t0 := time.Now()
			resp, err := client.Do(req)
			r := result{latency: time.Since(t0), err: err}
			if err == nil {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				r.code = resp.StatusCode
				if r.code == http.StatusOK && !strings.Contains(string(body), "probe_success") {
					r.err = fmt.Errorf("200 without probe_success")
				}
			}
			results[i] = r
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	rssEnd := rss(cmd.Process.Pid, "VmRSS")
	rssPeak := rss(cmd.Process.Pid, "VmHWM")
	// Idle keep-alive connections each hold a server goroutine; close them
	// so the count shows whether probes left any behind.
	client.CloseIdleConnections()
	time.Sleep(500 * time.Millisecond)
	goroutines := metricValue(base, "go_goroutines")

	codes := map[int]int{}
	var latencies []time.Duration
	var errs []string
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, r.err.Error())
			continue
		}
		codes[r.code]++
		if r.code == http.StatusOK {
			latencies = append(latencies, r.latency)
		} else if r.code != http.StatusServiceUnavailable {
			errs = append(errs, fmt.Sprintf("status %d", r.code))
		}
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	fmt.Printf("requests %d, concurrency %d, exporter --probe.max-in-flight=%d, DNS delay %s\n", requests, concurrency, maxInFlight, dnsDelay)
	fmt.Printf("elapsed %s, %.0f answered probes/s\n", elapsed.Round(time.Millisecond), float64(codes[200])/elapsed.Seconds())
	fmt.Printf("status: 200 x %d, 503 x %d (the in-flight bound), other errors %d\n", codes[200], codes[503], len(errs))
	if len(latencies) > 0 {
		fmt.Printf("latency of 200s: p50 %s, p90 %s, p99 %s, max %s\n",
			pct(latencies, 50), pct(latencies, 90), pct(latencies, 99), latencies[len(latencies)-1].Round(time.Millisecond))
	}
	fmt.Printf("exporter RSS: %s at start, %s after, peak %s; goroutines after: %s\n", rssStart, rssEnd, rssPeak, goroutines)
	if len(errs) > 0 {
		return fmt.Errorf("%d requests failed, first: %s", len(errs), errs[0])
	}
	if codes[200] == 0 {
		return fmt.Errorf("no request succeeded")
	}
	return nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	if i > 0 {
		i--
	}
	return sorted[i].Round(time.Millisecond)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitHealthy(ctx context.Context, base string) error {
	for {
		resp, err := http.Get(base + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("exporter did not come up: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// rss reads a memory line (VmRSS, VmHWM) of /proc/PID/status.
func rss(pid int, field string) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func metricValue(base, name string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	return "?"
}
