package collector

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

type panicProbe struct{}

func (panicProbe) Name() string { return "boom" }
func (panicProbe) Run(context.Context, *probes.Request, *probes.Env) *probes.Result {
	var m map[string]int
	//lint:ignore SA5000 the panic is the point: the kind of bug a hostile answer could trigger
	m["x"]++
	return nil
}

type stuckProbe struct{ release chan struct{} }

func (stuckProbe) Name() string { return "stuck" }
func (s stuckProbe) Run(context.Context, *probes.Request, *probes.Env) *probes.Result {
	<-s.release // ignores its context: a bug the collector must survive
	res := probes.NewResult("stuck")
	res.Pass(probes.CheckSpec{ID: "stuck.late", Level: probes.LevelMust}, "finished after the deadline")
	return res
}

// subPanicProbe panics on a goroutine it started, after its siblings
// finished their work.
type subPanicProbe struct{}

func (subPanicProbe) Name() string { return "subpanic" }
func (subPanicProbe) Run(ctx context.Context, req *probes.Request, env *probes.Env) *probes.Result {
	res := probes.NewResult("subpanic")
	var tasks flight.Tasks
	for i := range 3 {
		tasks.Go(func() {
			if i == 1 {
				var names []string
				_ = names[5] // index out of range on a sub-goroutine
			}
		})
	}
	tasks.Wait()
	return res
}

// factReader reads a fact and records its error as the probe's.
type factReader struct{ name, fact string }

func (f factReader) Name() string { return f.name }
func (f factReader) Run(ctx context.Context, req *probes.Request, env *probes.Env) *probes.Result {
	res := probes.NewResult(f.name)
	if _, err := env.Facts.Provide(ctx, req, env, f.fact, ""); err != nil {
		res.Error(err)
	}
	return res
}

func byName(report *Report) map[string]ProbeRun {
	out := map[string]ProbeRun{}
	for _, p := range report.Probes {
		out[p.Name] = p
	}
	return out
}

func TestRunSurvivesBrokenProbes(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	m := exampleModule(t, world.Addr)
	healthy := m.ProbeNames()
	stuck := stuckProbe{release: make(chan struct{})}
	defer close(stuck.release)
	m.probes = append(m.probes, compiledProbe{Probe: panicProbe{}}, compiledProbe{Probe: stuck}, compiledProbe{Probe: subPanicProbe{}})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tgt, _ := probes.ParseTarget("example.test")
	report := m.Run(ctx, &probes.Request{Target: tgt}, RunOptions{})

	runs := byName(report)
	var names []string
	for name := range runs {
		names = append(names, name)
	}
	want := append(append([]string(nil), healthy...), "boom", "stuck", "subpanic")
	sort.Strings(names)
	sort.Strings(want)
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("probes reported: %v, want %v", names, want)
	}
	if errs := runs["boom"].Result.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "boom probe failed internally") {
		t.Errorf("panicking probe: %v", errs)
	}
	if errs := runs["subpanic"].Result.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "subpanic probe failed internally") || !strings.Contains(errs[0], "index out of range") {
		t.Errorf("probe panicking on a sub-goroutine: %v", errs)
	}
	if errs := runs["stuck"].Result.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "did not finish") {
		t.Errorf("stuck probe: %v", errs)
	}
	for _, name := range healthy {
		if runs[name].Result.Failed() {
			t.Errorf("the healthy %s probe was dragged down: %v", name, runs[name].Result.Errors())
		}
	}
	if report.Success() {
		t.Error("probe_success would be 1 with three broken probes")
	}
}

