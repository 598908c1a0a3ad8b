// Package probes holds what every probe shares: the target, the environment a
// probe runs in, and the result model (checks and measurements) that the
// collector turns into metrics and reports. Probes know nothing of Prometheus
// or HTTP; they describe their measurements with MetricSpec and leave the
// exposition to the collector.
package probes

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unique"
)

// Level is how much a check matters to receivers, as docs/checks.md defines it.
type Level string

// The levels. LevelInfo marks facts that are reported but never scored
// (a null MX, a revoked DKIM key, the health of a blocklist).
const (
	LevelMust   Level = "must"
	LevelShould Level = "should"
	LevelMay    Level = "may"
	LevelInfo   Level = "info"
)

// Weight is the share a check of this level has in the score.
func (l Level) Weight() float64 {
	switch l {
	case LevelMust:
		return 3
	case LevelShould:
		return 2
	case LevelMay:
		return 1
	}
	return 0
}

// Valid reports whether l is one of the defined levels.
func (l Level) Valid() bool {
	switch l {
	case LevelMust, LevelShould, LevelMay, LevelInfo:
		return true
	}
	return false
}

// Status is the outcome of one check.
type Status int

// The outcomes. StatusError means the check could not be decided (a timeout,
// a SERVFAIL): "we don't know" is not "it's broken", so it is neither a pass
// nor a fail and it marks the probe as erroring.
const (
	StatusSkip Status = iota
	StatusPass
	StatusFail
	StatusError
)

func (s Status) String() string {
	switch s {
	case StatusPass:
		return "pass"
	case StatusFail:
		return "fail"
	case StatusError:
		return "error"
	}
	return "skip"
}

// MarshalText renders the status by name in JSON reports.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// CheckSpec declares a check a probe can produce: its stable id (the metric's
// check label), its default level and what passing means.
type CheckSpec struct {
	ID      string
	Level   Level
	Passing string // one line: what passes, as in docs/checks.md
}

// Check is the outcome of one CheckSpec for one probe run.
type Check struct {
	ID     string `json:"id"`
	Level  Level  `json:"level"`
	Status Status `json:"status"`
	// Reason is one line saying why the check has its status.
	Reason string `json:"reason"`
	// Remediation says what to publish or change; set for failures.
	Remediation string `json:"remediation,omitempty"`
	// Evidence lists what the probe saw (records, addresses) that the reason
	// rests on.
	Evidence []string `json:"evidence,omitempty"`
}

// MetricSpec describes a measurement family. The collector registers one
// gauge per spec; probes declare their specs up front so the catalogue in
// docs/metrics.md can be tested against the code.
type MetricSpec struct {
	Name   string
	Help   string
	Labels []string
}

// Measurement is one sample of a MetricSpec.
type Measurement struct {
	Spec        *MetricSpec `json:"-"`
	LabelValues []string    `json:"labels,omitempty"`
	Value       float64     `json:"value"`
}

// Name is the metric family name of the sample.
func (m Measurement) Name() string { return m.Spec.Name }

// Result is what one probe run produced. It is safe for concurrent use while
// the probe runs, so a probe may record from several goroutines.
type Result struct {
	Probe string

	mu           sync.Mutex
	checks       []Check
	measurements []Measurement
	errors       []string
	notes        []string
	details      []Detail
	age          time.Duration
	reused       []Reuse
}

// Reuse is a fact a probe judged that was not gathered for its request: an
// SMTP conversation remembered under the module's min_interval and shared
// by every domain whose mail goes to the same server. Reports say for whom
// it was gathered and how old it is.
type Reuse struct {
	// Fact names what was reused: "SMTP conversation with
	// mx1.example.com 192.0.2.1:25".
	Fact string
	// HeldFor is the target it was gathered for, as reports write it.
	HeldFor string
	// HeldAt is when it was gathered.
	HeldAt time.Time
}

// Reused records that the probe judged a fact gathered for another request;
// a fact recorded twice is kept once.
func (r *Result) Reused(u Reuse) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.reused {
		if x.Fact == u.Fact {
			return
		}
	}
	r.reused = append(r.reused, u)
}

// Reuses returns the facts recorded by Reused, in order.
func (r *Result) Reuses() []Reuse {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Reuse(nil), r.reused...)
}

