package dnsbl

import (
	"container/list"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// Cache keeps blocklist answers across probe requests, for their TTL, so
// probing many domains that share MX hosts does not multiply the queries a
// list sees: list operators throttle and cut off heavy users (Spamhaus'
// free use ends at 300,000 queries a day). One Cache serves the whole
// process; it is safe for concurrent use.
//
// Entries are keyed by the resolvers asked and the question, so modules
// with different resolvers never share answers. Concurrent askers of one
// question share one query (singleflight). Errors (SERVFAIL, timeouts) are
// never kept: the next request asks again.
type Cache struct {
	max int

	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	order   *list.List // answered entries, oldest first

	hits, misses atomic.Uint64
}

type cacheKey struct {
	servers string
	name    string
	qtype   uint16
}

type cacheEntry struct {
	key  cacheKey
	done chan struct{}
	// Set before done closes; read after.
	ans *dnsclient.Answer
	err error
	// abandoned: the asker's context ended; the entry is gone and a
	// waiter with time left asks again.
	abandoned bool
	// Guarded by Cache.mu.
	answered bool
	expires  time.Time
	elem     *list.Element
}

// The range an answer's TTL is clamped to. Below: a list answering with TTL
// 0 (or a negative answer without an SOA) would be asked again for every
// domain of a scrape that shares the MX, and Prometheus scrapes a fleet's
// targets within seconds of each other, so 30 s still spans one scrape
// round. Above: a delisting (or a new listing) must show within the hour,
// whatever TTL the list publishes; an alert that lingers for a day after
// the fix is one postmasters learn to ignore.
const (
	minCacheTTL = 30 * time.Second
	maxCacheTTL = time.Hour
)

// NewCache makes a cache holding at most maxEntries answers (at least 1);
// beyond that the oldest are dropped. Questions being asked are not counted:
// they are bounded by the probes' concurrency.
func NewCache(maxEntries int) *Cache {
	if maxEntries < 1 {
		maxEntries = 1
	}
	return &Cache{max: maxEntries, entries: map[cacheKey]*cacheEntry{}, order: list.New()}
}

// Stats returns how many questions were answered from the cache (including
// by joining a query another request had in flight) and how many had to be
// asked.
func (c *Cache) Stats() (hits, misses uint64) {
	return c.hits.Load(), c.misses.Load()
}

// Len returns how many answers the cache holds.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func clampTTL(ttl uint32) time.Duration {
	d := time.Duration(ttl) * time.Second
	return min(max(d, minCacheTTL), maxCacheTTL)
}

// serversKey names the resolvers a request asks, for the cache key.
func serversKey(r *dnsclient.Resolver) string { return strings.Join(r.Servers(), ",") }

// lookup answers a question from the cache or asks it through the request's
// resolver (which counts the query against the request). servers is
// serversKey(r); now is the request's clock.
func (c *Cache) lookup(ctx context.Context, r *dnsclient.Resolver, servers string, now func() time.Time, name string, qtype uint16) (*dnsclient.Answer, error) {
	key := cacheKey{servers: servers, name: dns.CanonicalName(name), qtype: qtype}
	for {
		c.mu.Lock()
		e, ok := c.entries[key]
		if ok && e.answered && !now().Before(e.expires) {
			c.removeLocked(e)
			ok = false
		}
		if !ok {
			e = &cacheEntry{key: key, done: make(chan struct{})}
			c.entries[key] = e
			c.mu.Unlock()
			c.misses.Add(1)
			ans, err := r.Lookup(ctx, name, qtype)
			c.mu.Lock()
			e.ans, e.err = ans, err
			if err != nil {
				// Not kept: a failure says nothing about the next try.
				e.abandoned = contextOver(ctx)
				if c.entries[key] == e {
					delete(c.entries, key)
				}
			} else {
				e.answered = true
				e.expires = now().Add(clampTTL(ans.TTL))
				e.elem = c.order.PushBack(e)
				c.evictLocked()
			}
			close(e.done)
			c.mu.Unlock()
			return ans, err
		}
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, &dnsclient.Error{Name: key.name, Type: qtype, Rcode: -1, Err: ctx.Err()}
		}
		if e.err != nil && e.abandoned && !contextOver(ctx) {
			continue // the asker gave up; we still have time
		}
		c.hits.Add(1)
		return e.ans, e.err
	}
}

// evictLocked drops the oldest answers beyond the bound.
func (c *Cache) evictLocked() {
	for c.order.Len() > c.max {
		c.removeLocked(c.order.Front().Value.(*cacheEntry))
	}
}

func (c *Cache) removeLocked(e *cacheEntry) {
	if e.elem != nil {
		c.order.Remove(e.elem)
		e.elem = nil
	}
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
	}
}

// contextOver reports whether ctx has ended or its deadline has passed: a
// network read that timed out at the context's deadline can return before
// the context's own timer marks it done.
func contextOver(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
