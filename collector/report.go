package collector

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// statusOrder puts what needs attention first.
var statusOrder = map[probes.Status]int{
	probes.StatusFail:  0,
	probes.StatusError: 1,
	probes.StatusPass:  2,
	probes.StatusSkip:  3,
}

var levelOrder = map[probes.Level]int{
	probes.LevelMust: 0, probes.LevelShould: 1, probes.LevelMay: 2, probes.LevelInfo: 3,
}

// SortedChecks returns a probe's checks with failures first, then
// undecided, passes and skips; within each, must before should before may.
func SortedChecks(res *probes.Result) []probes.Check {
	checks := res.Checks()
	sort.SliceStable(checks, func(i, j int) bool {
		a, b := checks[i], checks[j]
		if statusOrder[a.Status] != statusOrder[b.Status] {
			return statusOrder[a.Status] < statusOrder[b.Status]
		}
		return levelOrder[a.Level] < levelOrder[b.Level]
	})
	return checks
}

// WriteText writes the report for people: a summary, then every check of
// every probe with its evidence and, for a failure, what to change.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	verdict := "PASS: every must check passed"
	if !r.Success() {
		if failed := r.FailedMust(); len(failed) > 0 {
			verdict = "FAIL: must checks failed: " + strings.Join(failed, ", ")
		} else {
			verdict = "INCOMPLETE: a probe could not finish, see its errors"
		}
	}
	ew.printf("Mail deliverability report for %s (%s)\n", r.Target, r.Target.Kind)
	ew.printf("Module %s, resolvers %s, probed %s in %s\n", r.Module, strings.Join(r.Resolvers, " "),
		r.Start.UTC().Format(time.RFC3339), r.Duration.Round(time.Millisecond))
	if score, ok := r.Score(); ok {
		ew.printf("Score %.0f/100. %s\n", score, verdict)
	} else {
		ew.printf("No check applied. %s\n", verdict)
	}
	ew.printf("DNS: %d queries sent, %d answered from the request cache\n", r.DNS.Queries, r.DNS.CacheHits)

	for _, p := range r.Probes {
		ew.printf("\n== %s (%s)\n", p.Name, p.Duration.Round(time.Millisecond))
		for _, e := range p.Result.Errors() {
			ew.printf("  ERROR  %s\n", e)
		}
		for _, c := range SortedChecks(p.Result) {
			ew.printf("  %-5s  %-6s  %-22s %s\n", strings.ToUpper(c.Status.String()), c.Level, c.ID, c.Reason)
			for _, e := range c.Evidence {
				ew.printf("%36s- %s\n", "", e)
			}
			if c.Status == probes.StatusFail && c.Remediation != "" {
				ew.printf("%36sfix: %s\n", "", c.Remediation)
			}
		}
		for _, n := range p.Result.Notes() {
			ew.printf("  note: %s\n", n)
		}
		for _, d := range p.Result.Details() {
			ew.printf("  %s\n", d.Title)
			for _, line := range d.Lines {
				ew.printf("    %s\n", line)
			}
		}
	}
	return ew.err
}

// WriteDebug writes what debug=true returns: the report, the metrics a
// scrape would have returned, and the probe's log lines.
func (r *Report) WriteDebug(w io.Writer, reg *prometheus.Registry, logs string) error {
	if err := r.WriteText(w); err != nil {
		return err
	}
	ew := &errWriter{w: w}
	ew.printf("\n== Metrics that a scrape would have returned\n")
	if ew.err != nil {
		return ew.err
	}
	mfs, err := reg.Gather()
	if err != nil {
		ew.printf("# gathering: %v\n", err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	if logs != "" {
		ew.printf("\n== Log of the probe\n%s", logs)
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
