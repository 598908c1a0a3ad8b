package dnsclient

import (
	"container/heap"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// sharedCache keeps answers across probe requests for as long as their TTL
// allows (capped by maxTTL), the way a caching resolver does: a domain
// scraped every 15 seconds by several jobs costs its DNS round trips once
// per TTL, not once per scrape. Answers are stored in wire form, which is a
// third of the unpacked message's size, and unpacked for each request, so
// no request shares records with another. Only NOERROR and NXDOMAIN answers
// with a TTL are kept; failures are asked again.
//
// The cache is bounded in bytes, not entries: a domain can publish answers
// of 64 KB, so a bound in entries says nothing about memory (600 domains
// with 60 KB answers once took a cache bounded at 100,000 entries to
// 2.5 GB). When a new answer does not fit, the answers closest to expiry go
// first. Expired answers are freed when asked for and by a sweep every
// sweepEvery, which runs only while the cache holds answers and never
// after close.
type sharedCache struct {
	maxTTL     time.Duration
	maxBytes   int64
	sweepEvery time.Duration
	now        func() time.Time

	mu       sync.Mutex
	entries  map[question]*sharedEntry
	byExpiry expiryHeap
	bytes    int64
	sweeper  *time.Timer // armed while entries are held and the cache is open
	closed   bool
}

type sharedEntry struct {
	q       question
	wire    []byte
	server  string
	stored  time.Time
	expires time.Time
	size    int64
	index   int // in byExpiry
}

// entryOverhead is what an entry costs beyond its wire form and name: the
// map slot, the entry itself and its heap slot, rounded up.
const entryOverhead = 192

func entrySize(q question, wire []byte) int64 {
	return int64(len(wire) + len(q.name) + entryOverhead)
}

// expiryHeap orders entries by expiry, soonest first.
type expiryHeap []*sharedEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *expiryHeap) Push(x any) {
	e := x.(*sharedEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

func newSharedCache(maxTTL time.Duration, maxBytes int64, sweepEvery time.Duration, now func() time.Time) *sharedCache {
	return &sharedCache{maxTTL: maxTTL, maxBytes: maxBytes, sweepEvery: sweepEvery, now: now, entries: map[question]*sharedEntry{}}
}

// get returns a fresh copy of the cached answer to q, its TTLs lowered by
// the time it has been kept, and the size of its wire form. An answer
// whose wire form is larger than room is not decoded: msg is nil, size
// says how large it is. An expired answer is freed.
func (s *sharedCache) get(q question, room int64) (*dns.Msg, string, int, bool) {
	now := s.now()
	s.mu.Lock()
	e, ok := s.entries[q]
	if ok && !now.Before(e.expires) {
		s.removeLocked(e)
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		return nil, "", 0, false
	}
	if int64(len(e.wire)) > room {
		return nil, e.server, len(e.wire), true
	}
	msg := new(dns.Msg)
	if err := msg.Unpack(e.wire); err != nil {
		// It packed, so it unpacks; a failure would only cost a query.
		return nil, "", 0, false
	}
	age := uint32(now.Sub(e.stored) / time.Second)
	for _, section := range [][]dns.RR{msg.Answer, msg.Ns, msg.Extra} {
		for _, rr := range section {
			h := rr.Header()
			if h.Rrtype == dns.TypeOPT {
				continue
			}
			h.Ttl -= min(age, h.Ttl)
		}
	}
	return msg, e.server, len(e.wire), true
}

// put keeps msg when its answer may be cached and fits the bound, and
// returns the size of its wire form (0 when it did not pack).
func (s *sharedCache) put(q question, msg *dns.Msg, server string) int {
	ttl, ok := cacheableTTL(msg)
	if !ok {
		return 0
	}
	keep := min(time.Duration(ttl)*time.Second, s.maxTTL)
	wire, err := msg.Pack()
	if err != nil {
		return 0
	}
	size := entrySize(q, wire)
	if size > s.maxBytes {
		return len(wire)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return len(wire)
	}
	if old, ok := s.entries[q]; ok {
		s.removeLocked(old)
	}
	s.dropExpiredLocked(now)
	for s.bytes+size > s.maxBytes && len(s.byExpiry) > 0 {
		s.removeLocked(s.byExpiry[0])
	}
	e := &sharedEntry{q: q, wire: wire, server: server, stored: now, expires: now.Add(keep), size: size}
	s.entries[q] = e
	heap.Push(&s.byExpiry, e)
	s.bytes += size
	if s.sweeper == nil {
		s.sweeper = time.AfterFunc(s.sweepEvery, s.sweep)
	}
	return len(wire)
}

func (s *sharedCache) removeLocked(e *sharedEntry) {
	if e.index >= 0 {
		heap.Remove(&s.byExpiry, e.index)
	}
	if s.entries[e.q] == e {
		delete(s.entries, e.q)
	}
	s.bytes -= e.size
}

// dropExpiredLocked frees every expired answer: they are at the top of the
// heap, so this costs only what it frees.
func (s *sharedCache) dropExpiredLocked(now time.Time) {
	for len(s.byExpiry) > 0 && !now.Before(s.byExpiry[0].expires) {
		s.removeLocked(s.byExpiry[0])
	}
}

// sweep frees expired answers and arms itself again while answers remain.
func (s *sharedCache) sweep() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweeper = nil
	if s.closed {
		return
	}
	s.dropExpiredLocked(now)
	if len(s.entries) > 0 {
		s.sweeper = time.AfterFunc(s.sweepEvery, s.sweep)
	}
}

// close stops the sweep and frees every answer; later answers are not kept.
func (s *sharedCache) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.sweeper != nil {
		s.sweeper.Stop()
		s.sweeper = nil
	}
	s.entries = map[question]*sharedEntry{}
	s.byExpiry = nil
	s.bytes = 0
}

