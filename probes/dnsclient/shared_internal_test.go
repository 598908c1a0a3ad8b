package dnsclient

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
}

// answer is an A answer for name with the TTL, padded with TXT-free
// additional A records to about size bytes in wire form.
func answer(t *testing.T, name string, ttl int, records int) *dns.Msg {
	t.Helper()
	msg := new(dns.Msg)
	msg.SetQuestion(name, dns.TypeA)
	for i := range records {
		rr, err := dns.NewRR(fmt.Sprintf("%s %d IN A 192.0.%d.%d", name, ttl, i/250, i%250+1))
		if err != nil {
			t.Fatal(err)
		}
		msg.Answer = append(msg.Answer, rr)
	}
	return msg
}

// checkAccounts asserts that the cache's byte count is the sum of its
// entries' sizes and that map and heap hold the same entries.
func checkAccounts(t *testing.T, s *sharedCache) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum int64
	for q, e := range s.entries {
		if e.q != q || e.index < 0 || e.index >= len(s.byExpiry) || s.byExpiry[e.index] != e {
			t.Fatalf("entry %v is not where the heap says", q)
		}
		if e.size != entrySize(q, e.wire) {
			t.Fatalf("entry %v counted %d bytes, is %d", q, e.size, entrySize(q, e.wire))
		}
		sum += e.size
	}
	if len(s.byExpiry) != len(s.entries) {
		t.Fatalf("heap holds %d entries, map %d", len(s.byExpiry), len(s.entries))
	}
	if sum != s.bytes {
		t.Fatalf("cache counts %d bytes, its entries hold %d", s.bytes, sum)
	}
}

func TestSharedCacheIsBoundedInBytes(t *testing.T) {
	clock := newTestClock()
	const bound = 64 << 10
	s := newSharedCache(time.Hour, bound, time.Hour, clock.now)
	defer s.close()
	var largest int64
	for i := range 1000 {
		name := fmt.Sprintf("h%d.example.test.", i)
		// Answers from 1 to 100 records: a bound in entries would hold
		// 100 times more bytes of one kind than of the other.
		q := question{name: name, qtype: dns.TypeA}
		wire := s.put(q, answer(t, name, 300, 1+i%100), "127.0.0.1:53")
		largest = max(largest, entrySize(q, make([]byte, wire)))
		if st := s.bytes; st > bound {
			t.Fatalf("after %d answers the cache holds %d bytes, more than its bound %d", i+1, st, bound)
		}
	}
	checkAccounts(t, s)
	if _, _, _, ok := s.get(question{name: "h999.example.test.", qtype: dns.TypeA}, 1<<20); !ok {
		t.Error("the answer stored last is not kept")
	}
	if s.bytes < bound-largest {
		t.Errorf("the cache holds %d bytes of its %d: eviction removed more than it had to", s.bytes, bound)
	}
}

func TestSharedCacheEvictsSoonestExpiryFirst(t *testing.T) {
	clock := newTestClock()
	one := entrySize(question{name: "short1.test.", qtype: dns.TypeA}, mustPack(t, answer(t, "short1.test.", 10, 1)))
	s := newSharedCache(time.Hour, 4*one+one/2, time.Hour, clock.now)
	defer s.close()
	put := func(name string, ttl int) {
		s.put(question{name: name, qtype: dns.TypeA}, answer(t, name, ttl, 1), "127.0.0.1:53")
	}
	put("short1.test.", 10)
	put("short2.test.", 600)
	put("long1.test.", 3000)
	put("long2.test.", 3000)
	clock.advance(time.Minute) // short1 expired, short2 not
	put("news.test.", 3000)
	put("newt.test.", 3000)
	for _, name := range []string{"long1.test.", "long2.test.", "news.test.", "newt.test."} {
		if _, _, _, ok := s.get(question{name: name, qtype: dns.TypeA}, 1<<20); !ok {
			t.Errorf("%s was evicted while answers closer to expiry were there to go", name)
		}
	}
	for _, name := range []string{"short1.test.", "short2.test."} {
		if _, _, _, ok := s.get(question{name: name, qtype: dns.TypeA}, 1<<20); ok {
			t.Errorf("%s is still kept: the answers closest to expiry go first", name)
		}
	}
	checkAccounts(t, s)
}

func mustPack(t *testing.T, msg *dns.Msg) []byte {
	t.Helper()
	wire, err := msg.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return wire
}

func TestSharedCacheFreesExpiredOnAccess(t *testing.T) {
	clock := newTestClock()
	s := newSharedCache(time.Hour, 1<<20, time.Hour, clock.now)
	defer s.close()
	q := question{name: "a.test.", qtype: dns.TypeA}
	s.put(q, answer(t, q.name, 60, 3), "127.0.0.1:53")
	s.put(question{name: "b.test.", qtype: dns.TypeA}, answer(t, "b.test.", 600, 3), "127.0.0.1:53")
	before := s.bytes
	clock.advance(61 * time.Second)
	if _, _, _, ok := s.get(q, 1<<20); ok {
		t.Fatal("an expired answer was served")
	}
	if s.bytes >= before || len(s.entries) != 1 {
		t.Errorf("asking for an expired answer left %d bytes in %d entries, had %d: it was not freed", s.bytes, len(s.entries), before)
	}
	checkAccounts(t, s)
}

func TestSharedCacheDoesNotKeepAnswersLargerThanItsBound(t *testing.T) {
	s := newSharedCache(time.Hour, 1024, time.Hour, newTestClock().now)
	defer s.close()
	q := question{name: "big.test.", qtype: dns.TypeA}
	s.put(q, answer(t, q.name, 300, 200), "127.0.0.1:53")
	if len(s.entries) != 0 || s.bytes != 0 {
		t.Errorf("an answer larger than the whole cache was kept (%d bytes)", s.bytes)
	}
}

// TestSharedCacheSweepFreesExpiredAnswers checks that expired answers nobody
// asks for again are freed by the sweep, that the sweep stops arming itself
// when the cache is empty and never runs after close.
func TestSharedCacheSweepFreesExpiredAnswers(t *testing.T) {
	clock := newTestClock()
	s := newSharedCache(time.Hour, 1<<20, time.Millisecond, clock.now)
	state := func() (armed bool, entries int, bytes int64) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.sweeper != nil, len(s.entries), s.bytes
	}
	for i := range 50 {
		name := fmt.Sprintf("h%d.test.", i)
		s.put(question{name: name, qtype: dns.TypeA}, answer(t, name, 60+i, 4), "127.0.0.1:53")
	}
	clock.advance(time.Hour)
	waitFor(t, "the sweep to free every expired answer", func() bool {
		armed, entries, bytes := state()
		return !armed && entries == 0 && bytes == 0
	})

	s.put(question{name: "again.test.", qtype: dns.TypeA}, answer(t, "again.test.", 600, 1), "127.0.0.1:53")
	if armed, _, _ := state(); !armed {
		t.Fatal("a new answer did not arm the sweep again")
	}
	s.close()
	if armed, entries, bytes := state(); armed || entries != 0 || bytes != 0 {
		t.Errorf("after close: sweep armed %v, %d entries, %d bytes; want none", armed, entries, bytes)
	}
	s.put(question{name: "late.test.", qtype: dns.TypeA}, answer(t, "late.test.", 600, 1), "127.0.0.1:53")
	if armed, entries, _ := state(); armed || entries != 0 {
		t.Error("a closed cache kept an answer or armed its sweep")
	}
}

// waitFor polls cond until it holds; the test's own deadline bounds the
// wait (no wall-clock assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if dl, ok := t.Deadline(); ok && time.Until(dl) < time.Second {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
