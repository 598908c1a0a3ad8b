package dnsclient_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

const zone = `
$ORIGIN example.test.
$TTL 300
@        IN SOA  ns1 hostmaster 1 7200 3600 1209600 60
alias2   900 IN CNAME mx1
@        IN MX   10 mx1
@        IN TXT  "v=spf1 " "mx -all"
mx1      IN A    192.0.2.10
mx1      IN AAAA 2001:db8::10
alias    IN CNAME alias2
loop1    IN CNAME loop2
loop2    IN CNAME loop1
deep.sub IN A    192.0.2.99
big      IN TXT  "` + `xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx` + `"
big      IN TXT  "2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
`

func newClient(t *testing.T, servers ...string) *dnsclient.Client {
	t.Helper()
	c, err := dnsclient.New(dnsclient.Config{Servers: servers, Timeout: 300 * time.Millisecond, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLookupAnswers(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	srv.SetSecure("example.test")
	r := newClient(t, srv.Addr).NewResolver()
	ctx := context.Background()

	ans, err := r.Lookup(ctx, "mx1.example.test", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if got := ans.Addrs(); len(got) != 1 || got[0].String() != "192.0.2.10" {
		t.Errorf("A mx1 = %v", got)
	}
	if !ans.Authenticated {
		t.Error("answer from a secure zone lacks the AD bit")
	}

	txt, err := r.Lookup(ctx, "EXAMPLE.test.", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if got := txt.TXT(); len(got) != 1 || got[0] != "v=spf1 mx -all" {
		t.Errorf("TXT = %q, want the two strings joined without a space", got)
	}

	nx, err := r.Lookup(ctx, "nope.example.test", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if !nx.NXDomain() || !nx.Empty() {
		t.Errorf("nope: rcode %d, %d records; want NXDOMAIN", nx.Rcode, len(nx.Records))
	}

	nodata, err := r.Lookup(ctx, "mx1.example.test", dns.TypeMX)
	if err != nil {
		t.Fatal(err)
	}
	if nodata.NXDomain() || !nodata.Empty() {
		t.Errorf("MX mx1: rcode %d, %d records; want NODATA", nodata.Rcode, len(nodata.Records))
	}

	// An empty non-terminal exists: NODATA, not NXDOMAIN (RFC 8020).
	ent, err := r.Lookup(ctx, "sub.example.test", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if ent.NXDomain() {
		t.Error("empty non-terminal answered NXDOMAIN")
	}
}

func TestLookupFollowsCNAMEs(t *testing.T) {
	for _, chase := range []bool{true, false} {
		name := map[bool]string{true: "resolver follows", false: "client follows"}[chase]
		t.Run(name, func(t *testing.T) {
			srv := testbed.StartDNS(t, zone)
			srv.SetChaseCNAMEs(chase)
			r := newClient(t, srv.Addr).NewResolver()
			ans, err := r.Lookup(context.Background(), "alias.example.test", dns.TypeAAAA)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"alias2.example.test.", "mx1.example.test."}
			if strings.Join(ans.CNAMEs, " ") != strings.Join(want, " ") {
				t.Errorf("chain = %v, want %v", ans.CNAMEs, want)
			}
			if got := ans.Addrs(); len(got) != 1 || got[0].String() != "2001:db8::10" {
				t.Errorf("AAAA = %v", got)
			}
			if ans.Owner() != "mx1.example.test." {
				t.Errorf("owner = %s", ans.Owner())
			}
			wantQueries := int64(1)
			if !chase {
				wantQueries = 3
			}
			if q := r.Stats().Queries; q != wantQueries {
				t.Errorf("%d queries, want %d", q, wantQueries)
			}

			// The end of the chain has no TXT record: a resolver that
			// followed the chain says so (NODATA with the zone's SOA) in
			// the one answer; the chain's end is not asked again.
			before := r.Stats().Queries
			nodata, err := r.Lookup(context.Background(), "alias.example.test", dns.TypeTXT)
			if err != nil {
				t.Fatal(err)
			}
			if !nodata.Empty() || nodata.NXDomain() || nodata.Owner() != "mx1.example.test." || nodata.TTL != 60 {
				t.Errorf("NODATA at the end of the chain: %+v, want no records at mx1.example.test., TTL 60", nodata)
			}
			if q := r.Stats().Queries - before; q != wantQueries {
				t.Errorf("NODATA at the end of the chain: %d queries, want %d", q, wantQueries)
			}

			_, err = r.Lookup(context.Background(), "loop1.example.test", dns.TypeA)
			if err == nil || !strings.Contains(err.Error(), "CNAME loop") {
				t.Errorf("loop: err = %v, want a CNAME loop error", err)
			}
		})
	}
}

func TestServFailTriesNextServer(t *testing.T) {
	bad := testbed.StartDNS(t, zone)
	bad.SetBehaviour("mx1.example.test", testbed.ServFail)
	good := testbed.StartDNS(t, zone)

	r := newClient(t, bad.Addr, good.Addr).NewResolver()
	ans, err := r.Lookup(context.Background(), "mx1.example.test", dns.TypeA)
	if err != nil {
		t.Fatalf("second server should have answered: %v", err)
	}
	if ans.Server != good.Addr {
		t.Errorf("answered by %s, want %s", ans.Server, good.Addr)
	}

	only := newClient(t, bad.Addr).NewResolver()
	_, err = only.Lookup(context.Background(), "mx1.example.test", dns.TypeA)
	var qe *dnsclient.Error
	if !errors.As(err, &qe) || qe.Rcode != dns.RcodeServerFailure {
		t.Fatalf("err = %v, want a SERVFAIL *Error", err)
	}
	if !strings.Contains(err.Error(), "SERVFAIL") || !strings.Contains(err.Error(), "mx1.example.test") {
		t.Errorf("error text %q should name the rcode and the question", err)
	}
	if got := only.Stats().Queries; got != 3 {
		t.Errorf("%d queries, want 3 (one per attempt, and one with CD to tell a DNSSEC failure)", got)
	}
}

func TestTruncatedAnswerRetriesOverTCP(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	srv.SetBehaviour("big.example.test", testbed.TruncateUDP)
	r := newClient(t, srv.Addr).NewResolver()
	ans, err := r.Lookup(context.Background(), "big.example.test", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.TXT()) != 2 {
		t.Errorf("got %d TXT records over TCP, want 2", len(ans.TXT()))
	}
	var nets []string
	for _, q := range srv.Queries() {
		nets = append(nets, q.Net)
		if !q.DO {
			t.Error("query without the DO bit")
		}
	}
	if strings.Join(nets, ",") != "udp,tcp" {
		t.Errorf("transports = %v, want udp then tcp", nets)
	}
	if q := r.Stats().Queries; q != 2 {
		t.Errorf("%d queries counted, want 2", q)
	}
}

func TestSilentResolverEndsAtDeadline(t *testing.T) {
	silent := testbed.StartSilentResolver(t)
	c, err := dnsclient.New(dnsclient.Config{Servers: []string{silent.Addr}, Timeout: 5 * time.Second, Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = c.NewResolver().Lookup(ctx, "example.test", dns.TypeMX)
	var qe *dnsclient.Error
	if !errors.As(err, &qe) || !qe.Timeout() {
		t.Fatalf("err = %v, want a timeout *Error", err)
	}
	if dl, _ := ctx.Deadline(); time.Now().Before(dl) {
		t.Error("lookup returned before the deadline without an answer")
	}
}

func TestPerAttemptTimeoutThenRetry(t *testing.T) {
	silent := testbed.StartSilentResolver(t)
	good := testbed.StartDNS(t, zone)
	r := newClient(t, silent.Addr, good.Addr).NewResolver()
	ans, err := r.Lookup(context.Background(), "mx1.example.test", dns.TypeA)
	if err != nil {
		t.Fatalf("the second attempt should reach the second server: %v", err)
	}
	if ans.Server != good.Addr {
		t.Errorf("answered by %s", ans.Server)
	}
}

func TestCacheAsksEachQuestionOnce(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	srv.SetDelay(20 * time.Millisecond)
	r := newClient(t, srv.Addr).NewResolver()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Lookup(context.Background(), "mx1.example.test", dns.TypeA); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(srv.Queries()); n != 1 {
		t.Errorf("server received %d queries for one question, want 1", n)
	}
	st := r.Stats()
	if st.Queries != 1 || st.CacheMisses != 1 || st.CacheHits != 19 {
		t.Errorf("stats = %+v, want 1 query, 1 miss, 19 hits", st)
	}

	// A fresh resolver (a new probe request) asks again.
	if _, err := newClient(t, srv.Addr).NewResolver().Lookup(context.Background(), "mx1.example.test", dns.TypeA); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Queries()); n != 2 {
		t.Errorf("server received %d queries after a new request, want 2", n)
	}
}

func TestAbandonedQuestionIsAskedAgain(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	srv.SetDelay(100 * time.Millisecond)
	r := newClient(t, srv.Addr).NewResolver()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := r.Lookup(ctx, "mx1.example.test", dns.TypeA); err == nil {
		t.Fatal("lookup with a 10ms deadline against a 100ms server succeeded")
	}
	srv.SetDelay(0)
	if _, err := r.Lookup(context.Background(), "mx1.example.test", dns.TypeA); err != nil {
		t.Fatalf("a later asker with time left got the abandoned error: %v", err)
	}
}

func TestResolvConf(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	host, _, _ := strings.Cut(srv.Addr, ":")
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte("nameserver "+host+"\noptions timeout:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := dnsclient.New(dnsclient.Config{ResolvConf: path})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Servers(); len(got) != 1 || got[0] != host+":53" {
		t.Errorf("servers = %v, want [%s:53]", got, host)
	}

	missing, err := dnsclient.New(dnsclient.Config{ResolvConf: filepath.Join(t.TempDir(), "absent")})
	if err != nil {
		t.Fatalf("a missing resolv.conf must not fail construction: %v", err)
	}
	_, err = missing.NewResolver().Lookup(context.Background(), "example.test", dns.TypeMX)
	if err == nil || !strings.Contains(err.Error(), "no resolvers configured") {
		t.Errorf("err = %v, want it to say no resolvers are configured", err)
	}
}

func TestServerAddress(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":         "127.0.0.1:53",
		"127.0.0.1:5353":    "127.0.0.1:5353",
		"::1":               "[::1]:53",
		"[2001:db8::1]:853": "[2001:db8::1]:853",
	} {
		got, err := dnsclient.ServerAddress(in)
		if err != nil || got != want {
			t.Errorf("ServerAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"resolver.example", "dns.google:53", "127.0.0.1:0", "127.0.0.1:99999", "", "1.2.3.4:x"} {
		if _, err := dnsclient.ServerAddress(in); err == nil {
			t.Errorf("ServerAddress(%q) accepted", in)
		}
	}
}

func TestReverseName(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.10":   "10.2.0.192.in-addr.arpa.",
		"2001:db8::10": "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
	} {
		if got := dnsclient.ReverseName(mustAddr(t, in)); got != want {
			t.Errorf("ReverseName(%s) = %s, want %s", in, got, want)
		}
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	ip, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return ip
}

func TestAnswerTTL(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	r := newClient(t, srv.Addr).NewResolver()
	for _, tc := range []struct {
		name  string
		qtype uint16
		want  uint32
	}{
		{"mx1.example.test", dns.TypeA, 300},
		{"alias.example.test", dns.TypeA, 300}, // min of 300 (alias), 900 (alias2), 300 (A)
		{"nope.example.test", dns.TypeA, 60},   // NXDOMAIN: min(SOA TTL 300, MINIMUM 60)
		{"mx1.example.test", dns.TypeTXT, 60},  // NODATA: the same
	} {
		ans, err := r.Lookup(context.Background(), tc.name, tc.qtype)
		if err != nil {
			t.Fatal(err)
		}
		if ans.TTL != tc.want {
			t.Errorf("%s %s: TTL %d, want %d", dns.TypeToString[tc.qtype], tc.name, ans.TTL, tc.want)
		}
	}
}

func TestMaxInFlightQueuesExchanges(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	srv.SetLockstep(30 * time.Millisecond)
	c, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: 2 * time.Second, Attempts: 1, MaxInFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := c.NewResolver()
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Lookup(context.Background(), name+".example.test", dns.TypeA); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Six independent questions, two on the wire at a time: three rounds.
	if got := srv.Rounds(); got != 3 {
		t.Errorf("%d rounds, want 3", got)
	}
}

func TestTXTIsUnescaped(t *testing.T) {
	srv := testbed.StartDNS(t, `
$ORIGIN esc.test.
q   IN TXT "say \"hi\"; path C:\\mail; caf\195\169"
`)
	r := newClient(t, srv.Addr).NewResolver()
	ans, err := r.Lookup(context.Background(), "q.esc.test", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if got := ans.TXT(); len(got) != 1 || got[0] != "say \"hi\"; path C:\\mail; café" {
		t.Errorf("TXT = %q", got)
	}
}

func TestQuestionWithSpecialBytes(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	r := newClient(t, srv.Addr).NewResolver()
	// The name goes out as the bytes "a b"; the server echoes them, and
	// miekg/dns may print them differently from how they were asked.
	ans, err := r.Lookup(context.Background(), `a\032b.example.test`, dns.TypeA)
	if err != nil {
		t.Fatalf("a name with a space was refused as a mismatched answer: %v", err)
	}
	if !ans.NXDomain() {
		t.Errorf("rcode %d", ans.Rcode)
	}
}