// A panic while gathering a fact two probes share is both probes' error;
// the rest of the request and the process go on.
func TestPanicInASharedFact(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	m := exampleModule(t, world.Addr)
	m.providers["test.broken"] = func(context.Context, *probes.Request, *probes.Env, string) (any, error) {
		var p *struct{ x int }
		return p.x, nil // nil dereference while gathering
	}
	m.probes = append(m.probes,
		compiledProbe{Probe: factReader{name: "reader1", fact: "test.broken"}, needs: []string{"test.broken"}},
		compiledProbe{Probe: factReader{name: "reader2", fact: "test.broken"}, needs: []string{"test.broken"}},
		compiledProbe{Probe: factReader{name: "undeclared", fact: "test.broken"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tgt, _ := probes.ParseTarget("example.test")
	report := m.Run(ctx, &probes.Request{Target: tgt}, RunOptions{})
	runs := byName(report)
	for _, name := range []string{"reader1", "reader2"} {
		if errs := runs[name].Result.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "test.broken failed internally: panic:") {
			t.Errorf("%s: %v", name, errs)
		}
	}
	if errs := runs["undeclared"].Result.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "without declaring it") {
		t.Errorf("a probe reading a fact it did not declare: %v", errs)
	}
	if runs["mx"].Result.Failed() {
		t.Errorf("mx dragged down: %v", runs["mx"].Result.Errors())
	}
}

// A probe that overruns the deadline writes its result while the report
// is read and rendered: the report is the request's alone (run with -race).
func TestStragglerDoesNotTouchTheReport(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	m := exampleModule(t, world.Addr)
	stuck := stuckProbe{release: make(chan struct{})}
	m.probes = append(m.probes, compiledProbe{Probe: stuck})
	straggled := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	tgt, _ := probes.ParseTarget("example.test")
	report := m.Run(ctx, &probes.Request{Target: tgt}, RunOptions{
		OnProbeDone: func(probe string, _, _ int) {
			if probe == "stuck" {
				close(straggled)
			}
		},
	})
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 50 {
			for _, p := range report.Probes {
				_ = p.Result.Checks()
				_ = fmt.Sprint(p.Name, p.Duration)
			}
			if _, err := report.Registry(); err != nil {
				t.Error(err)
			}
		}
	})
	close(stuck.release) // the straggler writes its slot now, while the report is rendered
	<-straggled
	wg.Wait()
	run := byName(report)["stuck"]
	if errs := run.Result.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "did not finish") {
		t.Errorf("the straggler's late result reached the report: %v", errs)
	}
}

// Issue 17 finding 6: the answer came a straggle grace after the deadline
// when a probe overran it. Run now returns with the straggler reported
// unfinished while the request's deadline (when the answer is due) is
// still ahead, leaving its reserve to render and write the answer.
func TestRunReturnsBeforeTheAnswerIsDue(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	m := exampleModule(t, world.Addr)
	stuck := stuckProbe{release: make(chan struct{})}
	defer close(stuck.release)
	m.probes = append(m.probes, compiledProbe{Probe: stuck})
	// 4s: the reserve to answer in is a twentieth, 200ms, room enough for
	// a loaded machine to wake the run when its grace ends.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	tgt, _ := probes.ParseTarget("example.test")
	report := m.Run(ctx, &probes.Request{Target: tgt}, RunOptions{})
	if ctx.Err() != nil {
		t.Error("Run returned after the request's deadline, with no time left to answer")
	}
	if errs := byName(report)["stuck"].Result.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "did not finish") {
		t.Errorf("the straggler: %v", errs)
	}
	if byName(report)["mx"].Result.Failed() {
		t.Errorf("the mx probe had time to finish: %v", byName(report)["mx"].Result.Errors())
	}
}

// A request that never gets a running slot reports every probe as not
// started, with why.
func TestRunWithoutATurn(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	m := exampleModule(t, world.Addr)
	for range cap(m.running) {
		m.running <- struct{}{}
	}
	defer func() {
		for range cap(m.running) {
			<-m.running
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	tgt, _ := probes.ParseTarget("example.test")
	waits, waited := 0, false
	report := m.Run(ctx, &probes.Request{Target: tgt}, RunOptions{OnWait: func(d int) { waits += d; waited = waited || d > 0 }})
	if !waited || waits != 0 || len(report.Probes) != len(m.probes) {
		t.Fatalf("waited %v, waits %d, probes %d", waited, waits, len(report.Probes))
	}
	for _, p := range report.Probes {
		if errs := p.Result.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "did not start") {
			t.Errorf("%s: %v", p.Name, errs)
		}
	}
	// It waited for a turn as long as the probes could have run, and no
	// longer: the request's deadline, when the answer is due, is still
	// ahead.
	if ctx.Err() != nil {
		t.Error("Run returned after the request's deadline, with no time left to answer")
	}
}
