// Command latency measures a probe request of the test domain
// (bench.test: 2 MX hosts with IPv4 and IPv6 and STARTTLS servers, 3 DKIM
// selectors, 6 blocklists, MTA-STS, TLS-RPT, DANE, DMARC with an external
// report destination) with the full mail module against the physical limit,
// and counts the DNS questions it sends against those it needs. Everything
// runs in this process on loopback:
//
//	go run ./bench/latency
//
// It reports, as Markdown:
//
//  1. the longest chain of dependent DNS questions, from a run with the DNS
//     server in lockstep (answers held until the client has asked all it
//     can, so each round is one link of the chain), with the questions of
//     each round;
//  2. the SMTP/TLS exchange (every MX address at once, DNS answers cached);
//  3. the limit: chain × the DNS delay + the SMTP/TLS exchange, and the
//     measured time of a probe request with every answer delayed by
//     -dns-delay (20 ms), cold (fresh process-wide caches each run) and
//     warm (the blocklist cache and MTA-STS memory kept), and the ratio;
//  4. the questions sent against the minimum, by group, and repeats.
//
// With -check it exits 1 when the ratio is above 1.5 or a question is
// repeated.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/bench/benchkit"
	"github.com/deliverability-exporter/deliverability_exporter/bench/benchworld"
	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// waitMax bounds the wait for a quiet machine.
var waitMax *time.Duration

func main() {
	delay := flag.Duration("dns-delay", 20*time.Millisecond, "delay of every DNS answer")
	runs := flag.Int("runs", 30, "measured probe requests per variant")
	quiet := flag.Duration("quiet", 150*time.Millisecond, "lockstep quiet period (longer than the SMTP exchange, so questions asked after it join the round they run beside)")
	check := flag.Bool("check", false, "exit 1 when the ratio is above 1.5 or a question is repeated")
	waitLoad := flag.Float64("wait-load", 0, "first wait (at most -wait-max) for the 1-minute load average to fall below this; 0: do not wait")
	waitMax = flag.Duration("wait-max", 10*time.Minute, "the longest wait for -wait-load")
	flag.Parse()
	ok, err := run(*delay, *runs, *quiet, *waitLoad)
	if err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(2)
	}
	if *check && !ok {
		os.Exit(1)
	}
}

