package hostile_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/internal/hostile"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/web"
)

// TestMain fails the package if any goroutine outlives its tests: a sweep
// of the DNS cache that does not stop, a probe left running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func startServer(t *testing.T) *hostile.Server {
	t.Helper()
	s, err := hostile.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// engine loads a config holding the hostile module through a file, as the
// exporter does, with its metrics registered on reg.
func engine(t *testing.T, module string, reg prometheus.Registerer) *collector.Engine {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hostile.yml")
	if err := os.WriteFile(path, []byte("modules:\n"+module), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := collector.NewEngine(path, log.NewNopLogger(), reg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func run(t *testing.T, m *collector.Module, target string) *collector.Report {
	t.Helper()
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return m.Run(ctx, &probes.Request{Target: tgt}, collector.RunOptions{})
}

// peakGoroutines samples the number of goroutines until stop is closed and
// returns the largest seen.
func peakGoroutines(stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	go func() {
		peak := runtime.NumGoroutine()
		for {
			select {
			case <-stop:
				out <- peak
				return
			default:
			}
			peak = max(peak, runtime.NumGoroutine())
			runtime.Gosched()
		}
	}()
	return out
}

func seriesOf(t *testing.T, r *collector.Report) int {
	t.Helper()
	reg, _ := r.Registry()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		n += len(mf.GetMetric())
	}
	return n
}

// everyAddressChecks are the checks that judge every MX host or address:
// with 100,800 addresses published and 256 looked at, none may pass.
var everyAddressChecks = []string{
	"ptr.present", "ptr.fcrdns", "ptr.not_generic", "ptr.role_label",
	"dnsbl.ip", "spf.authorizes_outbound",
	"smtp.reachable", "smtp.starttls", "tls.version", "tls.cert_trusted",
}

// TestWideDomainStaysWithinTheRequestBudget reproduces finding 1 of issue
// 17: 16 MX hosts with 4,000 A and 2,300 AAAA records each. Before the
// request budget one request asked 96,266 questions, ran 69,417 goroutines
// and answered with 96,000 series. Now every number is bounded by the
// module's limits, and every check that could only look at part of the
// addresses is undecided with the limit as its reason.
func TestWideDomainStaysWithinTheRequestBudget(t *testing.T) {
	srv := startServer(t)
	e := engine(t, hostile.Module("hostile", srv.Addr, ""), nil)
	m, _ := e.Current().Module("hostile")
	limits := m.Limits()

	before := runtime.NumGoroutine()
	stop := make(chan struct{})
	peak := peakGoroutines(stop)
	report := run(t, m, hostile.WideDomain)
	close(stop)
	peakG := <-peak

	distinct, ptr := srv.Questions()
	t.Logf("%d distinct questions (%d PTR), %d messages; %d answer bytes held; peak %d goroutines (%d before); %d series; report %d bytes",
		distinct, ptr, srv.Messages(), report.DNS.AnswerBytes, peakG, before, seriesOf(t, report), report.Size())

	if distinct > limits.DNSQuestions || report.DNS.Questions > int64(limits.DNSQuestions) {
		t.Errorf("%d distinct questions reached the server (%d counted), more than limits.dns_questions %d", distinct, report.DNS.Questions, limits.DNSQuestions)
	}
	if ptr > limits.PTRQuestions {
		t.Errorf("%d PTR questions, more than limits.ptr_questions %d", ptr, limits.PTRQuestions)
	}
	if report.DNS.AnswerBytes > int64(limits.DNSAnswerBytes) {
		t.Errorf("the request held %d bytes of answers, more than limits.dns_answer_bytes %d", report.DNS.AnswerBytes, limits.DNSAnswerBytes)
	}
	if report.DNS.OverBudget == 0 {
		t.Error("no question met the DNS budget: the world is not hostile enough to test it")
	}
	if n := seriesOf(t, report); n > limits.Series {
		t.Errorf("%d series, more than limits.series %d", n, limits.Series)
	}
	// The goroutines a request may run: the blocklist queries
	// (max_concurrency 256), the SMTP sessions (one waiting per address
	// looked at, 16 x 16), the reverse lookups (32 addresses with their 4
	// forward names), the SPF evaluations (64 addresses), and the probes and
	// lookups besides: about 1,000, however many addresses the domain
	// publishes.
	if grew := peakG - before; grew > 1500 {
		t.Errorf("the request ran %d goroutines at its peak, more than the 1,500 its limits allow", grew)
	}

	checks := map[string]probes.Check{}
	for _, p := range report.Probes {
		for _, c := range p.Result.Checks() {
			checks[c.ID] = c
		}
	}
	for _, id := range everyAddressChecks {
		c, ok := checks[id]
		if !ok {
			t.Errorf("%s was not recorded", id)
			continue
		}
		if c.Status == probes.StatusPass {
			t.Errorf("%s passed over the part of the addresses looked at: %s", id, c.Reason)
		}
		if c.Status == probes.StatusError && !strings.Contains(c.Reason, "limits.") && !strings.Contains(c.Reason, "denied_networks") {
			t.Logf("%s is undecided for another reason: %s", id, c.Reason)
		}
	}
	if c := checks["ptr.present"]; c.Status != probes.StatusError || !strings.Contains(c.Reason, "limits.") {
		t.Errorf("ptr.present = %s (%s), want undecided by a limit", c.Status, c.Reason)
	}
	if report.Success() {
		t.Error("a report that could not look at every address is a success")
	}

	// The history keeps at most limits.report_bytes of it.
	h := web.NewHistory(1)
	kept, _ := h.Get(h.Add(report, strings.Repeat("a log line\n", 10000)))
	if size := kept.Report.Size() + int64(len(kept.Logs)); size > int64(limits.ReportBytes) {
		t.Errorf("the history keeps %d bytes of the report, more than limits.report_bytes %d", size, limits.ReportBytes)
	}
}

// TestWideDomainWithTighterLimits: the limits are the module's. With 4 MX
// hosts, 4 addresses each and 8 PTR questions the request asks and holds
// far less, and says which limit stopped it.
func TestWideDomainWithTighterLimits(t *testing.T) {
	srv := startServer(t)
	e := engine(t, hostile.Module("tight", srv.Addr, `    limits:
      mx_hosts: 4
      addresses_per_host: 4
      ptr_questions: 8
      dns_questions: 300
      dns_answer_bytes: 4MiB
`), nil)
	m, _ := e.Current().Module("tight")
	report := run(t, m, hostile.WideDomain)
	distinct, ptr := srv.Questions()
	if ptr > 8 || distinct > 300 {
		t.Errorf("%d questions, %d PTR: want at most 300 and 8", distinct, ptr)
	}
	mx := report.Probes[0]
	if mx.Name != "mx" {
		t.Fatalf("first probe %s, want mx", mx.Name)
	}
	c, _ := mx.Result.Check("ptr.fcrdns")
	want := "wide.test publishes 16 MX hosts; only the 4 most preferred were looked at (the module's limits.mx_hosts is 4)"
	if c.Status != probes.StatusError || c.Reason != want {
		t.Errorf("ptr.fcrdns = %s (%s), want undecided: %s", c.Status, c.Reason, want)
	}
	errs := strings.Join(mx.Result.Errors(), "\n")
	for _, limit := range []string{"limits.mx_hosts is 4", "limits.addresses_per_host is 4"} {
		if !strings.Contains(errs, limit) {
			t.Errorf("the mx probe's errors do not name %s:\n%s", limit, errs)
		}
	}
}

// TestManyDomainsWithLargeAnswersStayWithinTheCacheBound reproduces
// finding 3 of issue 17 through the engine: requests for 600 domains whose
// every answer is about 60 KB. The DNS cache kept across requests was
// bounded at 100,000 entries and took 2.5 GB; bounded in bytes, it never
// holds more than dns_cache_max_bytes, which the exporter's metrics show.
func TestManyDomainsWithLargeAnswersStayWithinTheCacheBound(t *testing.T) {
	if testing.Short() {
		t.Skip("600 probe requests")
	}
	srv := startServer(t)
	reg := prometheus.NewRegistry()
	const bound = 4 << 20
	// One probe whose question about the domain gets a 60 KB answer: what
	// the cache keeps of 600 domains does not depend on how many answers
	// each has, and the race detector makes every decoded 60 KB count.
	module := `  big:
    timeout: 30s
    resolvers: ["` + srv.Addr + `"]
    dns_attempts: 1
    dns_cache_max_bytes: 4MiB
    tlsrpt: {}
`
	e := engine(t, module, reg)
	m, _ := e.Current().Module("big")
	var wg sync.WaitGroup
	var over atomic.Int64
	next := atomic.Int64{}
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < 600; i = int(next.Add(1)) - 1 {
				run(t, m, hostile.BigDomain(i))
				if st := m.DNSCacheStats(); st.Bytes > bound {
					over.Store(st.Bytes)
				}
			}
		})
	}
	wg.Wait()
	if b := over.Load(); b != 0 {
		t.Errorf("the cache held %d bytes, more than its bound %d", b, bound)
	}
	distinct, _ := srv.Questions()
	if distinct < 600 {
		t.Fatalf("only %d distinct questions: the requests did not ask about 600 domains", distinct)
	}
	values := gauges(t, reg, "big")
	if values["deliverability_exporter_dns_cache_max_bytes"] != bound {
		t.Errorf("exported bound %v, want %d", values["deliverability_exporter_dns_cache_max_bytes"], bound)
	}
	held := values["deliverability_exporter_dns_cache_bytes"]
	if held <= 0 || held > bound {
		t.Errorf("exported %v bytes held, want some, at most %d", held, bound)
	}
	entries := values["deliverability_exporter_dns_cache_entries"]
	if entries <= 0 || entries >= float64(distinct) {
		t.Errorf("%v entries kept of %d answers: the bound in bytes did not evict", entries, distinct)
	}
}