// Detail is a block of preformatted lines for the report, such as an SPF
// include tree with the lookups each branch costs.
type Detail struct {
	Title string   `json:"title"`
	Lines []string `json:"lines"`
}

// NewResult starts an empty result for the named probe.
func NewResult(probe string) *Result { return &Result{Probe: probe} }

// Add records a check outcome. A check id recorded twice keeps the worse
// outcome (error over fail over pass over skip) and merges the evidence, so
// per-host sub-results can be folded into one check.
func (r *Result) Add(c Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.checks {
		if r.checks[i].ID != c.ID {
			continue
		}
		old := &r.checks[i]
		if severity(c.Status) > severity(old.Status) {
			old.Status, old.Reason, old.Remediation = c.Status, c.Reason, c.Remediation
		}
		old.Evidence = append(old.Evidence, c.Evidence...)
		return
	}
	r.checks = append(r.checks, c)
}

func severity(s Status) int {
	switch s {
	case StatusPass:
		return 1
	case StatusFail:
		return 2
	case StatusError:
		return 3
	}
	return 0
}

// Pass records a passing check.
func (r *Result) Pass(spec CheckSpec, reason string, evidence ...string) {
	r.Add(Check{ID: spec.ID, Level: spec.Level, Status: StatusPass, Reason: reason, Evidence: evidence})
}

// Fail records a failing check with what to do about it.
func (r *Result) Fail(spec CheckSpec, reason, remediation string, evidence ...string) {
	r.Add(Check{ID: spec.ID, Level: spec.Level, Status: StatusFail, Reason: reason, Remediation: remediation, Evidence: evidence})
}

// Skip records that a check does not apply.
func (r *Result) Skip(spec CheckSpec, reason string) {
	r.Add(Check{ID: spec.ID, Level: spec.Level, Status: StatusSkip, Reason: reason})
}

// Undecided records that a check could not be decided and why; it also
// records the error against the probe.
func (r *Result) Undecided(spec CheckSpec, err error) {
	r.Add(Check{ID: spec.ID, Level: spec.Level, Status: StatusError, Reason: err.Error()})
	r.Error(err)
}

// SkipAll records that each of specs does not apply, for the one reason:
// a target the checks do not belong to, a lookup they all wait on that
// found nothing.
func (r *Result) SkipAll(reason string, specs ...CheckSpec) {
	for _, spec := range specs {
		r.Skip(spec, reason)
	}
}

// UndecidedAll records each of specs as undecided for the one err (a
// lookup they all depend on), and err once against the probe.
func (r *Result) UndecidedAll(err error, specs ...CheckSpec) {
	for _, spec := range specs {
		r.Undecided(spec, err)
	}
}

// Measure records one sample. The number of label values must match the spec.
func (r *Result) Measure(spec *MetricSpec, value float64, labelValues ...string) {
	if len(labelValues) != len(spec.Labels) {
		// A programming error in a probe; keep the probe running and make it
		// visible in the report instead of panicking on a scrape.
		r.Error(fmt.Errorf("internal: metric %s wants %d labels, got %d", spec.Name, len(spec.Labels), len(labelValues)))
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.measurements = append(r.measurements, Measurement{Spec: spec, LabelValues: labelValues, Value: value})
}

// Error records why the probe could not finish part of its work. The same
// message is kept once.
func (r *Result) Error(err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := err.Error()
	for _, e := range r.errors {
		if e == msg {
			return
		}
	}
	r.errors = append(r.errors, msg)
}

// Note adds a line to the report: context that belongs to no single check.
func (r *Result) Note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// AddDetail adds a titled block of lines to the report. Lines keep their
// leading spaces (indentation shows structure).
func (r *Result) AddDetail(title string, lines ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.details = append(r.details, Detail{Title: title, Lines: lines})
}

// Details returns the report blocks in the order they were added.
func (r *Result) Details() []Detail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Detail(nil), r.details...)
}

// Checks returns the checks in a stable order (by id).
func (r *Result) Checks() []Check {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]Check(nil), r.checks...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// EachCheck calls fn with every check, in the order they were recorded,
// without the copy and sort of Checks: what the score and the verdict of
// every answer read. fn must not call r's methods.
func (r *Result) EachCheck(fn func(Check)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.checks {
		fn(c)
	}
}

// Check returns the check with the given id, if recorded.
func (r *Result) Check(id string) (Check, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// Measurements returns the samples in the order they were recorded.
func (r *Result) Measurements() []Measurement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Measurement(nil), r.measurements...)
}

