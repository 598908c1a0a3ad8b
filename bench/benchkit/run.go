// Package benchkit holds what the performance programs under bench/ share:
// running a module's probes with an environment of one's own (the bench
// world's dialer), reading a process's CPU time and memory from /proc,
// starting the exporter binary, and summarising latencies.
package benchkit

import (
	"context"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/bench/benchworld"
	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// Runner runs a module's probes through collector.Module.Run, with a
// dialer, CA pool and DNS client of its own: the bench world's addresses
// are reached through benchworld.MapDialer, which a module's config cannot
// name, and the DNS client keeps no answers across requests.
type Runner struct {
	Module  *collector.Module
	Client  *dnsclient.Client
	Dialer  probes.Dialer
	RootCAs *x509.CertPool
}

// NewRunner builds a runner with a DNS client configured as the module's
// (resolvers, query timeout, attempts, in-flight bound).
func NewRunner(m *collector.Module, dialer probes.Dialer, roots *x509.CertPool) (*Runner, error) {
	client, err := dnsclient.New(dnsclient.Config{
		Servers:     m.ResolverAddresses(),
		Timeout:     m.Config.DNSQueryTimeout,
		Attempts:    m.Config.DNSAttempts,
		MaxInFlight: m.Config.DNSMaxInFlight,
	})
	if err != nil {
		return nil, err
	}
	return &Runner{Module: m, Client: client, Dialer: dialer, RootCAs: roots}, nil
}

// Run runs every probe of the module against target and returns a report
// in the collector's shape (so Success, Score and FailedMust apply).
func (r *Runner) Run(ctx context.Context, target string) (*collector.Report, error) {
	t, err := probes.ParseTarget(target)
	if err != nil {
		return nil, err
	}
	rep := r.Module.Run(ctx, &probes.Request{Target: t}, collector.RunOptions{
		Dialer:  r.Dialer,
		RootCAs: r.RootCAs,
		DNS:     r.Client,
	})
	return rep, nil
}

// Problems lists what keeps a report of a healthy domain from being
// perfect: probe errors, and failed or undecided checks of any level.
func Problems(rep *collector.Report) []string {
	var out []string
	for _, p := range rep.Probes {
		for _, err := range p.Result.Errors() {
			out = append(out, fmt.Sprintf("%s: error: %v", p.Name, err))
		}
		for _, c := range p.Result.Checks() {
			switch c.Status {
			case probes.StatusFail, probes.StatusError:
				out = append(out, fmt.Sprintf("%s: %s %s: %s", p.Name, c.ID, c.Status, c.Reason))
			}
		}
	}
	return out
}

// ParseModule parses a config holding one module and returns it, with
// fresh process-wide resources (empty blocklist cache, MTA-STS memory and
// min_interval results).
func ParseModule(yaml, name string) (*collector.Module, error) {
	cfg, err := config.Parse([]byte(benchworld.Unbounded + "modules:\n" + yaml))
	if err != nil {
		return nil, err
	}
	ms, err := collector.Compile(cfg, nil)
	if err != nil {
		return nil, err
	}
	m, ok := ms.Module(name)
	if !ok {
		return nil, fmt.Errorf("no module %q", name)
	}
	return m, nil
}

// Durations summarises latencies.
type Durations []time.Duration

// Sorted returns a sorted copy.
func (d Durations) Sorted() Durations {
	s := append(Durations(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

// Pct is the p-th percentile (nearest rank) of sorted durations.
func (d Durations) Pct(p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := d.Sorted()
	i := int(p/100*float64(len(s))+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// Mean is the average.
func (d Durations) Mean() time.Duration {
	if len(d) == 0 {
		return 0
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}

// Summary is "p50 X, p90 Y, min Z, max W".
func (d Durations) Summary() string {
	if len(d) == 0 {
		return "no samples"
	}
	s := d.Sorted()
	return fmt.Sprintf("p50 %s, p90 %s, min %s, max %s (n=%d)", Ms(d.Pct(50)), Ms(d.Pct(90)), Ms(s[0]), Ms(s[len(s)-1]), len(s))
}

// Ms formats a duration in milliseconds with one decimal.
func Ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// Table renders rows as a Markdown table.
func Table(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}
