package dnsbl_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
)

// listQueries counts the questions the server received per name below the
// list zones (".bl.test").
func listQueries(srv *testbed.DNSServer) map[string]int {
	out := map[string]int{}
	for _, q := range srv.Queries() {
		if strings.HasSuffix(q.Name, ".bl.test.") {
			out[q.String()]++
		}
	}
	return out
}

func assertOnce(t *testing.T, counts map[string]int, wantDistinct int) {
	t.Helper()
	for q, n := range counts {
		if n != 1 {
			t.Errorf("%s asked %d times, want once", q, n)
		}
	}
	if len(counts) != wantDistinct {
		t.Errorf("%d distinct list questions, want %d: %v", len(counts), wantDistinct, counts)
	}
}

// Two domains whose MX is one host: the second probe request costs the
// lists nothing within the TTL. Each list is asked once about the shared
// address and once per test point, and once per shared name.
func TestSharedMXAskedOncePerListWithinTTL(t *testing.T) {
	srv := startWorld(t)
	cache := dnsbl.NewCache(1000, 0)
	cfg := config(zen(), dbl())

	resA, _ := runProbe(t, srv.Addr, cfg, request{target: "shared-a.test", cache: cache})
	resB, _ := runProbe(t, srv.Addr, cfg, request{target: "shared-b.test", cache: cache})
	for _, res := range []*probes.Result{resA, resB} {
		// mx.shared.test is a provider's MX host to both domains: it
		// only receives their mail, so a listing would be a warning.
		if v, ok := findMeasurement(res, "mail_dnsbl_listed", "zen.bl.test", "192.0.2.50", "warning"); !ok || v != 0 {
			t.Errorf("mail_dnsbl_listed{zen.bl.test,192.0.2.50} = %v, %v; want 0 from the cache as from the list", v, ok)
		}
		if c, _ := res.Check("dnsbl.ip"); c.Status != probes.StatusPass {
			t.Errorf("dnsbl.ip = %s (%s)", c.Status, c.Reason)
		}
	}
	// zen: 192.0.2.50 and two test points. dbl: shared-a.test,
	// shared-b.test, mx.shared.test, shared.test and two test points.
	assertOnce(t, listQueries(srv), 3+6)
	hits, misses := cache.Stats()
	// The second request finds all but shared-b.test in the cache: the
	// three zen questions, mx.shared.test, shared.test and the test points
	// of dbl.
	if misses != 9 || hits != 7 {
		t.Errorf("cache hits %d, misses %d; want 7 and 9", hits, misses)
	}
}

// The same when the two requests run at once: the second joins the query
// the first has in flight instead of sending its own.
func TestSharedMXConcurrentRequestsShareOneQuery(t *testing.T) {
	srv := startWorld(t)
	// Lockstep releases answers in rounds, so both requests reach the
	// blocklist round together and their questions meet in flight.
	srv.SetLockstep(50 * time.Millisecond)
	cache := dnsbl.NewCache(1000, 0)
	cfg := config(zen(), dbl())
	var wg sync.WaitGroup
	results := make([]*probes.Result, 2)
	for i, target := range []string{"shared-a.test", "shared-b.test"} {
		wg.Go(func() {
			results[i], _ = runProbe(t, srv.Addr, cfg, request{target: target, cache: cache})
		})
	}
	wg.Wait()
	for _, res := range results {
		if c, _ := res.Check("dnsbl.ip"); c.Status != probes.StatusPass {
			t.Errorf("dnsbl.ip = %s (%s)", c.Status, c.Reason)
		}
	}
	assertOnce(t, listQueries(srv), 3+6)
	if hits, _ := cache.Stats(); hits == 0 {
		t.Error("no cache hits: the second request did not join the first's queries")
	}
}

