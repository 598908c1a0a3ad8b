package web

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
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

// TextStyle says how to render a text report.
type TextStyle struct {
	// Color uses ANSI colours (for a terminal that wants them).
	Color bool
	// Detail says how much of the report to write.
	Detail TextDetail
}

// TextDetail says how much of a text report to write. Failed and undecided
// checks are always written in full: the reason, the evidence, the fix and
// their probe's details.
type TextDetail int

const (
	// TextFull writes every check with its evidence, and every probe's
	// details (the SPF include tree, the DKIM selectors, the lists asked):
	// what debug=true returns and check --verbose prints.
	TextFull TextDetail = iota
	// TextSummary writes passed checks as one list of ids per probe and
	// skipped checks on one line each, without evidence, so that a healthy
	// domain's report fits on a screen: what check prints by default.
	TextSummary
	// TextFailures writes failed and undecided checks only, and names the
	// probes that had none (check --failures-only).
	TextFailures
)

// needsAttention reports whether a probe could not finish or has a check
// that failed or could not be decided.
func needsAttention(res *probes.Result) bool {
	if len(res.Errors()) > 0 {
		return true
	}
	for _, c := range res.Checks() {
		if c.Status == probes.StatusFail || c.Status == probes.StatusError {
			return true
		}
	}
	return false
}

// textWidth is where the list of passed checks wraps.
const textWidth = 100

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

func (s TextStyle) paint(color, text string) string {
	if !s.Color {
		return text
	}
	return color + text + ansiReset
}

var statusColor = map[probes.Status]string{
	probes.StatusFail:  ansiRed + ansiBold,
	probes.StatusError: ansiYellow + ansiBold,
	probes.StatusPass:  ansiGreen,
	probes.StatusSkip:  ansiDim,
}

// WriteText writes the report for people: a summary, then every check of
// every probe with its evidence and, for a failure, what to change.
func WriteText(w io.Writer, r *collector.Report) error { return WriteTextStyled(w, r, TextStyle{}) }

// WriteTextStyled writes the text report in the given style.
func WriteTextStyled(w io.Writer, r *collector.Report, st TextStyle) error {
	ew := &errWriter{w: w}
	verdict := r.Verdict()
	verdictColor := ansiGreen + ansiBold
	if !r.Success() {
		verdictColor = ansiRed + ansiBold
	}
	ew.printf("%s\n", st.paint(ansiBold, fmt.Sprintf("Mail deliverability report for %s (%s)", r.Target, r.Target.Kind)))
	ew.printf("Module %s, resolvers %s, probed %s in %s\n", r.Module, strings.Join(r.Resolvers, " "),
		r.Start.UTC().Format(time.RFC3339), r.Duration.Round(time.Millisecond))
	if score, ok := r.Score(); ok {
		ew.printf("Score %.0f/100. %s\n", score, st.paint(verdictColor, verdict))
	} else {
		ew.printf("No check applied. %s\n", st.paint(verdictColor, verdict))
	}
	if r.Waited >= time.Millisecond {
		ew.printf("Waited %s for a turn: the module's max_running_requests were busy\n", r.Waited.Round(time.Millisecond))
	}
	ew.printf("DNS: %d queries sent, %d answered from the request cache, %d from answers kept from earlier requests\n", r.DNS.Queries, r.DNS.CacheHits, r.DNS.SharedHits)
	if len(r.Bogus) > 0 {
		ew.printf("%s %s\n", st.paint(ansiRed+ansiBold, "DNSSEC:"), BogusSummary(len(r.Bogus)))
		for _, line := range BogusLines(r.Bogus) {
			ew.printf("  - %s\n", line)
		}
	}

	var quiet []string // probes left out of a failures-only report
	for _, p := range r.Probes {
		attention := needsAttention(p.Result)
		if st.Detail == TextFailures && !attention {
			quiet = append(quiet, p.Name)
			continue
		}
		header := fmt.Sprintf("== %s (%s)", p.Name, p.Duration.Round(time.Millisecond))
		if p.Age > 0 {
			header = fmt.Sprintf("== %s (%s; the result of %s ago, served again under the module's min_interval)", p.Name, p.Duration.Round(time.Millisecond), p.Age.Round(time.Second))
		}
		ew.printf("\n%s\n", st.paint(ansiBold, header))
		for _, e := range p.Result.Errors() {
			ew.printf("  %s  %s\n", st.paint(statusColor[probes.StatusError], "ERROR"), e)
		}
		var passed []string
		flushPassed := func() {
			if len(passed) > 0 {
				writeIDList(ew, st, passed)
				passed = nil
			}
		}
		for _, c := range SortedChecks(p.Result) {
			decided := c.Status == probes.StatusPass || c.Status == probes.StatusSkip
			if st.Detail != TextFull && decided {
				if st.Detail == TextFailures {
					continue
				}
				if c.Status == probes.StatusPass {
					passed = append(passed, c.ID)
					continue
				}
			}
			flushPassed()
			status := fmt.Sprintf("%-5s", strings.ToUpper(c.Status.String()))
			ew.printf("  %s  %-6s  %-24s %s\n", st.paint(statusColor[c.Status], status), c.Level, c.ID, c.Reason)
			if st.Detail != TextFull && decided {
				continue // a skipped check, on one line
			}
			for _, e := range c.Evidence {
				ew.printf("%38s- %s\n", "", e)
			}
			if c.Status == probes.StatusFail && c.Remediation != "" {
				ew.printf("%38s%s %s\n", "", st.paint(ansiCyan+ansiBold, "fix:"), c.Remediation)
			}
		}
		flushPassed()
		for _, n := range p.Result.Notes() {
			ew.printf("  note: %s\n", n)
		}
		for _, line := range ReuseLines(r, p.Result) {
			ew.printf("  reused: %s\n", line)
		}
		if st.Detail != TextFull && !attention {
			continue
		}
		for _, d := range p.Result.Details() {
			ew.printf("  %s\n", d.Title)
			for _, line := range d.Lines {
				ew.printf("    %s\n", line)
			}
		}
	}
	if len(quiet) > 0 {
		ew.printf("\nEvery check passed or was skipped in: %s\n", strings.Join(quiet, ", "))
	}
	return ew.err
}

