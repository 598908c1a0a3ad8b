package spf

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	blitiri "blitiri.com.ar/go/spf"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// oracle evaluates check_host() with blitiri.com.ar/go/spf, an independent
// RFC 7208 implementation, against the same in-process zone.
func oracle(t testing.TB, addr string, ip netip.Addr, helo, sender string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, _ := blitiri.CheckHostWithSender(net.IP(ip.AsSlice()), helo, sender,
		blitiri.WithResolver(loopbackResolver(addr)), blitiri.WithContext(ctx))
	return Result(res)
}

// oracleDeviations are the suite scenarios where the oracle's answer is not
// one the suite accepts, and why; ours is checked against the suite there.
// The test fails when one of them stops deviating, so the list stays true.
var oracleDeviations = func() map[string]string {
	const (
		upFront  = "checks a term's syntax only when evaluation reaches it; RFC 7208 §4.6 wants the whole record checked first"
		toplabel = "does not check that a domain-spec ends in a top-level label (RFC 7208 §7.1)"
		netName  = "net.Resolver, which the oracle asks through, refuses names with ':', '/' or spaces"
		exp      = "does not parse exp= (RFC 7208 §6.2)"
	)
	m := map[string]string{
		"non-ascii-policy":    "does not refuse non-ASCII records (RFC 7208 §3.1)",
		"control-char-policy": "does not refuse control characters between terms (RFC 7208 §4.6.1)",
		"cidr4-032":           "accepts a prefix length with a leading zero",
		"p-macro-multiple":    `expands %{p} to "unknown" rather than to a validated name (RFC 7208 §7.3)`,
	}
	for _, n := range []string{"detect-errors-anywhere", "redirect-is-modifier", "bare-ip6", "redirect-syntax-error",
		"redirect-empty-domain", "unknown-modifier-syntax"} {
		m[n] = upFront
	}
	for _, n := range []string{"invalid-domain", "a-bad-domain", "a-null", "a-numeric", "a-numeric-toplabel", "a-bad-toplabel",
		"a-only-toplabel", "a-only-toplabel-trailing-dot", "mx-bad-domain", "mx-null", "mx-numeric-top-label", "mx-bad-toplab"} {
		m[n] = toplabel
	}
	for _, n := range []string{"a-colon-domain", "a-colon-domain-ip4mapped", "mx-colon-domain", "mx-colon-domain-ip4mapped", "macro-mania-in-domain"} {
		m[n] = netName
	}
	for _, n := range []string{"exp-empty-domain", "exp-syntax-error", "exp-twice", "exp-only-macro-char"} {
		m[n] = exp
	}
	return m
}()

// TestOracleOnRFC7208Suite compares CheckHost with the oracle on every
// scenario of the RFC 7208 suite: where the oracle gives an answer the
// suite accepts, ours must be the same.
func TestOracleOnRFC7208Suite(t *testing.T) {
	for _, sec := range rfc7208Suite {
		t.Run(sec.name, func(t *testing.T) {
			srv := testbed.StartDNS(t, "$TTL 300\n"+sec.zone)
			for _, n := range sec.servfail {
				srv.SetBehaviour(n, testbed.ServFail)
			}
			for _, c := range sec.cases {
				ip := netip.MustParseAddr(c.host)
				want := oracle(t, srv.Addr, ip, c.helo, c.mailfrom)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				got, err := CheckHost(ctx, newResolver(t, srv.Addr), ip, senderDomain(c.mailfrom, c.helo), c.mailfrom, c.helo)
				cancel()
				why, deviates := oracleDeviations[c.name]
				switch {
				case slices.Contains(c.results, want) && deviates:
					t.Errorf("%s: the oracle now gives %s, which the suite accepts; drop it from oracleDeviations (%s)", c.name, want, why)
				case slices.Contains(c.results, want) && got != want:
					t.Errorf("%s: check_host(%s, %s) = %s (%v), the oracle says %s", c.name, c.host, c.mailfrom, got, err, want)
				case !slices.Contains(c.results, want) && !deviates:
					t.Errorf("%s: the oracle gives %s, the suite wants %v, ours %s", c.name, want, c.results, got)
				}
			}
		})
	}
}

// TestOracleOnWorld compares CheckHost with the oracle on the probe tests'
// world, the large senders' chains and the hostile records, for addresses
// inside and outside what each domain authorises.
func TestOracleOnWorld(t *testing.T) {
	srv := testbed.StartDNS(t, world)
	srv.SetBehaviour("broken.servfail.test", testbed.ServFail)
	domains := []string{
		"healthy.test", "bigsender.test", "toomany.test", "deep.test", "loop.test", "redirloop.test",
		"redirall.test", "redirect.test", "void.test", "voidv6.test", "two.test", "spf10.test", "split.test",
		"nospace.test", "longmacro.test", "wide.test", "plusall.test", "mx11.test", "servfail.test",
		"nullmx.test", "nullok.test", "ptr.test", "noauth.test", "syntax.test", "nospfinc.test",
		"neutral.test", "salesforce.test", "mailgun.test", "absent.test", "_spf.google.com",
	}
	ips := []string{
		"192.0.2.10", "2001:db8::10", "192.0.2.20", "74.125.1.1", "2607:f8b0:4000::1", "172.217.0.1",
		"40.92.1.1", "2a01:111:f400::1", "205.201.128.5", "167.89.1.1", "54.240.1.1", "192.161.144.1",
		"198.51.100.10", "198.51.100.11", "198.51.100.20", "198.51.100.21", "192.0.2.99", "192.0.2.50",
		"192.0.2.51", "192.0.2.1", "192.0.2.61", "2001:db8::61", "192.0.2.111", "203.0.113.5",
		"198.51.100.7", "192.0.2.77", "192.0.2.78", "209.61.151.1", "141.193.32.1", "8.8.8.8",
		"::ffff:192.0.2.10", "2001:db8::99",
	}
	// Where the oracle is known to differ, and why; the test fails when a
	// listed pair stops differing.
	deviations := map[string]string{}
	for _, ip := range []string{"2607:f8b0:4000::1", "2a01:111:f400::1", "2001:db8::10", "2001:db8::61", "2001:db8::99"} {
		deviations["voidv6.test "+ip] = "the oracle asks A and AAAA together (net.Resolver.LookupIPAddr), so a name with only A records is no void lookup for an IPv6 client; RFC 7208 §5.3 asks the client's family only, whose NODATA answer is void (§4.6.4)"
	}
	compared := 0
	for _, d := range domains {
		for _, s := range ips {
			ip := netip.MustParseAddr(s)
			sender := "postmaster@" + d
			want := oracle(t, srv.Addr, ip, d, sender)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			got, err := CheckHost(ctx, newResolver(t, srv.Addr), ip, d, sender, d)
			cancel()
			why, deviates := deviations[d+" "+s]
			switch {
			case got == want && deviates:
				t.Errorf("check_host(%s, %s) = %s now agrees with the oracle; drop it from the deviations (%s)", s, d, got, why)
			case got != want && !deviates:
				t.Errorf("check_host(%s, %s) = %s (%v), the oracle says %s", s, d, got, err, want)
			}
			compared++
		}
	}
	t.Logf("%d evaluations compared", compared)
}
