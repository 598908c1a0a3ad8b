package collector

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Issue 17 finding 5: reloads between requests used to recreate each
// module's running slots and DNS in-flight bound, so six requests ran at
// once under limits of 1. Requests of a module with max_running_requests
// 1 and dns_max_in_flight 1, started side by side while the configuration
// is reloaded again and again (and rewritten, with the module's settings
// the same), never run at once, and the resolver never sees two of their
// questions at once.
func TestLimitsHoldAcrossReloads(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	// Each answer takes a while, so that requests or questions that did
	// overlap would be seen overlapping.
	world.SetDelay(5 * time.Millisecond)
	path := filepath.Join(t.TempDir(), "config.yml")
	write := func(comment int) {
		cfg := fmt.Sprintf("# revision %d\nmodules:\n  mail:\n    timeout: 60s\n    resolvers: [%q]\n    dns_cache_max_ttl: 0s\n    max_running_requests: 1\n    dns_max_in_flight: 1\n    mx: {srv_services: []}\n", comment, world.Addr)
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Error(err)
		}
	}
	write(0)
	engine, err := NewEngine(path, log.NewNopLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}

	type interval struct{ from, to time.Time }
	const requests = 6
	var (
		mu       sync.Mutex
		running  []interval
		finished sync.WaitGroup
	)
	stopReloading := make(chan struct{})
	reloads := 0
	var reloader sync.WaitGroup
	reloader.Go(func() {
		for {
			select {
			case <-stopReloading:
				return
			default:
			}
			reloads++
			write(reloads)
			if err := engine.Reload(); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	for i := range requests {
		finished.Go(func() {
			// Each request takes the module in force when it starts,
			// as the HTTP handler does; the reloads between them make
			// each a different compile.
			m, ok := engine.Current().Module("mail")
			if !ok {
				t.Error("no module mail")
				return
			}
			target, _ := probes.ParseTarget("example.test")
			if i%2 == 1 {
				target, _ = probes.ParseTarget("broken.test")
			}
			req, err := m.NewRequest(target, nil)
			if err != nil {
				t.Error(err)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rep := m.Run(ctx, req, RunOptions{})
			if rep.DNS.Queries == 0 {
				t.Errorf("request %d asked nothing; it proves nothing", i)
			}
			began := rep.Start.Add(rep.Waited)
			mu.Lock()
			running = append(running, interval{began, rep.Start.Add(rep.Duration)})
			mu.Unlock()
		})
	}
	finished.Wait()
	close(stopReloading)
	reloader.Wait()

	if reloads < requests {
		t.Errorf("only %d reloads happened during %d requests; the test proves little", reloads, requests)
	}
	sort.Slice(running, func(i, j int) bool { return running[i].from.Before(running[j].from) })
	for i := 1; i < len(running); i++ {
		if running[i].from.Before(running[i-1].to) {
			t.Errorf("requests ran at once under max_running_requests 1 with reloads between them: one began before the one before it ended")
		}
	}
	if n := world.MaxInFlight(); n != 1 {
		t.Errorf("the resolver saw %d questions at once under dns_max_in_flight 1 with reloads between them", n)
	}
}
