package collector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

func countSeries(t *testing.T, r *Report) int {
	t.Helper()
	reg, err := r.Registry()
	if err != nil {
		t.Fatal(err)
	}
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

func runExample(t *testing.T, m *Module, target string) *Report {
	t.Helper()
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.Run(ctx, &probes.Request{Target: tgt}, RunOptions{})
}

// TestSeriesLimitCutsSamplesAndSaysSo: an answer never has more series than
// limits.series; the probe whose samples were cut reports an error (so
// probe_success is 0), its checks stand.
func TestSeriesLimitCutsSamplesAndSaysSo(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	whole := runExample(t, exampleModule(t, world.Addr), "example.test")
	all := countSeries(t, whole)
	if all <= 100 || !whole.Success() {
		t.Fatalf("example.test gives %d series (success %v); the test needs more than 100 from a passing report", all, whole.Success())
	}

	m := compileYAML(t, "modules:\n"+testbed.ExampleModule("mail", world.Addr)+"    limits: {series: 100}\n").byName["mail"]
	cut := runExample(t, m, "example.test")
	if n := countSeries(t, cut); n > 100 || n < 90 {
		t.Errorf("%d series with limits.series 100 (%d without): want at most 100, and not far fewer", n, all)
	}
	if cut.Success() {
		t.Error("a report whose series were cut is a success")
	}
	var cutProbes []string
	for i, p := range cut.Probes {
		for _, e := range p.Result.Errors() {
			if strings.Contains(e, "limits.series (100)") {
				cutProbes = append(cutProbes, p.Name)
			}
		}
		// The checks are those of the whole report.
		for _, c := range p.Result.Checks() {
			w, _ := whole.Probes[i].Result.Check(c.ID)
			if c.Status != w.Status {
				t.Errorf("%s: %s with the series cut, %s without", c.ID, c.Status, w.Status)
			}
		}
	}
	if len(cutProbes) == 0 {
		t.Error("no probe says its series were cut")
	}
}

// TestReportTrimmedKeepsTheVerdict: a trimmed report is smaller, has the
// same checks and verdict, and the original is untouched.
func TestReportTrimmedKeepsTheVerdict(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	r := runExample(t, exampleModule(t, world.Addr), "broken.test")
	size := r.Size()
	for _, bare := range []bool{false, true} {
		tr := r.Trimmed("trimmed for the test", bare)
		if tr.Size() >= size || tr.Verdict() != r.Verdict() || tr.Success() != r.Success() {
			t.Errorf("bare %v: size %d of %d, verdict %q (was %q)", bare, tr.Size(), size, tr.Verdict(), r.Verdict())
		}
		for i, p := range tr.Probes {
			if len(p.Result.Measurements()) != 0 || len(p.Result.Details()) != 0 {
				t.Errorf("bare %v: %s kept samples or details", bare, p.Name)
			}
			if len(p.Result.Checks()) != len(r.Probes[i].Result.Checks()) {
				t.Errorf("bare %v: %s lost checks", bare, p.Name)
			}
		}
	}
	if r.Size() != size {
		t.Error("trimming changed the original report")
	}
}

// TestDNSCacheMetrics: the engine exports each module's cache bytes and
// bound.
func TestDNSCacheMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewEngine("", log.NewNopLogger(), reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.Metric{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "deliverability_exporter_dns_cache_") && len(mf.GetMetric()) == 1 {
			got[mf.GetName()] = mf.GetMetric()[0]
		}
	}
	max := got["deliverability_exporter_dns_cache_max_bytes"]
	if max == nil || max.GetGauge().GetValue() != 32<<20 || max.GetLabel()[0].GetValue() != "mail" {
		t.Errorf("max bytes %v, want 32 MiB for module mail", max)
	}
	if b := got["deliverability_exporter_dns_cache_bytes"]; b == nil || b.GetGauge().GetValue() != 0 {
		t.Errorf("bytes %v, want 0 before any request", b)
	}
}
