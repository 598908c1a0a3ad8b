package dnsclient_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// bogusZone is a signed zone whose DS matches no key, beside example.test
// (secure), with a chain from each into the other.
const bogusZone = `
$ORIGIN bogus.test.
$TTL 300
@        IN SOA  ns1 hostmaster 1 7200 3600 1209600 60
@        IN MX   10 mx1.example.test.
@        IN TXT  "v=spf1 mx -all"
out      IN CNAME mx1.example.test.
mx1      IN A    192.0.2.40
`

const intoBogus = "into.example.test. 300 IN CNAME mx1.bogus.test."

func startBogus(t *testing.T, errs ...dns.EDNS0_EDE) *testbed.DNSServer {
	t.Helper()
	srv := testbed.StartDNS(t, zone, bogusZone)
	if err := srv.Add(intoBogus); err != nil {
		t.Fatal(err)
	}
	srv.SetSecure("example.test", "bogus.test")
	srv.SetBogus("bogus.test", errs...)
	return srv
}

var dnskeyMissing = dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeDNSKEYMissing,
	ExtraText: "validation failure <bogus.test. MX IN>: No DNSKEY matches the DS"}

// A bogus answer is an answer: the records the resolver gave with
// checking disabled, marked Bogus with the resolver's Extended DNS Error,
// never authenticated, and listed by the request's resolver.
func TestBogusAnswerComesFromTheCDQuestion(t *testing.T) {
	srv := startBogus(t, dnskeyMissing)
	r := newClient(t, srv.Addr).NewResolver()
	ans, err := r.Lookup(context.Background(), "bogus.test", dns.TypeMX)
	if err != nil {
		t.Fatalf("a bogus answer is not an error: %v", err)
	}
	if ans.Bogus == nil {
		t.Fatal("answer not marked bogus")
	}
	if ans.Authenticated {
		t.Error("a bogus answer is authenticated")
	}
	if len(ans.Records) != 1 || ans.Records[0].(*dns.MX).Mx != "mx1.example.test." {
		t.Errorf("records %v, want the MX the zone publishes", ans.Records)
	}
	b := ans.Bogus
	if b.Name != "bogus.test." || b.Type != dns.TypeMX || b.Server != srv.Addr {
		t.Errorf("bogus %+v: want MX bogus.test. from %s", b, srv.Addr)
	}
	if len(b.Errors) != 1 || b.Errors[0].Code != dns.ExtendedErrorCodeDNSKEYMissing || !b.Errors[0].DNSSEC() ||
		b.Errors[0].Text != dnskeyMissing.ExtraText || b.Code() != dns.ExtendedErrorCodeDNSKEYMissing {
		t.Errorf("errors %v, want DNSKEY Missing with the resolver's text", b.Errors)
	}
	want := "MX bogus.test: SERVFAIL from " + srv.Addr + " with EDE 9 (DNSKEY Missing): " + dnskeyMissing.ExtraText
	if b.String() != want {
		t.Errorf("String() = %q, want %q", b.String(), want)
	}
	var cd []bool
	for _, q := range srv.Queries() {
		cd = append(cd, q.CD)
	}
	if len(cd) != 2 || cd[0] || !cd[1] {
		t.Errorf("queries with CD %v, want the question, then once with CD", cd)
	}
	if st := r.Stats(); st.Queries != 2 {
		t.Errorf("%d queries counted, want 2", st.Queries)
	}
	if got := r.Bogus(); len(got) != 1 || got[0] != b {
		t.Errorf("Resolver.Bogus() = %v, want the one bogus question", got)
	}

	// Asked again in the request: the cache answers, still bogus, listed
	// once.
	again, err := r.Lookup(context.Background(), "bogus.test", dns.TypeMX)
	if err != nil || again.Bogus == nil {
		t.Errorf("second lookup: %v, bogus %v", err, again.Bogus)
	}
	if len(r.Bogus()) != 1 || len(srv.Queries()) != 2 {
		t.Errorf("asked again: %d bogus, %d queries", len(r.Bogus()), len(srv.Queries()))
	}

	// NXDOMAIN from a bogus zone is bogus too.
	nx, err := r.Lookup(context.Background(), "nothing.bogus.test", dns.TypeA)
	if err != nil || nx.Bogus == nil || !nx.NXDomain() {
		t.Errorf("NXDOMAIN in a bogus zone: %v, %+v", err, nx)
	}
}