// gauges returns the values of the module's DNS cache gauges.
func gauges(t *testing.T, reg *prometheus.Registry, module string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "module" && l.GetValue() == module {
					out[mf.GetName()] = metric.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

// clock is a settable clock for the DNS client's cache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestExpiredLargeAnswersAreFreed is the rest of finding 3: 7.5 minutes
// after the last request, past the 5-minute TTL cap, the heap still held
// 1.45 GB of expired answers. Now the sweep frees them, whoever asks, and
// stops with the client.
func TestExpiredLargeAnswersAreFreed(t *testing.T) {
	srv := startServer(t)
	clk := &clock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	const bound = 8 << 20
	c, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: 5 * time.Second, Attempts: 1,
		CacheMaxTTL: 5 * time.Minute, CacheMaxBytes: bound, CacheSweepEvery: time.Millisecond, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	base := heapInUse()
	for i := range 600 {
		r := c.NewResolver()
		if _, err := r.Lookup(context.Background(), hostile.BigDomain(i), dns.TypeTXT); err != nil {
			t.Fatal(err)
		}
		if st := c.CacheStats(); st.Bytes > bound {
			t.Fatalf("after %d domains the cache holds %d bytes, more than %d", i+1, st.Bytes, bound)
		}
	}
	full := c.CacheStats()
	grown := int64(heapInUse()) - int64(base)
	t.Logf("600 answers of ~63 KB: %d kept in %d bytes; heap grew %d bytes", full.Entries, full.Bytes, grown)
	if full.Entries == 0 || full.Entries >= 600 {
		t.Errorf("%d answers kept: want the cache full, not holding all 600", full.Entries)
	}
	// What the cache holds is what the heap holds: the wire form of the
	// answers it counts, not their decoded copies.
	if grown > 2*bound {
		t.Errorf("the heap grew %d bytes with a cache of %d: the answers are held elsewhere too", grown, full.Bytes)
	}

	clk.advance(7*time.Minute + 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for c.CacheStats().Entries > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the sweep left %d expired answers", c.CacheStats().Entries)
		}
		time.Sleep(time.Millisecond)
	}
	if st := c.CacheStats(); st.Bytes != 0 {
		t.Errorf("no answers kept but %d bytes counted", st.Bytes)
	}
	if after := int64(heapInUse()) - int64(base); after > bound/4 {
		t.Errorf("the heap still holds %d bytes more than before the requests once every answer expired", after)
	}
	c.Close() // stops the sweep: goleak checks no goroutine is left
}

// TestBudgetErrorsAreUndecidedNotFailures: a check whose lookups the
// budget refused is undecided, never a failure of the domain.
func TestBudgetErrorsAreUndecidedNotFailures(t *testing.T) {
	srv := startServer(t)
	e := engine(t, hostile.Module("hostile", srv.Addr, "    limits: {dns_questions: 10}\n"), nil)
	m, _ := e.Current().Module("hostile")
	report := run(t, m, hostile.BigDomain(0))
	if report.DNS.OverBudget == 0 {
		t.Fatal("no question met the budget of 10")
	}
	budgetErrs := 0
	for _, p := range report.Probes {
		for _, c := range p.Result.Checks() {
			switch {
			case c.Status == probes.StatusError && strings.Contains(c.Reason, "limits.dns_questions is 10"):
				budgetErrs++
			case c.Status == probes.StatusFail && strings.Contains(c.Reason+c.Remediation, "limits."):
				t.Errorf("%s failed because of the budget: %s", c.ID, c.Reason)
			}
		}
	}
	if budgetErrs == 0 {
		t.Error("no check is undecided by the DNS budget")
	}
}
