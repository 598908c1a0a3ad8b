package spf

import (
	"math"
	"net/netip"
	"sort"
)

// span is an inclusive range of 64-bit keys: IPv4 addresses, or the upper
// 64 bits of IPv6 addresses (one key per /64).
type span struct{ lo, hi uint64 }

// ipSet is a set of keys kept as sorted, disjoint, non-adjacent spans.
type ipSet struct{ spans []span }

// gapBetween reports whether a ends before b starts with at least one key
// between them (so they do not merge).
func gapBetween(aHi, bLo uint64) bool { return aHi < bLo && bLo-aHi > 1 }

// add puts [lo, hi] into the set.
func (s *ipSet) add(lo, hi uint64) {
	n := len(s.spans)
	i := sort.Search(n, func(k int) bool { return !gapBetween(s.spans[k].hi, lo) })
	j := i
	for j < n && !gapBetween(hi, s.spans[j].lo) {
		lo = min(lo, s.spans[j].lo)
		hi = max(hi, s.spans[j].hi)
		j++
	}
	if i == j {
		s.spans = append(s.spans, span{})
		copy(s.spans[i+1:], s.spans[i:])
		s.spans[i] = span{lo, hi}
		return
	}
	s.spans[i] = span{lo, hi}
	s.spans = append(s.spans[:i+1], s.spans[j:]...)
}

// addAll puts every span of o into the set.
func (s *ipSet) addAll(o ipSet) {
	for _, sp := range o.spans {
		s.add(sp.lo, sp.hi)
	}
}

// minus returns the keys of s that are not in o.
func (s ipSet) minus(o ipSet) ipSet {
	var out ipSet
	j := 0
	for _, sp := range s.spans {
		lo, hi := sp.lo, sp.hi
		for j < len(o.spans) && o.spans[j].hi < lo {
			j++
		}
		k := j
		empty := false
		for k < len(o.spans) && o.spans[k].lo <= hi {
			cut := o.spans[k]
			if cut.lo > lo {
				out.spans = append(out.spans, span{lo, cut.lo - 1})
			}
			if cut.hi >= hi {
				empty = true
				break
			}
			lo = cut.hi + 1
			k++
		}
		if !empty {
			out.spans = append(out.spans, span{lo, hi})
		}
	}
	return out
}

// size is the number of keys, as a float: the whole IPv6 /64 space is 2^64.
func (s ipSet) size() float64 {
	var n float64
	for _, sp := range s.spans {
		n += float64(sp.hi-sp.lo) + 1
	}
	return n
}

// addrSets holds a set of addresses by family: IPv4 exactly, IPv6 by /64
// prefix. touched6 has every /64 with at least one address of the set;
// full6 only those the set covers completely, which is what may be taken
// away from later terms (a /128 decides one address, not its /64).
type addrSets struct {
	v4       ipSet
	touched6 ipSet
	full6    ipSet
}

// everything is the whole address space of both families (all, or a term
// that matches every client).
func everything() addrSets {
	all4 := ipSet{spans: []span{{0, math.MaxUint32}}}
	all6 := ipSet{spans: []span{{0, math.MaxUint64}}}
	return addrSets{v4: all4, touched6: all6, full6: all6}
}

// addPrefix puts a network into the sets.
func (a *addrSets) addPrefix(p netip.Prefix) {
	p = p.Masked()
	addr := p.Addr()
	if addr.Is4() {
		b := addr.As4()
		lo := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		a.v4.add(lo, lo|(1<<(32-p.Bits())-1))
		return
	}
	b := addr.As16()
	var hi64 uint64
	for i := 0; i < 8; i++ {
		hi64 = hi64<<8 | uint64(b[i])
	}
	if p.Bits() >= 64 {
		a.touched6.add(hi64, hi64)
		if p.Bits() == 64 {
			a.full6.add(hi64, hi64)
		}
		return
	}
	last := hi64
	if p.Bits() == 0 {
		last = math.MaxUint64
	} else {
		last = hi64 | (1<<(64-p.Bits()) - 1)
	}
	a.touched6.add(hi64, last)
	a.full6.add(hi64, last)
}

// addAddr puts the network of length bits around ip into the sets (the
// CIDR lengths of a and mx, §5.6).
func (a *addrSets) addAddr(ip netip.Addr, bits4, bits6 int) {
	ip = ip.Unmap()
	bits := bits4
	if ip.Is6() {
		bits = bits6
	}
	if p, err := ip.Prefix(bits); err == nil {
		a.addPrefix(p)
	}
}

// decide folds one term's matches into a record's evaluation: the addresses
// not decided by an earlier term get the term's result, so only those join
// the pass set when the qualifier is "+", and all of them are decided from
// now on.
func decide(pass, decided *addrSets, match addrSets, q Qualifier) {
	if q == QualifierPass {
		pass.v4.addAll(match.v4.minus(decided.v4))
		pass.touched6.addAll(match.touched6.minus(decided.full6))
		pass.full6.addAll(match.full6.minus(decided.full6))
	}
	decided.v4.addAll(match.v4)
	decided.touched6.addAll(match.touched6)
	decided.full6.addAll(match.full6)
}