// MeasurementCount is how many samples Measurements would return.
func (r *Result) MeasurementCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.measurements)
}

// AppendMeasurements appends the samples to dst in the order they were
// recorded: what Measurements returns, without a copy of its own.
func (r *Result) AppendMeasurements(dst []Measurement) []Measurement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(dst, r.measurements...)
}

// Errors returns why the probe could not finish, if it could not.
func (r *Result) Errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

// Notes returns the report lines.
func (r *Result) Notes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.notes...)
}

// Failed reports whether the probe could not finish.
func (r *Result) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errors) > 0
}

// Quote renders a DNS string for evidence lines: quoted, with control
// characters escaped, and cut at a length a terminal line can hold.
func Quote(s string) string {
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// JoinNames lists names for a reason line, shortening long lists.
func JoinNames(names []string) string {
	const max = 8
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}

// clone returns a copy of r that shares no slice with it.
func (r *Result) clone() *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := &Result{Probe: r.Probe, age: r.age,
		measurements: append([]Measurement(nil), r.measurements...),
		errors:       append([]string(nil), r.errors...),
		notes:        append([]string(nil), r.notes...),
		details:      append([]Detail(nil), r.details...),
		reused:       append([]Reuse(nil), r.reused...),
	}
	out.checks = make([]Check, len(r.checks))
	for i, c := range r.checks {
		c.Evidence = append([]string(nil), c.Evidence...)
		out.checks[i] = c
	}
	return out
}

// CutMeasurements returns a copy of r with only its first keep
// measurements and err recorded against the probe: its checks stand, but
// its series are incomplete. r itself is not changed (a result served again
// under min_interval is shared by requests).
func (r *Result) CutMeasurements(keep int, err error) *Result {
	out := r.clone()
	if keep < len(out.measurements) {
		out.measurements = out.measurements[:max(keep, 0):max(keep, 0)]
	}
	out.Error(err)
	return out
}

// Summary returns a copy of r without what makes a result large: the
// checks' evidence, the details and the measurements; the checks' outcomes,
// reasons and remediations, the errors and the notes stay, and note is
// added. With bare, only the checks stay, their reasons cut at 200 bytes and
// without remediation, and note. r itself is not changed.
func (r *Result) Summary(note string, bare bool) *Result {
	out := r.clone()
	for i := range out.checks {
		c := &out.checks[i]
		c.Evidence = nil
		if bare {
			c.Remediation = ""
			if len(c.Reason) > 200 {
				c.Reason = strings.ToValidUTF8(c.Reason[:200], "") + "…"
			}
		}
	}
	out.details, out.measurements = nil, nil
	if bare {
		out.notes = nil
		if len(out.errors) > 0 {
			// Keep the probe failed, and say so in one line.
			out.errors = []string{fmt.Sprintf("%d errors, not kept in this summary", len(r.Errors()))}
		}
	}
	if note != "" {
		out.notes = append(out.notes, note)
	}
	return out
}

// Size is about how many bytes of text r holds: its checks' reasons,
// remediations and evidence, its samples' label values, its errors, notes
// and details.
func (r *Result) Size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.Probe)
	for _, c := range r.checks {
		n += len(c.ID) + len(c.Reason) + len(c.Remediation) + 16
		for _, e := range c.Evidence {
			n += len(e) + 16
		}
	}
	for _, m := range r.measurements {
		n += len(m.Spec.Name) + 16
		for _, v := range m.LabelValues {
			n += len(v) + 16
		}
	}
	for _, list := range [][]string{r.errors, r.notes} {
		for _, s := range list {
			n += len(s) + 16
		}
	}
	for _, d := range r.details {
		n += len(d.Title)
		for _, l := range d.Lines {
			n += len(l) + 16
		}
	}
	return n
}

// SetAge records that the result describes something observed d ago (a
// self-paced probe answering with its latest completed round trip); it is
// exported as mail_probe_result_age_seconds.
func (r *Result) SetAge(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.age = d
}

// Age is how old the result's observation is (0: made for this run).
func (r *Result) Age() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.age
}

// SelfPaced is implemented by probes that decide themselves how often they
// act (the delivery probe sends at most once per min_interval and answers
// every run with its latest result and SetAge): the engine runs them at
// every request instead of serving their result again under min_interval,
// and hands them min_interval in Setup.
type SelfPaced interface {
	PacesItself() bool
}

