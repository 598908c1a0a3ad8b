package dnsbl_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// benchWorld is a domain whose MX host has 20 addresses, and 10 IP lists
// that list nothing but their RFC 5782 test point.
func benchWorld(tb testing.TB) (*testbed.DNSServer, dnsbl.Config) {
	var zone strings.Builder
	zone.WriteString("$ORIGIN bench.test.\n@ IN MX 10 mx\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&zone, "mx IN A 192.0.2.%d\n", 100+i)
	}
	cfg := dnsbl.Config{MaxConcurrency: 256, CheckHealth: true}
	for i := 0; i < 10; i++ {
		z := fmt.Sprintf("bl%d.bench.test", i)
		fmt.Fprintf(&zone, "$ORIGIN %s.\n@ 3600 IN SOA ns hostmaster 1 7200 3600 1209600 300\n2.0.0.127 IN A 127.0.0.2\n", z)
		cfg.Lists = append(cfg.Lists, dnsbl.List{Zone: z, Kind: dnsbl.KindIP, Codes: map[string]string{"127.0.0.2": "listed"}})
	}
	return testbed.StartDNS(tb, zone.String()), cfg
}

// benchEnv is one probe request's environment with MX discovery already
// done, so only the blocklist round is measured.
func benchEnv(tb testing.TB, client *dnsclient.Client, req *probes.Request) *probes.Env {
	env := probetest.Env(client)
	env.Limits.AddressesPerHost = 20 // above the default, so all 20 are asked
	set, err := mailhosts.Discover(context.Background(), req, env)
	if err != nil || len(set.AllIPs()) != 20 {
		tb.Fatalf("discovery: %v, %d addresses", err, len(set.AllIPs()))
	}
	return env
}

// 10 lists x 20 subjects is 200 questions, plus 20 test points: with room
// for all of them in flight they take one round, not 220.
func TestTenListsTwentySubjectsOneRound(t *testing.T) {
	srv, cfg := benchWorld(t)
	client, _ := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: 5 * time.Second, Attempts: 1})
	tgt, _ := probes.ParseTarget("bench.test")
	req := &probes.Request{Target: tgt}
	for _, tc := range []struct{ concurrency, rounds int }{{dnsbl.DefaultMaxConcurrency, 1}, {32, 7}} {
		env := benchEnv(t, client, req)
		srv.ResetQueries()
		// 220 questions from as many goroutines: on a loaded machine they
		// can reach the server more than 50 ms apart, so a round waits
		// longer for the next question before it closes.
		srv.SetLockstep(200 * time.Millisecond)
		cfg.MaxConcurrency = tc.concurrency
		res := dnsbl.New(cfg, nil).Run(context.Background(), req, env)
		if c, _ := res.Check("dnsbl.ip"); c.Status != probes.StatusPass {
			t.Fatalf("dnsbl.ip = %s (%s)", c.Status, c.Reason)
		}
		if n := len(srv.Queries()); n != 220 {
			t.Errorf("%d questions, want 220", n)
		}
		if got := srv.Rounds(); got != tc.rounds {
			t.Errorf("max_concurrency %d: %d rounds, want %d", tc.concurrency, got, tc.rounds)
		}
		srv.SetLockstep(0)
	}
}

// BenchmarkTenListsTwentySubjects: each answer takes 20 ms; the run should
// take about one round trip. The run without delay shows what the 220
// questions cost on loopback besides waiting.
func BenchmarkTenListsTwentySubjects(b *testing.B) {
	for _, bc := range []struct {
		conc  int
		delay time.Duration
	}{{dnsbl.DefaultMaxConcurrency, 20 * time.Millisecond}, {32, 20 * time.Millisecond}, {256, 0}} {
		conc := bc.conc
		b.Run(fmt.Sprintf("max_concurrency=%d/delay=%s", conc, bc.delay), func(b *testing.B) {
			srv, cfg := benchWorld(b)
			srv.SetDelay(bc.delay)
			cfg.MaxConcurrency = conc
			client, _ := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: 5 * time.Second, Attempts: 1})
			tgt, _ := probes.ParseTarget("bench.test")
			req := &probes.Request{Target: tgt}
			p := dnsbl.New(cfg, nil)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				env := benchEnv(b, client, req)
				b.StartTimer()
				res := p.Run(context.Background(), req, env)
				if c, _ := res.Check("dnsbl.ip"); c.Status != probes.StatusPass {
					b.Fatalf("dnsbl.ip = %s (%s)", c.Status, c.Reason)
				}
			}
		})
	}
}

// BenchmarkCachedRequest: the same request answered from a warm process
// cache, the common case for domains sharing MX hosts.
func BenchmarkCachedRequest(b *testing.B) {
	srv, cfg := benchWorld(b)
	client, _ := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: 5 * time.Second, Attempts: 1})
	tgt, _ := probes.ParseTarget("bench.test")
	req := &probes.Request{Target: tgt}
	p := dnsbl.New(cfg, dnsbl.NewCache(10000, 0))
	p.Run(context.Background(), req, benchEnv(b, client, req))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		env := benchEnv(b, client, req)
		b.StartTimer()
		p.Run(context.Background(), req, env)
	}
}

// TestAddressesBeyondTheLimitLeaveTheCheckUndecided: with the default limit
// of 16 addresses per host, 4 of the MX host's 20 are not asked about, so
// "no address is listed" cannot pass; the lists are not asked about them.
func TestAddressesBeyondTheLimitLeaveTheCheckUndecided(t *testing.T) {
	srv, cfg := benchWorld(t)
	client, _ := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: 5 * time.Second, Attempts: 1})
	tgt, _ := probes.ParseTarget("bench.test")
	res := dnsbl.New(cfg, nil).Run(context.Background(), &probes.Request{Target: tgt}, probetest.Env(client))
	c, _ := res.Check("dnsbl.ip")
	if c.Status != probes.StatusError || !strings.Contains(c.Reason, "limits.addresses_per_host is 16") {
		t.Errorf("dnsbl.ip = %s (%s), want undecided by limits.addresses_per_host", c.Status, c.Reason)
	}
	asked := 0
	for _, q := range srv.Queries() {
		if strings.Contains(q.Name, ".bl") && !strings.HasSuffix(strings.SplitN(q.Name, ".bl", 2)[0], ".0.0.127") { // not the test points
			asked++
		}
	}
	if asked != 16*10 {
		t.Errorf("%d subject questions, want 16 addresses x 10 lists", asked)
	}
}
