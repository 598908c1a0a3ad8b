// Command hostilemem measures the exporter binary's peak memory while it
// probes the hostile world of internal/hostile, on loopback only:
//
//	go run ./bench/hostilemem
//
// The exporter runs every probe (SMTP and HTTPS connections denied, so
// nothing is dialled) against a DNS server in this process that makes its
// answers up (bench/hostile drives deadlines and connections; this one,
// memory): wide.test, 16 MX hosts of 4,000 A and 2,300 AAAA records
// each, with PTRs that resolve back (issue 17, finding 1: 0.67 GB for one
// request before the request budget), and d<N>.big.test, whose every name
// answers with about 60 KB (finding 3). Each run sends -concurrent
// requests at once and samples the exporter's RSS, goroutines and heap
// while they run; the peak is the kernel's VmHWM of the exporter process,
// read after each run (the high-water mark is never reset, so each run's
// line is the peak so far).
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
	"github.com/deliverability-exporter/deliverability_exporter/internal/hostile"
)

func main() {
	concurrent := flag.Int("concurrent", 64, "probe requests at once in each run")
	exporter := flag.String("exporter", "", "exporter binary (built from ./cmd/deliverability_exporter when empty)")
	extra := flag.String("module-extra", "", "extra module keys, indented by four spaces, with \\n for new lines (limits: ...)")
	limit := flag.Duration("time-limit", 15*time.Minute, "give up after this long")
	waitLoad := flag.Float64("wait-load", 0, "first wait (at most -wait-max) for the 1-minute load average to fall below this; 0: do not wait")
	waitMax := flag.Duration("wait-max", 10*time.Minute, "the longest wait for -wait-load")
	env := flag.String("exporter-env", "", "environment variables for the exporter, space-separated (GOMEMLIMIT=200MiB)")
	bound := flag.Int64("check-mib", 256, "with -check, the peak RSS bound in MiB")
	check := flag.Bool("check", false, "exit 1 when the peak RSS reaches -check-mib or a request fails")
	flag.Parse()
	ok, err := run(*concurrent, *exporter, strings.ReplaceAll(*extra, `\n`, "\n"), strings.Fields(*env), *limit, *waitLoad, *waitMax, *bound<<20)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostilemem:", err)
		os.Exit(2)
	}
	if *check && !ok {
		os.Exit(1)
	}
}

type sample struct {
	rss, hwm   int64
	heap       float64
	goroutines float64
}

func take(e *benchkit.Exporter) sample {
	var s sample
	if st, err := benchkit.Stat(e.Pid()); err == nil {
		s.rss, s.hwm = st.RSS, st.HWM
	}
	s.heap, _ = e.Metric("go_memstats_heap_inuse_bytes")
	s.goroutines, _ = e.Metric("go_goroutines")
	return s
}

// phase is one run: its name and the target of the i-th request.
type phase struct {
	name   string
	target func(i int) string
}

func run(concurrent int, exporter, extra string, env []string, limit time.Duration, waitLoad float64, waitMax time.Duration, bound int64) (bool, error) {
	var loadNote string
	if waitLoad > 0 {
		loadNote = benchkit.WaitQuiet(waitLoad, waitMax)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	dir, exporter, cleanup, err := benchkit.Workdir("hostilemem", exporter)
	if err != nil {
		return false, err
	}
	defer cleanup()
	srv, err := hostile.Start()
	if err != nil {
		return false, err
	}
	defer srv.Close()
	config := "modules:\n" + hostile.Module("hostile", srv.Addr, extra)
	e, err := benchkit.StartExporter(ctx, exporter, dir, config, env, "--probe.max-in-flight=0")
	if err != nil {
		return false, err
	}
	defer e.Stop()
	idle := take(e)

	phases := []phase{
		{"wide.test, DNS cache empty", func(int) string { return hostile.WideDomain }},
		{"wide.test again, its answers in the DNS cache", func(int) string { return hostile.WideDomain }},
		{fmt.Sprintf("%d different big.test domains", concurrent), func(i int) string { return hostile.BigDomain(i) }},
	}
	client := benchkit.NewClient(concurrent)
	var rows [][]string
	rows = append(rows, []string{"idle, after start", benchkit.MiB(idle.rss), benchkit.MiB(idle.hwm), benchkit.MetricMiB(idle.heap), fmt.Sprint(idle.goroutines), "", ""})
	ok := true
	var worst int64
	for _, ph := range phases {
		srv.Reset()
		load := &benchkit.Load{
			Client: client,
			URL: func(i int) string {
				return e.Base + "/probe?module=hostile&target=" + ph.target(i)
			},
			Header: map[string][]string{"X-Prometheus-Scrape-Timeout-Seconds": {"30"}},
			Check:  func([]byte) string { return "" }, // undecided checks are the expected answer
		}
		var mu sync.Mutex
		var peak sample
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(100 * time.Millisecond):
					s := take(e)
					mu.Lock()
					if s.rss > peak.rss {
						peak.rss, peak.heap = s.rss, s.heap
					}
					peak.goroutines = max(peak.goroutines, s.goroutines)
					mu.Unlock()
				}
			}
		}()
		out := load.Run(ctx, concurrent, concurrent)
		close(done)
		client.CloseIdleConnections()
		time.Sleep(time.Second)
		after := take(e)
		mu.Lock()
		p := peak
		mu.Unlock()
		worst = max(worst, after.hwm)
		distinct, ptr := srv.Questions()
		if len(out.Errors) > 0 || out.Codes[200] != concurrent {
			ok = false
		}
		rows = append(rows, []string{
			fmt.Sprintf("%d × %s", concurrent, ph.name),
			benchkit.MiB(p.rss), benchkit.MiB(after.hwm), benchkit.MetricMiB(p.heap), fmt.Sprint(p.goroutines),
			fmt.Sprintf("%d (%d PTR), %d messages", distinct, ptr, srv.Messages()),
			fmt.Sprintf("%s; %s", out.Summary(), out.Latencies.Summary()),
		})
	}
	final := take(e)
	rows = append(rows, []string{"after the runs", benchkit.MiB(final.rss), benchkit.MiB(final.hwm), benchkit.MetricMiB(final.heap), fmt.Sprint(final.goroutines), "", ""})

	fmt.Printf("## Memory against hostile domains\n\n")
	fmt.Printf("Measured %s", benchkit.Machine())
	if loadNote != "" {
		fmt.Printf("; %s", loadNote)
	}
	note := "the module's default limits"
	if extra != "" {
		note = "module keys " + strings.Join(strings.Fields(extra), " ")
	}
	if len(env) > 0 {
		note += ", exporter environment " + strings.Join(env, " ")
	}
	fmt.Printf(".\n`go run ./bench/hostilemem` (-concurrent %d, %s). The exporter binary, every probe, the hostile world of internal/hostile on loopback.\n\n", concurrent, note)
	fmt.Println(benchkit.Table([]string{"", "RSS (sampled peak)", "peak RSS so far (VmHWM)", "Go heap in use (at the sampled peak)", "goroutines (most sampled)", "questions the DNS server saw", "answers"}, rows))
	fmt.Printf("Peak RSS over the whole run (VmHWM): %s (bound checked: %s).\n\n", benchkit.MiB(worst), benchkit.MiB(bound))
	return ok && worst < bound, nil
}
