// Command fleet measures the exporter at fleet scale: a simulated world of
// 100,000 domains over a realistic distribution of mail platforms (a
// Workspace-like provider, a large hosting provider, a mailbox provider
// with tens of thousands of domains each, twenty regional providers, and a
// long tail of 20,000 self-hosted domains with a server each), served on
// loopback by one DNS server, one SMTP server answering on every MX address
// and one HTTPS server for the MTA-STS policies, with added latency. The
// exporter binary runs the default module (min_interval 5m for smtp,
// mtasts and dnsbl) with its targets_file holding the fleet; the load
// generator reads the domains from its /sd endpoint and asks for each once
// per interval, at an offset of its own, as Prometheus spreads a job's
// targets. It prints Markdown: per interval, the probes per second
// sustained, the CPU per domain, the exporter's peak RSS, the DNS
// questions per domain, the SMTP connections per MX address and the
// blocklist queries against their budgets.
//
//	go run ./bench/fleet                               # 100,000 domains, 2 intervals of 5 minutes
//	go run ./bench/fleet -domains 10000 -interval 30s  # the same rate, scaled down
//
// Nothing leaves loopback: the world's servers listen on 0.0.0.0 bound to
// the lo device (SO_BINDTODEVICE), so they answer on every address of
// 127.0.0.0/8 and on nothing else; binding to a device needs Linux.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/bench/benchkit"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
)

