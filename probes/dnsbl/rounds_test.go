package dnsbl_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// The subject questions and the lists' test points go out in one round;
// only the TXT reasons of listings wait for it. Lockstep counts rounds
// without reading a clock.
func TestQuestionsGoOutInOneRound(t *testing.T) {
	for _, tc := range []struct {
		target string
		rounds int
		why    string
	}{
		{"192.0.2.20", 1, "subjects and test points of every list at once"},
		{"192.0.2.10", 2, "then the TXT reason of the listing"},
		{"clean.test", 3, "MX, then A/AAAA of the MX host, then the lists"},
		{"example.test", 4, "MX, A/AAAA, the lists, the TXT reasons"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			srv := startWorld(t)
			srv.SetLockstep(50 * time.Millisecond)
			runProbe(t, srv.Addr, config(zen(), dbl(), wl()), request{target: tc.target})
			if got := srv.Rounds(); got != tc.rounds {
				t.Errorf("%d rounds, want %d (%s)", got, tc.rounds, tc.why)
			}
			var names []string
			for _, q := range srv.Queries() {
				names = append(names, q.Name)
			}
			for _, tp := range []string{"2.0.0.127.zen.bl.test.", "1.0.0.127.zen.bl.test.", "2.0.0.127.wl.bl.test."} {
				if !slices.Contains(names, tp) {
					t.Errorf("test point %s not asked", tp)
				}
			}
		})
	}
}

// max_concurrency bounds the questions in flight: 8 list questions at most
// 2 at a time take 4 rounds, after the 2 of MX discovery.
func TestMaxConcurrencyBoundsQuestionsInFlight(t *testing.T) {
	srv := startWorld(t)
	srv.SetLockstep(50 * time.Millisecond)
	cfg := config(zen(), wl())
	cfg.MaxConcurrency = 2
	// 192.0.2.20 and 2001:db8::20 on two lists, plus two test points each.
	runProbe(t, srv.Addr, cfg, request{target: "clean.test"})
	if got := srv.Rounds(); got != 2+4 {
		t.Errorf("%d rounds, want 2 for MX discovery and 4 for 8 list questions 2 at a time", got)
	}
}

func TestSilentResolverEndsAtDeadline(t *testing.T) {
	silent := testbed.StartSilentResolver(t)
	tgt, _ := probes.ParseTarget("192.0.2.10")
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{silent.Addr}, Timeout: 10 * time.Second, Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	env := probetest.Env(client)
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	res := dnsbl.New(dnsbl.DefaultConfig(), dnsbl.NewCache(100, 0)).Run(ctx, &probes.Request{Target: tgt}, env)
	if elapsed := time.Since(start); elapsed > deadline+2*time.Second {
		t.Errorf("Run took %s after a %s deadline", elapsed, deadline)
	}
	checkInvariants(t, res)
	for _, c := range res.Checks() {
		if c.Status == probes.StatusPass || c.Status == probes.StatusFail {
			t.Errorf("%s = %s without a single answer", c.ID, c.Status)
		}
	}
	if c, _ := res.Check("dnsbl.ip"); c.Status != probes.StatusError {
		t.Errorf("dnsbl.ip = %s, want undecided", c.Status)
	}
	for _, s := range res.Measurements() {
		if s.Name() != "mail_dnsbl_list_error" || s.Value != 1 {
			t.Errorf("%s%q = %v without an answer", s.Name(), s.LabelValues, s.Value)
		}
	}
}

func TestDescriber(t *testing.T) {
	p := dnsbl.New(dnsbl.DefaultConfig(), nil)
	if p.Name() != "dnsbl" {
		t.Errorf("Name() = %q", p.Name())
	}
	want := map[string]probes.Level{"dnsbl.ip": probes.LevelMust, "dnsbl.domain": probes.LevelMust,
		"dnsbl.list_health": probes.LevelInfo, "dnswl.listed": probes.LevelMay}
	var ids []string
	for _, spec := range p.CheckSpecs() {
		ids = append(ids, spec.ID)
		if spec.Level != want[spec.ID] || spec.Passing == "" {
			t.Errorf("%s: level %q (want %q), passing %q", spec.ID, spec.Level, want[spec.ID], spec.Passing)
		}
	}
	if len(ids) != len(want) {
		t.Errorf("CheckSpecs = %q", ids)
	}
	wantMetrics := map[string][]string{
		"mail_dnsbl_listed":           {"zone", "subject", "severity"},
		"mail_dnsbl_return_code_info": {"zone", "subject", "code", "meaning"},
		"mail_dnsbl_list_error":       {"zone"},
		"mail_dnsbl_list_healthy":     {"zone"},
		"mail_dnswl_listed":           {"zone", "subject"},
	}
	specs := p.MetricSpecs()
	if len(specs) != len(wantMetrics) {
		t.Errorf("%d metric specs, want %d", len(specs), len(wantMetrics))
	}
	for _, spec := range specs {
		if labels, ok := wantMetrics[spec.Name]; !ok || !slices.Equal(labels, spec.Labels) {
			t.Errorf("%s labels %q, want %q", spec.Name, spec.Labels, labels)
		}
		if !strings.HasSuffix(spec.Help, ".") || strings.Contains(spec.Help, "\n") {
			t.Errorf("%s: HELP %q is not a short sentence", spec.Name, spec.Help)
		}
	}
}

// New copies the configuration: changing the caller's maps later does not
// change a running probe.
func TestNewCopiesConfig(t *testing.T) {
	srv := startWorld(t)
	cfg := config(zen())
	p := dnsbl.New(cfg, nil)
	cfg.Lists[0].Codes["127.0.0.2"] = "changed"
	tgt, _ := probes.ParseTarget("192.0.2.10")
	client, _ := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}})
	env := &probes.Env{DNS: client.NewResolver(), Facts: probes.NewFacts(nil), Logger: log.NewNopLogger()}
	res := p.Run(context.Background(), &probes.Request{Target: tgt}, env)
	if _, ok := findMeasurement(res, "mail_dnsbl_return_code_info", "zen.bl.test", "192.0.2.10", "127.0.0.2", "SBL"); !ok {
		t.Errorf("the probe saw the caller's later change: %v", describe(res))
	}
}