// writeIDList writes the ids of passed checks after a PASS marker, wrapped
// under one another.
func writeIDList(ew *errWriter, st TextStyle, ids []string) {
	const indent = 9 // "  PASS   "
	line := ""
	first := true
	flush := func() {
		if first {
			ew.printf("  %s  %s\n", st.paint(statusColor[probes.StatusPass], "PASS "), line)
			first = false
		} else {
			ew.printf("%*s%s\n", indent, "", line)
		}
		line = ""
	}
	for i, id := range ids {
		item := id
		if i < len(ids)-1 {
			item += ","
		}
		if line != "" && indent+len(line)+1+len(item) > textWidth {
			flush()
		}
		if line != "" {
			line += " "
		}
		line += item
	}
	flush()
}

// ReuseLines says, one line each, which facts a probe judged were gathered
// for another request (an SMTP conversation held for another domain on the
// same mail server, under the smtp min_interval), for whom and how long
// before the report started.
func ReuseLines(r *collector.Report, res *probes.Result) []string {
	var out []string
	for _, u := range res.Reuses() {
		whom := u.HeldFor
		if whom == r.Target.String() {
			whom = "this target"
		}
		out = append(out, fmt.Sprintf("%s, held for %s %s before this report", u.Fact, whom, ReuseAge(r, u).Round(time.Second)))
	}
	return out
}

// ReuseAge is how long before the report started a reused fact was
// gathered.
func ReuseAge(r *collector.Report, u probes.Reuse) time.Duration {
	return max(r.Start.Sub(u.HeldAt), 0)
}

// WriteDebug writes what debug=true returns: the report, the metrics a
// scrape would have returned (written as /probe writes them), and the
// probe's log lines.
func WriteDebug(w io.Writer, r *collector.Report, logs string) error {
	if err := WriteText(w, r); err != nil {
		return err
	}
	ew := &errWriter{w: w}
	ew.printf("\n== Metrics that a scrape would have returned\n")
	metrics, err := exposition(r)
	if err != nil {
		ew.printf("# %v\n", err)
	}
	ew.printf("%s", metrics)
	if logs != "" {
		ew.printf("\n== Log of the probe\n%s", logs)
	}
	return ew.err
}

// exposition is the report's metrics as /probe answers with them
// (collector.Report.WriteExposition), and which samples it had to leave
// out, if any.
func exposition(r *collector.Report) (string, error) {
	var b strings.Builder
	err := r.WriteExposition(&b)
	return b.String(), err
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

// BogusLines lists the questions a validating resolver refused as
// DNSSEC-bogus for people: one line per distinct answer of the resolver
// (its address and Extended DNS Errors), naming the questions it gave it
// to, the first dozen of them.
func BogusLines(list []*dnsclient.Bogus) []string {
	const maxQuestions = 12
	var order []string
	questions := map[string][]string{}
	for _, b := range list {
		reason := b.Reason()
		if _, ok := questions[reason]; !ok {
			order = append(order, reason)
		}
		questions[reason] = append(questions[reason], dnsclient.TypeName(b.Type)+" "+strings.TrimSuffix(b.Name, "."))
	}
	lines := make([]string, 0, len(order))
	for _, reason := range order {
		qs := questions[reason]
		named := strings.Join(qs[:min(len(qs), maxQuestions)], ", ")
		if len(qs) > maxQuestions {
			named += fmt.Sprintf(" and %d more", len(qs)-maxQuestions)
		}
		lines = append(lines, named+": "+reason)
	}
	return lines
}

// BogusSummary introduces the list of questions a validating resolver
// refused as DNSSEC-bogus, in every report format.
func BogusSummary(n int) string {
	return fmt.Sprintf("the resolver refused %d %s as DNSSEC-bogus; the checks below ran on the records it gave with checking disabled (CD), which senders and receivers that validate never get:",
		n, map[bool]string{true: "answer", false: "answers"}[n == 1])
}