func main() {
	ok, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

type options struct {
	domains             int
	interval            time.Duration
	intervals           int
	dnsDelay, smtpDelay time.Duration
	scrapeTimeout       time.Duration
	exporter            string
	waitLoad            float64
	waitMax             time.Duration
	cpuProfile          string
	memProfile          string
	exporterEnv         string
}

func run() (bool, error) {
	var o options
	flag.IntVar(&o.domains, "domains", 100000, "domains in the fleet")
	flag.DurationVar(&o.interval, "interval", 5*time.Minute, "scrape interval, and the min_interval of smtp, mtasts and dnsbl")
	flag.IntVar(&o.intervals, "intervals", 2, "intervals to run (the first starts cold)")
	flag.DurationVar(&o.dnsDelay, "dns-delay", 10*time.Millisecond, "added latency of every DNS answer")
	flag.DurationVar(&o.smtpDelay, "smtp-delay", 20*time.Millisecond, "added latency of every SMTP greeting")
	flag.DurationVar(&o.scrapeTimeout, "scrape-timeout", 60*time.Second, "the scrape timeout Prometheus would send")
	flag.StringVar(&o.exporter, "exporter", "", "exporter binary (built from ./cmd/deliverability_exporter when empty)")
	flag.Float64Var(&o.waitLoad, "wait-load", 1.5, "wait until the 1-minute load average is below this")
	flag.DurationVar(&o.waitMax, "wait-max", 0, "wait at most this long for the load (0: do not wait; the report gives the load)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "run the exporter in this process and write a CPU profile of the run here")
	flag.StringVar(&o.memProfile, "memprofile", "", "run the exporter in this process and write a heap profile at the end of the run here")
	flag.StringVar(&o.exporterEnv, "exporter-env", "", "environment variables for the exporter binary, space separated (e.g. \"GOGC=200 GOMEMLIMIT=800MiB\")")
	flag.Parse()

	quiet := fmt.Sprintf("load average %.2f", benchkit.LoadAverage())
	if o.waitMax > 0 {
		quiet = benchkit.WaitQuiet(o.waitLoad, o.waitMax)
	}
	w, err := newWorld(o.domains, o.interval, o.dnsDelay, o.smtpDelay)
	if err != nil {
		return false, err
	}
	if err := w.start(); err != nil {
		return false, err
	}
	defer w.close()

	dir, binary, cleanup, err := benchkit.Workdir("fleet", o.exporter)
	if err != nil {
		return false, err
	}
	defer cleanup()
	var fleet bytes.Buffer
	for i := range o.domains {
		fleet.WriteString(domain(i) + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "fleet.txt"), fleet.Bytes(), 0o644); err != nil {
		return false, err
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, w.ca.PEM, 0o644); err != nil {
		return false, err
	}
	cfg, err := exporterConfig(w, caFile, o.interval)
	if err != nil {
		return false, err
	}
	ctx := context.Background()
	machine := benchkit.Machine()
	var exp *benchkit.Exporter
	if o.cpuProfile != "" || o.memProfile != "" {
		var stop func()
		if exp, stop, err = startInProcess(ctx, dir, cfg); err != nil {
			return false, err
		}
		defer stop()
		if o.cpuProfile != "" {
			f, err := os.Create(o.cpuProfile)
			if err != nil {
				return false, err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return false, err
			}
			defer pprof.StopCPUProfile()
		}
		if o.memProfile != "" {
			defer func() {
				if f, err := os.Create(o.memProfile); err == nil {
					runtime.GC()
					_ = pprof.WriteHeapProfile(f)
					f.Close()
				}
			}()
		}
	} else {
		// The world and the load generator keep little: let their garbage
		// grow before it is collected, so they take less of the CPU the
		// exporter is measured on.
		debug.SetGCPercent(400)
		if exp, err = benchkit.StartExporter(ctx, binary, dir, cfg, strings.Fields(o.exporterEnv)); err != nil {
			return false, err
		}
		defer exp.Stop()
	}

	targets, err := discover(exp.Base)
	if err != nil {
		return false, err
	}
	if len(targets) != o.domains {
		return false, fmt.Errorf("/sd served %d targets, want %d", len(targets), o.domains)
	}

	res, err := drive(ctx, o, w, exp, targets)
	if err != nil {
		return false, err
	}
	report(os.Stdout, o, w, machine, quiet, res)
	return res.ok(), nil
}

// exporterConfig is the default module (config.example.yml) pointed at the
// world: its resolver, its CA, its ports, loopback opened, the EHLO name
// fixed, the blocklists asked about loopback addresses (where the world's
// servers are) and the intervals of the run.
func exporterConfig(w *world, caFile string, interval time.Duration) (string, error) {
	lists := dnsbl.DefaultConfig().Lists
	for i := range lists {
		lists[i].PrivateAddresses = lists[i].Kind != dnsbl.KindDomain
	}
	listsYAML, err := yaml.Marshal(map[string]any{"lists": lists})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "targets_file: fleet.txt\nmodules:\n  mail:\n    resolvers: [%q]\n    ca_file: %s\n", w.dnsAddr, caFile)
	b.WriteString("    allowed_networks: [127.0.0.0/8]\n")
	// A fleet's rate times a request's time (some 200 ms with 10 ms per DNS
	// answer) is more requests than the default 64 running at once, as in
	// examples/fleet/exporter.yml.
	b.WriteString("    max_running_requests: 256\n")
	fmt.Fprintf(&b, "    min_interval: {smtp: %s, mtasts: %s, dnsbl: %s}\n", interval, interval, interval)
	if interval < 5*time.Minute {
		// A scaled-down run keeps DNS answers as long, relative to its
		// interval, as the default does at 5 minutes.
		fmt.Fprintf(&b, "    dns_cache_max_ttl: %s\n", interval)
	}
	b.WriteString("    mx: {}\n    spf: {}\n    dkim: {}\n    dmarc: {}\n    tlsrpt: {}\n")
	fmt.Fprintf(&b, "    mtasts: {https_port: %d}\n", w.httpsPort)
	fmt.Fprintf(&b, "    smtp: {port: %d, ehlo_name: prober.fleet.test}\n", w.smtpPort)
	b.WriteString("    dnsbl:\n")
	for _, line := range strings.Split(strings.TrimRight(string(listsYAML), "\n"), "\n") {
		b.WriteString("      " + line + "\n")
	}
	return b.String(), nil
}

// target is one target group member of /sd with its parameters.
type target struct {
	name   string
	params string // "&module=mail..."
}

// discover reads the fleet from the exporter's /sd, as Prometheus does.
func discover(base string) ([]target, error) {
	resp, err := http.Get(base + "/sd")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/sd: %s", resp.Status)
	}
	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&groups); err != nil {
		return nil, fmt.Errorf("/sd: %w", err)
	}
	var out []target
	for _, g := range groups {
		params := ""
		for k, v := range g.Labels {
			if name, ok := strings.CutPrefix(k, "__param_"); ok {
				params += "&" + name + "=" + v
			}
		}
		for _, t := range g.Targets {
			out = append(out, target{name: t, params: params})
		}
	}
	return out, nil
}

