package benchkit

import (
	"context"
	"fmt"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/bench/benchworld"
	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// SMTPExchange times the SMTP conversations of bench.test (all addresses at
// once) with the DNS answers already in the request's cache and a fresh
// memo each time, so each run talks to every server again.
func SMTPExchange(ctx context.Context, w *benchworld.World, m *collector.Module, n int) (Durations, error) {
	r, err := NewRunner(m, w.Dialer, w.CA.Pool)
	if err != nil {
		return nil, err
	}
	t, _ := probes.ParseTarget(benchworld.Domain)
	req := &probes.Request{Target: t}
	env := &probes.Env{DNS: r.Client.NewResolver(), Dialer: w.Dialer, RootCAs: w.CA.Pool, Now: time.Now, Facts: probes.NewFacts(nil)}
	if _, err := mailhosts.Discover(ctx, req, env); err != nil {
		return nil, err
	}
	block, ok := m.Config.Block(smtp.Name)
	if !ok {
		return nil, fmt.Errorf("module %s has no smtp block", m.Name())
	}
	providers := smtp.Registration.Provides(block, probes.Setup{})
	var out Durations
	for i := 0; i < n+1; i++ {
		e := *env
		e.Facts = probes.NewFacts(providers)
		t0 := time.Now()
		sessions, err := smtpsession.Sessions(ctx, req, &e)
		took := time.Since(t0)
		if err != nil {
			return nil, err
		}
		for _, s := range sessions {
			if !s.Handshaked() {
				return nil, fmt.Errorf("no TLS handshake with %s: %v", s.Label(), s.Err)
			}
		}
		if i > 0 { // the first one warms up the servers
			out = append(out, took)
		}
	}
	return out, nil
}

// PolicyFetch times the MTA-STS probe alone (without the smtp probe, so it
// does not wait for the conversations) with its DNS answers cached: the
// HTTPS fetch of the policy.
func PolicyFetch(ctx context.Context, w *benchworld.World, n int) (Durations, error) {
	m, err := ParseModule(w.Module("mail", benchworld.ModuleOptions{Probes: []string{"mtasts"}}), "mail")
	if err != nil {
		return nil, err
	}
	r, err := NewRunner(m, w.Dialer, w.CA.Pool)
	if err != nil {
		return nil, err
	}
	t, _ := probes.ParseTarget(benchworld.Domain)
	req := &probes.Request{Target: t}
	env := &probes.Env{DNS: r.Client.NewResolver(), Dialer: w.Dialer, RootCAs: w.CA.Pool, Now: time.Now, Facts: probes.NewFacts(nil)}
	block, ok := m.Config.Block(mtasts.Name)
	if !ok {
		return nil, fmt.Errorf("module %s has no mtasts block", m.Name())
	}
	p, err := mtasts.Registration.Build(block, probes.Setup{})
	if err != nil {
		return nil, err
	}
	var out Durations
	for i := 0; i < n+1; i++ {
		e := *env
		e.Facts = probes.NewFacts(nil)
		t0 := time.Now()
		res := p.Run(ctx, req, &e)
		took := time.Since(t0)
		if c, _ := res.Check("mtasts.policy"); c.Status != probes.StatusPass {
			return nil, fmt.Errorf("mtasts.policy %s: %s", c.Status, c.Reason)
		}
		if i > 0 {
			out = append(out, took)
		}
	}
	return out, nil
}