// After the TTL the lists are asked again; errors are never kept.
func TestCacheExpiresWithTTLAndKeepsNoErrors(t *testing.T) {
	srv := startWorld(t)
	cache := dnsbl.NewCache(1000, 0)
	cfg := config(zen())
	clock := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }

	runProbe(t, srv.Addr, cfg, request{target: "192.0.2.10", cache: cache, now: now})
	first := len(srv.Queries())
	// The listing's A record has TTL 300, the negative answer for
	// 1.0.0.127 the SOA minimum of 300: 4 minutes later all are cached.
	clock = clock.Add(4 * time.Minute)
	runProbe(t, srv.Addr, cfg, request{target: "192.0.2.10", cache: cache, now: now})
	if n := len(srv.Queries()); n != first {
		t.Errorf("%d queries within the TTL, want none", n-first)
	}
	clock = clock.Add(2 * time.Minute)
	runProbe(t, srv.Addr, cfg, request{target: "192.0.2.10", cache: cache, now: now})
	if n := len(srv.Queries()); n != 2*first {
		t.Errorf("%d queries after the TTL, want %d again", n-first, first)
	}

	// A SERVFAIL is not kept: the next request asks again.
	srv.ResetQueries()
	srv.SetBehaviour("20.2.0.192.zen.bl.test", testbed.ServFail)
	res, _ := runProbe(t, srv.Addr, cfg, request{target: "192.0.2.20", cache: cache, now: now})
	if c, _ := res.Check("dnsbl.ip"); c.Status != probes.StatusError {
		t.Errorf("dnsbl.ip = %s after SERVFAIL, want undecided", c.Status)
	}
	srv.SetBehaviour("20.2.0.192.zen.bl.test", testbed.Normal)
	res, _ = runProbe(t, srv.Addr, cfg, request{target: "192.0.2.20", cache: cache, now: now})
	if c, _ := res.Check("dnsbl.ip"); c.Status != probes.StatusPass {
		t.Errorf("dnsbl.ip = %s (%s) once the list answers again, want pass", c.Status, c.Reason)
	}
	if n := listQueries(srv)["A 20.2.0.192.zen.bl.test./udp"]; n != 2 {
		t.Errorf("the failed question was asked %d times, want 2 (the failure was cached)", n)
	}
}

func TestCacheIsBoundedAndKeyedByResolver(t *testing.T) {
	srv := startWorld(t)
	cache := dnsbl.NewCache(2, 0)
	cfg := config(zen())
	runProbe(t, srv.Addr, cfg, request{target: "192.0.2.20", cache: cache})
	if n := cache.Len(); n != 2 {
		t.Errorf("cache holds %d answers, want its bound 2", n)
	}
	// A second resolver (another module's) never sees the first's answers.
	other := startWorld(t)
	runProbe(t, other.Addr, cfg, request{target: "192.0.2.20", cache: cache})
	if n := len(listQueries(other)); n != 3 {
		t.Errorf("the other resolver was asked %d list questions, want all 3", n)
	}
}

func TestNilCacheAsksEveryRequest(t *testing.T) {
	srv := startWorld(t)
	cfg := config(zen())
	runProbe(t, srv.Addr, cfg, request{target: "192.0.2.20"})
	runProbe(t, srv.Addr, cfg, request{target: "192.0.2.20"})
	if n := listQueries(srv)["A 20.2.0.192.zen.bl.test./udp"]; n != 2 {
		t.Errorf("asked %d times without a cache, want 2", n)
	}
}

func TestCacheIsBoundedInBytes(t *testing.T) {
	srv := startWorld(t)
	const bound = 4 << 10
	cache := dnsbl.NewCache(100000, bound)
	cfg := config(zen())
	for i := range 40 {
		runProbe(t, srv.Addr, cfg, request{target: fmt.Sprintf("192.0.2.%d", 100+i), cache: cache})
		if b := cache.Bytes(); b > bound {
			t.Fatalf("after %d requests the cache takes %d bytes, more than its bound %d", i+1, b, bound)
		}
	}
	if n, b := cache.Len(), cache.Bytes(); n == 0 || n >= 40 || b < bound/2 {
		t.Errorf("the cache holds %d answers in %d bytes: want it full up to its bound, fewer than the 40 subjects", n, b)
	}
}