// intervalResult is what one interval's requests and the world saw.
type intervalResult struct {
	sent, answered, failed atomic.Int64
	success                atomic.Int64
	late                   atomic.Int64 // answered after the interval ended
	mu                     sync.Mutex
	latencies              benchkit.Durations
	probeErrors            map[string]int
	budgetErrors           int // dnsbl errors with no list erring: a spent budget
	failures               []string

	exporterCPU, worldCPU time.Duration
	questions             int64
	blocklists            map[string]int64
	smtp                  map[netip.Addr]int64
	httpsConns            int64
	overBudget            float64 // exporter's questions not asked, in the interval
	notStarted            float64 // SMTP connections the politeness bounds kept from starting
	start, end            time.Time
}

type runResult struct {
	intervals []*intervalResult
	peakRSS   int64
	// shortestGap is the shortest time between two SMTP connections to
	// one MX address over the run; closer counts the addresses with two
	// closer than the interval less the slack a domain's own run is due
	// early (probes.DueSlack).
	shortestGap time.Duration
	closer      int
	budgets     map[string]float64
	last24h     map[string]float64
	kept        map[string]float64 // the exporter's memories at the end
}

func (r *runResult) ok() bool {
	if r.closer > 0 {
		return false
	}
	for _, iv := range r.intervals {
		if iv.failed.Load() > 0 {
			return false
		}
	}
	return true
}

// offset spreads the targets over the interval by the hash of their name,
// as Prometheus spreads a job's scrapes.
func offset(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

func drive(ctx context.Context, o options, w *world, exp *benchkit.Exporter, targets []target) (*runResult, error) {
	client := benchkit.NewClient(4096)
	client.Timeout = o.scrapeTimeout + 5*time.Second
	type slot struct {
		at time.Duration
		t  target
	}
	plan := make([]slot, len(targets))
	for i, t := range targets {
		plan[i] = slot{offset(t.name, o.interval), t}
	}
	sort.Slice(plan, func(i, j int) bool { return plan[i].at < plan[j].at })

	res := &runResult{}
	var peak atomic.Int64
	stopSampling := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				if st, err := benchkit.Stat(exp.Pid()); err == nil && st.HWM > peak.Load() {
					peak.Store(st.HWM)
				}
			}
		}
	})

	var inflight sync.WaitGroup
	begin := time.Now()
	_ = w.smtpPerAddress()
	_ = w.blocklistCounts()
	for k := range o.intervals {
		iv := &intervalResult{probeErrors: map[string]int{}}
		res.intervals = append(res.intervals, iv)
		iv.start = begin.Add(time.Duration(k) * o.interval)
		iv.end = iv.start.Add(o.interval)
		expBefore, _ := benchkit.Stat(exp.Pid())
		selfBefore := benchkit.SelfCPU()
		qBefore := w.questions.Load()
		httpsBefore := w.httpsConns.Load()
		overBefore := sumMetric(exp, "deliverability_exporter_dnsbl_queries_over_budget_total")
		notStartedBefore := sumMetric(exp, "deliverability_exporter_smtp_connections_not_started_total")
		for _, s := range plan {
			time.Sleep(time.Until(iv.start.Add(s.at)))
			iv.sent.Add(1)
			inflight.Add(1)
			go func(t target) {
				defer inflight.Done()
				probeOnce(ctx, client, exp.Base, t, o.scrapeTimeout, iv)
			}(s.t)
		}
		time.Sleep(time.Until(iv.end))
		expAfter, _ := benchkit.Stat(exp.Pid())
		iv.exporterCPU = expAfter.CPU - expBefore.CPU
		iv.worldCPU = benchkit.SelfCPU() - selfBefore
		iv.questions = w.questions.Load() - qBefore
		iv.httpsConns = w.httpsConns.Load() - httpsBefore
		iv.blocklists = w.blocklistCounts()
		iv.smtp = w.smtpPerAddress()
		iv.overBudget = sumMetric(exp, "deliverability_exporter_dnsbl_queries_over_budget_total") - overBefore
		iv.notStarted = sumMetric(exp, "deliverability_exporter_smtp_connections_not_started_total") - notStartedBefore
		fmt.Fprintf(os.Stderr, "interval %d: %d sent, %d answered in it, %d failed, exporter CPU %s, load %.2f\n",
			k+1, iv.sent.Load(), iv.answered.Load()-iv.late.Load(), iv.failed.Load(), iv.exporterCPU, benchkit.LoadAverage())
	}
	inflight.Wait()
	close(stopSampling)
	sampler.Wait()
	if st, err := benchkit.Stat(exp.Pid()); err == nil && st.HWM > peak.Load() {
		peak.Store(st.HWM)
	}
	res.peakRSS = peak.Load()
	res.kept = map[string]float64{}
	for _, name := range []string{"deliverability_exporter_min_interval_results", "deliverability_exporter_min_interval_results_bytes",
		"deliverability_exporter_smtp_conversations_kept", "deliverability_exporter_smtp_conversations_held_total",
		"deliverability_exporter_smtp_conversations_reused_total"} {
		res.kept[name] = sumMetric(exp, name)
	}
	res.shortestGap, res.closer = w.smtpGaps(o.interval - probes.DueSlack(o.interval))
	res.budgets = metricByLabel(exp, "deliverability_exporter_dnsbl_query_budget")
	res.last24h = metricByLabel(exp, "deliverability_exporter_dnsbl_queries_last_24h")
	return res, nil
}

