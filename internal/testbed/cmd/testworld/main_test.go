package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/web"
)

// TestTestWorld starts the command's world, loads the config it writes as
// the exporter does, and probes every domain: the full module shows every
// probe's metrics for starttls.test, which passes every must check, and
// each broken TLS setup fails the check it is there for.
func TestTestWorld(t *testing.T) {
	dir := t.TempDir()
	configPath := filepath.Join(dir, "world.yml")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- run(ctx, configPath, &out, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the world did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the world did not start within 30s")
	}
	if _, err := os.Stat(filepath.Join(dir, caFileName)); err != nil {
		t.Fatalf("the test CA is not beside the config: %v", err)
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	modules, err := collector.Compile(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	full, ok := modules.Module("full")
	if !ok {
		t.Fatalf("no module full in %v", modules.Names())
	}
	mail, _ := modules.Module("mail")
	probeNames := full.ProbeNames()
	for _, want := range []string{"mx", "spf", "dkim", "dmarc", "tlsrpt", "dnsbl", "smtp", "mtasts"} {
		if !contains(probeNames, want) {
			t.Errorf("module full does not run %s: %v", want, probeNames)
		}
	}

	run := func(m *collector.Module, target string) *collector.Report {
		t.Helper()
		tgt, err := probes.ParseTarget(target)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r := m.Run(ctx, &probes.Request{Target: tgt}, collector.RunOptions{})
		for _, p := range r.Probes {
			if errs := p.Result.Errors(); len(errs) > 0 {
				t.Errorf("%s: the %s probe could not finish: %v", target, p.Name, errs)
			}
		}
		return r
	}
	check := func(r *collector.Report, id string) probes.Status {
		for _, p := range r.Probes {
			if c, ok := p.Result.Check(id); ok {
				return c.Status
			}
		}
		return probes.StatusSkip
	}

	// The healthy domain: every probe, every must check passing.
	r := run(full, "starttls.test")
	if !r.Success() {
		t.Errorf("starttls.test: %s", r.Verdict())
	}
	for _, id := range []string{"smtp.reachable", "smtp.starttls", "smtp.helo", "tls.cert_trusted", "tls.cert_name", "tls.cert_expiry",
		"dane.tlsa", "dane.match", "mtasts.record", "mtasts.policy", "mtasts.mx_match", "mtasts.mode", "tlsrpt.present",
		"dane.rollover", "dkim.present", "dmarc.present", "spf.present", "ptr.fcrdns", "dnssec.domain", "dnsbl.domain"} {
		if got := check(r, id); got != probes.StatusPass {
			t.Errorf("starttls.test: %s is %s, want pass", id, got)
		}
	}
	metrics := gather(t, r)
	for _, name := range []string{"mail_smtp_up", "mail_smtp_starttls", "mail_tls_handshake_success", "probe_ssl_earliest_cert_expiry",
		"probe_tls_version_info", "mail_tls_cipher_info", "mail_tls_key_bits", "mail_tls_cert_info", "mail_dane_tlsa_match",
		"mail_mtasts_policy_info", "mail_mtasts_mx_match", "mail_mtasts_cert_expiry_timestamp_seconds", "mail_tlsrpt_destinations",
		"mail_dkim_key_bits", "mail_dmarc_policy_info", "mail_spf_dns_lookups", "mail_ptr_forward_confirmed", "mail_dnsbl_listed"} {
		if len(metrics[name]) == 0 {
			t.Errorf("starttls.test: no %s", name)
		}
	}
	if v := value(metrics["mail_dane_tlsa_match"]); v != 1 {
		t.Errorf("mail_dane_tlsa_match %v", v)
	}
	// Every probe of the module contributes checks of its own.
	for _, p := range r.Probes {
		if len(p.Result.Checks()) == 0 {
			t.Errorf("starttls.test: the %s probe reports no check", p.Name)
		}
	}
	// A healthy domain's summary fits on a screen.
	var summary bytes.Buffer
	if err := web.WriteTextStyled(&summary, r, web.TextStyle{Detail: web.TextSummary}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(summary.String(), "\n"); n > 50 {
		t.Errorf("the summary of the healthy starttls.test has %d lines, more than a screen:\n%s", n, summary.String())
	}

	// Each broken TLS setup fails what it is there for, and only the
	// reachability of the host passes without TLS.
	for target, wantFail := range map[string]string{
		"expired.test":    "tls.cert_expiry",
		"selfsigned.test": "tls.cert_trusted",
		"wrongname.test":  "tls.cert_name",
		"notls.test":      "smtp.starttls",
	} {
		r := run(full, target)
		if got := check(r, wantFail); got != probes.StatusFail {
			t.Errorf("%s: %s is %s, want fail", target, wantFail, got)
		}
		if got := check(r, "smtp.reachable"); got != probes.StatusPass {
			t.Errorf("%s: smtp.reachable is %s: the server does not answer", target, got)
		}
		if got := r.FailedMust(); len(got) != 1 || got[0] != wantFail {
			t.Errorf("%s: must checks %v fail, want only %s", target, got, wantFail)
		}
	}

	// The example world still answers the DNS-only module as before.
	if r := run(mail, "example.test"); !r.Success() {
		t.Errorf("example.test with module mail: %s", r.Verdict())
	}
	if !strings.Contains(out.String(), "starttls.test") || !strings.Contains(out.String(), "Ready") {
		t.Errorf("the command's output does not say what it serves:\n%s", out.String())
	}
}

func gather(t *testing.T, r *collector.Report) map[string][]*dto.Metric {
	t.Helper()
	reg, err := r.Registry()
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*dto.Metric{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf.GetMetric()
	}
	return out
}

func value(ms []*dto.Metric) float64 {
	if len(ms) != 1 {
		return -1
	}
	return ms[0].GetGauge().GetValue()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
