package web

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// oneAtATime is the example module with one running request and without
// the DNS cache, so every request waits for the DNS server.
func oneAtATime(t *testing.T, addr string) *collector.Modules {
	t.Helper()
	return mustParse(t, "modules:\n"+strings.Replace(testbed.ExampleModule("mail", addr),
		"    dns_attempts: 2\n", "    dns_attempts: 2\n    dns_cache_max_ttl: 0s\n    max_running_requests: 1\n", 1))
}

// A request that finds the module's running slots taken waits for one;
// one whose deadline passes while it waits reports every probe as an error
// and says why, and the waiting gauge counts it while it waits.
func TestMaxRunningRequestsMakesRequestsWait(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	world.SetDelay(300 * time.Millisecond) // the first request takes at least 3 rounds: 900ms
	h, self := newHandler(oneAtATime(t, world.Addr))

	first := make(chan probeResponse)
	go func() { first <- probe(t, h, "target=example.test", nil) }()
	// Wait until the first request holds the slot (its questions reach
	// the server), then send one whose deadline ends before the slot is
	// free.
	for len(world.Queries()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	late := make(chan probeResponse)
	go func() {
		late <- probe(t, h, "target=example.test", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"0.8"}})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(self.ProbesWaiting) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the second request never counted as waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
	res := <-late
	if res.code != http.StatusOK {
		t.Fatalf("waiting request: %d %s", res.code, res.body)
	}
	if v := res.mustValue(t, "probe_success"); v != 0 {
		t.Errorf("probe_success = %v for a request that never ran", v)
	}
	if v := res.mustValue(t, "mail_probe_error", "probe", "mx"); v != 1 {
		t.Errorf("mail_probe_error{probe=mx} = %v for a request that never ran", v)
	}
	if v := testutil.ToFloat64(self.ProbesWaiting); v != 0 {
		t.Errorf("waiting gauge = %v after the request gave up", v)
	}
	if ok := <-first; ok.mustValue(t, "probe_success") != 1 {
		t.Errorf("the running request failed:\n%s", ok.body)
	}

	debug := probe(t, h, "target=example.test&debug=true", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"30"}})
	if !strings.Contains(debug.body, "probe_success 1") {
		t.Errorf("a request with the slot free failed:\n%s", debug.body)
	}
}

// Requests that wait run in the order they came, each once the one before
// has finished, and all succeed.
func TestMaxRunningRequestsRunsRequestsInTurn(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	world.SetDelay(20 * time.Millisecond)
	m, ok := oneAtATime(t, world.Addr).Module("mail")
	if !ok {
		t.Fatal("no module")
	}
	target, err := probes.ParseTarget("example.test")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		running int
		most    int
		wg      sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep := m.Run(ctx, &probes.Request{Target: target}, collector.RunOptions{
				OnProbeDone: func(_ string, done, total int) {
					mu.Lock()
					defer mu.Unlock()
					if done == 1 {
						running++
						most = max(most, running)
					}
					if done == total {
						running--
					}
				},
			})
			if !rep.Success() {
				t.Errorf("a request that waited its turn failed: %v", rep.FailedMust())
			}
		})
	}
	wg.Wait()
	if most != 1 {
		t.Errorf("%d requests ran at once with max_running_requests 1", most)
	}
}

func TestMaxRunningRequestsMustBePositive(t *testing.T) {
	for _, bad := range []string{"0", "-1", "100000"} {
		_, err := parseModules([]byte("modules:\n  mail:\n    max_running_requests: " + bad + "\n    mx: {}\n"))
		if err == nil || !strings.Contains(err.Error(), "max_running_requests") {
			t.Errorf("max_running_requests: %s: %v", bad, err)
		}
	}
}
