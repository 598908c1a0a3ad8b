package web

import (
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// bigReport is a report whose one probe holds about n bytes of evidence.
func bigReport(n int, maxBytes int64) *collector.Report {
	res := probes.NewResult("mx")
	var evidence []string
	for len(evidence)*100 < n {
		evidence = append(evidence, strings.Repeat("e", 100))
	}
	res.Pass(probes.CheckSpec{ID: "mx.present", Level: probes.LevelMust}, "example.test publishes MX records", evidence...)
	res.Measure(&probes.MetricSpec{Name: "mail_mx_hosts", Help: "x"}, 2)
	return &collector.Report{Module: "mail", Probes: []collector.ProbeRun{{Name: "mx", Result: res}}, MaxBytes: maxBytes}
}

func TestHistoryKeepsReportsWithinTheirLimit(t *testing.T) {
	h := NewHistory(10)
	small := bigReport(1000, 64<<10)
	if e, _ := h.Get(h.Add(small, "a log line")); e.Report != small || e.Logs != "a log line" {
		t.Error("a report within its limit was not kept whole")
	}

	large := bigReport(200<<10, 64<<10)
	e, _ := h.Get(h.Add(large, strings.Repeat("log ", 1000)))
	kept := e.Report.Probes[0].Result
	c, _ := kept.Check("mx.present")
	if e.Report.Size() > 64<<10 || len(c.Evidence) != 0 || len(kept.Measurements()) != 0 || e.Logs != "" {
		t.Errorf("a report over its limit was kept with %d bytes, %d evidence lines, %d samples, %d bytes of logs",
			e.Report.Size(), len(c.Evidence), len(kept.Measurements()), len(e.Logs))
	}
	if c.Status != probes.StatusPass || e.Report.Verdict() != large.Verdict() {
		t.Errorf("the trimmed report changed its verdict: %s, %q", c.Status, e.Report.Verdict())
	}
	if notes := strings.Join(kept.Notes(), " "); !strings.Contains(notes, "more than the module's limits.report_bytes (65536)") {
		t.Errorf("notes %q do not say why the report was trimmed", notes)
	}
	if len(large.Probes[0].Result.Measurements()) != 1 {
		t.Error("trimming changed the report the probe request answered with")
	}
}
