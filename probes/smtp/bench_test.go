package smtp_test

import (
	"context"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
)

// BenchmarkProbe is the hot path: one probe request against smtp.test's
// three addresses (two hosts, IPv4 and IPv6), each a full conversation
// with STARTTLS, TLS 1.3, the three RCPT checks, chain verification, DANE
// and the name lookups, against in-process servers that share the CPU.
func BenchmarkProbe(b *testing.B) {
	w := newWorld(b, smtpTestIPs, func(ip string) testbed.SMTPBehaviour { return good(b, hostOf(ip)) })
	cfg := w.cfg()
	req := &probes.Request{Target: probes.Target{Kind: probes.KindDomain, Name: "smtp.test", Port: 25}}
	p := smtp.New(cfg)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		env := w.newEnv()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res := p.Run(ctx, req, withSessions(env, cfg))
		cancel()
		if c, _ := res.Check("smtp.starttls"); c.Status != probes.StatusPass {
			b.Fatalf("smtp.starttls = %s (%s)", c.Status, c.Reason)
		}
	}
}

// The conversation alone, without DNS: one address, a fresh request each
// time (so nothing comes from the memo).
func BenchmarkSession(b *testing.B) {
	w := newWorld(b, []string{"127.0.0.4"}, func(ip string) testbed.SMTPBehaviour { return good(b, "mx.one.test") })
	cfg := w.cfg()
	req := &probes.Request{Target: probes.Target{Kind: probes.KindDomain, Name: "one.test", Port: 25}}
	// Resolve once; each iteration reuses the answers but not the memo.
	warm := w.newEnv()
	if _, err := sessionsFor(context.Background(), req, warm, cfg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		env := *warm
		env.Facts = probes.NewFacts(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		sessions, err := sessionsFor(ctx, req, &env, cfg)
		cancel()
		if err != nil || len(sessions) != 1 || !sessions[0].Handshaked() {
			b.Fatalf("sessions %v, %v", sessions, err)
		}
	}
}