// probeOnce asks for one target as Prometheus would and reads what the
// report needs from the exposition: probe_success, the probes that could
// not finish, and whether a blocklist erred.
func probeOnce(ctx context.Context, client *http.Client, base string, t target, timeout time.Duration, iv *intervalResult) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/probe?target="+t.name+t.params, nil)
	if err != nil {
		iv.failed.Add(1)
		return
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprint(timeout.Seconds()))
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		iv.fail(t.name + ": " + err.Error())
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		iv.fail(fmt.Sprintf("%s: %s", t.name, resp.Status))
		return
	}
	var errored []string
	listErr := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1024), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case bytes.Equal(line, []byte("probe_success 1")):
			iv.success.Add(1)
		case bytes.HasPrefix(line, []byte(`mail_probe_error{probe="`)) && bytes.HasSuffix(line, []byte("} 1")):
			name, _, _ := strings.Cut(string(line[len(`mail_probe_error{probe="`):]), `"`)
			errored = append(errored, name)
		case bytes.HasPrefix(line, []byte("mail_dnsbl_list_error{")) && bytes.HasSuffix(line, []byte("} 1")):
			listErr = true
		}
	}
	took := time.Since(start)
	if err := sc.Err(); err != nil {
		iv.fail(fmt.Sprintf("%s: reading the answer: %v", t.name, err))
		return
	}
	iv.answered.Add(1)
	if time.Now().After(iv.end) {
		iv.late.Add(1)
	}
	iv.mu.Lock()
	iv.latencies = append(iv.latencies, took)
	for _, p := range errored {
		iv.probeErrors[p]++
		if p == "dnsbl" && !listErr {
			iv.budgetErrors++
		}
	}
	iv.mu.Unlock()
}

func (iv *intervalResult) fail(msg string) {
	iv.failed.Add(1)
	iv.mu.Lock()
	if len(iv.failures) < 5 {
		iv.failures = append(iv.failures, msg)
	}
	iv.mu.Unlock()
}

// sumMetric adds up every sample of a family of the exporter's /metrics.
func sumMetric(e *benchkit.Exporter, name string) float64 {
	total := 0.0
	for _, v := range metricByLabel(e, name) {
		total += v
	}
	return total
}

// metricByLabel reads every sample of a family, keyed by its labels.
func metricByLabel(e *benchkit.Exporter, name string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(e.Base + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		var v float64
		fmt.Sscan(line[i+1:], &v)
		labels := strings.TrimPrefix(line[:i], name)
		if _, zone, ok := strings.Cut(labels, `zone="`); ok {
			labels, _, _ = strings.Cut(zone, `"`)
		}
		out[labels] = v
	}
	return out
}