func run(delay time.Duration, runs int, quiet time.Duration, waitLoad float64) (bool, error) {
	var loadNote string
	if waitLoad > 0 {
		loadNote = benchkit.WaitQuiet(waitLoad, *waitMax)
	}
	w, err := benchworld.Start(benchworld.Options{Shape: benchworld.Mapped})
	if err != nil {
		return false, err
	}
	defer w.Close()
	needed := w.Needed()
	moduleYAML := w.Module("mail", benchworld.ModuleOptions{})
	newRunner := func(yaml string) (*benchkit.Runner, error) {
		m, err := benchkit.ParseModule(yaml, "mail")
		if err != nil {
			return nil, err
		}
		return benchkit.NewRunner(m, w.Dialer, w.CA.Pool)
	}
	ctx := context.Background()

	// The domain must be healthy, or the measurement is of error paths.
	r, err := newRunner(moduleYAML)
	if err != nil {
		return false, err
	}
	w.DNS.ResetQueries()
	rep, err := r.Run(ctx, benchworld.Domain)
	if err != nil {
		return false, err
	}
	if p := benchkit.Problems(rep); len(p) > 0 {
		return false, fmt.Errorf("bench.test is not healthy:\n  %s", strings.Join(p, "\n  "))
	}
	var asked []benchworld.Question
	for _, q := range w.DNS.Queries() {
		asked = append(asked, benchworld.Question{Name: q.Name, Type: q.Type})
	}
	cmp := benchworld.Compare(asked, needed)
	checks := 0
	for _, p := range rep.Probes {
		checks += len(p.Result.Checks())
	}

	// Lockstep, through a proxy that tells the rounds apart.
	proxy, err := benchkit.StartProxy(w.DNS.Addr)
	if err != nil {
		return false, err
	}
	defer proxy.Close()
	lr, err := newRunner(w.Module("mail", benchworld.ModuleOptions{Resolver: proxy.Addr}))
	if err != nil {
		return false, err
	}
	w.DNS.SetLockstep(quiet)
	lrep, err := lr.Run(ctx, benchworld.Domain)
	chain := w.DNS.Rounds()
	w.DNS.SetLockstep(0)
	if err != nil {
		return false, err
	}
	if p := benchkit.Problems(lrep); len(p) > 0 {
		return false, fmt.Errorf("lockstep run not healthy:\n  %s", strings.Join(p, "\n  "))
	}
	rounds, err := benchkit.Rounds(proxy.Log(), quiet/2)
	if err != nil {
		return false, err
	}
	if len(rounds) != chain {
		return false, fmt.Errorf("the proxy saw %d rounds, the server counted %d", len(rounds), chain)
	}
	heloRound := 0
	for i, rd := range rounds {
		for _, e := range rd {
			if e.Type == dns.TypeTXT && (e.Name == benchworld.MX1+"." || e.Name == benchworld.MX2+".") {
				heloRound = i + 1
			}
		}
	}

	// The SMTP/TLS exchange and the policy fetch, with every DNS answer
	// in the request's cache already.
	smtpTime, err := benchkit.SMTPExchange(ctx, w, r.Module, 30)
	if err != nil {
		return false, err
	}
	httpsTime, err := benchkit.PolicyFetch(ctx, w, 30)
	if err != nil {
		return false, err
	}

	// The same without added delay: the CPU the request costs on this
	// machine, which the delayed runs pay on top of the waiting.
	var floor benchkit.Durations
	for i := 0; i < runs; i++ {
		cr, err := newRunner(moduleYAML)
		if err != nil {
			return false, err
		}
		rep, err := cr.Run(ctx, benchworld.Domain)
		if err != nil {
			return false, err
		}
		floor = append(floor, rep.Duration)
	}

	// The measured runs.
	w.DNS.SetDelay(delay)
	var cold, warm benchkit.Durations
	perProbe := map[string]benchkit.Durations{}
	for i := 0; i < runs; i++ {
		cr, err := newRunner(moduleYAML)
		if err != nil {
			return false, err
		}
		rep, err := cr.Run(ctx, benchworld.Domain)
		if err != nil {
			return false, err
		}
		if p := benchkit.Problems(rep); len(p) > 0 {
			return false, fmt.Errorf("cold run not healthy:\n  %s", strings.Join(p, "\n  "))
		}
		cold = append(cold, rep.Duration)
		for _, p := range rep.Probes {
			perProbe[p.Name] = append(perProbe[p.Name], p.Duration)
		}
	}
	wr, err := newRunner(moduleYAML)
	if err != nil {
		return false, err
	}
	if _, err := wr.Run(ctx, benchworld.Domain); err != nil { // fills the caches
		return false, err
	}
	for i := 0; i < runs; i++ {
		rep, err := wr.Run(ctx, benchworld.Domain)
		if err != nil {
			return false, err
		}
		warm = append(warm, rep.Duration)
	}

	// The collector's own path (Module.Run, the module's dialer) on the
	// Loopback shape, where the blocklists are asked about names only.
	loop, err := benchworld.Start(benchworld.Options{Shape: benchworld.Loopback})
	if err != nil {
		return false, err
	}
	defer loop.Close()
	loop.DNS.SetDelay(delay)
	var viaCollector benchkit.Durations
	for i := 0; i < runs; i++ {
		m, err := benchkit.ParseModule(loop.Module("mail", benchworld.ModuleOptions{}), "mail")
		if err != nil {
			return false, err
		}
		t, _ := probes.ParseTarget(benchworld.Domain)
		rep := m.Run(ctx, &probes.Request{Target: t}, collector.RunOptions{})
		if p := benchkit.Problems(rep); len(p) > 0 {
			return false, fmt.Errorf("collector run not healthy:\n  %s", strings.Join(p, "\n  "))
		}
		viaCollector = append(viaCollector, rep.Duration)
	}
	loop.DNS.SetDelay(0)
	loop.DNS.SetLockstep(quiet)
	{
		m, err := benchkit.ParseModule(loop.Module("mail", benchworld.ModuleOptions{}), "mail")
		if err != nil {
			return false, err
		}
		t, _ := probes.ParseTarget(benchworld.Domain)
		m.Run(ctx, &probes.Request{Target: t}, collector.RunOptions{})
	}
	loopChain := loop.DNS.Rounds()
	loop.DNS.SetLockstep(0)

	// The limit: the longest chain of dependent steps. DNS rounds alone
	// are chain × delay; the SMTP conversation needs the MX addresses
	// (round 2) and the EHLO names it yields are looked up (spf.helo) in
	// round heloRound, so that path is heloRound × delay + SMTP.
	limit := time.Duration(chain) * delay
	smtpPath := 2*delay + smtpTime.Pct(50)
	if heloRound > 0 {
		smtpPath = time.Duration(heloRound)*delay + smtpTime.Pct(50)
	}
	limit = max(limit, smtpPath)
	ratio := float64(cold.Pct(50)) / float64(limit)
	ratio90 := float64(cold.Pct(90)) / float64(limit)
	warmRatio := float64(warm.Pct(50)) / float64(limit)

	// Report.
	fmt.Printf("## Latency against the physical limit\n\n")
	fmt.Printf("Measured %s", benchkit.Machine())
	if loadNote != "" {
		fmt.Printf("; %s", loadNote)
	}
	fmt.Printf(".\n`go run ./bench/latency` (-dns-delay %s, -runs %d).\n\n", delay, runs)
	fmt.Printf("bench.test with the full mail module (%s): %d checks, all passing.\n\n", strings.Join(r.Module.ProbeNames(), " "), checks)
	rows := [][]string{
		{"longest chain of dependent DNS questions (lockstep rounds)", fmt.Sprint(chain)},
		{"SMTP/TLS exchange: STARTTLS with all 4 MX addresses at once, DNS cached", smtpTime.Summary()},
		{"MTA-STS policy fetch (HTTPS), DNS cached", httpsTime.Summary()},
		{limitText(chain, heloRound, delay), benchkit.Ms(limit)},
		{"the same request without added DNS delay, cold (CPU and loopback only)", floor.Summary()},
		{"measured, cold (fresh blocklist cache and MTA-STS memory each run)", cold.Summary()},
		{"**ratio** measured p50 / limit (p90 / limit)", fmt.Sprintf("**%.2f** (%.2f)", ratio, ratio90)},
		{"measured, warm (blocklist answers from the process cache)", warm.Summary()},
		{"ratio warm p50 / limit", fmt.Sprintf("%.2f", warmRatio)},
		{fmt.Sprintf("through collector.Module.Run, loopback addresses (blocklists asked about names only), %d lockstep rounds", loopChain), viaCollector.Summary()},
	}
	fmt.Println(benchkit.Table([]string{"", "value"}, rows))

	fmt.Printf("### The rounds (lockstep, %s quiet period)\n\n", quiet)
	var rrows [][]string
	for i, rd := range rounds {
		groups := map[string]int{}
		for _, e := range rd {
			groups[what(benchworld.Question{Name: e.Name, Type: e.Type}, needed)]++
		}
		var parts []string
		for g, n := range groups {
			parts = append(parts, fmt.Sprintf("%s ×%d", g, n))
		}
		sort.Strings(parts)
		rrows = append(rrows, []string{fmt.Sprint(i + 1), fmt.Sprint(len(rd)), strings.Join(parts, "; ")})
	}
	fmt.Println(benchkit.Table([]string{"round", "questions", "what"}, rrows))

	fmt.Printf("### Time per probe (cold, %s per DNS answer, p50)\n\n", delay)
	var prows [][]string
	for _, name := range r.Module.ProbeNames() {
		prows = append(prows, []string{name, benchkit.Ms(perProbe[name].Pct(50))})
	}
	fmt.Println(benchkit.Table([]string{"probe", "p50"}, prows))

	nNeed, nSent := cmp.Totals()
	fmt.Printf("## DNS questions per probe request\n\n")
	fmt.Printf("bench.test, full mail module, one cold request: %d questions sent, %d needed, %d repeated.\n\n", nSent, nNeed, len(cmp.Repeated))
	var qrows [][]string
	for _, g := range cmp.Groups {
		qrows = append(qrows, []string{g, fmt.Sprint(cmp.Needed[g]), fmt.Sprint(cmp.Sent[g])})
	}
	qrows = append(qrows, []string{"**total**", fmt.Sprintf("**%d**", nNeed), fmt.Sprintf("**%d**", nSent)})
	fmt.Println(benchkit.Table([]string{"group", "needed", "sent"}, qrows))
	if len(cmp.Extra) > 0 {
		fmt.Printf("Sent but not needed: %s\n\n", strings.Join(cmp.Extra, ", "))
	}
	if len(cmp.Missing) > 0 {
		fmt.Printf("Needed but not sent: %s\n\n", strings.Join(cmp.Missing, ", "))
	}
	if len(cmp.Repeated) > 0 {
		fmt.Printf("Repeated: %v\n\n", cmp.Repeated)
	}
	fmt.Printf("DNS messages the request counted (mail_dns_queries): %d\n\n", rep.DNS.Queries)

	ok := ratio <= 1.5 && len(cmp.Repeated) == 0
	return ok, nil
}

