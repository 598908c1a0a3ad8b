// Package probetest holds the assertions every probe package's tests make
// about a probe's result: the invariants any result must keep, and the
// expected checks, samples and errors of a test case. It is imported by
// tests only.
package probetest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/sending"
)

// Statuses expects every check of ids to have status def except those
// overridden in pairs ("mx.null", probes.StatusSkip, ...). An override
// that is not one of ids (when ids are given) is a mistake in the test.
func Statuses(ids []string, def probes.Status, overrides ...any) map[string]probes.Status {
	out := map[string]probes.Status{}
	for _, id := range ids {
		out[id] = def
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		id := overrides[i].(string)
		if ids != nil && !slices.Contains(ids, id) {
			panic("unknown check " + id)
		}
		out[id] = overrides[i+1].(probes.Status)
	}
	return out
}

// Metric is one expected sample: name, label values in spec order, value.
type Metric struct {
	Name   string
	Labels []string
	Value  float64
}

// M makes a Metric.
func M(name string, value float64, labels ...string) Metric {
	return Metric{Name: name, Labels: labels, Value: value}
}

// CheckInvariants asserts what holds for every result of probe p: exactly
// the checks ids, each once, with its declared level; one-line reasons,
// remediations and evidence; a remediation for every failure; probe errors
// (one line, none internal) for every undecided check; and only declared
// samples, each once, with label values that carry no trailing dot.
func CheckInvariants(t testing.TB, res *probes.Result, p probes.Describer, ids []string) {
	t.Helper()
	levels := map[string]probes.Level{}
	for _, spec := range p.CheckSpecs() {
		levels[spec.ID] = spec.Level
	}
	recorded := map[string]int{}
	for _, c := range res.Checks() {
		recorded[c.ID]++
		if want, ok := levels[c.ID]; !ok || c.Level != want {
			t.Errorf("%s: level %q, declared %q (declared: %v)", c.ID, c.Level, want, ok)
		}
		if c.Reason == "" || strings.ContainsAny(c.Reason, "\r\n") {
			t.Errorf("%s: reason %q is not one line", c.ID, c.Reason)
		}
		if strings.ContainsAny(c.Remediation, "\r\n") {
			t.Errorf("%s: remediation %q is not one line", c.ID, c.Remediation)
		}
		for _, e := range c.Evidence {
			if strings.ContainsAny(e, "\r\n") {
				t.Errorf("%s: evidence %q is not one line", c.ID, e)
			}
		}
		if c.Status == probes.StatusFail && c.Remediation == "" {
			t.Errorf("%s failed without a remediation: %s", c.ID, c.Reason)
		}
		if c.Status == probes.StatusError && len(res.Errors()) == 0 {
			t.Errorf("%s is undecided but the probe recorded no error", c.ID)
		}
	}
	for _, id := range ids {
		if recorded[id] != 1 {
			t.Errorf("%s recorded %d times, want once", id, recorded[id])
		}
	}
	for id := range recorded {
		if !slices.Contains(ids, id) {
			t.Errorf("%s recorded, but it is not one of the probe's checks %q", id, ids)
		}
	}
	declared := map[string]int{}
	for _, spec := range p.MetricSpecs() {
		declared[spec.Name] = len(spec.Labels)
	}
	seen := map[string]bool{}
	for _, s := range res.Measurements() {
		if n, ok := declared[s.Name()]; !ok || n != len(s.LabelValues) {
			t.Errorf("measurement %s%q is not declared with %d labels", s.Name(), s.LabelValues, len(s.LabelValues))
		}
		key := s.Name() + "\x00" + strings.Join(s.LabelValues, "\x00")
		if seen[key] {
			t.Errorf("measurement %s%q recorded twice", s.Name(), s.LabelValues)
		}
		seen[key] = true
		for _, v := range s.LabelValues {
			if strings.HasSuffix(v, ".") {
				t.Errorf("measurement %s%q has a label with a trailing dot", s.Name(), s.LabelValues)
			}
		}
	}
	for _, e := range res.Errors() {
		if strings.Contains(e, "internal:") || strings.ContainsAny(e, "\r\n") {
			t.Errorf("probe error: %q", e)
		}
	}
}

// AssertChecks asserts the checks' statuses, and substrings of their
// reasons, remediations and evidence (in any line).
func AssertChecks(t testing.TB, res *probes.Result, statuses map[string]probes.Status, reasons, remediations, evidence map[string]string) {
	t.Helper()
	for id, want := range statuses {
		c, ok := res.Check(id)
		if !ok {
			t.Errorf("%s not recorded", id)
			continue
		}
		if c.Status != want {
			t.Errorf("%s = %s (%s), want %s", id, c.Status, c.Reason, want)
		}
	}
	for id, want := range reasons {
		if c, _ := res.Check(id); !strings.Contains(c.Reason, want) {
			t.Errorf("%s reason %q, want it to contain %q", id, c.Reason, want)
		}
	}
	for id, want := range remediations {
		if c, _ := res.Check(id); !strings.Contains(c.Remediation, want) {
			t.Errorf("%s remediation %q, want it to contain %q", id, c.Remediation, want)
		}
	}
	for id, want := range evidence {
		c, _ := res.Check(id)
		if !slices.ContainsFunc(c.Evidence, func(line string) bool { return strings.Contains(line, want) }) {
			t.Errorf("%s evidence %q, want a line containing %q", id, c.Evidence, want)
		}
	}
}

