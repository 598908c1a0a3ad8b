package collector

import (
	"strings"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// ProbeRun is one probe's part of a report.
type ProbeRun struct {
	Name     string
	Duration time.Duration
	Result   *probes.Result
	// Age is how old a result served again under the module's
	// min_interval is; 0 for a result of this request.
	Age time.Duration
}

// Report is everything one probe request found. Once Run returns it, it is
// the report's alone: nothing a probe still running writes reaches it.
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
	// Bogus are the questions the resolver refused as DNSSEC-bogus: the
	// probes judged the records it gave with checking disabled instead,
	// which senders and receivers that validate never get.
	Bogus []*dnsclient.Bogus
	// MaxBytes is the module's limits.report_bytes: the largest report
	// (Size) the web history keeps whole.
	MaxBytes int64
}

// Size is about how many bytes of text the report holds: its probes'
// checks, evidence, samples, errors, notes and details.
func (r *Report) Size() int64 {
	var n int64
	for _, p := range r.Probes {
		n += int64(p.Result.Size())
	}
	return n
}

// Trimmed returns a copy of the report whose results keep their checks'
// outcomes and reasons, their errors and notes, but neither evidence,
// details nor samples (probes.Result.Summary), each with note; bare keeps
// even less, for a report still too large without them. The report itself
// is not changed.
func (r *Report) Trimmed(note string, bare bool) *Report {
	out := *r
	out.Probes = make([]ProbeRun, len(r.Probes))
	for i, p := range r.Probes {
		p.Result = p.Result.Summary(note, bare)
		out.Probes[i] = p
	}
	return &out
}

// Success is probe_success: every probe finished and every must check
// passed.
func (r *Report) Success() bool {
	for _, p := range r.Probes {
		if p.Result.Failed() {
			return false
		}
		failed := false
		p.Result.EachCheck(func(c probes.Check) {
			failed = failed || c.Level == probes.LevelMust && c.Status == probes.StatusFail
		})
		if failed {
			return false
		}
	}
	return true
}

// Score is the weighted share (0..100) of passing checks among those that
// applied and were decided; ok is false when no check applied.
func (r *Report) Score() (score float64, ok bool) {
	var passed, total float64
	for _, p := range r.Probes {
		p.Result.EachCheck(func(c probes.Check) {
			w := c.Level.Weight()
			switch c.Status {
			case probes.StatusPass:
				passed += w
				total += w
			case probes.StatusFail:
				total += w
			}
		})
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

// Verdict is the report's one-line conclusion.
func (r *Report) Verdict() string {
	if r.Success() {
		return "PASS: every must check passed"
	}
	if failed := r.FailedMust(); len(failed) > 0 {
		return "FAIL: must checks failed: " + strings.Join(failed, ", ")
	}
	return "INCOMPLETE: a probe could not finish, see its errors"
}
