package dnsclient

import (
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
type sharedCache struct {
	maxTTL     time.Duration
	maxEntries int
	now        func() time.Time

	mu      sync.Mutex
	entries map[question]sharedEntry
}

type sharedEntry struct {
	wire    []byte
	server  string
	stored  time.Time
	expires time.Time
}

func newSharedCache(maxTTL time.Duration, maxEntries int, now func() time.Time) *sharedCache {
	return &sharedCache{maxTTL: maxTTL, maxEntries: maxEntries, now: now, entries: map[question]sharedEntry{}}
}

// get returns a fresh copy of the cached answer to q, its TTLs lowered by
// the time it has been kept.
func (s *sharedCache) get(q question) (*dns.Msg, string, bool) {
	now := s.now()
	s.mu.Lock()
	e, ok := s.entries[q]
	if ok && !now.Before(e.expires) {
		delete(s.entries, q)
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		return nil, "", false
	}
	msg := new(dns.Msg)
	if err := msg.Unpack(e.wire); err != nil {
		// It packed, so it unpacks; a failure would only cost a query.
		return nil, "", false
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
	return msg, e.server, true
}

// put keeps msg when its answer may be cached.
func (s *sharedCache) put(q question, msg *dns.Msg, server string) {
	ttl, ok := cacheableTTL(msg)
	if !ok {
		return
	}
	keep := min(time.Duration(ttl)*time.Second, s.maxTTL)
	wire, err := msg.Pack()
	if err != nil {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) >= s.maxEntries {
		s.evict(now)
	}
	s.entries[q] = sharedEntry{wire: wire, server: server, stored: now, expires: now.Add(keep)}
}

// evict makes room: expired entries go first; if that frees less than an
// eighth of the room, random entries go too, so a full cache costs one
// sweep per maxEntries/8 insertions, not one per insertion.
func (s *sharedCache) evict(now time.Time) {
	for q, e := range s.entries {
		if !now.Before(e.expires) {
			delete(s.entries, q)
		}
	}
	target := s.maxEntries - s.maxEntries/8
	for q := range s.entries {
		if len(s.entries) <= target {
			break
		}
		// Go starts each map iteration at a random place, so these are
		// random entries.
		delete(s.entries, q)
	}
}

// cacheableTTL is how long an answer may be kept: the smallest TTL of its
// answer records, or for an answer without records the negative-caching
// TTL of RFC 2308 §5. Answers with a zero TTL, and rcodes other than
// NOERROR and NXDOMAIN, are not kept.
func cacheableTTL(msg *dns.Msg) (uint32, bool) {
	if msg.Truncated || (msg.Rcode != dns.RcodeSuccess && msg.Rcode != dns.RcodeNameError) {
		return 0, false
	}
	var ttl uint32
	if len(msg.Answer) > 0 {
		ttl = msg.Answer[0].Header().Ttl
		for _, rr := range msg.Answer[1:] {
			ttl = min(ttl, rr.Header().Ttl)
		}
	} else {
		ttl = negativeTTL(msg)
	}
	return ttl, ttl > 0
}

// cached returns the answer kept across requests for q, if any.
func (c *Client) cached(q question) (*dns.Msg, string, bool) {
	if c.shared == nil {
		return nil, "", false
	}
	return c.shared.get(q)
}

// keep stores an answer for later requests when the client keeps answers.
func (c *Client) keep(q question, msg *dns.Msg, server string) {
	if c.shared != nil {
		c.shared.put(q, msg, server)
	}
}
