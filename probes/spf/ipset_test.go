package spf

import (
	"math"
	"math/rand"
	"net/netip"
	"testing"
)

func TestIPSetAdd(t *testing.T) {
	var s ipSet
	for _, sp := range []span{{10, 20}, {30, 40}, {21, 29}, {5, 6}, {100, 200}, {150, 160}, {0, 0}, {math.MaxUint64, math.MaxUint64}} {
		s.add(sp.lo, sp.hi)
	}
	want := []span{{0, 0}, {5, 6}, {10, 40}, {100, 200}, {math.MaxUint64, math.MaxUint64}}
	if len(s.spans) != len(want) {
		t.Fatalf("spans %v, want %v", s.spans, want)
	}
	for i := range want {
		if s.spans[i] != want[i] {
			t.Fatalf("spans %v, want %v", s.spans, want)
		}
	}
	if got := s.size(); got != 1+2+31+101+1 {
		t.Errorf("size %v", got)
	}
}

// TestIPSetAgainstBitmap checks add and minus against a plain bitmap on
// random spans of a small key space.
func TestIPSetAgainstBitmap(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const n = 200
	for round := 0; round < 300; round++ {
		var a, b ipSet
		var ba, bb [n]bool
		for k := 0; k < rng.Intn(8); k++ {
			lo := uint64(rng.Intn(n))
			hi := lo + uint64(rng.Intn(n-int(lo)))
			a.add(lo, hi)
			for i := lo; i <= hi; i++ {
				ba[i] = true
			}
		}
		for k := 0; k < rng.Intn(8); k++ {
			lo := uint64(rng.Intn(n))
			hi := lo + uint64(rng.Intn(n-int(lo)))
			b.add(lo, hi)
			for i := lo; i <= hi; i++ {
				bb[i] = true
			}
		}
		diff := a.minus(b)
		count := 0
		for i := 0; i < n; i++ {
			in := false
			for _, sp := range diff.spans {
				in = in || uint64(i) >= sp.lo && uint64(i) <= sp.hi
			}
			if in != (ba[i] && !bb[i]) {
				t.Fatalf("round %d key %d: in a-b %v, bitmap says %v (a %v, b %v)", round, i, in, ba[i] && !bb[i], a.spans, b.spans)
			}
			if in {
				count++
			}
		}
		if diff.size() != float64(count) {
			t.Fatalf("round %d: size %v, want %d", round, diff.size(), count)
		}
		for i := 1; i < len(diff.spans); i++ {
			if !gapBetween(diff.spans[i-1].hi, diff.spans[i].lo) {
				t.Fatalf("round %d: spans %v not sorted and apart", round, diff.spans)
			}
		}
	}
}

func TestAddrSets(t *testing.T) {
	var a addrSets
	a.addPrefix(netip.MustParsePrefix("192.0.2.0/24"))
	a.addPrefix(netip.MustParsePrefix("0.0.0.0/0"))
	if got := a.v4.size(); got != 1<<32 {
		t.Errorf("v4 size %v", got)
	}
	var b addrSets
	b.addPrefix(netip.MustParsePrefix("2001:db8::/32"))
	b.addPrefix(netip.MustParsePrefix("2001:db9::1/128"))
	b.addAddr(netip.MustParseAddr("2001:dba::1"), 32, 64)
	if got := b.touched6.size(); got != 1<<32+2 {
		t.Errorf("/64s touched %v", got)
	}
	if got := b.full6.size(); got != 1<<32+1 {
		t.Errorf("/64s covered %v", got)
	}
	b.addAddr(netip.MustParseAddr("::ffff:192.0.2.1"), 24, 64)
	if got := b.v4.size(); got != 256 {
		t.Errorf("an IPv4-mapped address with /24: %v", got)
	}
}

func TestDecideFollowsTermOrder(t *testing.T) {
	// "-ip4:192.0.2.0/25 ip4:192.0.2.0/24": the first term decides the
	// lower half (fail), the second passes only the upper half.
	var pass, decided addrSets
	var m1, m2 addrSets
	m1.addPrefix(netip.MustParsePrefix("192.0.2.0/25"))
	m2.addPrefix(netip.MustParsePrefix("192.0.2.0/24"))
	decide(&pass, &decided, m1, QualifierFail)
	decide(&pass, &decided, m2, QualifierPass)
	if got := pass.v4.size(); got != 128 {
		t.Errorf("passed %v addresses, want 128", got)
	}
	// A /128 decides one address, not its /64: the /64 can still pass.
	var p6, d6, n1, n2 addrSets
	n1.addPrefix(netip.MustParsePrefix("2001:db8::1/128"))
	n2.addPrefix(netip.MustParsePrefix("2001:db8::/64"))
	decide(&p6, &d6, n1, QualifierFail)
	decide(&p6, &d6, n2, QualifierPass)
	if got := p6.touched6.size(); got != 1 {
		t.Errorf("passed %v /64s, want 1", got)
	}
}
