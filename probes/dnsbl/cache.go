package dnsbl

import (
	"container/list"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"

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
//
// The cache is bounded in entries and in bytes. The lists' answers are
// tiny (an A record in 127.0.0.0/8, a TXT line), but the questions are not
// the lists' own: an MX host name, chosen by whoever runs the domain, is up
// to 253 bytes and is in the key, the question and every record's owner,
// so a bound in entries alone would let hostile names take 1.5 KB an entry.
type Cache struct {
	max      int
	maxBytes int64
	bytes    int64

	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	order   *list.List // oldest first

	asking *flight.Group[cacheKey, *dnsclient.Answer]

	hits, misses atomic.Uint64
}

type cacheKey struct {
	servers string
	name    string
	qtype   uint16
}

// cacheEntry is a kept answer. Guarded by Cache.mu.
type cacheEntry struct {
	key     cacheKey
	ans     *dnsclient.Answer
	expires time.Time
	elem    *list.Element
	size    int64
}

// cacheEntryOverhead is what an entry costs beyond its key's strings and
// its answer's size: the entry, its list element, its map slot and the
// Answer struct.
const cacheEntryOverhead = 320

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

// NewCache makes a cache holding at most maxEntries answers (at least 1)
// taking at most maxBytes (DefaultCacheBytes when not positive), counted
// as their keys, their dnsclient.Answer.Size and a fixed overhead; beyond
// that the oldest are dropped. Questions being asked are not counted: they
// are bounded by the probes' concurrency.
func NewCache(maxEntries int, maxBytes int64) *Cache {
	if maxEntries < 1 {
		maxEntries = 1
	}
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &Cache{max: maxEntries, maxBytes: maxBytes, entries: map[cacheKey]*cacheEntry{}, order: list.New(), asking: flight.NewGroup[cacheKey, *dnsclient.Answer]()}
}

// Bytes returns what the kept answers take, as the bound counts them.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
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
// serversKey(r); now is the request's clock. charge is called just before
// a query is sent, by the one asker that sends it; its error is the
// question's, and no query is sent. asked reports whether this caller's
// question was sent as a query.
func (c *Cache) lookup(ctx context.Context, r *dnsclient.Resolver, servers string, now func() time.Time, name string, qtype uint16, charge func() error) (ans *dnsclient.Answer, asked bool, err error) {
	key := cacheKey{servers: servers, name: dns.CanonicalName(name), qtype: qtype}
	if ans, ok := c.kept(key, now()); ok {
		c.hits.Add(1)
		return ans, false, nil
	}
	// Concurrent askers of one question share one query; a question whose
	// asker gave up is asked again for a waiter with time left.
	fresh := false
	ans, err, joined := c.asking.Do(ctx, key, func() (*dnsclient.Answer, error) {
		if ans, ok := c.kept(key, now()); ok {
			return ans, nil // kept while this asker came
		}
		if err := charge(); err != nil {
			return nil, err
		}
		fresh = true
		c.misses.Add(1)
		ans, err := refuseBogus(r.Lookup(ctx, name, qtype))
		if err == nil {
			// Errors are not kept: a failure says nothing about the next try.
			c.keep(key, ans, now())
		}
		return ans, err
	})
	if joined && err != nil && err == ctx.Err() {
		return nil, false, &dnsclient.Error{Name: key.name, Type: qtype, Rcode: -1, Err: err}
	}
	if !fresh && err == nil {
		c.hits.Add(1)
	}
	return ans, fresh, err
}

// kept returns the kept answer to the question if it has not expired.
func (c *Cache) kept(key cacheKey, now time.Time) (*dnsclient.Answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		c.removeLocked(e)
		return nil, false
	}
	return e.ans, true
}

// keep stores an answer for its (clamped) TTL.
func (c *Cache) keep(key cacheKey, ans *dnsclient.Answer, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok {
		c.removeLocked(old)
	}
	e := &cacheEntry{key: key, ans: ans, expires: now.Add(clampTTL(ans.TTL)),
		size: int64(len(key.servers)+len(key.name)) + ans.Size + cacheEntryOverhead}
	if e.size > c.maxBytes {
		return
	}
	e.elem = c.order.PushBack(e)
	c.entries[key] = e
	c.bytes += e.size
	c.evictLocked()
}

// evictLocked drops the oldest answers beyond the bounds.
func (c *Cache) evictLocked() {
	for c.order.Len() > c.max || c.bytes > c.maxBytes {
		c.removeLocked(c.order.Front().Value.(*cacheEntry))
	}
}

func (c *Cache) removeLocked(e *cacheEntry) {
	if e.elem != nil {
		c.order.Remove(e.elem)
		e.elem = nil
		c.bytes -= e.size
	}
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
	}
}