// CacheStats is what the answers kept across requests hold.
type CacheStats struct {
	// Entries is how many answers are kept.
	Entries int
	// Bytes is what they take: their wire form, their names and the
	// cache's own bookkeeping.
	Bytes int64
	// MaxBytes is the bound on Bytes (0 when the client keeps nothing
	// across requests).
	MaxBytes int64
}

// CacheStats returns what the client keeps across requests now.
func (c *Client) CacheStats() CacheStats {
	s := c.shared
	if s == nil {
		return CacheStats{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return CacheStats{Entries: len(s.entries), Bytes: s.bytes, MaxBytes: s.maxBytes}
}

// cacheableTTL is how long an answer may be kept: the smallest TTL of its
// answer records and, for a negative answer (one with the zone's SOA in
// its authority section, RFC 2308 §5), of its negative-caching TTL. An
// alias whose target does not exist or lacks the type asked answers with
// its CNAME records and the SOA: the negative TTL bounds it too, or the
// answer would outlive it by as much as the alias's TTL is longer. An
// NXDOMAIN without an SOA (RFC 2308 §5: not to be cached), answers with a
// zero TTL, and rcodes other than NOERROR and NXDOMAIN are not kept.
func cacheableTTL(msg *dns.Msg) (uint32, bool) {
	if msg.Truncated || (msg.Rcode != dns.RcodeSuccess && msg.Rcode != dns.RcodeNameError) {
		return 0, false
	}
	var ttl minTTL
	for _, rr := range msg.Answer {
		ttl.see(rr.Header().Ttl)
	}
	switch soa := soaOf(msg); {
	case soa != nil:
		ttl.see(min(soa.Hdr.Ttl, soa.Minttl))
	case msg.Rcode == dns.RcodeNameError:
		return 0, false
	}
	return ttl.value(), ttl.value() > 0
}

// cached returns the answer kept across requests for q, if any, and the
// size of its wire form; one larger than room is not decoded (see get).
func (c *Client) cached(q question, room int64) (*dns.Msg, string, int, bool) {
	if c.shared == nil {
		return nil, "", 0, false
	}
	return c.shared.get(q, room)
}

// keep stores an answer for later requests when the client keeps answers,
// and returns the size of its wire form when it knows it (0: not packed).
func (c *Client) keep(q question, msg *dns.Msg, server string) int {
	if c.shared != nil {
		return c.shared.put(q, msg, server)
	}
	return 0
}
