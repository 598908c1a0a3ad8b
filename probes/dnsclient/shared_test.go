package dnsclient_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// fakeClock is a settable clock for the shared cache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newCachingClient(t *testing.T, clock *fakeClock, maxTTL time.Duration, maxBytes int64, servers ...string) *dnsclient.Client {
	t.Helper()
	c, err := dnsclient.New(dnsclient.Config{Servers: servers, Timeout: 300 * time.Millisecond, Attempts: 1,
		CacheMaxTTL: maxTTL, CacheMaxBytes: maxBytes, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func lookup(t *testing.T, c *dnsclient.Client, name string, qtype uint16) (*dnsclient.Answer, dnsclient.Stats) {
	t.Helper()
	r := c.NewResolver()
	ans, err := r.Lookup(context.Background(), name, qtype)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return ans, r.Stats()
}

func TestSharedCacheKeepsAnswersForTheirTTL(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	srv.SetSecure("example.test")
	clock := &fakeClock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	c := newCachingClient(t, clock, time.Hour, 0, srv.Addr)

	first, st := lookup(t, c, "mx1.example.test", dns.TypeA)
	if st.Queries != 1 || st.SharedHits != 0 {
		t.Fatalf("first request: %+v, want one query", st)
	}
	if first.TTL != 300 {
		t.Fatalf("TTL = %d, want the zone's 300", first.TTL)
	}

	clock.advance(100 * time.Second)
	second, st := lookup(t, c, "mx1.example.test", dns.TypeA)
	if st.Queries != 0 || st.SharedHits != 1 {
		t.Fatalf("second request 100s later: %+v, want the kept answer", st)
	}
	if got := second.Addrs(); len(got) != 1 || got[0].String() != "192.0.2.10" {
		t.Errorf("kept answer = %v", got)
	}
	if !second.Authenticated {
		t.Error("the kept answer lost the AD bit")
	}
	if second.TTL != 200 {
		t.Errorf("kept answer's TTL = %d, want 300 - 100 = 200, as a resolver counts down", second.TTL)
	}
	if n := len(srv.Queries()); n != 1 {
		t.Errorf("server saw %d questions, want 1", n)
	}

	clock.advance(200 * time.Second)
	if _, st := lookup(t, c, "mx1.example.test", dns.TypeA); st.Queries != 1 || st.SharedHits != 0 {
		t.Errorf("request at the TTL's end: %+v, want a new query", st)
	}
}

func TestSharedCacheCapsTheTTLAndKeepsNegativeAnswers(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	clock := &fakeClock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	c := newCachingClient(t, clock, 30*time.Second, 0, srv.Addr)

	lookup(t, c, "example.test", dns.TypeTXT)
	lookup(t, c, "nope.example.test", dns.TypeA) // NXDOMAIN, SOA minimum 60
	clock.advance(29 * time.Second)
	if _, st := lookup(t, c, "example.test", dns.TypeTXT); st.SharedHits != 1 {
		t.Errorf("TXT within the cap: %+v, want kept", st)
	}
	nx, st := lookup(t, c, "nope.example.test", dns.TypeA)
	if st.SharedHits != 1 || !nx.NXDomain() {
		t.Errorf("NXDOMAIN within its negative TTL: %+v (NXDOMAIN %v), want kept", st, nx.NXDomain())
	}
	clock.advance(time.Second)
	if _, st := lookup(t, c, "example.test", dns.TypeTXT); st.Queries != 1 {
		t.Errorf("TXT (TTL 300) after the 30s cap: %+v, want asked again", st)
	}
}

func TestSharedCacheDoesNotKeepFailures(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	srv.SetBehaviour("broken.example.test", testbed.ServFail)
	srv.Add("zero.example.test. 0 IN A 192.0.2.1")
	clock := &fakeClock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	c := newCachingClient(t, clock, time.Hour, 0, srv.Addr)

	for i := range 2 {
		r := c.NewResolver()
		if _, err := r.Lookup(context.Background(), "broken.example.test", dns.TypeA); err == nil {
			t.Fatal("SERVFAIL gave no error")
		}
		if st := r.Stats(); st.SharedHits != 0 || st.Queries == 0 {
			t.Errorf("SERVFAIL, request %d: %+v, want asked every time", i, st)
		}
		if _, st := lookup(t, c, "zero.example.test", dns.TypeA); st.Queries != 1 {
			t.Errorf("TTL 0, request %d: %+v, want asked every time", i, st)
		}
	}
}

func TestSharedCacheOffWithZeroTTL(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	c := newClient(t, srv.Addr) // CacheMaxTTL 0
	for range 2 {
		if _, st := lookup(t, c, "mx1.example.test", dns.TypeA); st.Queries != 1 || st.SharedHits != 0 {
			t.Errorf("without a shared cache: %+v, want a query per request", st)
		}
	}
}

// TestSharedCacheConcurrentRequests runs many requests over the same and
// different names at once (for the race detector) and checks every answer.
func TestSharedCacheConcurrentRequests(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	c, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 2,
		CacheMaxTTL: time.Minute, CacheMaxBytes: 2048}) // a few answers: eviction races with lookups
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			r := c.NewResolver()
			for _, name := range []string{"mx1.example.test", "example.test", "alias.example.test", "nope.example.test", fmt.Sprintf("n%d.example.test", i)} {
				ans, err := r.Lookup(context.Background(), name, dns.TypeA)
				if err != nil {
					t.Error(err)
					return
				}
				if name == "alias.example.test" && (len(ans.Addrs()) != 1 || ans.Addrs()[0].String() != "192.0.2.10") {
					t.Errorf("alias: %v", ans.Addrs())
				}
			}
		})
	}
	wg.Wait()
}