// Unbound without "ede: yes" sends a bare SERVFAIL: the CD answer alone
// tells, and the reason says so.
func TestBogusWithoutExtendedErrors(t *testing.T) {
	srv := startBogus(t)
	r := newClient(t, srv.Addr).NewResolver()
	ans, err := r.Lookup(context.Background(), "bogus.test", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Bogus == nil || len(ans.Bogus.Errors) != 0 || ans.Bogus.Code() != dns.ExtendedErrorCodeOther {
		t.Fatalf("bogus %+v, want one without errors", ans.Bogus)
	}
	if got := ans.TXT(); len(got) != 1 || got[0] != "v=spf1 mx -all" {
		t.Errorf("TXT %q", got)
	}
	if !strings.Contains(ans.Bogus.Reason(), "without an Extended DNS Error") || !strings.Contains(ans.Bogus.Reason(), "checking disabled") {
		t.Errorf("reason %q should say how it was told", ans.Bogus.Reason())
	}
}

// A resolver that fails with and without validation is not reporting a
// DNSSEC failure: the lookup is an error, as before, and asks CD once.
func TestServFailThatIsNotDNSSEC(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	srv.SetBehaviour("mx1.example.test", testbed.ServFail)
	r := newClient(t, srv.Addr).NewResolver() // two attempts
	_, err := r.Lookup(context.Background(), "mx1.example.test", dns.TypeA)
	var qe *dnsclient.Error
	if !errors.As(err, &qe) || qe.Rcode != dns.RcodeServerFailure {
		t.Fatalf("err = %v, want a SERVFAIL *Error", err)
	}
	if got := r.Stats().Queries; got != 3 {
		t.Errorf("%d queries, want 3: two attempts and one CD question", got)
	}
	if len(r.Bogus()) != 0 {
		t.Errorf("listed as bogus: %v", r.Bogus())
	}
}

// Extended DNS Errors that name another cause (RFC 8914 §4.23) save the CD
// question and end up in the error's text.
func TestServFailWithAnotherCause(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	srv.SetBehaviour("mx1.example.test", testbed.ServFail)
	srv.SetExtendedErrors("mx1.example.test", dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeNoReachableAuthority, ExtraText: "at delegation example.test.\n\x00"})
	r := newClient(t, srv.Addr).NewResolver()
	_, err := r.Lookup(context.Background(), "mx1.example.test", dns.TypeA)
	var qe *dnsclient.Error
	if !errors.As(err, &qe) || len(qe.ExtendedErrors) != 1 || qe.ExtendedErrors[0].DNSSEC() {
		t.Fatalf("err = %#v, want a SERVFAIL *Error with the EDE", err)
	}
	want := "dns A mx1.example.test: SERVFAIL from " + srv.Addr + " with EDE 22 (No Reachable Authority): at delegation example.test. \uFFFD"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	for _, q := range srv.Queries() {
		if q.CD {
			t.Errorf("asked with CD although the resolver said why it failed: %v", srv.Queries())
		}
	}
}

// With one resolver bogus-failing and another answering, the first
// SERVFAIL decides: the CD answer comes from the server that refused, and
// the other one is not asked.
func TestBogusVerdictIsTheServers(t *testing.T) {
	refusing := startBogus(t, dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeSignatureExpired})
	answering := testbed.StartDNS(t, zone, bogusZone)
	r := newClient(t, refusing.Addr, answering.Addr).NewResolver()
	ans, err := r.Lookup(context.Background(), "mx1.bogus.test", dns.TypeA)
	if err != nil || ans.Bogus == nil || ans.Bogus.Errors[0].Purpose() != "Signature Expired" {
		t.Fatalf("%v, %+v", err, ans)
	}
	if ans.Bogus.Server != refusing.Addr || ans.Server != refusing.Addr {
		t.Errorf("bogus from %s, answer from %s: want both from the refusing %s", ans.Bogus.Server, ans.Server, refusing.Addr)
	}
	if got := ans.Addrs(); len(got) != 1 || got[0].String() != "192.0.2.40" {
		t.Errorf("addresses %v", got)
	}
	if q := refusing.Queries(); len(q) != 2 || q[0].CD || !q[1].CD {
		t.Errorf("the refusing server saw %v, want the question, then with CD", q)
	}
	if q := answering.Queries(); len(q) != 0 {
		t.Errorf("the other server was asked %v: the refusing server's verdict stands", q)
	}
}

