package dnsclient_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

func TestBudgetBoundsQuestions(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	r := newClient(t, srv.Addr).NewResolverWithBudget(dnsclient.Budget{Questions: 3})
	ctx := context.Background()
	for _, name := range []string{"example.test", "mx1.example.test", "deep.sub.example.test"} {
		if _, err := r.Lookup(ctx, name, dns.TypeA); err != nil {
			t.Fatalf("%s, within the budget: %v", name, err)
		}
	}
	for _, name := range []string{"big.example.test", "nope.example.test"} {
		_, err := r.Lookup(ctx, name, dns.TypeA)
		if !errors.Is(err, dnsclient.ErrBudget) {
			t.Fatalf("%s, beyond the budget: err %v, want ErrBudget", name, err)
		}
		var de *dnsclient.Error
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "limits.dns_questions is 3") || !strings.Contains(err.Error(), name) {
			t.Errorf("error %q: want a *dnsclient.Error naming the question and the limit", err)
		}
	}
	// A question already answered costs nothing more.
	if _, err := r.Lookup(ctx, "mx1.example.test", dns.TypeA); err != nil {
		t.Errorf("asked again within the request: %v", err)
	}
	st := r.Stats()
	if st.Questions != 3 || st.OverBudget != 2 {
		t.Errorf("stats %+v: want 3 questions and 2 refused", st)
	}
	if n := len(srv.Queries()); n != 3 {
		t.Errorf("the server saw %d questions, want the 3 the budget allows", n)
	}
}

func TestBudgetCountsEveryHopOfACNAMEChain(t *testing.T) {
	srv := testbed.StartDNS(t, zone)
	srv.SetChaseCNAMEs(false) // alias -> alias2 -> mx1: three questions
	r := newClient(t, srv.Addr).NewResolverWithBudget(dnsclient.Budget{Questions: 2})
	_, err := r.Lookup(context.Background(), "alias.example.test", dns.TypeA)
	if !errors.Is(err, dnsclient.ErrBudget) {
		t.Fatalf("a 3-question chain on a 2-question budget: err %v, want ErrBudget", err)
	}
}

// bigZone publishes a name with n A records: over UDP it is truncated and
// asked again over TCP, as a hostile domain's would be.
func bigZone(name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s\n", name)
	for i := range n {
		fmt.Fprintf(&b, "@ 300 IN A 10.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
	}
	return b.String()
}

func TestBudgetBoundsAnswerBytes(t *testing.T) {
	srv := testbed.StartDNS(t, zone, bigZone("big1.test.", 2000), bigZone("big2.test.", 2000))
	c := newClient(t, srv.Addr)
	// One answer of 2,000 A records is ~32 KB in wire form, ~290 KB
	// counted decoded: the budget holds one of them, not two.
	const budget = 400 << 10
	r := c.NewResolverWithBudget(dnsclient.Budget{AnswerBytes: budget})
	ctx := context.Background()
	first, err := r.Lookup(ctx, "big1.test", dns.TypeA)
	if err != nil {
		t.Fatalf("the first large answer, within the budget: %v", err)
	}
	if len(first.Addrs()) != 2000 {
		t.Fatalf("got %d addresses, want the 2000 published", len(first.Addrs()))
	}
	if first.Size < 2000*(16+100) {
		t.Errorf("answer size %d: want at least the wire form plus the decoded records", first.Size)
	}
	_, err = r.Lookup(ctx, "big2.test", dns.TypeA)
	if !errors.Is(err, dnsclient.ErrBudget) || !strings.Contains(err.Error(), "limits.dns_answer_bytes") {
		t.Fatalf("a second large answer: err %v, want ErrBudget naming limits.dns_answer_bytes", err)
	}
	// Small answers still fit in what is left.
	if _, err := r.Lookup(ctx, "mx1.example.test", dns.TypeA); err != nil {
		t.Errorf("a small answer after the refused one: %v", err)
	}
	if st := r.Stats(); st.AnswerBytes > budget || st.AnswerBytes < first.Size || st.OverBudget != 1 {
		t.Errorf("stats %+v: want at most %d answer bytes, the first answer's %d counted, one refused", st, budget, first.Size)
	}
}

func TestDefaultBudget(t *testing.T) {
	c, err := dnsclient.New(dnsclient.Config{Servers: []string{"127.0.0.1:1"}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := c.NewResolver().Budget()
	if b.Questions != dnsclient.DefaultMaxQuestions || b.AnswerBytes != dnsclient.DefaultMaxAnswerBytes {
		t.Errorf("default budget %+v", b)
	}
}

// TestAnswerLargerThanTheRoomLeftIsNotRead: an answer whose length on the
// wire already exceeds what the request can still hold is neither read
// nor decoded, whether it comes over TCP or from the answers kept across
// requests.
func TestAnswerLargerThanTheRoomLeftIsNotRead(t *testing.T) {
	srv := testbed.StartDNS(t, zone, bigZone("big1.test.", 2000))
	c, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 2, CacheMaxTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	small := dnsclient.Budget{AnswerBytes: 20 << 10} // the answer is 32 KB on the wire
	_, err = c.NewResolverWithBudget(small).Lookup(context.Background(), "big1.test", dns.TypeA)
	if !errors.Is(err, dnsclient.ErrBudget) || !strings.Contains(err.Error(), "not read") {
		t.Fatalf("over TCP: err %v, want ErrBudget, not read", err)
	}
	var tcp int
	for _, q := range srv.Queries() {
		if q.Net == "tcp" {
			tcp++
		}
	}
	if tcp != 1 {
		t.Errorf("%d TCP questions: a refused answer is not asked again (attempts: 2)", tcp)
	}
	// A request with room keeps it for the others...
	if _, err := c.NewResolver().Lookup(context.Background(), "big1.test", dns.TypeA); err != nil {
		t.Fatal(err)
	}
	// ...and one without room is refused it from the cache, undecoded.
	r := c.NewResolverWithBudget(small)
	_, err = r.Lookup(context.Background(), "big1.test", dns.TypeA)
	if !errors.Is(err, dnsclient.ErrBudget) || !strings.Contains(err.Error(), "not read") {
		t.Errorf("from the cache: err %v, want ErrBudget, not read", err)
	}
	if st := r.Stats(); st.SharedHits != 1 || st.AnswerBytes != 0 || st.Queries != 0 {
		t.Errorf("from the cache: %+v, want one shared hit that holds nothing", st)
	}
}

// TestLookupBuildsEachAnswerOnce: within a request, asking again returns
// the answer already built (its records are read-only), not a copy of
// thousands of records; another request builds its own.
func TestLookupBuildsEachAnswerOnce(t *testing.T) {
	srv := testbed.StartDNS(t, zone, bigZone("big1.test.", 2000))
	c := newClient(t, srv.Addr)
	r := c.NewResolver()
	ctx := context.Background()
	first, err := r.Lookup(ctx, "big1.test", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Lookup(ctx, "BIG1.test.", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Error("the second lookup within the request built the answer again")
	}
	if st := r.Stats(); st.CacheHits != 1 || st.CacheMisses != 1 {
		t.Errorf("stats %+v: want one miss and one hit, as for any question asked twice", st)
	}
	other, err := c.NewResolver().Lookup(ctx, "big1.test", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if other == first {
		t.Error("another request got this request's answer")
	}
}
