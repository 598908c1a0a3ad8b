package collector

import (
	"context"
	"crypto/x509"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// How a run divides the time to its deadline (the context's: when the
// answer must be out). Counting back from it: a reserve to render and
// write the answer; a grace period for probes to hand back what they have
// past their own deadline; and, before that, a lead by which the facts
// the probes share (the SMTP conversations) are settled, so that every
// probe reads the same conversation whichever started it, and has time to
// judge it. Each is a twentieth of the time, within bounds.
const (
	straggleGrace    = 250 * time.Millisecond
	minStraggleGrace = 10 * time.Millisecond
	renderReserve    = 500 * time.Millisecond
	minRenderReserve = 10 * time.Millisecond
	factsLead        = 250 * time.Millisecond
	minFactsLead     = 5 * time.Millisecond
)

// plan is when a run's probes, its shared facts and its wait for
// stragglers end.
type plan struct {
	probes, facts, giveUp time.Time
	hasDeadline           bool
}

func planRun(ctx context.Context, start time.Time) plan {
	answerBy, ok := ctx.Deadline()
	if !ok {
		return plan{}
	}
	share := answerBy.Sub(start) / 20
	giveUp := answerBy.Add(-min(max(share, minRenderReserve), renderReserve))
	probes := giveUp.Add(-min(max(share, minStraggleGrace), straggleGrace))
	facts := probes.Add(-min(max(share, minFactsLead), factsLead))
	return plan{probes: probes, facts: facts, giveUp: giveUp, hasDeadline: true}
}

// RunOptions are the optional parts of a run.
type RunOptions struct {
	Logger log.Logger
	// OnProbeDone, when set, is called as each probe finishes (from the
	// probe's goroutine), with how many of how many have finished.
	OnProbeDone func(probe string, done, total int)
	// OnWait, when set, is called with +1 when the request starts waiting
	// for a running slot and -1 when it stops.
	OnWait func(delta int)

	// Benchmarks reach a world of their own: they may substitute the
	// dialer (which then bypasses allowed_networks and denied_networks),
	// the certificate roots and the DNS client (without the module's
	// cache). None of them is reachable from a probe request.
	Dialer  probes.Dialer
	RootCAs *x509.CertPool
	DNS     *dnsclient.Client
}

// Run runs every probe of the module concurrently against the target under
// ctx, sharing one request-scoped DNS cache and facts layer, and returns
// when all have finished or, at the latest, a reserve before ctx's deadline
// to render and write the answer in (see planRun): the probes are given a
// deadline that leaves room for it. A probe that panics (on its own
// goroutine or on one it started) or does not finish is reported as a probe
// error, never as a crash.
func (m *Module) Run(ctx context.Context, req *probes.Request, opts RunOptions) *Report {
	logger := opts.Logger
	if logger == nil {
		logger = log.NewNopLogger()
	}
	start := time.Now()
	dnsClient := m.dns
	if opts.DNS != nil {
		dnsClient = opts.DNS
	}
	report := &Report{
		Module:    m.name,
		Target:    req.Target,
		Start:     start,
		Resolvers: dnsClient.Servers(),
		MaxBytes:  int64(m.limits.ReportBytes),
	}
	if dl, ok := ctx.Deadline(); ok {
		report.Timeout = dl.Sub(start)
	}
	deadlines := planRun(ctx, start)
	probeCtx, factsCtx := ctx, ctx
	if deadlines.hasDeadline {
		var cancelProbes, cancelFacts context.CancelFunc
		probeCtx, cancelProbes = context.WithDeadline(ctx, deadlines.probes)
		defer cancelProbes()
		factsCtx, cancelFacts = context.WithDeadline(probeCtx, deadlines.facts)
		defer cancelFacts()
	}
	if !m.waitTurn(probeCtx, opts.OnWait) {
		report.Waited = time.Since(start)
		for _, p := range m.probes {
			res := probes.NewResult(p.Name())
			res.Error(fmt.Errorf("%s probe did not start: the module's %d running requests (max_running_requests) kept this one waiting until its %s deadline", p.Name(), cap(m.running), report.Timeout.Round(time.Millisecond)))
			report.Probes = append(report.Probes, ProbeRun{Name: p.Name(), Result: res})
		}
		report.Duration = time.Since(start)
		return report
	}
	defer m.leaveTurn()
	report.Waited = time.Since(start)
	env := &probes.Env{
		DNS:     dnsClient.NewResolverWithBudget(m.limits.DNSBudget()),
		Dialer:  m.Dialer(),
		RootCAs: m.rootCAs,
		Now:     time.Now,
		Logger:  logger,
		// The facts several probes read are gathered under the request's
		// facts context, not under whichever probe asked first.
		Facts:  probes.NewRequestFacts(factsCtx, m.providers),
		Limits: m.limits.Probes(),
	}
	if opts.Dialer != nil {
		env.Dialer = opts.Dialer
	}
	if opts.RootCAs != nil {
		env.RootCAs = opts.RootCAs
	}

	// Each probe writes its own slot of runs; what the report gets is a
	// copy taken under mu, so a straggler that writes its slot after the
	// grace period never touches the report's runs.
	runs := make([]ProbeRun, len(m.probes))
	done := make([]chan struct{}, len(m.probes))
	var mu sync.Mutex
	finished := 0
	for i, p := range m.probes {
		done[i] = make(chan struct{})
		penv := *env
		penv.Facts = env.Facts.For(p.Name(), p.needs)
		go func() {
			defer close(done[i])
			run := m.runOrReuse(probeCtx, p, req, &penv, logger)
			mu.Lock()
			runs[i] = run
			finished++
			n := finished
			mu.Unlock()
			if opts.OnProbeDone != nil {
				opts.OnProbeDone(p.Name(), n, len(m.probes))
			}
		}()
	}

	// Wait for every probe, but not forever: past the probes' deadline plus
	// a grace period a probe is reported as unfinished and left to end on
	// its own, so that the answer is out before ctx's deadline.
	var grace <-chan time.Time
	for i := range done {
		select {
		case <-done[i]:
			continue
		case <-probeCtx.Done():
		}
		if grace == nil {
			wait := straggleGrace
			if deadlines.hasDeadline {
				wait = time.Until(deadlines.giveUp)
			}
			timer := time.NewTimer(wait)
			defer timer.Stop()
			grace = timer.C
		}
		select {
		case <-done[i]:
		case <-grace:
		}
	}

	mu.Lock()
	report.Probes = append([]ProbeRun(nil), runs...)
	mu.Unlock()
	for i, p := range m.probes {
		if report.Probes[i].Result == nil {
			res := probes.NewResult(p.Name())
			res.Error(fmt.Errorf("%s probe did not finish within the %s deadline", p.Name(), report.Timeout.Round(time.Millisecond)))
			report.Probes[i] = ProbeRun{Name: p.Name(), Duration: time.Since(start), Result: res}
		}
	}
	report.Duration = time.Since(start)
	report.DNS = env.DNS.Stats()
	report.Bogus = m.redactBogus(env.DNS.Bogus())
	report.limitSeries(m.limits.Series)
	return report
}

// waitTurn takes one of the module's running slots, waiting (first come,
// first served: a channel's blocked senders are woken in order) until one
// is free or ctx ends.
func (m *Module) waitTurn(ctx context.Context, onWait func(int)) bool {
	select {
	case m.running <- struct{}{}:
		return true
	default:
	}
	if onWait != nil {
		onWait(1)
		defer onWait(-1)
	}
	select {
	case m.running <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (m *Module) leaveTurn() { <-m.running }

// runOrReuse serves the probe's last result when the module's min_interval
// for it has not passed, and runs it otherwise.
func (m *Module) runOrReuse(ctx context.Context, p compiledProbe, req *probes.Request, env *probes.Env, logger log.Logger) ProbeRun {
	if p.minInterval <= 0 || m.recent == nil {
		res, took := runProbe(ctx, p, req, env, logger)
		res.Redact(m.redact)
		return ProbeRun{Name: p.Name(), Duration: took, Result: res, Age: res.Age()}
	}
	key := recentKey(m.name, p.Name(), req, p.params)
	now := env.Now()
	if e, ok := m.recent.get(key, p.minInterval, now); ok {
		return ProbeRun{Name: p.Name(), Duration: e.duration, Result: e.result, Age: now.Sub(e.finished)}
	}
	res, took := runProbe(ctx, p, req, env, logger)
	res.Redact(m.redact)
	m.recent.put(key, res, took, env.Now())
	return ProbeRun{Name: p.Name(), Duration: took, Result: res}
}

// runProbe runs one probe. A panic on the probe's goroutine, or on one it
// started through flight.Tasks (which raises it again on the probe's
// goroutine when it waits), replaces the result with that probe's error.
func runProbe(ctx context.Context, p probes.Probe, req *probes.Request, env *probes.Env, logger log.Logger) (res *probes.Result, took time.Duration) {
	start := time.Now()
	defer func() {
		took = time.Since(start)
		if v := recover(); v != nil {
			pe, ok := v.(*flight.PanicError)
			if !ok {
				pe = &flight.PanicError{Value: v, Stack: debug.Stack()}
			}
			level.Error(logger).Log("msg", "Probe panicked", "probe", p.Name(), "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
			res = probes.NewResult(p.Name())
			res.Error(fmt.Errorf("%s probe failed internally: %v", p.Name(), pe.Value))
		}
	}()
	res = p.Run(ctx, req, env)
	if res == nil {
		res = probes.NewResult(p.Name())
		res.Error(fmt.Errorf("%s probe returned no result", p.Name()))
	}
	level.Debug(logger).Log("msg", "Probe finished", "probe", p.Name(), "duration_seconds", time.Since(start).Seconds(), "errors", len(res.Errors()))
	return res, took
}

// redactBogus replaces the module's secrets in the names and texts of the
// questions the resolver refused as bogus, in copies.
func (m *Module) redactBogus(list []*dnsclient.Bogus) []*dnsclient.Bogus {
	if m.redact == nil {
		return list
	}
	out := make([]*dnsclient.Bogus, len(list))
	for i, b := range list {
		c := *b
		c.Name = m.redact.Replace(b.Name)
		c.Errors = make([]dnsclient.ExtendedError, len(b.Errors))
		for j, e := range b.Errors {
			e.Text = m.redact.Replace(e.Text)
			c.Errors[j] = e
		}
		out[i] = &c
	}
	return out
}
