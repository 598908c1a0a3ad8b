// Package collector runs a module's probes against a target and turns the
// results into metrics (one registry per request) and into reports for
// people. It never speaks DNS or SMTP itself; the probes do.
package collector

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// straggleGrace is how long past the deadline a probe may take to hand back
// what it has before it is reported as not finished.
const straggleGrace = 250 * time.Millisecond

// ProbeRun is one probe's part of a report.
type ProbeRun struct {
	Name     string
	Duration time.Duration
	Result   *probes.Result
	// Age is how old a result served again under the module's
	// min_interval is; 0 for a result of this request.
	Age time.Duration
}

// Report is everything one probe request found.
type Report struct {
	Module    string
	Target    probes.Target
	Start     time.Time
	Duration  time.Duration
	Timeout   time.Duration
	Resolvers []string
	// Waited is how long the request waited for one of the module's
	// max_running_requests slots before its probes started.
	Waited time.Duration
	Probes []ProbeRun
	DNS    dnsclient.Stats
}

// Success is probe_success: every probe finished and every must check
// passed.
func (r *Report) Success() bool {
	for _, p := range r.Probes {
		if p.Result.Failed() {
			return false
		}
		for _, c := range p.Result.Checks() {
			if c.Level == probes.LevelMust && c.Status == probes.StatusFail {
				return false
			}
		}
	}
	return true
}

// Score is the weighted share (0..100) of passing checks among those that
// applied and were decided; ok is false when no check applied.
func (r *Report) Score() (score float64, ok bool) {
	var passed, total float64
	for _, p := range r.Probes {
		for _, c := range p.Result.Checks() {
			w := c.Level.Weight()
			switch c.Status {
			case probes.StatusPass:
				passed += w
				total += w
			case probes.StatusFail:
				total += w
			}
		}
	}
	if total == 0 {
		return 0, false
	}
	return 100 * passed / total, true
}

// FailedMust lists the must checks that failed, as "probe/check".
func (r *Report) FailedMust() []string {
	var out []string
	for _, p := range r.Probes {
		for _, c := range p.Result.Checks() {
			if c.Level == probes.LevelMust && c.Status == probes.StatusFail {
				out = append(out, c.ID)
			}
		}
	}
	return out
}

// Run runs every probe of the module concurrently against the target under
// ctx, sharing one request-scoped DNS cache, and returns when all have
// finished or, at the latest, shortly after ctx ends. A probe that panics or
// does not finish is reported as a probe error, never as a crash.
func (m *Module) Run(ctx context.Context, req *probes.Request, logger log.Logger) *Report {
	return m.RunWith(ctx, req, RunOptions{Logger: logger})
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
}

// RunWith is Run with options.
func (m *Module) RunWith(ctx context.Context, req *probes.Request, opts RunOptions) *Report {
	logger := opts.Logger
	if logger == nil {
		logger = log.NewNopLogger()
	}
	start := time.Now()
	report := &Report{
		Module:    m.name,
		Target:    req.Target,
		Start:     start,
		Resolvers: m.dns.Servers(),
	}
	if dl, ok := ctx.Deadline(); ok {
		report.Timeout = dl.Sub(start)
	}
	if !m.waitTurn(ctx, opts.OnWait) {
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
		DNS:     m.dns.NewResolver(),
		Dialer:  m.Dialer(),
		RootCAs: m.rootCAs,
		Now:     time.Now,
		Logger:  logger,
		Shared:  probes.NewMemo(),
	}

	runs := make([]ProbeRun, len(m.probes))
	done := make([]chan struct{}, len(m.probes))
	var mu sync.Mutex // guards runs and finished against the late reads below
	finished := 0
	for i, p := range m.probes {
		done[i] = make(chan struct{})
		go func() {
			defer close(done[i])
			run := m.runOrReuse(ctx, p, req, env, logger)
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

	// Wait for every probe, but not forever: past the deadline plus a grace
	// period a probe is reported as unfinished and left to end on its own.
	var grace <-chan time.Time
	for i := range done {
		select {
		case <-done[i]:
			continue
		case <-ctx.Done():
		}
		if grace == nil {
			grace = time.After(straggleGrace)
		}
		select {
		case <-done[i]:
		case <-grace:
		}
	}

	mu.Lock()
	for i, p := range m.probes {
		if runs[i].Result == nil {
			res := probes.NewResult(p.Name())
			res.Error(fmt.Errorf("%s probe did not finish within the %s deadline", p.Name(), report.Timeout.Round(time.Millisecond)))
			runs[i] = ProbeRun{Name: p.Name(), Duration: time.Since(start), Result: res}
		}
	}
	report.Probes = runs
	mu.Unlock()
	report.Duration = time.Since(start)
	report.DNS = env.DNS.Stats()
	return report
}

// waitTurn takes one of the module's running slots, waiting (first come,
// first served: a channel's blocked senders are woken in order) until one
// is free or ctx ends.
func (m *Module) waitTurn(ctx context.Context, onWait func(int)) bool {
	if m.running == nil {
		return true // a module that was never compiled has no bound
	}
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

func (m *Module) leaveTurn() {
	if m.running != nil {
		<-m.running
	}
}

// runOrReuse serves the probe's last result when the module's min_interval
// for it has not passed, and runs it otherwise.
func (m *Module) runOrReuse(ctx context.Context, p probes.Probe, req *probes.Request, env *probes.Env, logger log.Logger) ProbeRun {
	interval, limited := m.MinInterval[p.Name()]
	if !limited || m.recent == nil {
		res, took := runProbe(ctx, p, req, env, logger)
		return ProbeRun{Name: p.Name(), Duration: took, Result: res}
	}
	key := recentKey(m.name, p.Name(), req)
	now := env.Now()
	if e, ok := m.recent.get(key, interval, now); ok {
		return ProbeRun{Name: p.Name(), Duration: e.duration, Result: e.result, Age: now.Sub(e.finished)}
	}
	res, took := runProbe(ctx, p, req, env, logger)
	m.recent.put(key, res, took, env.Now())
	return ProbeRun{Name: p.Name(), Duration: took, Result: res}
}

func runProbe(ctx context.Context, p probes.Probe, req *probes.Request, env *probes.Env, logger log.Logger) (res *probes.Result, took time.Duration) {
	start := time.Now()
	defer func() {
		took = time.Since(start)
		if v := recover(); v != nil {
			level.Error(logger).Log("msg", "Probe panicked", "probe", p.Name(), "panic", v, "stack", string(debug.Stack()))
			res = probes.NewResult(p.Name())
			res.Error(fmt.Errorf("%s probe failed internally: %v", p.Name(), v))
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