// Redacted stands in for a secret in what the exporter shows: reports,
// metrics, /config.
const Redacted = "<secret>"

// Redact replaces, in every text r holds (reasons, fixes, evidence, label
// values, errors, notes, details, reuse), what rep replaces: the secrets
// of a module's configuration (a blocklist's access key in its zone name),
// which the probe used but no report, metric or history may show. It must
// run before r is shared. Slices are copied where a value changes, never
// written through, as the probe may hold them.
func (r *Result) Redact(rep *strings.Replacer) {
	if rep == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.checks {
		c := &r.checks[i]
		c.Reason, c.Remediation = rep.Replace(c.Reason), rep.Replace(c.Remediation)
		c.Evidence = redactAll(rep, c.Evidence)
	}
	for i := range r.measurements {
		r.measurements[i].LabelValues = redactAll(rep, r.measurements[i].LabelValues)
	}
	r.errors, r.notes = redactAll(rep, r.errors), redactAll(rep, r.notes)
	for i := range r.details {
		r.details[i].Title = rep.Replace(r.details[i].Title)
		r.details[i].Lines = redactAll(rep, r.details[i].Lines)
	}
	for i := range r.reused {
		r.reused[i].Fact, r.reused[i].HeldFor = rep.Replace(r.reused[i].Fact), rep.Replace(r.reused[i].HeldFor)
	}
}

// redactAll returns list with rep applied to each string: list itself when
// nothing changes, else a copy.
func redactAll(rep *strings.Replacer, list []string) []string {
	var out []string
	for i, s := range list {
		if t := rep.Replace(s); t != s {
			if out == nil {
				out = append([]string(nil), list...)
			}
			out[i] = t
		}
	}
	if out == nil {
		return list
	}
	return out
}

// Compact readies r to be kept for long, as min_interval keeps results:
// every string it holds is interned (unique.Make), so the results of the
// thousands of domains on one mail platform, whose evidence, reasons and
// label values are mostly the same text (the platform's servers, their
// certificates, the lists that do not list them), hold each text once;
// and its slices are cut to their length. r must not be changed after.
// It returns about how many bytes r then holds, its text counted as if
// none were shared.
func (r *Result) Compact() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	checks := make([]Check, len(r.checks))
	for i, c := range r.checks {
		c.ID, c.Reason, c.Remediation = intern(c.ID), intern(c.Reason), intern(c.Remediation)
		c.Evidence = internAll(c.Evidence)
		checks[i] = c
	}
	r.checks = checks
	ms := make([]Measurement, len(r.measurements))
	for i, m := range r.measurements {
		m.LabelValues = internAll(m.LabelValues)
		ms[i] = m
	}
	r.measurements = ms
	r.errors, r.notes = internAll(r.errors), internAll(r.notes)
	details := make([]Detail, len(r.details))
	for i, d := range r.details {
		details[i] = Detail{Title: intern(d.Title), Lines: internAll(d.Lines)}
	}
	r.details = details
	reused := make([]Reuse, len(r.reused))
	for i, u := range r.reused {
		u.Fact, u.HeldFor = intern(u.Fact), intern(u.HeldFor)
		reused[i] = u
	}
	r.reused = reused
	return r.footprintLocked()
}

// footprintLocked estimates what r holds in memory: its structs, slices
// and text.
func (r *Result) footprintLocked() int {
	const str, slice = 16, 24
	n := 160 // the Result
	for _, c := range r.checks {
		n += 5*str + slice + len(c.ID) + len(c.Reason) + len(c.Remediation)
		for _, e := range c.Evidence {
			n += str + len(e)
		}
	}
	for _, m := range r.measurements {
		n += 16 + slice
		for _, v := range m.LabelValues {
			n += str + len(v)
		}
	}
	for _, list := range [][]string{r.errors, r.notes} {
		for _, s := range list {
			n += str + len(s)
		}
	}
	for _, d := range r.details {
		n += str + slice + len(d.Title)
		for _, l := range d.Lines {
			n += str + len(l)
		}
	}
	for _, u := range r.reused {
		n += 2*str + 24 + len(u.Fact) + len(u.HeldFor)
	}
	return n
}

func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// internAll returns the strings interned, in a slice of their number (nil
// for none).
func internAll(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = intern(s)
	}
	return out
}