// TestSharedCacheKeepsANegativeAnswerAfterAnAliasForItsNegativeTTL: an
// alias whose target does not exist (NXDOMAIN) or lacks the type asked
// (NODATA) answers with the CNAME records and the zone's SOA. The answer
// is negative: it may be kept for the SOA's negative TTL (RFC 2308 §5, 60
// seconds here), not for the alias's TTL (300), or a record published
// meanwhile stays unseen for minutes. Without an SOA, an NXDOMAIN is not
// kept at all.
func TestSharedCacheKeepsANegativeAnswerAfterAnAliasForItsNegativeTTL(t *testing.T) {
	srv := testbed.StartDNS(t, zone, `
$ORIGIN nosoa.test.
alias 300 IN CNAME gone
`)
	if err := srv.Add("dangling.example.test. 300 IN CNAME gone.example.test."); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	c := newCachingClient(t, clock, time.Hour, 0, srv.Addr)
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"dangling.example.test", dns.TypeA}, {"alias.example.test", dns.TypeTXT}} {
		ans, st := lookup(t, c, q.name, q.qtype)
		if !ans.Empty() || len(ans.CNAMEs) == 0 || ans.TTL != 60 || st.Queries != 1 {
			t.Fatalf("%s %s: %+v (%+v), want a negative answer after an alias, TTL 60, asked once", q.name, dns.TypeToString[q.qtype], ans, st)
		}
		clock.advance(59 * time.Second)
		if _, st := lookup(t, c, q.name, q.qtype); st.SharedHits != 1 || st.Queries != 0 {
			t.Errorf("%s %s within its negative TTL: %+v, want kept", q.name, dns.TypeToString[q.qtype], st)
		}
		clock.advance(time.Second)
		if _, st := lookup(t, c, q.name, q.qtype); st.SharedHits != 0 || st.Queries != 1 {
			t.Errorf("%s %s at the end of its negative TTL (60s; the alias's is 300s): %+v, want asked again", q.name, dns.TypeToString[q.qtype], st)
		}
	}
	for i := range 2 {
		ans, st := lookup(t, c, "alias.nosoa.test", dns.TypeA)
		if !ans.NXDomain() || st.SharedHits != 0 || st.Queries != 1 {
			t.Errorf("NXDOMAIN after an alias without an SOA, request %d: %+v (%+v), want asked every time", i, ans, st)
		}
	}
}
