package dnsclient

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestSharedCacheIsBounded(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	const bound = 64
	s := newSharedCache(time.Hour, bound, func() time.Time { return now })
	for i := range 1000 {
		name := fmt.Sprintf("h%d.example.test.", i)
		msg := new(dns.Msg)
		msg.SetQuestion(name, dns.TypeA)
		rr, err := dns.NewRR(name + " 300 IN A 192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		msg.Answer = []dns.RR{rr}
		s.put(question{name: name, qtype: dns.TypeA}, msg, "127.0.0.1:53")
		if n := len(s.entries); n > bound {
			t.Fatalf("after %d answers the cache holds %d, more than its bound %d", i+1, n, bound)
		}
	}
	last := question{name: "h999.example.test.", qtype: dns.TypeA}
	if _, _, ok := s.get(last); !ok {
		t.Error("the answer stored last is not kept")
	}
	if n := len(s.entries); n < bound-bound/8 {
		t.Errorf("the cache holds %d answers, want at least %d: eviction removed more than it had to", n, bound-bound/8)
	}
}

func TestSharedCacheEvictsExpiredFirst(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	s := newSharedCache(time.Hour, 4, func() time.Time { return now })
	put := func(name string, ttl int) {
		msg := new(dns.Msg)
		msg.SetQuestion(name, dns.TypeA)
		rr, err := dns.NewRR(fmt.Sprintf("%s %d IN A 192.0.2.1", name, ttl))
		if err != nil {
			t.Fatal(err)
		}
		msg.Answer = []dns.RR{rr}
		s.put(question{name: name, qtype: dns.TypeA}, msg, "127.0.0.1:53")
	}
	put("short1.test.", 10)
	put("short2.test.", 10)
	put("long1.test.", 3000)
	put("long2.test.", 3000)
	now = now.Add(time.Minute)
	put("new.test.", 3000)
	for _, name := range []string{"long1.test.", "long2.test.", "new.test."} {
		if _, _, ok := s.get(question{name: name, qtype: dns.TypeA}); !ok {
			t.Errorf("%s was evicted while expired answers were there to go", name)
		}
	}
}
