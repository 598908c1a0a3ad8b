package dnsbl

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// reverseUnder is the reference for ipQueryName: the reverse DNS name of
// the address (miekg/dns, RFC 1035 §3.5 and RFC 3596 §2.5) with the
// in-addr.arpa or ip6.arpa suffix replaced by the zone, as RFC 5782 §2.1
// and §2.4 lay the names out.
func reverseUnder(t testing.TB, ip netip.Addr, zone string) string {
	rev, err := dns.ReverseAddr(ip.String())
	if err != nil {
		t.Fatal(err)
	}
	rev = strings.TrimSuffix(strings.TrimSuffix(rev, "in-addr.arpa."), "ip6.arpa.")
	return rev + zone + "."
}

func TestIPQueryName(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		// RFC 5782 §2.1's example.
		{"192.168.42.23", "23.42.168.192.bl.test."},
		{"127.0.0.2", "2.0.0.127.bl.test."},
		{"0.0.0.0", "0.0.0.0.bl.test."},
		{"255.255.255.255", "255.255.255.255.bl.test."},
		{"::ffff:192.0.2.1", "1.2.0.192.bl.test."}, // an IPv4-mapped address is asked as IPv4
		// RFC 5782 §2.4's example, 2001:db8:1:2:3:4:567:89ab.
		{"2001:db8:1:2:3:4:567:89ab", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.test."},
	} {
		ip := netip.MustParseAddr(tc.ip)
		if got := ipQueryName(ip, "bl.test"); got != tc.want {
			t.Errorf("ipQueryName(%s) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}

func TestNameQueryName(t *testing.T) {
	for name, want := range map[string]string{
		"example.com":        "example.com.dbl.test.",
		"MX1.Example.COM.":   "mx1.example.com.dbl.test.",
		"_dmarc.example.com": "_dmarc.example.com.dbl.test.",
	} {
		got, err := nameQueryName(name, "dbl.test")
		if err != nil || got != want {
			t.Errorf("nameQueryName(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".test"
	for _, bad := range []string{"", ".", "a..b", "a b.test", `a\032b.test`, "a;b.test", strings.Repeat("x", 64) + ".test", long} {
		if got, err := nameQueryName(bad, "dbl.test"); err == nil {
			t.Errorf("nameQueryName(%q) = %q, want an error", bad, got)
		}
	}
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func TestClassify(t *testing.T) {
	l := &List{Zone: "zen.bl.test", Kind: KindIP,
		Codes:      map[string]string{"127.0.0.2": "SBL", "127.0.0.4": "XBL", "127.0.0.10": "PBL"},
		ErrorCodes: map[string]string{"127.255.255.254": "query via public/open resolver"}}
	for _, tc := range []struct {
		name  string
		addrs []netip.Addr
		want  outcome
		codes string
	}{
		{"no address", nil, notListed, ""},
		{"one code", addrs("127.0.0.10"), listed, "127.0.0.10 PBL"},
		{"several codes, sorted, once each", addrs("127.0.0.10", "127.0.0.2", "127.0.0.10", "127.0.0.4"), listed, "127.0.0.2 SBL, 127.0.0.4 XBL, 127.0.0.10 PBL"},
		{"unmapped code is still a listing", addrs("127.0.0.99"), listed, "127.0.0.99 unmapped"},
		{"error code", addrs("127.255.255.254"), refused, "127.255.255.254 query via public/open resolver"},
		{"error code beside a listing is an error", addrs("127.0.0.2", "127.255.255.254"), refused, "127.255.255.254 query via public/open resolver"},
		{"outside 127/8", addrs("198.51.100.200"), refused, "198.51.100.200 answer outside 127.0.0.0/8"},
		{"outside beside a listing", addrs("127.0.0.2", "10.0.0.1"), refused, "10.0.0.1 answer outside 127.0.0.0/8"},
		{"IPv6 answer", addrs("::1"), refused, "::1 answer outside 127.0.0.0/8"},
		{"mapped IPv4 is IPv4", addrs("::ffff:127.0.0.2"), listed, "127.0.0.2 SBL"},
	} {
		o, codes := classify(l, tc.addrs)
		if o != tc.want || describeCodes(codes) != tc.codes {
			t.Errorf("%s: %s %q, want %s %q", tc.name, o, describeCodes(codes), tc.want, tc.codes)
		}
	}
	var many []netip.Addr
	for i := 2; i < 40; i++ {
		many = append(many, netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}))
	}
	if _, codes := classify(l, many); len(codes) != maxCodes {
		t.Errorf("%d codes kept of 38, want %d", len(codes), maxCodes)
	}
}

func TestExplain(t *testing.T) {
	for meaning, want := range map[string]string{
		"PBL":         "residential address space per the list's policy, not a spam report",
		"pbl":         "residential address space per the list's policy, not a spam report",
		"MW+ABUSE":    "a domain seen in malware; a domain seen in spam or abuse",
		"PH+nope":     "",
		"spam domain": "",
	} {
		if got := explain(meaning); got != want {
			t.Errorf("explain(%q) = %q, want %q", meaning, got, want)
		}
	}
}

func TestClampTTL(t *testing.T) {
	for ttl, want := range map[uint32]time.Duration{0: 30 * time.Second, 29: 30 * time.Second, 300: 5 * time.Minute, 3600: time.Hour, 86400: time.Hour, 1 << 31: time.Hour} {
		if got := clampTTL(ttl); got != want {
			t.Errorf("clampTTL(%d) = %s, want %s", ttl, got, want)
		}
	}
}

// The cache drops the oldest answers first and forgets an answer whose TTL
// has passed.
func TestCacheEvictsOldestFirst(t *testing.T) {
	srv := newTestServer(t)
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{srv}, Timeout: time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := client.NewResolver()
	c := NewCache(2, 0)
	clock := time.Unix(0, 0)
	now := func() time.Time { return clock }
	key := serversKey(r)
	ask := func(name string) {
		if _, _, err := c.lookup(context.Background(), r, key, now, name, dns.TypeA, noCharge); err != nil {
			t.Fatal(err)
		}
	}
	ask("a.test")
	ask("b.test")
	ask("c.test") // drops a.test
	ask("b.test") // hit
	ask("a.test") // miss again, drops b.test
	if hits, misses := c.Stats(); hits != 1 || misses != 4 {
		t.Errorf("hits %d misses %d, want 1 and 4", hits, misses)
	}
	clock = clock.Add(31 * time.Second) // past the clamped TTL of 0
	ask("a.test")
	if hits, misses := c.Stats(); hits != 1 || misses != 5 {
		t.Errorf("after expiry: hits %d misses %d, want 1 and 5", hits, misses)
	}
	if c.Len() != 2 {
		t.Errorf("%d entries, want 2", c.Len())
	}
}

// A waiter whose asker gave up (its context ended) asks again itself.
func TestCacheWaiterRetriesAbandonedQuestion(t *testing.T) {
	srv := newTestServer(t)
	client, _ := dnsclient.New(dnsclient.Config{Servers: []string{srv}, Timeout: time.Second, Attempts: 1})
	c := NewCache(10, 0)
	r := client.NewResolver()
	key := serversKey(r)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.lookup(ctx, r, key, time.Now, "a.test", dns.TypeA, noCharge); err == nil {
		t.Fatal("a cancelled lookup succeeded")
	}
	if _, _, err := c.lookup(context.Background(), client.NewResolver(), key, time.Now, "a.test", dns.TypeA, noCharge); err != nil {
		t.Errorf("the next asker got the abandoned error: %v", err)
	}
	var de *dnsclient.Error
	_, _, err := c.lookup(ctx, r, key, time.Now, "z.test", dns.TypeA, noCharge)
	if !errors.As(err, &de) {
		t.Errorf("error %v is not a *dnsclient.Error", err)
	}
}

// noCharge is the charge of a question no budget bounds.
func noCharge() error { return nil }