// FindMeasurement returns the value of the sample with the name and
// labels.
func FindMeasurement(res *probes.Result, name string, labels ...string) (float64, bool) {
	for _, s := range res.Measurements() {
		if s.Name() == name && slices.Equal(s.LabelValues, labels) {
			return s.Value, true
		}
	}
	return 0, false
}

// AssertMetrics asserts the samples of want with their values, and that
// none of absent was recorded: an absent Metric stands for every sample of
// its name whose labels start with its labels (without labels: every
// sample of the name).
func AssertMetrics(t testing.TB, res *probes.Result, want, absent []Metric) {
	t.Helper()
	for _, w := range want {
		got, ok := FindMeasurement(res, w.Name, w.Labels...)
		if !ok {
			t.Errorf("%s%q not recorded; have %v", w.Name, w.Labels, Describe(res))
			continue
		}
		if got != w.Value {
			t.Errorf("%s%q = %v, want %v", w.Name, w.Labels, got, w.Value)
		}
	}
	for _, a := range absent {
		for _, s := range res.Measurements() {
			if s.Name() == a.Name && len(s.LabelValues) >= len(a.Labels) && slices.Equal(s.LabelValues[:len(a.Labels)], a.Labels) {
				t.Errorf("%s%q recorded, want it absent", s.Name(), s.LabelValues)
			}
		}
	}
}

// AssertErrors asserts no probe error (want "") or one containing want.
func AssertErrors(t testing.TB, res *probes.Result, want string) {
	t.Helper()
	errs := res.Errors()
	if want == "" {
		if len(errs) > 0 {
			t.Errorf("probe errors %q, want none", errs)
		}
		return
	}
	if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, want) }) {
		t.Errorf("probe errors %q, want one containing %q", errs, want)
	}
}

// Describe lists the samples recorded, for failure messages.
func Describe(res *probes.Result) []string {
	var out []string
	for _, s := range res.Measurements() {
		out = append(out, s.Name()+"{"+strings.Join(s.LabelValues, ",")+"}")
	}
	return out
}

// Env is a probe environment for one request resolving through c: a fresh
// request cache and memo, the real clock, no logs.
func Env(c *dnsclient.Client) *probes.Env {
	return &probes.Env{DNS: c.NewResolver(), Facts: probes.NewFacts(nil), Now: time.Now, Logger: log.NewNopLogger()}
}

// LoopbackNetworks are what a test world on loopback opens in a module's
// allowed_networks: the probes connect to no closed block
// (probes.ClosedRanges) otherwise.
var LoopbackNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// LoopbackDialer is the dialer of a module whose allowed_networks are
// LoopbackNetworks, and denied_networks denied.
func LoopbackDialer(denied ...netip.Prefix) *probes.AddressDialer {
	return &probes.AddressDialer{Allowed: LoopbackNetworks, Denied: denied}
}

// WithSPFBlock returns the facts of a module with an spf block, as far as
// the probes that read the sending fact need it: SendingFact stands in for
// the spf probe's provider.
func WithSPFBlock() map[string]probes.Provider {
	return map[string]probes.Provider{sending.FactName: SendingFact}
}

// SendingFact stands in for the spf block's provider of the sending fact
// (probes/spf decides it, and its tests hold the rule): it reads the
// domain's TXT records as the spf probe does, so a lookup that fails is the
// fact's error, and declares that the domain sends no mail for the record
// "v=spf1 -all", in the spf probe's words.
func SendingFact(ctx context.Context, req *probes.Request, env *probes.Env, _ string) (any, error) {
	d := &sending.Declaration{Domain: req.Target.Name}
	if req.Target.Kind != probes.KindDomain {
		return d, nil
	}
	ans, err := env.DNS.Lookup(ctx, dns.Fqdn(req.Target.Name), dns.TypeTXT)
	if err != nil {
		return nil, fmt.Errorf("whether %s sends mail is unknown: %w", req.Target.Name, err)
	}
	for _, txt := range ans.TXT() {
		if strings.EqualFold(txt, "v=spf1 -all") {
			d.NoMail, d.Record, d.Why = true, txt, fmt.Sprintf("its SPF record %s authorises no client", probes.Quote(txt))
		}
	}
	return d, nil
}