// A chain that enters a bogus zone makes the answer bogus, whether the
// resolver follows it or the client does (then the Bogus names the link
// that failed); one that leaves a bogus zone for a secure one is bogus
// too.
func TestBogusCNAMEChains(t *testing.T) {
	for _, chase := range []bool{true, false} {
		name := map[bool]string{true: "resolver follows", false: "client follows"}[chase]
		t.Run(name, func(t *testing.T) {
			srv := startBogus(t, dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeDNSBogus})
			srv.SetChaseCNAMEs(chase)
			r := newClient(t, srv.Addr).NewResolver()
			ans, err := r.Lookup(context.Background(), "into.example.test", dns.TypeA)
			if err != nil {
				t.Fatal(err)
			}
			if ans.Bogus == nil || ans.Authenticated {
				t.Fatalf("into a bogus zone: bogus %v, AD %v", ans.Bogus, ans.Authenticated)
			}
			wantLink := "into.example.test."
			if !chase {
				wantLink = "mx1.bogus.test."
			}
			if ans.Bogus.Name != wantLink {
				t.Errorf("bogus link %s, want %s", ans.Bogus.Name, wantLink)
			}
			if got := ans.Addrs(); len(got) != 1 || got[0].String() != "192.0.2.40" {
				t.Errorf("addresses %v", got)
			}

			out, err := r.Lookup(context.Background(), "out.bogus.test", dns.TypeA)
			if err != nil {
				t.Fatal(err)
			}
			if out.Bogus == nil || out.Authenticated || out.Owner() != "mx1.example.test." {
				t.Errorf("out of a bogus zone: bogus %v, AD %v, owner %s", out.Bogus, out.Authenticated, out.Owner())
			}
		})
	}
}

// A bogus answer is not kept across requests: the next request asks
// again and finds out whether the zone was fixed.
func TestSharedCacheDoesNotKeepBogusAnswers(t *testing.T) {
	srv := startBogus(t, dnskeyMissing)
	clock := &fakeClock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	c := newCachingClient(t, clock, time.Hour, 0, srv.Addr)
	for i := range 2 {
		ans, st := lookup(t, c, "bogus.test", dns.TypeMX)
		if ans.Bogus == nil || st.SharedHits != 0 || st.Queries != 2 {
			t.Errorf("request %d: bogus %v, %+v; want asked (twice: once with CD) every time", i, ans.Bogus, st)
		}
	}
}

// FuzzExtendedErrors feeds any message to the EDE reader: it must not
// panic, and what it returns must be fit for a one-line report.
func FuzzExtendedErrors(f *testing.F) {
	for _, e := range []dns.EDNS0_EDE{
		dnskeyMissing,
		{InfoCode: dns.ExtendedErrorCodeDNSBogus},
		{InfoCode: 65535, ExtraText: "\x1b[31mred\x1b[0m\r\nline two"},
		{InfoCode: dns.ExtendedErrorCodeOther, ExtraText: strings.Repeat("é", 300)},
		{InfoCode: dns.ExtendedErrorCodeSignatureExpired, ExtraText: "\xff\xfe invalid"},
	} {
		m := new(dns.Msg)
		m.SetQuestion("example.test.", dns.TypeMX)
		m.Rcode = dns.RcodeServerFailure
		m.SetEdns0(1232, true)
		for range 5 {
			m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_EDE{InfoCode: e.InfoCode, ExtraText: e.ExtraText})
		}
		wire, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wire)
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		m := new(dns.Msg)
		if err := m.Unpack(wire); err != nil {
			return
		}
		errs := dnsclient.ExtendedErrors(m)
		if len(errs) > 4 {
			t.Errorf("%d errors kept, want at most 4", len(errs))
		}
		b := &dnsclient.Bogus{Name: "example.test.", Type: dns.TypeMX, Server: "127.0.0.1:53", Errors: errs}
		for _, line := range append([]string{b.String()}, describeAll(errs)...) {
			if !utf8.ValidString(line) {
				t.Errorf("invalid UTF-8: %q", line)
			}
			for _, r := range line {
				if unicode.IsControl(r) {
					t.Errorf("control character %U in %q", r, line)
				}
			}
		}
		for _, e := range errs {
			if len(e.Text) > 200+len("…") {
				t.Errorf("text of %d bytes", len(e.Text))
			}
		}
	})
}

func describeAll(errs []dnsclient.ExtendedError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.String(), e.Purpose())
	}
	return out
}