func report(out io.Writer, o options, w *world, machine, quiet string, r *runResult) {
	fmt.Fprintf(out, "## Fleet\n\nMeasured %s; %s.\n", machine, quiet)
	env := ""
	if o.exporterEnv != "" {
		env = fmt.Sprintf(" -exporter-env %q", o.exporterEnv)
	}
	fmt.Fprintf(out, "`go run ./bench/fleet -domains %d -interval %s -intervals %d -dns-delay %s -smtp-delay %s%s`: %d domains (%s), "+
		"each probed once per interval at an offset of its own, %.0f probes/s asked; the default module with min_interval %s for smtp, mtasts and dnsbl, "+
		"the exporter binary, the world's servers and the load generator on the same %s.\n\n",
		o.domains, o.interval, o.intervals, o.dnsDelay, o.smtpDelay, env, o.domains, w.shape(), float64(o.domains)/o.interval.Seconds(), o.interval, "machine")

	header := []string{""}
	for i := range r.intervals {
		name := fmt.Sprintf("interval %d", i+1)
		if i == 0 {
			name += " (cold)"
		}
		header = append(header, name)
	}
	row := func(label string, f func(iv *intervalResult) string) []string {
		cells := []string{label}
		for _, iv := range r.intervals {
			cells = append(cells, f(iv))
		}
		return cells
	}
	secs := o.interval.Seconds()
	mxAddrs := w.mxAddressCount()
	rows := [][]string{
		row("probes asked / answered in the interval", func(iv *intervalResult) string {
			return fmt.Sprintf("%d / %d", iv.sent.Load(), iv.answered.Load()-iv.late.Load())
		}),
		row("**probes/s sustained**", func(iv *intervalResult) string {
			return fmt.Sprintf("**%.0f**", float64(iv.answered.Load()-iv.late.Load())/secs)
		}),
		row("latency p50 / p99", func(iv *intervalResult) string {
			return benchkit.Ms(iv.latencies.Pct(50)) + " / " + benchkit.Ms(iv.latencies.Pct(99))
		}),
		row("requests failed (not 200, or no answer)", func(iv *intervalResult) string { return fmt.Sprint(iv.failed.Load()) }),
		row("probe_success 1", func(iv *intervalResult) string { return pct(iv.success.Load(), iv.answered.Load()) }),
		row("probes that could not finish, by probe", func(iv *intervalResult) string { return probeErrors(iv.probeErrors) }),
		row("… of them dnsbl with a spent budget (no list erring)", func(iv *intervalResult) string { return fmt.Sprint(iv.budgetErrors) }),
		row("SMTP connections the politeness bounds kept from starting", func(iv *intervalResult) string { return fmt.Sprint(iv.notStarted) }),
		row("**exporter CPU per domain**", func(iv *intervalResult) string {
			return fmt.Sprintf("**%.2f ms**", perDomain(iv.exporterCPU, iv))
		}),
		row("world + load generator CPU per domain", func(iv *intervalResult) string {
			return fmt.Sprintf("%.2f ms", perDomain(iv.worldCPU, iv))
		}),
		row("machine CPU used (of 2 cores)", func(iv *intervalResult) string {
			return fmt.Sprintf("%.0f%%", 100*(iv.exporterCPU+iv.worldCPU).Seconds()/secs/2)
		}),
		row("**DNS questions per domain**", func(iv *intervalResult) string {
			return fmt.Sprintf("**%.1f**", float64(iv.questions)/float64(max(iv.sent.Load(), 1)))
		}),
		row("… of them to blocklists", func(iv *intervalResult) string {
			n := int64(0)
			for _, v := range iv.blocklists {
				n += v
			}
			return fmt.Sprintf("%.2f", float64(n)/float64(max(iv.sent.Load(), 1)))
		}),
		row("**SMTP connections per MX address** (mean / max)", func(iv *intervalResult) string {
			total, most, over := int64(0), int64(0), 0
			for _, n := range iv.smtp {
				total += n
				most = max(most, n)
				if n > 1 {
					over++
				}
			}
			return fmt.Sprintf("**%.2f / %d** (%d addresses of %d, %d with more than one)", float64(total)/float64(max(len(iv.smtp), 1)), most, len(iv.smtp), mxAddrs, over)
		}),
		row("MTA-STS policy fetches", func(iv *intervalResult) string { return fmt.Sprint(iv.httpsConns) }),
	}
	fmt.Fprint(out, benchkit.Table(header, rows))
	if r.shortestGap > 0 {
		fmt.Fprintf(out, "\nBetween two SMTP connections to one MX address: at least **%s** over the run (%d addresses with two closer than %s, the interval less the tenth a domain's own run is due early). "+
			"A connection counts in the interval the world accepted it in: the conversation of a request sent at the very end of one interval may begin in the next, beside that domain's next conversation.\n",
			r.shortestGap.Round(100*time.Millisecond), r.closer, o.interval-probes.DueSlack(o.interval))
	}
	fmt.Fprintf(out, "\nPeak RSS of the exporter (VmHWM) over the run: **%s**. At the end it kept %.0f results for min_interval (%s as counted) "+
		"and %.0f SMTP conversations; it held %.0f conversations in all and served %.0f from them.\n\n",
		benchkit.MiB(r.peakRSS), r.kept["deliverability_exporter_min_interval_results"], benchkit.MiB(int64(r.kept["deliverability_exporter_min_interval_results_bytes"])),
		r.kept["deliverability_exporter_smtp_conversations_kept"], r.kept["deliverability_exporter_smtp_conversations_held_total"],
		r.kept["deliverability_exporter_smtp_conversations_reused_total"])
	for i, iv := range r.intervals {
		for _, f := range iv.failures {
			fmt.Fprintf(out, "Interval %d, a failed request: %s\n\n", i+1, f)
		}
	}

	fmt.Fprintf(out, "Blocklist queries per interval (questions the world's DNS received for the list) against the daily budget:\n\n")
	zones := slices.Sorted(func(yield func(string) bool) {
		for z := range r.intervals[0].blocklists {
			if !yield(z) {
				return
			}
		}
	})
	bh := append([]string{"list"}, header[1:]...)
	bh = append(bh, "last 24 h (exporter)", "daily budget")
	var brows [][]string
	for _, z := range zones {
		cells := []string{z}
		for _, iv := range r.intervals {
			cells = append(cells, fmt.Sprint(iv.blocklists[z]))
		}
		budget := "none"
		if b, ok := r.budgets[z]; ok {
			budget = fmt.Sprintf("%.0f", b)
		}
		cells = append(cells, fmt.Sprintf("%.0f", r.last24h[z]), budget)
		brows = append(brows, cells)
	}
	fmt.Fprint(out, benchkit.Table(bh, brows))
	overs := make([]string, len(r.intervals))
	for i, iv := range r.intervals {
		overs[i] = fmt.Sprintf("%.0f", iv.overBudget)
	}
	fmt.Fprintf(out, "\nQuestions not asked because a budget was spent, per interval: %s.\n", strings.Join(overs, ", "))
}

func perDomain(cpu time.Duration, iv *intervalResult) float64 {
	return float64(cpu.Microseconds()) / 1000 / float64(max(iv.sent.Load(), 1))
}

func pct(n, of int64) string {
	if of == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%.1f%%)", n, 100*float64(n)/float64(of))
}

func probeErrors(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%s %d", p, m[p]))
	}
	return strings.Join(parts, ", ")
}

// shape says how the fleet is spread over the platforms.
func (w *world) shape() string {
	var parts []string
	prev := 0
	regional := 0
	for j, p := range w.platforms {
		n := w.bounds[j] - prev
		prev = w.bounds[j]
		if strings.HasPrefix(p.name, "region") {
			regional += n
			continue
		}
		parts = append(parts, fmt.Sprintf("%d on %s (%d MX hosts)", n, p.name, len(p.mx)))
	}
	parts = append(parts, fmt.Sprintf("%d on 20 regional providers", regional),
		fmt.Sprintf("%d self-hosted, a server each", w.n-prev))
	return strings.Join(parts, ", ")
}

// mxAddressCount is the number of MX addresses in the world.
func (w *world) mxAddressCount() int {
	return len(w.nameBy) + w.n - w.bounds[len(w.bounds)-1]
}