// limitText says how the limit was computed.
func limitText(chain, heloRound int, delay time.Duration) string {
	if heloRound >= chain {
		return fmt.Sprintf("**limit** = %d × %s + SMTP/TLS p50 (MX → A/AAAA → SMTP → TXT of the EHLO names)", heloRound, delay)
	}
	return fmt.Sprintf("**limit** = max(%d × %s, %d × %s + SMTP/TLS p50)", chain, delay, max(heloRound, 2), delay)
}

// what names a question's group, short, for the rounds table.
func what(q benchworld.Question, needed []benchworld.Need) string {
	g := benchworld.Classify(q, needed)
	switch {
	case q.Type == dns.TypeTXT && (q.Name == benchworld.MX1+"." || q.Name == benchworld.MX2+"."):
		return "spf.helo TXT (after SMTP)"
	case g == "dnsbl" && (strings.HasPrefix(q.Name, "2.0.0.127.") || strings.HasPrefix(q.Name, "1.0.0.127.") || strings.HasPrefix(q.Name, "test.") || strings.HasPrefix(q.Name, "invalid.")):
		return "dnsbl test points"
	case g == "dnsbl":
		return "dnsbl subjects"
	case strings.HasPrefix(g, "unexpected") && q.Type == dns.TypeCAA:
		return "mx: CAA of the parent, asked beside the domain's (speculative)"
	}
	return g + " " + dns.TypeToString[q.Type]
}
